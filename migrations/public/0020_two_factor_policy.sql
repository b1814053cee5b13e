-- A store's two-step sign-in policy and the sessions it restricts (docs/contract.md §16).
--
-- Additive: the previous release never reads these columns; its sessions are unrestricted,
-- as they were.

-- Every member whose rank in the store is at least this must sign in with two steps; null:
-- no requirement. Ranks run from 1 to 100 (the owner's).
alter table stores
    add column require_2fa_from_rank smallint
        constraint stores_require_2fa_from_rank_range check (require_2fa_from_rank between 1 and 100);

-- A session opened by someone a store's policy requires to use two-step sign-in, who has not
-- turned it on yet: until they do, it reaches only enrolment, `me` and logout. Its access
-- tokens carry the same mark, so the restriction costs no read per request; confirming an
-- authenticator clears it on every session of the account, and the next refresh hands out an
-- unrestricted token.
alter table sessions add column enrolment_only boolean not null default false;
