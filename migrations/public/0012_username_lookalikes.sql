-- Usernames that look alike are one username: `admin`, `ADMIN`, `ａｄｍｉｎ` (fullwidth) and
-- `аdmin` (Cyrillic а) cannot belong to different accounts. `username_key` is the Unicode
-- TR39 confusable skeleton of the username's NFKC case-folded form, computed by kassa in
-- Rust (PostgreSQL has no skeleton function); the unique index lets the database refuse the
-- second of two look-alikes registered at the same moment.
--
-- Additive: the column is nullable and nothing of the previous release reads it. Accounts
-- it already holds, and those the previous release inserts during a rollout (it does not
-- know the column), have no key until `kassa migrate` (or MIGRATE_ON_START) computes it;
-- until then kassa compares new usernames against them in Rust. The index on
-- `lower(username)` stays, so one letter case is refused as before by both releases.
alter table users add column username_key text;

create unique index users_username_lookalike_key on users (username_key);

-- The accounts still without a key: few (only the previous release writes them), and read
-- on every registration, so found through their own small index.
create index users_username_unkeyed_idx on users (id) where username_key is null;
