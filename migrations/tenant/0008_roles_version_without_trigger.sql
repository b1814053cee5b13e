-- The store's roles version (`public.stores.roles_version`) is moved on by the statements
-- that write roles, in the same transaction (`access::queries`), and by the migration
-- runner after it applies a tenant migration, instead of a trigger: a schema placed on a
-- distributed-PostgreSQL worker (Citus) may hold no trigger. Schemas made by this release
-- never had it (the runner skips the statement of 0003 that created it), and there even
-- `drop trigger if exists` is refused, so it is dropped only where it exists.
do $$
begin
    if exists (select 1 from pg_trigger where tgname = 'roles_bump_version' and tgrelid = to_regclass('roles')) then
        drop trigger roles_bump_version on roles;
    end if;
end
$$;
