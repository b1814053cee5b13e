//! The response types of `/audit-events/`, and the schema of its `action` filter.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::http::pagination::PageLinks;
use crate::tenant::TenantEcho;

/// One event as the audit list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventOut {
    pub id: i64,
    /// One of the [`AuditAction`] names, e.g. `employee.role_changed`. Kept as text: a newer
    /// release may write names this one does not know yet during a rollout.
    #[schema(example = "employee.role_changed")]
    pub action: String,
    /// The user who acted; null for changes made by the system (the command line).
    pub actor_id: Option<i64>,
    pub actor_username: Option<String>,
    /// The employee the event concerns (employee ids are numbered per store).
    pub employee_id: Option<i64>,
    pub employee_username: Option<String>,
    /// `{"field": {"before": …, "after": …}}` for each changed field; never passwords.
    #[schema(value_type = Object, example = json!({"role": {"before": "cashier", "after": "manager"}}))]
    pub changes: Value,
    pub created_at: DateTime<Utc>,
}

/// `{count, next, previous, results, tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventPage {
    #[serde(flatten)]
    pub page: PageLinks,
    pub results: Vec<AuditEventOut>,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// Documents the `action` filter: an audit action, or empty for none.
pub struct AuditActionFilter;

impl utoipa::PartialSchema for AuditActionFilter {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::http::openapi::or_empty(<AuditAction as utoipa::PartialSchema>::schema())
    }
}

impl ToSchema for AuditActionFilter {}
