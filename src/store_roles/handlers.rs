//! HTTP handlers for `/api/users/store-roles/`: list (any member), create, change, delete
//! (the owner).
//!
//! Writes lock the role first (`access::queries`), so a change or delete and an employee
//! being given the role apply one after the other; each write and its audit event commit
//! together.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::access::StoreRole;
use crate::access::queries::{self, ROLE_LIST_SQL, RoleRow, lock_role_for_change};
use crate::audit::record;
use crate::audit::{AuditAction, Changes};
use crate::credentials::second_factor::require_step_up;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::openapi::{BodyRejections, StoreRefusals, TokenRefusals};
use crate::http::path::ApiPath;
use crate::i18n::current_lang;
use crate::state::AppState;
use crate::store_roles::forms::{
    CreateStoreRoleRequest, OneRoleRefusals, StoreRoleListResponse, StoreRoleOut, StoreRoleResponse,
    UpdateStoreRoleRequest,
};
use crate::store_roles::forms::{parse_changes, parse_new_role};
use crate::tenant::TenantEcho;
use crate::tenant::conn::{StoreScope, TenantConn};

/// The store's roles, highest rank first (ties by code): the four built-in roles as the
/// store edited them and its own, each with its permissions and how many members hold it.
///
/// **Permissions**: any member of the store.
#[utoipa::path(get, path = "/api/users/store-roles/", tag = "roles",
    security(("bearerAuth" = [], "tenantKey" = [])),
    responses(
        (status = 200, description = "The store's roles", body = StoreRoleListResponse),
        StoreRefusals,
    ))]
pub async fn list_store_roles(scope: StoreScope) -> ApiResult<Json<StoreRoleListResponse>> {
    let read = scope.read::<RoleRow>(ROLE_LIST_SQL, |statement| statement).await?;
    let lang = current_lang();
    let roles: Vec<StoreRole> = read.rows.iter().map(|row| row.role.clone()).collect();
    let givers: Vec<&StoreRole> = roles.iter().collect();
    Ok(Json(StoreRoleListResponse {
        status: "success",
        data: read.rows.into_iter().map(|row| StoreRoleOut::new(row, &givers, lang)).collect(),
        tenant: TenantEcho::from(&read.store),
    }))
}

/// Adds a custom role: a code unique in the store, a name, a rank from 1 to 99 and its
/// permissions.
///
/// **Permissions**: the store's owner.
#[utoipa::path(post, path = "/api/users/store-roles/", tag = "roles",
    security(("bearerAuth" = [], "tenantKey" = [])), request_body = CreateStoreRoleRequest,
    responses(
        (status = 201, description = "Created", body = StoreRoleResponse),
        (status = 400, description = "validation_error, per field, or missing_tenant_key", body = ErrorBody),
        TokenRefusals,
        (status = 403, description = "permission_denied (only the owner writes roles), invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
        (status = 409, description = "role_taken: the store has a role with this code", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn create_store_role(
    mut tenant: TenantConn,
    ApiJson(body): ApiJson<CreateStoreRoleRequest>,
) -> ApiResult<(StatusCode, Json<StoreRoleResponse>)> {
    ensure_owner(&tenant)?;
    let role = parse_new_role(body)?;
    let created =
        queries::insert_role(&tenant.tables(), tenant.conn(), &role).await?.ok_or(ApiError::RoleTaken)?;
    let mut changes = Changes::default();
    changes.created("code", &created.code);
    changes.created("name", &created.name);
    changes.created("rank", &created.rank);
    changes.created("permissions", &created.permissions);
    record::store_change_by_caller(&mut tenant, AuditAction::RoleCreated, changes).await?;
    tracing::info!(store.id = tenant.store.id, role = created.code, "store role created");
    let row = RoleRow { role: created, built_in: false, member_count: 0 };
    Ok((StatusCode::CREATED, respond_with(tenant, row).await?))
}

/// Changes a role's name, permissions and, for a custom role, rank. The change applies to
/// every holder from their next request, rights over other staff included.
///
/// **Permissions**: the store's owner; the owner role itself does not change, nor a
/// built-in role's rank.
#[utoipa::path(patch, path = "/api/users/store-roles/{code}/", tag = "roles",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("code" = String, Path, description = "The role's code")),
    request_body = UpdateStoreRoleRequest,
    responses(
        (status = 200, description = "The role as changed", body = StoreRoleResponse),
        OneRoleRefusals,
        BodyRejections,
    ))]
pub async fn update_store_role(
    State(app): State<AppState>,
    headers: HeaderMap,
    mut tenant: TenantConn,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateStoreRoleRequest>,
) -> ApiResult<Json<StoreRoleResponse>> {
    ensure_owner(&tenant)?;
    let store_id = tenant.store.id;
    let current = lock_role_for_change(&tenant.tables(), tenant.conn(), store_id, &code)
        .await?
        .ok_or(ApiError::NotFound)?;
    if current.role.is_owner() {
        return Err(ApiError::PermissionDenied);
    }
    let after = parse_changes(body, &current.role)?;
    if current.built_in && after.rank != current.role.rank {
        return Err(ApiError::PermissionDenied);
    }
    // What a role may do cannot be taken back from what it did meanwhile: step-up
    // (docs/contract.md §16).
    if after.permissions != current.role.permissions {
        require_step_up(&app.db, &app.sealer, tenant.member.user_id, &headers).await?;
    }
    let changes = role_changes(&current.role, &after);
    if !changes.is_empty() {
        queries::update_role(&tenant.tables(), tenant.conn(), &after).await?;
        record::store_change_by_caller(&mut tenant, AuditAction::RoleUpdated, changes).await?;
        tracing::info!(store.id = store_id, role = after.code, "store role changed");
    }
    respond_with(tenant, RoleRow { role: after, ..current }).await
}

/// Deletes a custom role that no member holds (deactivated members count as holders:
/// they may be activated again).
///
/// **Permissions**: the store's owner; built-in roles are not deleted.
#[utoipa::path(delete, path = "/api/users/store-roles/{code}/", tag = "roles",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("code" = String, Path, description = "The role's code")),
    responses(
        (status = 204, description = "Deleted"),
        OneRoleRefusals,
        (status = 409, description = "role_in_use: members hold the role", body = ErrorBody),
    ))]
pub async fn delete_store_role(
    mut tenant: TenantConn,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<StatusCode> {
    ensure_owner(&tenant)?;
    let store_id = tenant.store.id;
    let current = lock_role_for_change(&tenant.tables(), tenant.conn(), store_id, &code)
        .await?
        .ok_or(ApiError::NotFound)?;
    if current.built_in {
        return Err(ApiError::PermissionDenied);
    }
    if current.member_count > 0 {
        return Err(ApiError::RoleInUse);
    }
    queries::delete_role(&tenant.tables(), tenant.conn(), &code).await?;
    let mut changes = Changes::default();
    changes.field("code", &Some(&current.role.code), &None);
    changes.field("name", &current.role.name, &None);
    changes.field("rank", &Some(current.role.rank), &None);
    changes.field("permissions", &Some(&current.role.permissions), &None);
    record::store_change_by_caller(&mut tenant, AuditAction::RoleDeleted, changes).await?;
    tenant.commit().await?;
    tracing::info!(store.id = store_id, role = code, "store role deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Only the store's owner writes its roles (docs/contract.md §10).
fn ensure_owner(tenant: &TenantConn) -> ApiResult<()> {
    match tenant.member.role.is_owner() {
        true => Ok(()),
        false => Err(ApiError::PermissionDenied),
    }
}

/// The before and after of each field `after` changed.
fn role_changes(before: &StoreRole, after: &StoreRole) -> Changes {
    let mut changes = Changes::default();
    changes.field("name", &before.name, &after.name);
    changes.field("rank", &before.rank, &after.rank);
    changes.field("permissions", &before.permissions, &after.permissions);
    changes
}

/// Commits and answers with `row` and the tenant echo.
async fn respond_with(tenant: TenantConn, row: RoleRow) -> ApiResult<Json<StoreRoleResponse>> {
    let tenant_echo = TenantEcho::from(&tenant.store);
    // The store's roles as the caller check read them, with this one as just written.
    let others = tenant.roles.by_rank();
    let mut givers: Vec<&StoreRole> =
        others.iter().map(AsRef::as_ref).filter(|role| role.code != row.role.code).collect();
    givers.push(&row.role);
    let data = StoreRoleOut::new(row.clone(), &givers, current_lang());
    tenant.commit().await?;
    Ok(Json(StoreRoleResponse { status: "success", data, tenant: tenant_echo }))
}
