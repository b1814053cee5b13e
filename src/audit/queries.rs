//! SQL for the tenant `audit_events` table (the transaction's `search_path` is the store's
//! schema; `public` tables are named in full).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres};

use crate::audit::{AuditAction, Changes};
use crate::db::page::{self, Filters, PageSql};

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
    crate::db::query(
        "insert into audit_events (actor_user_id, action, target_employee_id, changes) values ($1, $2, $3, $4)",
    )
    .bind(event.actor_user_id)
    .bind(event.action.as_str())
    .bind(event.employee_id)
    .bind(Json(event.changes.into_value()))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Which events a list shows; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_user_id: Option<i64>,
    pub action: Option<AuditAction>,
    pub employee_id: Option<i64>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
}

/// An event with the usernames of its actor and employee.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEventRow {
    pub id: i64,
    pub action: String,
    pub actor_user_id: Option<i64>,
    pub actor_username: Option<String>,
    pub employee_id: Option<i64>,
    pub employee_username: Option<String>,
    pub changes: Json<Value>,
    pub created_at: DateTime<Utc>,
}

/// The event list: `$1` actor, `$2` action, `$3` employee, `$4` from, `$5` until, each off
/// when null, so the text is the same for every request.
fn event_list() -> PageSql {
    PageSql {
        columns: "a.id, a.action, a.actor_user_id, au.username as actor_username,
                  a.target_employee_id as employee_id, eu.username as employee_username, a.changes, a.created_at",
        matches: "from audit_events a
                  left join public.users au on au.id = a.actor_user_id
                  left join employees e on e.id = a.target_employee_id
                  left join public.users eu on eu.id = e.user_id
                  where ($1::bigint is null or a.actor_user_id = $1)
                    and ($2::text is null or a.action = $2)
                    and ($3::bigint is null or a.target_employee_id = $3)
                    and ($4::timestamptz is null or a.created_at >= $4)
                    and ($5::timestamptz is null or a.created_at < $5)"
            .to_owned(),
        order_by: "a.created_at desc, a.id desc",
        reusable: true,
    }
}

impl Filters for AuditFilter {
    fn parameter_count(&self) -> usize {
        5
    }

    fn bind<'q, O>(
        &self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> QueryAs<'q, Postgres, O, PgArguments> {
        query
            .bind(self.actor_user_id)
            .bind(self.action.map(AuditAction::as_str))
            .bind(self.employee_id)
            .bind(self.from)
            .bind(self.until)
    }
}

/// One page of matching events, newest first, with the total count of matches.
#[tracing::instrument(skip_all, err)]
pub async fn list_events(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<AuditEventRow>, i64)> {
    page::fetch(conn, &event_list(), filter, limit, offset).await
}
