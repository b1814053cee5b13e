-- PIN sign-in on paired tills (docs/contract.md §11).

-- A session opened by PIN on a till is bound to that device and its store: it is listed with
-- the device's name, ended when the device is revoked, and reaches no other store. Null for
-- sessions opened with a password. Additive: the previous release never reads them.
--
-- `store_id` is the device's store, copied so the caller checks need no join; it has no
-- foreign key on purpose: each insert would take a KEY SHARE lock on the store's row, and
-- with several sign-ins at one store at once those locks become a MultiXact on the very row
-- every store-scoped request reads (`store_caller` joins `stores`), which each reader must
-- then look up. The device's own foreign key already ties the session to a real store.
alter table sessions
    add column device_id bigint references devices (id),
    add column store_id bigint;

create index sessions_device_id_idx on sessions (device_id) where device_id is not null and revoked_at is null;

-- The device lock (docs/contract.md §11): failed PINs in a row on one till, claimed before each PIN is
-- checked; the fifth locks PIN sign-in there until `pin_locked_until`, for a time that
-- doubles with each lock in a row (`pin_lockouts`). A success clears all three.
alter table devices
    add column pin_failures integer not null default 0,
    add column pin_lockouts integer not null default 0,
    add column pin_locked_until timestamptz;

-- The caller checks (0005, 0008) with one more condition: a till session is a member only of
-- the store of its till. Same signatures and columns, replaced in this transaction.
create or replace function session_member(p_session uuid, p_user bigint, p_store bigint)
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
        left join public.store_memberships m
               on m.user_id = u.id and m.store_id = p_store and m.is_active
              and (s.store_id is null or s.store_id = p_store)
        where s.id = p_session and s.user_id = p_user and s.revoked_at is null and s.expires_at > now()
          and u.is_active;
end
$$;

create or replace function store_caller(p_session uuid, p_user bigint, p_store bigint)
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
        left join public.store_memberships m
               on m.user_id = u.id and m.store_id = p_store and m.is_active
              and (s.store_id is null or s.store_id = p_store)
        left join public.stores st on st.id = p_store
        where s.id = p_session and s.user_id = p_user and s.revoked_at is null and s.expires_at > now()
          and u.is_active;
end
$$;
