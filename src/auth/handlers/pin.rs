//! PINs (docs/contract.md §11): `POST /auth/pin-login/`, a member signs in on a paired till
//! with their PIN; `PUT /auth/pin/`, a member sets their own PIN for the store's tills.

use axum::Json;
use axum::extract::State;

use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::AuditAction;
use crate::audit::record;
use crate::auth::forms::{DefaultStore, LoginResponse, PinLoginRequest, SetPinRequest, UserOut};
use crate::credentials::queries::{self, TillBinding};
use crate::credentials::sessions::start_till_session;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::client::ClientInfo;
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::{BodyRejections, MemberRefusals};
use crate::registry::MemberStore;
use crate::registry::queries::find_member_store;
use crate::staff::history;
use crate::staff::queries::{find_employee_by_user, revoke_pin_sessions, set_pin};
use crate::state::AppState;
use crate::tenant::conn::StoreScope;
use crate::tills::device_auth::TillDevice;
use crate::tills::pin_check::{TypedPin, check_pin};
use crate::validate::pin::pin_problem;

/// Signs a member in on this till with their PIN: the login body for this store alone, on a
/// session bound to the till (listed with its name, ended when it is revoked, and a member
/// of no other store). Every failure is the same `invalid_pin`, in the same time. Five
/// wrong PINs in a row lock PIN sign-in on the till for 30 s, doubling up to 15 minutes;
/// ten for one employee within 24 hours clear their PIN.
///
/// **Permissions**: a paired till of the store (`X-Device-Token` with `X-Tenant-Key`) and
/// the member's own PIN.
#[utoipa::path(post, path = "/api/users/auth/pin-login/", tag = "tills",
    security(("deviceToken" = [], "tenantKey" = [])), request_body = PinLoginRequest,
    responses(
        (status = 200, description = "Signed in on the till: tokens, the user, and this store", body = LoginResponse),
        (status = 400, description = "validation_error naming `employee_id` or `pin`, or missing_tenant_key", body = ErrorBody),
        (status = 401, description = "invalid_pin (a wrong PIN, no PIN, an unknown or inactive employee), or device_invalid", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key (also a device of another store) or inactive_tenant", body = ErrorBody),
        (status = 429, description = "too_many_attempts: PIN sign-in is locked on this till, with Retry-After", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn pin_login(
    State(app): State<AppState>,
    till: TillDevice,
    client: ClientInfo,
    ApiJson(body): ApiJson<PinLoginRequest>,
) -> ApiResult<NoStore<Json<LoginResponse>>> {
    let typed = TypedPin::parse(body.employee_id, body.pin, "employee_id")?;
    let (member, mut tx) = check_pin(&app, &till, typed).await?;
    let store_id = till.store.id;
    // The store as login lists it: the member's view of it, with their role there.
    let store = find_member_store(&mut tx, member.user_id, store_id).await?.ok_or(ApiError::InvalidPin)?;
    let account = queries::find_user(&mut tx, member.user_id).await?.ok_or(ApiError::InvalidPin)?;
    let binding = TillBinding { device_id: till.device.id, store_id };
    let tokens =
        start_till_session(&mut tx, (&app.tokens, &app.config), member.user_id, &client, binding).await?;
    tx.commit().await?;
    tracing::info!(
        store.id = store_id,
        device.id = till.device.id,
        employee.id = member.employee_id,
        "an employee signed in by PIN on a till"
    );

    let store = MemberStore::from(store);
    Ok(NoStore(Json(LoginResponse {
        access: tokens.access,
        refresh: tokens.refresh,
        password_change_required: account.must_change_password,
        user: UserOut::from(account),
        default_store: Some(DefaultStore::from(&store)),
        available_stores: vec![store.into()],
    })))
}
/// Sets the caller's PIN for the store's tills (replacing any). Nobody, the caller
/// included, can read a PIN back.
///
/// **Permissions**: any member of the store, for themselves.
#[utoipa::path(put, path = "/api/users/auth/pin/", tag = "tills",
    security(("bearerAuth" = [], "tenantKey" = [])), request_body = SetPinRequest,
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "validation_error naming `pin` (format, too simple, too common), or missing_tenant_key", body = ErrorBody),
        MemberRefusals,
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
    let had_pin = set_pin(&tenant.tables(), tenant.conn(), employee.id, &pin_hash).await?;
    let store_id = tenant.store.id;
    revoke_pin_sessions(&tenant.tables(), tenant.conn(), store_id, employee.id).await?;
    record::by_caller(&mut tenant, AuditAction::PinSet, employee.id, history::pin_changed(had_pin, true))
        .await?;
    tenant.commit().await?;
    tracing::info!(store.id = store_id, employee.id = employee.id, "an employee set a PIN");
    Ok(StatusCode::NO_CONTENT)
}
