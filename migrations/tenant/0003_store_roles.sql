-- The store's own roles (docs/contract.md §10), starting as the four built-in roles of docs/contract.md §5.
--
-- Additive for the previous release: it never reads this table, and the employees check
-- dropped below only widened what a row may hold (its own writes are built-in codes).
-- A store holding custom roles needs this release to read them.

create table roles (
    -- What employees and memberships hold (`employees.role`, `public.store_memberships.role`).
    code text primary key,
    -- Null: a built-in role not renamed, shown by its localized name.
    name text,
    -- Who manages whom: rank ≥ 50 manages strictly lower ranks. Built-ins 100/50/10/10.
    rank smallint not null,
    permissions text[] not null default '{}',
    built_in boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint roles_code_format check (code ~ '^[a-z][a-z0-9_]{1,31}$'),
    constraint roles_name_length check (name is null or char_length(name) between 1 and 64),
    constraint roles_rank_range check (rank between 1 and 100),
    constraint roles_permission_count check (cardinality(permissions) <= 64)
);

insert into roles (code, rank, permissions, built_in) values
    ('owner', 100, array['view_all', 'create_all', 'update_all', 'delete_all', 'manage_employees',
                         'manage_store', 'view_analytics', 'manage_products', 'manage_sales',
                         'manage_customers'], true),
    ('manager', 50, array['view_all', 'create_all', 'update_all', 'manage_products', 'manage_sales',
                          'manage_customers', 'view_analytics'], true),
    ('cashier', 10, array['view_products', 'create_sales', 'view_customers', 'create_customers'], true),
    ('stockkeeper', 10, array['view_products', 'create_products', 'update_products', 'manage_inventory',
                              'view_analytics'], true);

-- Every statement that changes the roles moves the store's `public.stores.roles_version`
-- on, in its own transaction: requests use role definitions by that version
-- (`roles::directory`), so none is ever served stale.
create trigger roles_bump_version after insert or update or delete or truncate on roles
    for each statement execute function public.bump_role_version();

-- Employees may hold the store's own roles. No foreign key: a removed employee keeps the
-- code of the role they held (history), and that role may be deleted since; the role
-- writes lock the role row instead (`roles::queries`).
alter table employees drop constraint employees_role_check;
