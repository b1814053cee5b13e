-- The caller check of a store read that names the store's schema in its own statement
-- (docs/contract.md §3): the live session, the active account, the active membership in one store, and
-- the schema the registry gives that store, so the read can prove it reads that schema.
--
-- Why PL/pgSQL, again: a SQL function would be inlined into each store's statement, and
-- each backend keeps a plan per statement per store; here the join below is planned once
-- per backend, and each store's statement only plans a function call beside its own table:
-- a store's `me` statement held 64 KiB of plan cache instead of 160 KiB with the join
-- written out (pg_backend_memory_contexts, 300 stores prepared in one backend).
-- No `set search_path` clause: every name is qualified, pg_catalog is always searched
-- first, and such a clause would save and restore the setting on every call.
-- Additive: the previous release keeps calling `session_member`.
create function store_caller(p_session uuid, p_user bigint, p_store bigint)
returns table (
    user_id bigint,
    username text,
    first_name text,
    last_name text,
    email text,
    must_change_password boolean,
    role text,
    store_schema text
)
language plpgsql stable
as $$
begin
    return query
        select u.id, u.username, u.first_name, u.last_name, u.email, u.must_change_password, m.role,
               st.schema_name
        from public.sessions s
        join public.users u on u.id = s.user_id
        left join public.store_memberships m on m.user_id = u.id and m.store_id = p_store and m.is_active
        left join public.stores st on st.id = p_store
        where s.id = p_session and s.user_id = p_user and s.revoked_at is null and s.expires_at > now()
          and u.is_active;
end
$$;
