//! Paired tills (docs/contract.md §11): pairing codes, pairing, the device list, revocation, the roster.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::audit::queries::{NewAuditEvent, record};
use crate::audit::record as audit_record;
use crate::audit::{AuditAction, Changes};
use crate::credentials::throttle;
use crate::credentials::tokens::OpaqueToken;
use crate::db::Session;
use crate::devices::forms::{
    DeviceListResponse, DeviceOut, PairRequest, PairedDevice, PairingCodeRequest, PairingCodeResponse,
    RosterEntry, RosterResponse,
};
use crate::devices::queries;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::client::ClientInfo;
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::{BodyRejections, TokenRefusals};
use crate::http::path::ApiPath;
use crate::state::AppState;
use crate::tenant::TenantEcho;
use crate::tenant::conn::TenantConn;
use crate::tills::device_auth::{TillDevice, new_pairing_code, pairing_code_hash};

/// Longest device name, in characters.
const MAX_DEVICE_NAME_CHARS: usize = 64;

/// A code for one till to pair with the store: 8 symbols, single use, valid 10 minutes.
///
/// **Permissions**: members of rank 50 and up.
#[utoipa::path(post, path = "/api/users/devices/pairing-codes/", tag = "tills",
    security(("bearerAuth" = [], "tenantKey" = [])), request_body = PairingCodeRequest,
    responses(
        (status = 201, description = "The code, shown this once", body = PairingCodeResponse),
        (status = 400, description = "validation_error naming `name`, or missing_tenant_key", body = ErrorBody),
        TokenRefusals,
        (status = 403, description = "permission_denied (below rank 50), invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn create_pairing_code(
    mut tenant: TenantConn,
    ApiJson(body): ApiJson<PairingCodeRequest>,
) -> ApiResult<NoStore<(StatusCode, Json<PairingCodeResponse>)>> {
    ensure_manager(&tenant)?;
    let name = device_name(body.name)?;
    let code = new_pairing_code();
    let hash =
        pairing_code_hash(&code).ok_or_else(|| ApiError::internal(anyhow::anyhow!("a code we made")))?;
    let (store_id, user_id) = (tenant.store.id, tenant.member.user_id);
    let expires_at = queries::insert_pairing_code(tenant.conn(), &hash, store_id, &name, user_id).await?;
    let tenant_echo = TenantEcho::from(&tenant.store);
    tenant.commit().await?;
    tracing::info!(store.id = store_id, device.name = name.as_str(), "pairing code made");
    let body = PairingCodeResponse { code, name, expires_at, tenant: tenant_echo };
    Ok(NoStore((StatusCode::CREATED, Json(body))))
}

/// Pairs this till with the store of a pairing code and hands over its device token, once.
/// Failed codes are limited per client address (10 a minute).
///
/// **Permissions**: none (the code is the credential).
#[utoipa::path(post, path = "/api/users/devices/pair/", tag = "tills", request_body = PairRequest,
    responses(
        (status = 201, description = "Paired; the device token is in the body this once", body = PairedDevice),
        (status = 400, description = "invalid_pairing_code (wrong, used or expired), or validation_error", body = ErrorBody),
        (status = 429, description = "too_many_attempts: 10 failed codes from this address this minute", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn pair_device(
    State(app): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<PairRequest>,
) -> ApiResult<NoStore<(StatusCode, Json<PairedDevice>)>> {
    let ip = client.ip_key();
    // The attempt is claimed before the code is looked at, and kept unless the code is right.
    let mut session = Session::open(&app.db).await?;
    let claim = throttle::claim_pairing_attempt(&mut session, &ip).await?;
    session.finish().await?;
    let code_hash = body.code.as_deref().and_then(pairing_code_hash).ok_or(ApiError::InvalidPairingCode)?;

    let mut tx = app.db.begin().await?;
    let used = queries::use_pairing_code(&mut tx, &code_hash).await?.ok_or(ApiError::InvalidPairingCode)?;
    let store = queries::find_store(&mut tx, used.store_id).await?.ok_or(ApiError::InvalidPairingCode)?;
    let token = OpaqueToken::generate();
    let device =
        queries::insert_device(&mut tx, used.store_id, &used.name, &token.digest(), used.created_by).await?;
    let schema = crate::db::schema::SchemaName::parse(&store.schema_name).map_err(ApiError::internal)?;
    let mut changes = Changes::default();
    changes.created("device_id", &device.id);
    changes.created("name", &device.name);
    let event = NewAuditEvent {
        actor_user_id: Some(used.created_by),
        action: AuditAction::DevicePaired,
        employee_id: None,
        changes,
    };
    record(&schema.tables(), &mut tx, event).await?;
    throttle::release_pairing_attempt(&mut tx, &ip, claim).await?;
    tx.commit().await?;

    tracing::info!(store.id = used.store_id, device.id = device.id, "device paired");
    let body = PairedDevice {
        device: DeviceOut::from(device),
        device_token: token.expose().to_owned(),
        tenant: TenantEcho { tenant_key: store.tenant_key, store_name: store.name, store_slug: store.slug },
    };
    Ok(NoStore((StatusCode::CREATED, Json(body))))
}

/// The store's paired tills, newest first, revoked ones included (inactive).
///
/// **Permissions**: members of rank 50 and up.
#[utoipa::path(get, path = "/api/users/devices/", tag = "tills",
    security(("bearerAuth" = [], "tenantKey" = [])),
    responses(
        (status = 200, description = "The store's devices", body = DeviceListResponse),
        (status = 400, description = "missing_tenant_key", body = ErrorBody),
        TokenRefusals,
        (status = 403, description = "permission_denied (below rank 50), invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
    ))]
pub async fn list_devices(mut tenant: TenantConn) -> ApiResult<Json<DeviceListResponse>> {
    ensure_manager(&tenant)?;
    let store_id = tenant.store.id;
    let rows = queries::list_devices(tenant.conn(), store_id).await?;
    let tenant_echo = TenantEcho::from(&tenant.store);
    tenant.commit().await?;
    Ok(Json(DeviceListResponse {
        results: rows.into_iter().map(DeviceOut::from).collect(),
        tenant: tenant_echo,
    }))
}

/// Revokes a paired till: its token, and every session signed in on it by PIN, fail from
/// their next request on.
///
/// **Permissions**: members of rank 50 and up.
#[utoipa::path(delete, path = "/api/users/devices/{id}/", tag = "tills",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Device id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "missing_tenant_key", body = ErrorBody),
        TokenRefusals,
        (status = 403, description = "permission_denied (below rank 50), invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: no such device in this store (or `id` is not a whole number in range)", body = ErrorBody),
    ))]
pub async fn revoke_device(mut tenant: TenantConn, ApiPath(id): ApiPath<i64>) -> ApiResult<StatusCode> {
    ensure_manager(&tenant)?;
    let store_id = tenant.store.id;
    let was_active = queries::revoke_device(tenant.conn(), store_id, id).await?.ok_or(ApiError::NotFound)?;
    // In the same transaction: no session opened on the till outlives it.
    let sessions_ended = queries::revoke_device_sessions(tenant.conn(), id).await?;
    if was_active {
        let mut changes = Changes::default();
        changes.field("is_active", &true, &false);
        changes.created("device_id", &id);
        changes.created("sessions_ended", &sessions_ended);
        audit_record::store_change_by_caller(&mut tenant, AuditAction::DeviceRevoked, changes).await?;
    }
    tenant.commit().await?;
    tracing::info!(store.id = store_id, device.id = id, "device revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Who may sign in on this till: the store's active members with a PIN, by name. Shows
/// names and roles only; nothing here reveals a PIN.
///
/// **Permissions**: a paired till of the store (`X-Device-Token` with `X-Tenant-Key`).
#[utoipa::path(get, path = "/api/users/devices/roster/", tag = "tills",
    security(("deviceToken" = [], "tenantKey" = [])),
    responses(
        (status = 200, description = "Members with a PIN", body = RosterResponse),
        (status = 400, description = "missing_tenant_key", body = ErrorBody),
        (status = 401, description = "device_invalid: no token, a wrong one, or a revoked device", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key (also a device of another store) or inactive_tenant", body = ErrorBody),
    ))]
pub async fn roster(till: TillDevice) -> ApiResult<Json<RosterResponse>> {
    let mut conn = Session::open(&till.db).await?;
    let rows = queries::roster(&mut conn, &till.store.schema.tables(), till.store.id).await?;
    let lang = crate::i18n::current_lang();
    let mut results = Vec::with_capacity(rows.len());
    if let Some(version) = rows.first().map(|row| row.roles_version) {
        let roles =
            till.roles.current(&mut conn, till.store.id, &till.store.schema.tables(), version).await?;
        for row in rows {
            let role = roles.resolve(&row.role).map_err(ApiError::internal)?;
            results.push(RosterEntry {
                employee_id: row.employee_id,
                full_name: crate::credentials::full_name(&row.first_name, &row.last_name),
                role: crate::access::RoleCode(role.code.clone()),
                role_display: role.display(lang),
            });
        }
    }
    conn.finish().await?;
    Ok(Json(RosterResponse { results, tenant: TenantEcho::from(&till.store) }))
}

/// Pairing and the device list are for members who manage staff (rank 50 and up).
fn ensure_manager(tenant: &TenantConn) -> ApiResult<()> {
    match tenant.member.role.manages_staff() {
        true => Ok(()),
        false => Err(ApiError::PermissionDenied),
    }
}

/// A device name: 1 to 64 characters once trimmed.
fn device_name(name: Option<String>) -> ApiResult<String> {
    let mut form = crate::validate::Form::new();
    let name = form.required("name", name, MAX_DEVICE_NAME_CHARS);
    form.finish(name)
}
