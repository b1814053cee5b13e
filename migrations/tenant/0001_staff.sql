-- A store's own data, created in its schema `tenant_<slug>` (docs/contract.md §2).
-- No foreign keys into `public`: a schema-sharding engine may move a store to another node.

-- The store profile of each member of staff. Ids are numbered per store, as today.
create table employees (
    id bigint generated always as identity primary key,
    -- public.users.id of the member's account.
    user_id bigint not null,
    role text not null,
    first_name text not null default '',
    last_name text not null default '',
    phone text not null default '',
    position text not null default '',
    is_active boolean not null default true,
    hired_at date not null default current_date,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint employees_user_id_key unique (user_id),
    constraint employees_role_check check (role in ('owner', 'manager', 'cashier', 'stockkeeper'))
);

-- The store's audit trail: who changed what, and when. Never holds passwords.
create table audit_events (
    id bigint generated always as identity primary key,
    -- public.users.id of whoever acted; null for the system itself.
    actor_user_id bigint,
    action text not null,
    target_employee_id bigint,
    -- Changed fields as {"field": {"before": …, "after": …}}.
    changes jsonb not null default '{}',
    created_at timestamptz not null default now()
);

create index audit_events_created_at_idx on audit_events (created_at desc);
