-- Paired tills (docs/contract.md §11). In `public`: a till pairs with a code before it knows its store,
-- and a device token must be told apart from another store's (403, not 401).

-- A code a manager made for one till: 8 symbols (40 bits), single use, 10 minutes. Only its
-- SHA-256 is kept; the code is shown once, to the manager who asked.
create table pairing_codes (
    code_hash bytea primary key,
    store_id bigint not null references stores (id),
    name text not null,
    created_by bigint not null references users (id),
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);

create index pairing_codes_expires_at_idx on pairing_codes (expires_at);

-- A paired till. Its token (256 random bits) is sent as X-Device-Token; only its SHA-256 is
-- kept. Revoked devices stay listed, inactive.
create table devices (
    id bigint generated always as identity primary key,
    store_id bigint not null references stores (id),
    name text not null,
    token_hash bytea not null,
    paired_by bigint references users (id),
    created_at timestamptz not null default now(),
    last_seen_at timestamptz,
    revoked_at timestamptz,
    constraint devices_token_hash_key unique (token_hash)
);

create index devices_store_id_idx on devices (store_id, created_at desc);

-- Failed pairings per client address, in fixed one-minute windows, claimed before the code
-- is checked (like the sign-in throttle), shared by every instance.
create table pairing_throttle (
    client_ip text primary key,
    window_started_at timestamptz not null,
    failures integer not null
);
