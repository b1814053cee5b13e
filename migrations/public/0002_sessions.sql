-- Sign-in sessions (docs/contract.md §4): one row per login, holding the current refresh token's digest.

create table sessions (
    -- Carried in access tokens as `sid`; revoking the row revokes them on the next request.
    id uuid primary key,
    user_id bigint not null references users (id),
    -- SHA-256 of the current refresh token; the token itself is never stored.
    refresh_token_hash bytea not null,
    created_at timestamptz not null default now(),
    last_used_at timestamptz not null default now(),
    -- Absolute lifetime: the session ends here however often it is refreshed.
    expires_at timestamptz not null,
    -- Client address and user agent at sign-in, shown to the user in their session list.
    ip inet,
    user_agent text not null default '',
    revoked_at timestamptz,
    constraint sessions_refresh_token_hash_key unique (refresh_token_hash)
);

create index sessions_user_id_idx on sessions (user_id) where revoked_at is null;
