//! SQL for the tenant `audit_events` table (the transaction's `search_path` is the store's
//! schema; `public` tables are named in full).

use sqlx::PgConnection;
use sqlx::types::Json;

use crate::audit::{AuditAction, Changes};
use crate::db::schema::SchemaName;

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub actor_user_id: Option<i64>,
    pub action: AuditAction,
    pub employee_id: Option<i64>,
    pub changes: Changes,
}

/// Records `event` in the caller's transaction: it commits or rolls back with the change.
#[tracing::instrument(skip_all, fields(action = %event.action), err)]
pub async fn record(conn: &mut PgConnection, event: NewAuditEvent) -> sqlx::Result<()> {
    insert(conn, "audit_events", event).await
}

/// [`record`] into the trail of store schema `schema`, named in full (for work that has not
/// entered the store's schema, such as a till's sign-in).
pub async fn record_in(
    conn: &mut PgConnection,
    schema: &SchemaName,
    event: NewAuditEvent,
) -> sqlx::Result<()> {
    insert(conn, &schema.table("audit_events"), event).await
}

async fn insert(conn: &mut PgConnection, table: &str, event: NewAuditEvent) -> sqlx::Result<()> {
    let sql = format!(
        "insert into {table} (actor_user_id, action, target_employee_id, changes) values ($1, $2, $3, $4)"
    );
    crate::db::query(sqlx::AssertSqlSafe(sql))
        .bind(event.actor_user_id)
        .bind(event.action.as_str())
        .bind(event.employee_id)
        .bind(Json(event.changes.into_value()))
        .execute(conn)
        .await
        .map(|_| ())
}
