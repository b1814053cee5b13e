//! The store's own roles, edited by its owner (docs/contract.md §10): `/api/users/store-roles/`.
//!
//! The definitions live in the store's schema (`roles`, tenant migration 0003) and are
//! read with every member wherever a role is reported (`roles`); this module is the API
//! that lists and changes them. Every change is one transaction with its audit event.

pub mod forms;
pub mod handlers;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::queries::RoleRow;
use crate::access::{PermissionCode, RoleCode, StoreRole, grants};
use crate::error::ErrorBody;
use crate::i18n::Lang;
use crate::state::AppState;
use crate::tenant::TenantEcho;

/// `/api/users/store-roles/` (store-scoped).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_store_roles, handlers::create_store_role))
        .routes(routes!(handlers::update_store_role, handlers::delete_store_role))
}

/// A role of the store as its list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreRoleOut {
    pub code: RoleCode,
    /// Its own name, or a built-in role's localized one until renamed.
    #[schema(example = "Старший кассир")]
    pub name: String,
    /// 100 the owner; from 50 up a role manages the ranks strictly below it.
    #[schema(example = 20, minimum = 1, maximum = 100)]
    pub rank: i16,
    #[schema(example = json!(["view_products", "create_sales", "refund_sales"]))]
    pub permissions: Vec<String>,
    /// One of the four roles every store starts with: not deletable, rank fixed.
    pub built_in: bool,
    /// Members holding it (deactivated ones included, removed ones not).
    pub member_count: i64,
    /// The store's roles whose holders may give this one: ranked above it, holding every
    /// one of its permissions (a permission a built-in role is shipped with counts as held
    /// for giving it). Adding a permission managers lack to the cashier role, say, leaves
    /// only the owner here.
    pub given_by: Vec<RoleCode>,
}

impl StoreRoleOut {
    /// `row` described in `lang`, given by those of `roles` (the store's) who may.
    #[must_use]
    pub fn new(row: RoleRow, roles: &[&StoreRole], lang: Lang) -> Self {
        let given_by = roles
            .iter()
            .filter(|giver| grants::may_give(giver, &row.role))
            .map(|giver| RoleCode(giver.code.clone()))
            .collect();
        StoreRoleOut {
            name: row.role.display(lang),
            code: RoleCode(row.role.code),
            rank: row.role.rank,
            permissions: row.role.permissions,
            built_in: row.built_in,
            member_count: row.member_count,
            given_by,
        }
    }
}

/// `{status, data: [role], tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreRoleListResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: Vec<StoreRoleOut>,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `{status, data: role, tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreRoleResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: StoreRoleOut,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `POST /store-roles/`: a custom role.
#[derive(Deserialize, ToSchema)]
pub struct CreateStoreRoleRequest {
    /// Unique in the store (the built-in codes are taken), never changes.
    #[schema(value_type = RoleCode, required = true, nullable = false, example = "senior_cashier")]
    pub code: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, max_length = 64, example = "Старший кассир")]
    pub name: Option<String>,
    /// 1 to 99: from 50 up the role manages staff ranked below it.
    #[schema(required = true, nullable = false, minimum = 1, maximum = 99, example = 20)]
    pub rank: Option<i64>,
    /// Distinct strings `[a-z][a-z0-9_]{1,63}`, at most 64: those of `GET /permissions/`
    /// and any others the store's apps switch on. None when absent.
    #[schema(value_type = Option<Vec<PermissionCode>>, max_items = 64,
             example = json!(["view_products", "create_sales", "refund_sales"]))]
    pub permissions: Option<Vec<String>>,
}

/// `PATCH /store-roles/{code}/`: the fields given change. The owner role does not change;
/// a built-in role's rank does not either.
#[derive(Deserialize, ToSchema)]
pub struct UpdateStoreRoleRequest {
    #[schema(nullable = false, min_length = 1, max_length = 64, example = "Кассир-консультант")]
    pub name: Option<String>,
    /// Custom roles only: 1 to 99.
    #[schema(nullable = false, minimum = 1, maximum = 99)]
    pub rank: Option<i64>,
    #[schema(value_type = Option<Vec<PermissionCode>>, nullable = false, max_items = 64)]
    pub permissions: Option<Vec<String>>,
}

/// The refusals of every route on one role (`/store-roles/{code}/`), described once.
#[derive(utoipa::IntoResponses)]
pub enum OneRoleRefusals {
    #[response(status = 400, description = "validation_error, per field, or missing_tenant_key")]
    Invalid(ErrorBody),
    #[response(
        status = 401,
        description = "not_authenticated, token_invalid or token_expired: no valid access token"
    )]
    NotAuthenticated(ErrorBody),
    #[response(
        status = 403,
        description = "permission_denied (only the owner writes roles; the owner role, built-in ranks and built-in roles' existence are fixed), invalid_tenant_key, inactive_tenant, not_a_member or password_change_required"
    )]
    Refused(ErrorBody),
    #[response(status = 404, description = "not_found: no such role in this store")]
    NotFound(ErrorBody),
}
