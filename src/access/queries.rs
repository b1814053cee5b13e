//! SQL for a store's `roles` table (docs/contract.md §10).
//!
//! Every statement names the store's tables in full through [`StoreTables`] and `public`
//! tables as `public.x`: the writes run in the request's transaction (`tenant::conn`), the
//! list is a store read ([`ROLE_LIST_SQL`]).
//!
//! Every write moves the store's roles version on in the same transaction
//! ([`bump_roles_version`]).
//!
//! Concurrency: whoever assigns a role reads it `for share` ([`lock_role`]) and whoever
//! deletes or re-ranks it takes it `for update` ([`lock_role_for_change`]) before counting
//! its holders, so a role is never deleted under a member who is being given it, and a
//! member is never given a role that a committed delete removed.

use sqlx::PgConnection;

use super::StoreRole;
use crate::db::schema::StoreTables;

/// A role of the store with what its list shows besides the definition.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoleRow {
    #[sqlx(flatten)]
    pub role: StoreRole,
    pub built_in: bool,
    /// Members of the store holding it, active or deactivated (not removed ones).
    pub member_count: i64,
}

/// The columns of a [`RoleRow`] from `roles r`; `$store` is the parameter holding the
/// store's id.
macro_rules! role_row_columns {
    ($store:literal) => {
        concat!(
            "r.code as role, r.name as role_name, r.rank as role_rank, r.permissions as role_permissions, \
             r.built_in, \
             (select count(*) from {employees} e \
              left join public.store_memberships m on m.user_id = e.user_id and m.store_id = ",
            $store,
            " where e.role = r.code \
                and (m.user_id is not null or (e.user_id is null and e.removed_at is null))) as member_count"
        )
    };
}

/// The store's roles, highest rank first, as a store read (`$3` is the store's id there).
pub const ROLE_LIST_SQL: &str =
    concat!("select ", role_row_columns!("$3"), " from {roles} r order by r.rank desc, r.code");

/// Role `code` of the store, read `for share`: held until the transaction ends, so the role
/// cannot be deleted or re-ranked while the caller gives it to someone. `None`: no such
/// role in this store.
#[tracing::instrument(skip_all, fields(role = code), err)]
pub async fn lock_role(
    tables: &StoreTables,
    conn: &mut PgConnection,
    code: &str,
) -> sqlx::Result<Option<StoreRole>> {
    crate::db::query_as(tables.sql(
        "select code as role, name as role_name, rank as role_rank, permissions as role_permissions
         from {roles} where code = $1 for share",
    ))
    .bind(code)
    .fetch_optional(conn)
    .await
}

/// Role `code` of store `store_id` with its holders, read `for update` (see the module
/// documentation): the row a change or delete starts from. The holders are counted by
/// this statement, after the lock is granted, so assignments committed before are seen.
#[tracing::instrument(skip_all, fields(role = code), err)]
pub async fn lock_role_for_change(
    tables: &StoreTables,
    conn: &mut PgConnection,
    store_id: i64,
    code: &str,
) -> sqlx::Result<Option<RoleRow>> {
    let locked: Option<String> =
        crate::db::query_scalar(tables.sql("select code from {roles} where code = $1 for update"))
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?;
    if locked.is_none() {
        return Ok(None);
    }
    // A statement of its own: in READ COMMITTED it sees whatever committed while the lock
    // was awaited.
    let select = concat!("select ", role_row_columns!("$2"), " from {roles} r where r.code = $1");
    crate::db::query_as(tables.sql(select)).bind(code).bind(store_id).fetch_optional(conn).await
}

/// Adds `role` as a custom role; `None` when the code is taken (by a built-in too).
#[tracing::instrument(skip_all, fields(role = role.code), err)]
pub async fn insert_role(
    tables: &StoreTables,
    conn: &mut PgConnection,
    role: &StoreRole,
) -> sqlx::Result<Option<StoreRole>> {
    let inserted = crate::db::query_as(tables.sql(
        "insert into {roles} (code, name, rank, permissions) values ($1, $2, $3, $4)
         on conflict (code) do nothing
         returning code as role, name as role_name, rank as role_rank, permissions as role_permissions",
    ))
    .bind(&role.code)
    .bind(&role.name)
    .bind(role.rank)
    .bind(&role.permissions)
    .fetch_optional(&mut *conn)
    .await?;
    bump_roles_version(tables, conn).await?;
    Ok(inserted)
}

/// Stores `role`'s name, rank and permissions under its code.
#[tracing::instrument(skip_all, fields(role = role.code), err)]
pub async fn update_role(
    tables: &StoreTables,
    conn: &mut PgConnection,
    role: &StoreRole,
) -> sqlx::Result<()> {
    crate::db::query(tables.sql(
        "update {roles} set name = $2, rank = $3, permissions = $4, updated_at = now() where code = $1",
    ))
    .bind(&role.code)
    .bind(&role.name)
    .bind(role.rank)
    .bind(&role.permissions)
    .execute(&mut *conn)
    .await?;
    bump_roles_version(tables, conn).await
}

/// Deletes custom role `code` (locked by [`lock_role_for_change`] and found unheld).
#[tracing::instrument(skip_all, fields(role = code), err)]
pub async fn delete_role(tables: &StoreTables, conn: &mut PgConnection, code: &str) -> sqlx::Result<()> {
    crate::db::query(tables.sql("delete from {roles} where code = $1 and not built_in"))
        .bind(code)
        .execute(&mut *conn)
        .await?;
    bump_roles_version(tables, conn).await
}

/// Moves the store's `roles_version` on, in the transaction of the role write before it:
/// requests hold role definitions by that version (`access::directory`), so none is served
/// stale once the write commits. Every write to `{roles}` calls this (a trigger did, before
/// stores' schemas could sit on distributed-PostgreSQL workers, which refuse triggers).
async fn bump_roles_version(tables: &StoreTables, conn: &mut PgConnection) -> sqlx::Result<()> {
    crate::db::query("update public.stores set roles_version = roles_version + 1 where schema_name = $1")
        .bind(tables.schema().as_str())
        .execute(conn)
        .await
        .map(|_| ())
}
