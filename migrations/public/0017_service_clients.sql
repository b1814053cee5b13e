-- Service clients (docs/contract.md §15): the platform's own services (sales, stock,
-- payroll) that ask kassa whether a token is live (RFC 7662) and end sessions (RFC 7009).
-- They belong to the platform's operator, who manages them with `kassa clients`, not to any
-- store. A client authenticates with HTTP Basic: its public `client_id` (`kc_` + 32 hex
-- digits) and a secret of 256 random bits shown once and stored only as its SHA-256, as
-- refresh tokens are (nothing to brute-force, so a fast hash suffices).
--
-- Additive: the previous release never reads them.
create table service_clients (
    id bigint generated always as identity primary key,
    name text not null unique,
    client_id text not null unique,
    secret_hash bytea not null,
    created_at timestamptz not null default now(),
    secret_rotated_at timestamptz not null default now()
);

-- Calls per service client in a fixed one-minute window, claimed with an atomic upsert
-- before the call is answered, so every kassa instance shares one count. Wrong-secret
-- attempts at a client are counted under a key of their own (`failed:<client_id>`): a flood
-- of them is bounded without spending the real client's allowance.
create table service_client_throttle (
    counter_key text not null,
    window_started_at timestamptz not null,
    attempts integer not null,
    constraint service_client_throttle_pkey primary key (counter_key)
);
