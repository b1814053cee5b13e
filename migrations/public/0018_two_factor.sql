-- Two-step sign-in with authenticator apps (docs/contract.md §16).
--
-- Additive: the previous release never reads these tables, and signs users in with their
-- password alone, as before.

-- One authenticator per account. The RFC 6238 secret is sealed with the key kassa derives
-- from SECRET_KEY for secrets at rest (`secrets`), for the context `totp secret <user id>`,
-- so a copied row opens for no other account. `confirmed_at` null: enrolment started but
-- not confirmed by a code yet, so sign-in does not ask for it. `last_used_step` is the
-- 30-second step of the last code accepted: a code is accepted once (RFC 6238 §5.2), so any
-- step at or before it is refused.
create table user_totp (
    user_id bigint not null references users (id) on delete cascade,
    secret_sealed text not null,
    confirmed_at timestamptz,
    last_used_step bigint,
    created_at timestamptz not null default now(),
    constraint user_totp_pkey primary key (user_id)
);

-- Recovery codes: 80 random bits each, shown once, kept only as their SHA-256 (nothing to
-- brute-force, so a fast hash suffices, as for refresh tokens); each usable once.
create table recovery_codes (
    user_id bigint not null references users (id) on delete cascade,
    code_hash bytea not null,
    used_at timestamptz,
    constraint recovery_codes_pkey primary key (user_id, code_hash)
);

-- The second step of a sign-in whose password was right: a random 256-bit challenge kept
-- as its SHA-256, for one client (address key and user agent), five minutes, used once.
-- `password_digest` is the SHA-256 of the password hash the first step checked: a password
-- changed in between makes the challenge worthless. `failures` counts wrong codes against it.
create table two_factor_challenges (
    challenge_hash bytea not null,
    user_id bigint not null references users (id) on delete cascade,
    password_digest bytea not null,
    client_ip text not null,
    user_agent text not null,
    expires_at timestamptz not null,
    failures integer not null default 0,
    used_at timestamptz,
    constraint two_factor_challenges_pkey primary key (challenge_hash)
);
create index two_factor_challenges_user_idx on two_factor_challenges (user_id);

-- Second-step codes checked per account in a fixed 15-minute window, claimed with an atomic
-- upsert before the code is checked, so a parallel flood checks at most the limit. Keyed by
-- `user:<id>`; a right code gives its claim back.
create table two_factor_throttle (
    counter_key text not null,
    window_started_at timestamptz not null,
    failures integer not null,
    constraint two_factor_throttle_pkey primary key (counter_key)
);
