-- The global identity registry: what must be read before a tenant is known (docs/contract.md §2).

-- Global accounts. One person signs in once and may work in several stores.
create table users (
    id bigint generated always as identity primary key,
    username text not null,
    -- Argon2id PHC string; the only column that ever holds a password derivative.
    password_hash text not null,
    first_name text not null default '',
    last_name text not null default '',
    email text not null default '',
    phone text not null default '',
    is_active boolean not null default true,
    -- Set by an administrator's reset: the user must choose a new password first (docs/contract.md §4).
    must_change_password boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint users_username_length check (char_length(username) between 1 and 150)
);

-- Usernames are unique regardless of case: `Ivan` and `ivan` are one account.
create unique index users_username_key on users (lower(username));

-- The store registry. `schema_name` is derived from `slug` (`-` becomes `_`) and never changes.
create table stores (
    id bigint generated always as identity primary key,
    name text not null,
    slug text not null,
    -- `<slug>_<8 hex>`: what POS apps send as X-Tenant-Key.
    tenant_key text not null,
    schema_name text not null,
    owner_id bigint not null references users (id),
    description text not null default '',
    address text not null default '',
    city text not null default '',
    region text not null default '',
    phone text not null default '',
    email text not null default '',
    legal_name text not null default '',
    tax_id text not null default '',
    -- Deactivation keeps every row and the schema; the key then answers 403 inactive_tenant.
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint stores_slug_key unique (slug),
    constraint stores_tenant_key_key unique (tenant_key),
    constraint stores_schema_name_key unique (schema_name),
    -- 56 characters at most, so `tenant_<slug>` fits PostgreSQL's 63-byte identifiers,
    -- which are otherwise truncated silently and could merge two stores.
    constraint stores_slug_format check (slug ~ '^[a-z][a-z0-9_-]{0,55}$'),
    constraint stores_schema_name_format check (schema_name ~ '^tenant_[a-z][a-z0-9_]{0,55}$')
);

create index stores_owner_id_idx on stores (owner_id);

-- Who works where, in which role: read by login and by the tenant membership check.
create table store_memberships (
    user_id bigint not null references users (id),
    store_id bigint not null references stores (id),
    role text not null,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint store_memberships_pkey primary key (user_id, store_id),
    constraint store_memberships_role_check check (role in ('owner', 'manager', 'cashier', 'stockkeeper'))
);

create index store_memberships_store_id_idx on store_memberships (store_id);
