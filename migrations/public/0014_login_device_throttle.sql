-- Failed console sign-ins per device cookie (a browser that signed in successfully before)
-- in a fixed 15-minute window. A valid device cookie is held to this allowance instead of
-- the account's cap in login_account_throttle, so strangers spending that cap cannot lock
-- the owner's own browser out. Claimed with an atomic upsert before the password is
-- checked; a success gives back its own attempt.
create table login_device_throttle (
    device_id text not null,
    window_started_at timestamptz not null,
    failures integer not null,
    constraint login_device_throttle_pkey primary key (device_id)
);
