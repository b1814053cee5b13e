-- The keys that sign access tokens (docs/contract.md §15). Each key is published (in the
-- JWKS) from its creation, signs from `signs_from` (a rotation publishes a key at least one
-- JWKS cache time before it signs), stops signing when a later key starts, and keeps
-- verifying until the last token it signed has expired; then, or when an operator retires
-- it, `retired_at` is set and its private half is erased.
--
-- Additive: the previous release never reads it (it signs with JWT_SECRET, whose tokens the
-- new release verifies until they expire).
create table signing_keys (
    -- RFC 7638 thumbprint (SHA-256, base64url) of the public key: the JWT header's `kid`.
    kid text primary key,
    algorithm text not null check (algorithm in ('EdDSA', 'ES256')),
    -- The public key as an RFC 7517 JWK, as the JWKS publishes it.
    public_jwk jsonb not null,
    -- `v1:` + base64url(nonce ‖ XChaCha20-Poly1305 ciphertext) of the private key, bound to
    -- the kid, under the key derived from SECRET_KEY; null once retired.
    private_key_ciphertext text,
    created_at timestamptz not null default now(),
    signs_from timestamptz not null,
    retired_at timestamptz,
    constraint signing_keys_retired_keys_hold_no_secret
        check ((retired_at is null) = (private_key_ciphertext is not null))
);

create index signing_keys_live on signing_keys (signs_from) where retired_at is null;

-- Whether this database had sessions when the keys arrived, that is, whether HS256 tokens
-- signed with JWT_SECRET by the release before may still be live. Only then do they verify,
-- and only until the first key has signed for one access-token lifetime; a database that
-- starts with this release never accepts a token signed with a shared secret.
create table signing_key_upgrade (
    only_row boolean primary key default true check (only_row),
    hs256_sessions_existed boolean not null
);
insert into signing_key_upgrade (hs256_sessions_existed) select exists (select 1 from sessions);
