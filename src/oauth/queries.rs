//! SQL for service clients (`public.service_clients`) and for what introspection and
//! revocation read and end: sessions, by the tokens that name them.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::access::StoreRole;

/// A service client as the operator's list shows it (never with its secret's digest).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceClient {
    pub name: String,
    pub client_id: String,
    pub created_at: DateTime<Utc>,
    pub secret_rotated_at: DateTime<Utc>,
}

/// The unique index a new client's name violates when it is taken.
pub const NAME_CONSTRAINT: &str = "service_clients_name_key";

/// Records a client whose secret hashes to `secret_hash`. A taken name violates
/// [`NAME_CONSTRAINT`].
#[tracing::instrument(skip_all, err)]
pub async fn insert_client(
    conn: &mut PgConnection,
    name: &str,
    client_id: &str,
    secret_hash: &[u8],
) -> sqlx::Result<ServiceClient> {
    crate::db::query_as(
        "insert into public.service_clients (name, client_id, secret_hash) values ($1, $2, $3)
         returning name, client_id, created_at, secret_rotated_at",
    )
    .bind(name)
    .bind(client_id)
    .bind(secret_hash)
    .fetch_one(conn)
    .await
}

/// Every client, oldest first.
#[tracing::instrument(skip_all, err)]
pub async fn list_clients(conn: &mut PgConnection) -> sqlx::Result<Vec<ServiceClient>> {
    crate::db::query_as(
        "select name, client_id, created_at, secret_rotated_at from public.service_clients order by id",
    )
    .fetch_all(conn)
    .await
}

/// Replaces the secret of the client named `name` with one hashing to `secret_hash`: the old
/// secret stops working at once. `None` when no client has that name.
#[tracing::instrument(skip_all, err)]
pub async fn rotate_secret(
    conn: &mut PgConnection,
    name: &str,
    secret_hash: &[u8],
) -> sqlx::Result<Option<ServiceClient>> {
    crate::db::query_as(
        "update public.service_clients set secret_hash = $2, secret_rotated_at = now() where name = $1
         returning name, client_id, created_at, secret_rotated_at",
    )
    .bind(name)
    .bind(secret_hash)
    .fetch_optional(conn)
    .await
}

/// Deletes the client named `name`, and its throttle counts; false when there was none.
#[tracing::instrument(skip_all, err)]
pub async fn delete_client(conn: &mut PgConnection, name: &str) -> sqlx::Result<bool> {
    let client_id: Option<String> =
        crate::db::query_scalar("delete from public.service_clients where name = $1 returning client_id")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(client_id) = client_id else { return Ok(false) };
    crate::db::query("delete from public.service_client_throttle where counter_key in ($1, 'failed:' || $1)")
        .bind(client_id)
        .execute(conn)
        .await?;
    Ok(true)
}

/// The digest of the secret of the client `client_id`, if there is such a client.
#[tracing::instrument(skip_all, err)]
pub async fn find_secret_hash(conn: &mut PgConnection, client_id: &str) -> sqlx::Result<Option<Vec<u8>>> {
    crate::db::query_scalar("select secret_hash from public.service_clients where client_id = $1")
        .bind(client_id)
        .fetch_optional(conn)
        .await
}

/// The live session whose current refresh token hashes to `digest`: not revoked, within its
/// absolute and idle lifetimes, of an active account (what a refresh would accept, less a
/// retry of a token just rotated away).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshSession {
    pub session_id: Uuid,
    pub user_id: i64,
    pub username: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The session a refresh would rotate `digest` in, if it is live (see [`RefreshSession`]).
#[tracing::instrument(skip_all, err)]
pub async fn find_refresh_session(
    conn: &mut PgConnection,
    digest: &[u8],
    idle_timeout_secs: f64,
) -> sqlx::Result<Option<RefreshSession>> {
    crate::db::query_as(
        "select s.id as session_id, u.id as user_id, u.username, s.created_at, s.expires_at
         from public.sessions s join public.users u on u.id = s.user_id
         where s.refresh_token_hash = $1 and s.revoked_at is null and s.expires_at > now()
           and s.last_used_at > now() - make_interval(secs => $2) and u.is_active",
    )
    .bind(digest)
    .bind(idle_timeout_secs)
    .fetch_optional(conn)
    .await
}

/// Ends the session whose current refresh token hashes to `digest`; false when none was live.
#[tracing::instrument(skip_all, err)]
pub async fn revoke_refresh_session(conn: &mut PgConnection, digest: &[u8]) -> sqlx::Result<bool> {
    crate::db::query(
        "update public.sessions set revoked_at = now() where refresh_token_hash = $1 and revoked_at is null",
    )
    .bind(digest)
    .execute(conn)
    .await
    .map(|done| done.rows_affected() == 1)
}

/// The user of a live session and their role in one store.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberInStore {
    pub username: String,
    #[sqlx(flatten)]
    pub role: StoreRole,
}

/// The role in store `store_id` of the caller of live session `session_id` of `user_id`, as
/// every store-scoped request sees it: the caller check (`public.store_caller`: a live
/// session, an active account, an active membership, a till's session in its own store
/// only) and the store's own definition of the role. `None`: not live, or not a member.
#[tracing::instrument(skip_all, fields(user.id = user_id, store.id = store_id), err)]
pub async fn member_role(
    conn: &mut PgConnection,
    session_id: Uuid,
    user_id: i64,
    store_id: i64,
) -> sqlx::Result<Option<MemberInStore>> {
    crate::db::query_as(
        // The role is read only for a member of a store that still exists: `store_role`
        // cannot name a schema that is null.
        "select c.username, c.role, r.role_name, r.role_rank, r.role_permissions
         from public.store_caller($1, $2, $3) c
         cross join lateral (select role_name, role_rank, role_permissions
                             from public.store_role(c.store_schema, c.role)
                             where c.role is not null and c.store_schema is not null) r",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(store_id)
    .fetch_optional(conn)
    .await
}
