-- Memberships may hold a store's own roles (SPEC §10): the role's definition lives in the
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

-- The trigger function of every store's `roles` (tenant migration 0003): a change to the
-- table moves the store's `role_version` on, in the same transaction. The schema comes
-- from the trigger, so a change made under any search_path counts.
create function bump_role_version()
returns trigger
language plpgsql
as $$
begin
    execute format('update %I.role_version set version = version + 1', tg_table_schema);
    return null;
end
$$;
