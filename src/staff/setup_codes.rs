//! Set-up codes (docs/contract.md §16): instead of telling a colleague a password, a manager
//! hands over a code with which the employee chooses their own, on their own phone. The code
//! has the pairing code's format (`credentials::typed_code`), is kept in `public` as its
//! SHA-256 only, works once, for 72 hours, and dies when a newer one is issued for the same
//! account. Issuing one changes nothing else: the account's password and sessions stay until
//! the code is used, which sets the password and ends every other session, as a reset does.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::audit::queries::{NewAuditEvent, record};
use crate::audit::{AuditAction, Changes};
use crate::credentials::queries as account_queries;
use crate::credentials::typed_code;
use crate::db::schema::SchemaName;
use crate::error::{ApiError, ApiResult};
use crate::staff::SetupCodeOut;
use crate::staff::queries::StaffMember;
use crate::tenant::conn::TenantConn;

/// The tables (after `from public.setup_codes c`) and conditions (after `where`) that keep
/// a code live: unused, unexpired, its account active and still an active member of the
/// active store that issued it.
macro_rules! live_code_tables {
    () => {
        "public.users u, public.stores s, public.store_memberships m"
    };
}
macro_rules! live_code_conditions {
    () => {
        "c.used_at is null and c.expires_at > now()
         and u.id = c.user_id and u.is_active
         and s.id = c.store_id and s.is_active
         and m.user_id = c.user_id and m.store_id = c.store_id and m.is_active"
    };
}

/// Issues a set-up code for `member`'s account in the caller's transaction (the caller has
/// checked the rights), replacing any earlier one, with its audit event.
pub async fn issue(tenant: &mut TenantConn, member: &StaffMember) -> ApiResult<SetupCodeOut> {
    let user_id = member.employee.user_id.ok_or(ApiError::NoAccount)?;
    let code = typed_code::new_code();
    let hash =
        typed_code::code_hash(&code).ok_or_else(|| ApiError::internal(anyhow::anyhow!("a code we made")))?;
    let new = NewSetupCode {
        code_hash: &hash,
        user_id,
        store_id: tenant.store.id,
        employee_id: member.employee.id,
        created_by: tenant.member.user_id,
    };
    let expires_at = replace_code(tenant.conn(), &new).await?;
    let mut changes = Changes::default();
    changes.created("expires_at", &expires_at);
    crate::audit::record::by_caller(
        tenant,
        AuditAction::EmployeeSetupCodeIssued,
        member.employee.id,
        changes,
    )
    .await?;
    Ok(SetupCodeOut { code, expires_at })
}

/// The account a live set-up code sets the password of.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeHolder {
    pub user_id: i64,
    pub username: String,
}

/// The account of the live code with hash `code_hash`: unused, unexpired, the account
/// active, and still an active member of the active store that issued it. Reads only: the
/// code is used by [`use_code`].
pub async fn find_holder(conn: &mut PgConnection, code_hash: &[u8]) -> sqlx::Result<Option<CodeHolder>> {
    crate::db::query_as(concat!(
        "select u.id as user_id, u.username from public.setup_codes c, ",
        live_code_tables!(),
        " where c.code_hash = $1 and ",
        live_code_conditions!()
    ))
    .bind(code_hash)
    .fetch_optional(conn)
    .await
}

/// Uses the code with hash `code_hash` of account `user_id`, if it is still live (see
/// [`find_holder`]): one statement, so of two uses at once one wins. Then sets the
/// account's password hash, ends every session of the account, and writes the audit event
/// in the store that issued the code (the actor: the employee). The number of sessions
/// ended; `None` when the code was not live.
pub async fn use_code(
    conn: &mut PgConnection,
    code_hash: &[u8],
    user_id: i64,
    password_hash: &str,
) -> ApiResult<Option<u64>> {
    let used: Option<UsedCode> = crate::db::query_as(concat!(
        "update public.setup_codes c set used_at = now() from ",
        live_code_tables!(),
        " where c.code_hash = $1 and c.user_id = $2 and ",
        live_code_conditions!(),
        " returning c.store_id, c.employee_id, s.schema_name"
    ))
    .bind(code_hash)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(used) = used else { return Ok(None) };
    account_queries::update_password_hash(conn, user_id, password_hash, false).await?;
    let ended = account_queries::revoke_user_sessions(conn, user_id, None).await?;
    let schema = SchemaName::parse(&used.schema_name).map_err(ApiError::internal)?;
    let mut changes = Changes::default();
    changes.created("sessions_ended", &ended);
    let event = NewAuditEvent {
        actor_user_id: Some(user_id),
        action: AuditAction::EmployeeSetupCompleted,
        employee_id: Some(used.employee_id),
        changes,
    };
    record(&schema.tables(), conn, event).await?;
    tracing::info!(
        store.id = used.store_id,
        employee.id = used.employee_id,
        sessions.revoked = ended,
        "an employee chose their password with a set-up code"
    );
    Ok(Some(ended))
}

/// What a used code tells about where it was issued.
#[derive(Debug, Clone, sqlx::FromRow)]
struct UsedCode {
    store_id: i64,
    employee_id: i64,
    schema_name: String,
}

/// A set-up code to store.
struct NewSetupCode<'a> {
    code_hash: &'a [u8],
    user_id: i64,
    store_id: i64,
    employee_id: i64,
    created_by: i64,
}

/// Stores a new code for `new.user_id`, valid 72 hours, and deletes the account's earlier
/// ones (one live code per account); when it expires.
async fn replace_code(conn: &mut PgConnection, new: &NewSetupCode<'_>) -> sqlx::Result<DateTime<Utc>> {
    crate::db::query("delete from public.setup_codes where user_id = $1")
        .bind(new.user_id)
        .execute(&mut *conn)
        .await?;
    crate::db::query_scalar(
        "insert into public.setup_codes (code_hash, user_id, store_id, employee_id, created_by, expires_at)
         values ($1, $2, $3, $4, $5, now() + interval '72 hours')
         returning expires_at",
    )
    .bind(new.code_hash)
    .bind(new.user_id)
    .bind(new.store_id)
    .bind(new.employee_id)
    .bind(new.created_by)
    .fetch_one(conn)
    .await
}
