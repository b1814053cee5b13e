-- The caller check of every store-scoped request (docs/contract.md §3, §4): the live session, the
-- active account and the active membership in one store, as a function.
--
-- Why a PL/pgSQL function with its own search_path: the check used to be a plain
-- three-table join sent as text in the request's one message, and PostgreSQL parsed and
-- planned it on every request: alone in pgbench it managed 4,800 calls/s on 2 cores, against
-- 20,000 for `pgbench -S`. PL/pgSQL keeps the plan of the query below for the life of the
-- connection, and the fixed search_path (`set search_path` on the function) keeps that plan
-- valid while the request's own search_path moves from store to store (a cached plan made
-- under one search_path is re-planned under another). The call itself is cheap to plan.
create function session_member(p_session uuid, p_user bigint, p_store bigint)
returns table (
    user_id bigint,
    username text,
    first_name text,
    last_name text,
    email text,
    must_change_password boolean,
    role text
)
language plpgsql stable
set search_path = pg_catalog
as $$
begin
    return query
        select u.id, u.username, u.first_name, u.last_name, u.email, u.must_change_password, m.role
        from public.sessions s
        join public.users u on u.id = s.user_id
        left join public.store_memberships m on m.user_id = u.id and m.store_id = p_store and m.is_active
        where s.id = p_session and s.user_id = p_user and s.revoked_at is null and s.expires_at > now()
          and u.is_active;
end
$$;
