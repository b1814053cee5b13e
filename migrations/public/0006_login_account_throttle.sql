-- Sign-in attempts per account (lowercased username) from every address, in a fixed
-- 15-minute window: the per-(username, IP) limit of login_throttle alone lets many addresses
-- guess one password. Claimed with an atomic upsert before the password is checked; a
-- success gives back only its own attempt, so failures expire with the window.
create table login_account_throttle (
    username_key text not null,
    window_started_at timestamptz not null,
    attempts integer not null,
    constraint login_account_throttle_pkey primary key (username_key)
);
