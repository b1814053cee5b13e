//! SQL for the tenant `audit_events` table: the store's tables named in full through
//! [`StoreTables`], `public` tables as `public.x`.

use sqlx::PgConnection;
use sqlx::types::Json;

use crate::audit::{AuditAction, Changes};
use crate::db::schema::StoreTables;

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub actor_user_id: Option<i64>,
    pub action: AuditAction,
    pub employee_id: Option<i64>,
    pub changes: Changes,
}

/// Records `event` in the trail of the store of `tables`, in the caller's transaction: it
/// commits or rolls back with the change (a request's, or a till's sign-in).
#[tracing::instrument(skip_all, fields(action = %event.action), err)]
pub async fn record(tables: &StoreTables, conn: &mut PgConnection, event: NewAuditEvent) -> sqlx::Result<()> {
    crate::db::query(tables.sql(
        "insert into {audit_events} (actor_user_id, action, target_employee_id, changes) values ($1, $2, $3, $4)",
    ))
    .bind(event.actor_user_id)
    .bind(event.action.as_str())
    .bind(event.employee_id)
    .bind(Json(event.changes.into_value()))
    .execute(conn)
    .await
    .map(|_| ())
}
