//! `GET /employees/cashiers/`: the cashiers a till may name.
//!
//! A store's till often signs in as the store itself (its shared staff account) or as a
//! manager, and names the cashier of each sale by employee id. The cashiers it names are
//! the ones without an account: with no sign-in of their own, this list is how a till
//! learns who they are. Any active member of the store may read it.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::full_name;
use crate::employees::queries::{CASHIERS_SQL, CashierRow};
use crate::error::{ApiResult, ErrorBody};
use crate::tenant::TenantEcho;
use crate::tenant::conn::StoreScope;

/// One cashier (or stockkeeper) without an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct CashierOut {
    /// The employee id: what a sale names as its cashier.
    pub id: i64,
    /// "Last First", as the till's picker shows it.
    pub full_name: String,
    /// Empty when not given.
    pub phone: String,
    /// `cashier` or `stockkeeper`.
    pub role: String,
}

impl From<CashierRow> for CashierOut {
    fn from(row: CashierRow) -> Self {
        CashierOut {
            id: row.id,
            full_name: full_name(&row.last_name, &row.first_name),
            phone: row.phone,
            role: row.role,
        }
    }
}

/// `{status, data: [cashier…], tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CashierList {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: Vec<CashierOut>,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// The store's active cashiers and stockkeepers without an account, newest first (not
/// paginated: a store has a handful). Employees with an account sign in themselves and are
/// not listed.
///
/// **Permissions**: any active member of the store, a till's session included.
#[utoipa::path(get, path = "/api/users/employees/cashiers/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    responses(
        (status = 200, description = "The cashiers a till may name", body = CashierList),
        (status = 400, description = "missing_tenant_key", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
    ))]
pub async fn list_cashiers(scope: StoreScope) -> ApiResult<Json<CashierList>> {
    let read = scope.read::<CashierRow>(CASHIERS_SQL, |statement| statement).await?;
    let data = read.rows.into_iter().map(CashierOut::from).collect();
    Ok(Json(CashierList { status: "success", data, tenant: TenantEcho::from(&read.store) }))
}
