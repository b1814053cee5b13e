-- Sign-in safety (docs/contract.md §4): refresh-token rotation with reuse detection, and login throttling.

-- The token a session had before its last rotation, and when it rotated: a client that lost
-- the refresh response may present it again for a few seconds (the grace window).
alter table sessions
    add column previous_refresh_token_hash bytea,
    add column rotated_at timestamptz;

-- Every refresh token a session has rotated away from. Presenting one (outside the grace
-- window) means two parties hold the session's tokens: the session is revoked.
create table retired_refresh_tokens (
    token_hash bytea primary key,
    session_id uuid not null references sessions (id) on delete cascade,
    retired_at timestamptz not null default now()
);

create index retired_refresh_tokens_session_id_idx on retired_refresh_tokens (session_id);

-- Failed sign-ins per (lowercased username, client IP) in a one-minute window. A row is
-- claimed with an atomic upsert before the password is checked, so parallel guesses cannot
-- exceed the limit; a success deletes it.
create table login_throttle (
    username_key text not null,
    client_ip text not null,
    window_started_at timestamptz not null,
    attempts integer not null,
    constraint login_throttle_pkey primary key (username_key, client_ip)
);
