//! The owner's endpoints for the store's shared staff account: read its credentials back,
//! give it a new password, switch it off and on. Every answer is `no-store`; every read of
//! the password back is an audit event in the store.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::access::Role;
use crate::audit::queries::{NewAuditEvent, record};
use crate::audit::record;
use crate::audit::{AuditAction, Changes};
use crate::credentials::extractor::AuthUser;
use crate::credentials::queries::revoke_user_sessions;
use crate::credentials::second_factor::require_step_up;
use crate::db::schema::SchemaName;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::{BodyRejections, TokenRefusals};
use crate::i18n::{Message, current_lang};
use crate::registry::MemberStore;
use crate::registry::queries::{StoreFilter, list_member_stores};
use crate::registry::staff_account::queries::{self, StaffAccountRow};
use crate::registry::staff_account::{StaffCredentials, StaffPassword, seal_context};
use crate::state::AppState;
use crate::stores::forms::{
    StaffAccountChange, StaffCredentialsRefusals, StaffCredentialsResponse, StoreStaffCredentials,
    StoreWithCredentials, StoresWithCredentials, StoresWithCredentialsResponse,
};
use crate::tenant::TenantEcho;
use crate::tenant::conn::{StoreScope, TenantConn};

/// The store's shared staff account with its password, read back. Each read is recorded
/// in the store's audit trail (`staff_account.password_viewed`); the answer is `no-store`.
///
/// **Permissions**: the store's owner.
#[utoipa::path(get, path = "/api/users/stores/staff-credentials/", tag = "stores",
    security(("bearerAuth" = [], "tenantKey" = [])),
    responses(
        (status = 200, description = "The staff account and its password", body = StaffCredentialsResponse),
        StaffCredentialsRefusals,
    ))]
pub async fn get_staff_credentials(
    State(app): State<AppState>,
    mut tenant: TenantConn,
) -> ApiResult<NoStore<Json<StaffCredentialsResponse>>> {
    ensure_owner(&tenant)?;
    let store_id = tenant.store.id;
    let row = queries::find_by_store(tenant.conn(), store_id).await?.ok_or(ApiError::NotFound)?;
    record::store_change_by_caller(&mut tenant, AuditAction::StaffPasswordViewed, about(&row)).await?;
    let mut credentials = StaffCredentials::open(&row, store_id, &app.sealer);
    if credentials.password.is_some() {
        credentials.note = Message::StaffCredentialsNote.text(current_lang()).into_owned();
    }
    respond(tenant, credentials, None).await
}

/// Gives the store's shared staff account a new random password: every session of the
/// account ends, and the old password stops working. The answer carries the new one.
///
/// **Permissions**: the store's owner.
#[utoipa::path(post, path = "/api/users/stores/staff-credentials/rotate/", tag = "stores",
    security(("bearerAuth" = [], "tenantKey" = [])),
    responses(
        (status = 200, description = "The staff account with its new password", body = StaffCredentialsResponse),
        StaffCredentialsRefusals,
    ))]
pub async fn rotate_staff_password(
    State(app): State<AppState>,
    headers: HeaderMap,
    scope: StoreScope,
) -> ApiResult<NoStore<Json<StaffCredentialsResponse>>> {
    // Checked before argon2 runs, so nobody but the owner makes the server hash.
    let tenant = scope.begin().await?;
    ensure_owner(&tenant)?;
    tenant.rollback().await?;
    require_step_up(&app.db, &app.sealer, scope.user_id(), &headers).await?;
    let password = StaffPassword::generate(&app.hasher, &app.config.password_policy).await?;

    let mut tenant = scope.begin().await?;
    ensure_owner(&tenant)?;
    let store_id = tenant.store.id;
    let row = queries::lock_by_store(tenant.conn(), store_id).await?.ok_or(ApiError::NotFound)?;
    let sealed = app.sealer.seal(&password.password, &seal_context(store_id)).map_err(ApiError::internal)?;
    queries::replace_password(tenant.conn(), store_id, &password.hash, &sealed).await?;
    let ended = revoke_user_sessions(tenant.conn(), row.user_id, None).await?;
    record::store_change_by_caller(&mut tenant, AuditAction::StaffPasswordRotated, about(&row)).await?;
    tracing::info!(
        store.id = store_id,
        sessions.ended = ended,
        "rotated the shared staff account's password"
    );
    let credentials =
        StaffCredentials::describe(&row, Some(secret_text(&password)), Message::StaffAccountNote);
    respond(tenant, credentials, Some(Message::StaffPasswordRotated)).await
}

/// Switches the store's shared staff account off (`is_active: false`: it cannot sign in
/// and its sessions end, for a store whose tills sign in by PIN) or on again. The answer
/// carries no password.
///
/// **Permissions**: the store's owner.
#[utoipa::path(patch, path = "/api/users/stores/staff-credentials/", tag = "stores",
    security(("bearerAuth" = [], "tenantKey" = [])), request_body = StaffAccountChange,
    responses(
        (status = 200, description = "The staff account as changed, without its password", body = StaffCredentialsResponse),
        StaffCredentialsRefusals,
        BodyRejections,
    ))]
pub async fn update_staff_account(
    mut tenant: TenantConn,
    ApiJson(body): ApiJson<StaffAccountChange>,
) -> ApiResult<NoStore<Json<StaffCredentialsResponse>>> {
    ensure_owner(&tenant)?;
    let active = body.is_active.ok_or_else(|| ApiError::field("is_active", Message::FieldRequired))?;
    let store_id = tenant.store.id;
    let mut row = queries::lock_by_store(tenant.conn(), store_id).await?.ok_or(ApiError::NotFound)?;
    queries::set_account_active(tenant.conn(), row.user_id, active).await?;
    if !active {
        revoke_user_sessions(tenant.conn(), row.user_id, None).await?;
    }
    let action =
        if active { AuditAction::StaffAccountActivated } else { AuditAction::StaffAccountDeactivated };
    record::store_change_by_caller(&mut tenant, action, about(&row)).await?;
    tracing::info!(store.id = store_id, active, "switched the shared staff account");
    // Switched on, it signs in again only if it is also an active member of the store.
    row.is_active = active && member_is_active(&mut tenant, row.user_id).await?;
    let credentials = StaffCredentials::describe(&row, None, Message::StaffAccountNote);
    respond(tenant, credentials, Some(Message::StaffAccountSwitched)).await
}

/// The store's staff account without its password (nothing read back, so nothing audited):
/// what the console shows before the owner asks for the password.
///
/// **Permissions**: the store's owner.
pub async fn staff_account_overview(mut tenant: TenantConn) -> ApiResult<StaffCredentials> {
    ensure_owner(&tenant)?;
    let store_id = tenant.store.id;
    let row = queries::find_by_store(tenant.conn(), store_id).await?.ok_or(ApiError::NotFound)?;
    tenant.commit().await?;
    Ok(StaffCredentials::describe(&row, None, Message::StaffAccountNote))
}

/// The stores the caller owns, active ones, newest first, each with its staff account and
/// password (`staff_credentials`; null with `staff_credentials_missing: true` for a store
/// that has none). Each password read back is recorded in its store's audit trail.
///
/// **Permissions**: any signed-in user, for the stores they own (never a store-bound session).
#[utoipa::path(get, path = "/api/users/stores/my-stores-with-credentials/", tag = "stores",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's own stores with their staff accounts", body = StoresWithCredentialsResponse),
        TokenRefusals,
        (status = 403, description = "permission_denied (a store-bound session) or password_change_required", body = ErrorBody),
    ))]
pub async fn my_stores_with_credentials(
    State(app): State<AppState>,
    user: AuthUser,
) -> ApiResult<NoStore<Json<StoresWithCredentialsResponse>>> {
    let mut tx = app.db.begin().await?;
    let mut owned: Vec<MemberStore> = list_member_stores(&mut tx, user.user_id, StoreFilter::ActiveOnly)
        .await?
        .into_iter()
        .map(MemberStore::from)
        .filter(|store| store.store.owner == user.user_id && store.access.role.0 == Role::Owner.as_str())
        .collect();
    owned.sort_by_key(|store| std::cmp::Reverse((store.store.created_at, store.store.id)));
    let ids: Vec<i64> = owned.iter().map(|store| store.store.id).collect();
    let accounts = queries::find_by_stores(&mut tx, &ids).await?;
    let mut stores = Vec::with_capacity(owned.len());
    for store in owned {
        let account = accounts.iter().find(|row| row.store_id == store.store.id);
        if let Some(row) = account {
            record_view_in(&mut tx, &store, user.user_id, row).await?;
        }
        let staff_credentials = account.map(|row| StaffCredentials::open(row, store.store.id, &app.sealer));
        stores.push(StoreWithCredentials {
            staff_credentials_missing: account.is_none(),
            staff_credentials,
            store,
        });
    }
    tx.commit().await?;
    let data = StoresWithCredentials { count: stores.len(), stores };
    Ok(NoStore(Json(StoresWithCredentialsResponse { status: "success", data })))
}

/// Records, in `store`'s own trail, that `viewer` read its staff password back.
async fn record_view_in(
    tx: &mut sqlx::PgConnection,
    store: &MemberStore,
    viewer: i64,
    row: &StaffAccountRow,
) -> ApiResult<()> {
    let schema = SchemaName::parse(&store.store.schema_name).map_err(ApiError::internal)?;
    let event = NewAuditEvent {
        actor_user_id: Some(viewer),
        action: AuditAction::StaffPasswordViewed,
        employee_id: None,
        changes: about(row),
    };
    record(&schema.tables(), tx, event).await?;
    Ok(())
}

/// What an event about the staff account says of it: which account, never its password.
fn about(row: &StaffAccountRow) -> Changes {
    let mut changes = Changes::default();
    changes.created("username", &row.username);
    changes
}

/// 403 `permission_denied` unless the caller holds the store's owner role.
fn ensure_owner(tenant: &TenantConn) -> ApiResult<()> {
    match tenant.member.role.is_owner() {
        true => Ok(()),
        false => Err(ApiError::PermissionDenied),
    }
}

/// Whether `user_id` is an active member of the tenant's store.
async fn member_is_active(tenant: &mut TenantConn, user_id: i64) -> ApiResult<bool> {
    let active: Option<bool> = crate::db::query_scalar(
        "select is_active from public.store_memberships where user_id = $1 and store_id = $2",
    )
    .bind(user_id)
    .bind(tenant.store.id)
    .fetch_optional(tenant.conn())
    .await?;
    Ok(active.unwrap_or(false))
}

fn secret_text(password: &StaffPassword) -> String {
    use secrecy::ExposeSecret;
    password.password.expose_secret().to_owned()
}

/// Commits, then answers with `credentials` for the tenant's store.
async fn respond(
    tenant: TenantConn,
    credentials: StaffCredentials,
    message: Option<Message>,
) -> ApiResult<NoStore<Json<StaffCredentialsResponse>>> {
    let echo = TenantEcho::from(&tenant.store);
    let data = StoreStaffCredentials {
        credentials,
        store_name: tenant.store.name.clone(),
        tenant_key: tenant.store.tenant_key.clone(),
    };
    tenant.commit().await?;
    let message = message.map(|m| m.text(current_lang()).into_owned());
    Ok(NoStore(Json(StaffCredentialsResponse { status: "success", message, data, tenant: echo })))
}
