//! SQL of the till domain: finding the device a till's token names (in `public`: a token
//! must be told apart from another store's).

use sqlx::PgConnection;

/// The device whose token hashes to `token_hash`, whichever store it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenDevice {
    pub id: i64,
    pub store_id: i64,
    pub name: String,
    pub is_active: bool,
}

/// Finds the device of `token_hash` and, when it is active and of store `store_id`, marks it
/// seen: at most once a minute, so a busy till does not write on every request.
pub async fn find_device_by_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
    store_id: i64,
) -> sqlx::Result<Option<TokenDevice>> {
    crate::db::query_as(
        "with found as (
             select id, store_id, name, revoked_at is null as is_active, last_seen_at
             from public.devices where token_hash = $1
         ), seen as (
             update public.devices d set last_seen_at = now() from found
             where d.id = found.id and found.is_active and found.store_id = $2
               and (found.last_seen_at is null or found.last_seen_at < now() - interval '1 minute')
             returning d.id
         )
         select id, store_id, name, is_active from found",
    )
    .bind(token_hash)
    .bind(store_id)
    .fetch_optional(conn)
    .await
}
