-- Memberships may hold a store's own roles (docs/contract.md §10): the role's definition lives in the
-- store's schema (`roles`), so the check of the four built-in names goes.
-- Additive: the previous release only writes built-in names.
alter table store_memberships drop constraint store_memberships_role_check;

-- A role's definition in one store, for statements that list several stores at once
-- (login's `available_stores`, my-stores): `cross join lateral public.store_role(s.schema_name, m.role)`.
--
-- Dynamic SQL, so it is planned on each call (a few tens of microseconds): these lists
-- are read once per sign-in, and one statement text serves every store. `%I` quotes the
-- schema name, which the stores table already restricts to `tenant_[a-z][a-z0-9_]*`.
create function store_role(p_schema text, p_code text)
returns table (role_name text, role_rank smallint, role_permissions text[])
language plpgsql stable
as $$
begin
    return query execute format('select name, rank, permissions from %I.roles where code = $1', p_schema)
        using p_code;
end
$$;

-- The version of each store's roles (docs/contract.md §10): every change to a store's `roles` moves it
-- on in the same transaction (the trigger below, tenant migration 0003). Each request reads
-- it with its caller and uses the role definitions kassa holds for exactly that version
-- (`roles::directory`). It lives here, beside the row the caller check reads anyway, so a
-- store read names no extra table for it.
alter table stores add column roles_version bigint not null default 1;

create function bump_role_version()
returns trigger
language plpgsql
as $$
begin
    update public.stores set roles_version = roles_version + 1 where schema_name = tg_table_schema;
    return null;
end
$$;

-- `store_caller` (0007) also returns the store's `roles_version`. Replaced in this
-- transaction, so no statement ever finds it missing; the previous release names the
-- columns it reads and keeps working.
drop function store_caller(uuid, bigint, bigint);
create function store_caller(p_session uuid, p_user bigint, p_store bigint)
returns table (
    user_id bigint,
    username text,
    first_name text,
    last_name text,
    email text,
    must_change_password boolean,
    role text,
    store_schema text,
    roles_version bigint
)
language plpgsql stable
as $$
begin
    return query
        select u.id, u.username, u.first_name, u.last_name, u.email, u.must_change_password, m.role,
               st.schema_name, st.roles_version
        from public.sessions s
        join public.users u on u.id = s.user_id
        left join public.store_memberships m on m.user_id = u.id and m.store_id = p_store and m.is_active
        left join public.stores st on st.id = p_store
        where s.id = p_session and s.user_id = p_user and s.revoked_at is null and s.expires_at > now()
          and u.is_active;
end
$$;
