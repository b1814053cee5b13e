//! SQL for `/devices/`: pairing codes and devices live in `public` (a till pairs before it
//! knows its store, and a token must be told apart from another store's), the roster reads
//! the store's schema named in full.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::schema::StoreTables;

/// Stores a new pairing code's hash for store `store_id`; valid 10 minutes.
pub async fn insert_pairing_code(
    conn: &mut PgConnection,
    code_hash: &[u8],
    store_id: i64,
    name: &str,
    created_by: i64,
) -> sqlx::Result<DateTime<Utc>> {
    crate::db::query_scalar(
        "insert into public.pairing_codes (code_hash, store_id, name, created_by, expires_at)
         values ($1, $2, $3, $4, now() + interval '10 minutes')
         returning expires_at",
    )
    .bind(code_hash)
    .bind(store_id)
    .bind(name)
    .bind(created_by)
    .fetch_one(conn)
    .await
}

/// A pairing code taken for use.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UsedCode {
    pub store_id: i64,
    pub name: String,
    pub created_by: i64,
}

/// Uses the code with hash `code_hash`, if it is unused, unexpired and of an active store:
/// one statement, so two tills racing for one code get it once.
pub async fn use_pairing_code(conn: &mut PgConnection, code_hash: &[u8]) -> sqlx::Result<Option<UsedCode>> {
    crate::db::query_as(
        "update public.pairing_codes c set used_at = now()
         from public.stores s
         where c.code_hash = $1 and c.used_at is null and c.expires_at > now()
           and s.id = c.store_id and s.is_active
         returning c.store_id, c.name, c.created_by",
    )
    .bind(code_hash)
    .fetch_optional(conn)
    .await
}

/// A paired device as its store's managers see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub paired_by: Option<i64>,
    pub is_active: bool,
}

/// Adds a device to store `store_id` with the hash of its token.
pub async fn insert_device(
    conn: &mut PgConnection,
    store_id: i64,
    name: &str,
    token_hash: &[u8],
    paired_by: i64,
) -> sqlx::Result<DeviceRow> {
    crate::db::query_as(
        "insert into public.devices (store_id, name, token_hash, paired_by) values ($1, $2, $3, $4)
         returning id, name, created_at, last_seen_at, paired_by, revoked_at is null as is_active",
    )
    .bind(store_id)
    .bind(name)
    .bind(token_hash)
    .bind(paired_by)
    .fetch_one(conn)
    .await
}

/// The devices of store `store_id`, newest first.
pub async fn list_devices(conn: &mut PgConnection, store_id: i64) -> sqlx::Result<Vec<DeviceRow>> {
    crate::db::query_as(
        "select id, name, created_at, last_seen_at, paired_by, revoked_at is null as is_active
         from public.devices where store_id = $1 order by created_at desc, id desc",
    )
    .bind(store_id)
    .fetch_all(conn)
    .await
}

/// Revokes device `id` of store `store_id`; `None` when the store has no such device,
/// `Some(false)` when it was revoked already.
pub async fn revoke_device(conn: &mut PgConnection, store_id: i64, id: i64) -> sqlx::Result<Option<bool>> {
    crate::db::query_scalar(
        "with target as (select id, revoked_at from public.devices where id = $2 and store_id = $1 for update)
         update public.devices d set revoked_at = coalesce(d.revoked_at, now())
         from target where d.id = target.id
         returning target.revoked_at is null",
    )
    .bind(store_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Ends every session opened by PIN on device `device_id`; how many were live.
pub async fn revoke_device_sessions(conn: &mut PgConnection, device_id: i64) -> sqlx::Result<u64> {
    crate::db::query(
        "update public.sessions set revoked_at = now() where device_id = $1 and revoked_at is null",
    )
    .bind(device_id)
    .execute(conn)
    .await
    .map(|done| done.rows_affected())
}

/// A member a till may sign in: active, with a PIN.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RosterRow {
    pub employee_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    /// The store's roles version, read with the roster (`access::directory`).
    pub roles_version: i64,
}

/// The members of store `store_id` (tables `tables`) with a PIN, by name.
pub async fn roster(
    conn: &mut PgConnection,
    tables: &StoreTables,
    store_id: i64,
) -> sqlx::Result<Vec<RosterRow>> {
    let select = tables.sql(
        "select e.id as employee_id, e.first_name, e.last_name, e.role, s.roles_version
         from {employees} e
         join {employee_pins} p on p.employee_id = e.id
         join public.store_memberships m on m.user_id = e.user_id and m.store_id = $1 and m.is_active
         join public.stores s on s.id = $1
         where e.is_active
         order by e.first_name, e.last_name, e.id",
    );
    crate::db::query_as(select).bind(store_id).fetch_all(conn).await
}

/// A store as a freshly paired till learns it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PairedStore {
    pub name: String,
    pub slug: String,
    pub tenant_key: String,
    pub schema_name: String,
}

/// Store `store_id`'s names and schema.
pub async fn find_store(conn: &mut PgConnection, store_id: i64) -> sqlx::Result<Option<PairedStore>> {
    crate::db::query_as("select name, slug, tenant_key, schema_name from public.stores where id = $1")
        .bind(store_id)
        .fetch_optional(conn)
        .await
}
