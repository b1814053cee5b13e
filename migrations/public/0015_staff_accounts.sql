-- Each store's shared staff account (`<slug>_staff`): which account it is, linked by id and
-- never found by its name, and its password sealed with the key derived from SECRET_KEY so
-- the store's owner can read it back. The account's password hash sits in `users` like
-- every other; the clear password is stored nowhere.
--
-- Additive: the previous release never reads it.
create table staff_accounts (
    store_id bigint primary key references stores (id) on delete cascade,
    user_id bigint not null unique references users (id) on delete cascade,
    -- `v1:` + base64url(nonce ‖ XChaCha20-Poly1305 ciphertext), bound to the store's id.
    password_ciphertext text not null,
    created_at timestamptz not null default now(),
    password_changed_at timestamptz not null default now()
);
