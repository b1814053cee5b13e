//! `PUT /auth/pin/` (a member's own PIN) and `DELETE /employees/{id}/pin/`.

use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::AuditAction;
use crate::audit::record;
use crate::employees::handlers::{staff_member, target_of};
use crate::employees::history;
use crate::employees::queries::{self, find_employee_by_user};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::openapi::BodyRejections;
use crate::http::path::ApiPath;
use crate::roles::policy::{self, Action};
use crate::state::AppState;
use crate::tenant::conn::{StoreScope, TenantConn};
use crate::tills::SetPinRequest;
use crate::validate::pin::pin_problem;

/// Sets the caller's PIN for the store's tills (replacing any). Nobody, the caller
/// included, can read a PIN back.
///
/// **Permissions**: any member of the store, for themselves.
#[utoipa::path(put, path = "/api/users/auth/pin/", tag = "tills",
    security(("bearerAuth" = [], "tenantKey" = [])), request_body = SetPinRequest,
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "validation_error naming `pin` (format, too simple, too common), or missing_tenant_key", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn set_own_pin(
    State(app): State<AppState>,
    scope: StoreScope,
    ApiJson(body): ApiJson<SetPinRequest>,
) -> ApiResult<StatusCode> {
    // Rights first (a member with an employee row here), on a short transaction…
    let tenant = scope.begin().await?;
    tenant.rollback().await?;
    let pin = SecretString::from(
        body.pin.ok_or_else(|| ApiError::field("pin", crate::i18n::Message::FieldRequired))?,
    );
    if let Some(problem) = pin_problem(pin.expose_secret()) {
        return Err(ApiError::field("pin", problem));
    }
    // …hash with no pooled connection held…
    let pin_hash = app.hasher.hash(pin).await.map_err(ApiError::internal)?;
    // …then write.
    let mut tenant = scope.begin().await?;
    let user_id = tenant.member.user_id;
    let employee =
        find_employee_by_user(&tenant.tables(), tenant.conn(), user_id).await?.ok_or(ApiError::NotAMember)?;
    let had_pin = queries::set_pin(&tenant.tables(), tenant.conn(), employee.id, &pin_hash).await?;
    let store_id = tenant.store.id;
    queries::revoke_pin_sessions(&tenant.tables(), tenant.conn(), store_id, employee.id).await?;
    record::by_caller(&mut tenant, AuditAction::PinSet, employee.id, history::pin_changed(had_pin, true))
        .await?;
    tenant.commit().await?;
    tracing::info!(store.id = store_id, employee.id = employee.id, "an employee set a PIN");
    Ok(StatusCode::NO_CONTENT)
}

/// Clears an employee's PIN: they cannot sign in on a till until they set a new one.
///
/// **Permissions**: who manages the employee (docs/contract.md §10's ranks); not one's own (set a new
/// one instead).
#[utoipa::path(delete, path = "/api/users/employees/{id}/pin/", tag = "tills",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    responses(
        (status = 204, description = "Cleared (or there was none)"),
        crate::employees::OneEmployeeRefusals,
    ))]
pub async fn clear_pin(mut tenant: TenantConn, ApiPath(id): ApiPath<i64>) -> ApiResult<StatusCode> {
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let target = staff_member(&mut tenant, id, true).await?;
    policy::authorize(tenant.member.role.rank, Action::ClearPin, Some(target_of(&tenant, &target)))?;
    crate::employees::handlers::clear_pin_of(&mut tenant, id).await?;
    tenant.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
