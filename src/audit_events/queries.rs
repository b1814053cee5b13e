//! Reading the store's audit trail, a page at a time: the store's tables named in full
//! through [`StoreTables`], `public` tables as `public.x`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use sqlx::types::Json;

use crate::audit::AuditAction;
use crate::db::page::Counted;
use crate::db::schema::StoreTables;

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

/// One page of matching events, newest first, with the total count of matches. Every
/// filter is a parameter that is off when null, so the store's statement text never
/// changes and its connection keeps it prepared.
#[tracing::instrument(skip_all, err)]
pub async fn list_events(
    tables: &StoreTables,
    conn: &mut PgConnection,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<AuditEventRow>, i64)> {
    let rows: Vec<Counted<AuditEventRow>> = crate::db::query_as(tables.sql(
        "select a.id, a.action, a.actor_user_id, au.username as actor_username,
                a.target_employee_id as employee_id, eu.username as employee_username, a.changes, a.created_at,
                count(*) over () as total
         from {audit_events} a
         left join public.users au on au.id = a.actor_user_id
         left join {employees} e on e.id = a.target_employee_id
         left join public.users eu on eu.id = e.user_id
         where ($1::bigint is null or a.actor_user_id = $1)
           and ($2::text is null or a.action = $2)
           and ($3::bigint is null or a.target_employee_id = $3)
           and ($4::timestamptz is null or a.created_at >= $4)
           and ($5::timestamptz is null or a.created_at < $5)
         order by a.created_at desc, a.id desc limit $6 offset $7",
    ))
    .bind(filter.actor_user_id)
    .bind(filter.action.map(AuditAction::as_str))
    .bind(filter.employee_id)
    .bind(filter.from)
    .bind(filter.until)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    Ok(Counted::split(rows))
}
