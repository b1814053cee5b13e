//! Writing the audit trail from a store-scoped request.
//!
//! The event joins the request's tenant transaction, so it commits or rolls back with the
//! change it describes, and its actor is the caller the transaction checked: no handler
//! names an actor of its own.

use crate::audit::queries::{self, NewAuditEvent};
use crate::audit::{AuditAction, Changes};
use crate::tenant::conn::TenantConn;

/// Records that the caller of `tenant` did `action` to employee `employee_id`, changing
/// `changes`.
pub async fn by_caller(
    tenant: &mut TenantConn,
    action: AuditAction,
    employee_id: i64,
    changes: Changes,
) -> sqlx::Result<()> {
    record(tenant, action, Some(employee_id), changes).await
}

/// Records that the caller of `tenant` did `action` to the store itself (its roles),
/// changing `changes`.
pub async fn store_change_by_caller(
    tenant: &mut TenantConn,
    action: AuditAction,
    changes: Changes,
) -> sqlx::Result<()> {
    record(tenant, action, None, changes).await
}

async fn record(
    tenant: &mut TenantConn,
    action: AuditAction,
    employee_id: Option<i64>,
    changes: Changes,
) -> sqlx::Result<()> {
    let event = NewAuditEvent { actor_user_id: Some(tenant.member.user_id), action, employee_id, changes };
    queries::record(&tenant.tables(), tenant.conn(), event).await
}
