//! SQL for `/approvals/`: approvals live in the store's own schema, so a token is only ever
//! redeemed in the store that granted it.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::approvals::forms::Asked;
use crate::db::schema::StoreTables;
use crate::tills::pin_check::PinMember;

/// How long an approval may wait to be redeemed.
pub const APPROVAL_SECONDS: i32 = 60;

/// The member asking: signed in on this very till (a PIN session bound to it).
#[derive(Debug)]
pub struct Requester {
    pub employee_id: i64,
    pub user_id: i64,
    pub rank: i16,
}

/// An approval about to be stored.
pub struct Grant<'a> {
    pub token_hash: &'a [u8],
    pub asked: &'a Asked,
    pub requester: &'a Requester,
    pub approver: &'a PinMember,
}

pub async fn insert_approval(
    tables: &StoreTables,
    conn: &mut PgConnection,
    grant: &Grant<'_>,
    device_id: i64,
) -> sqlx::Result<DateTime<Utc>> {
    let sql = tables.sql(
        "insert into {approvals}
             (token_hash, permission, subject, reason, requester_employee_id, approver_employee_id, device_id, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))
         returning expires_at",
    );
    crate::db::query_scalar(sql)
        .bind(grant.token_hash)
        .bind(&grant.asked.permission)
        .bind(&grant.asked.subject)
        .bind(&grant.asked.reason)
        .bind(grant.requester.employee_id)
        .bind(grant.approver.employee_id)
        .bind(device_id)
        .bind(f64::from(APPROVAL_SECONDS))
        .fetch_one(conn)
        .await
}

/// An approval as it was redeemed, with the names of both people.
#[derive(sqlx::FromRow)]
pub struct UsedApproval {
    pub permission: String,
    pub subject: Option<String>,
    pub reason: Option<String>,
    pub requester_employee_id: i64,
    pub approver_employee_id: i64,
    pub created_at: DateTime<Utc>,
    pub requester_first_name: String,
    pub requester_last_name: String,
    pub approver_first_name: String,
    pub approver_last_name: String,
}

/// Marks the approval of `token_hash` redeemed by `user_id` if it is unused, unexpired and
/// for `permission`, in the store of `tables`.
pub async fn use_approval(
    tables: &StoreTables,
    conn: &mut PgConnection,
    token_hash: &[u8],
    permission: &str,
    user_id: i64,
) -> sqlx::Result<Option<UsedApproval>> {
    crate::db::query_as(tables.sql(
        "with used as (
             update {approvals} set redeemed_at = now(), redeemed_by = $3
             where token_hash = $1 and permission = $2 and redeemed_at is null and expires_at > now()
             returning permission, subject, reason, requester_employee_id, approver_employee_id, created_at
         )
         select used.*,
                coalesce(r.first_name, '') as requester_first_name, coalesce(r.last_name, '') as requester_last_name,
                coalesce(a.first_name, '') as approver_first_name, coalesce(a.last_name, '') as approver_last_name
         from used
         left join {employees} r on r.id = used.requester_employee_id
         left join {employees} a on a.id = used.approver_employee_id",
    ))
    .bind(token_hash)
    .bind(permission)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// Whether session `session_id` was opened on till `device_id` (a PIN session bound to it);
/// `None` when there is no such session.
pub async fn session_on_till(
    conn: &mut PgConnection,
    session_id: uuid::Uuid,
    device_id: i64,
) -> sqlx::Result<Option<bool>> {
    crate::db::query_scalar("select device_id is not distinct from $2 from public.sessions where id = $1")
        .bind(session_id)
        .bind(device_id)
        .fetch_optional(conn)
        .await
}
