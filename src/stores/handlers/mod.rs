//! HTTP handlers for `/api/users/stores/`: list, create, read, change, deactivate; the
//! store's shared staff account is [`staff_account`].

pub mod staff_account;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sqlx::PgConnection;

use crate::access::Role;
use crate::credentials::extractor::AuthUser;
use crate::credentials::queries::find_user;
use crate::credentials::second_factor::{self, require_step_up};
use crate::db::Session;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::{AccountRefusals, BodyRejections, TokenRefusals};
use crate::http::path::ApiPath;
use crate::i18n::{Message, current_lang};
use crate::registry::provision::{StaffSeed, StoreOwner, provision_store};
use crate::registry::queries::{self, StoreFilter};
use crate::registry::staff_account::StaffPassword;
use crate::registry::{MemberStore, StoreListResponse, member_store_list};
use crate::state::AppState;
use crate::stores::forms::{
    CreateStoreRequest, CreatedStore, StoreChangeRefusals, StoreCreatedResponse, StoreResponse,
    UpdateStoreRequest,
};
use crate::stores::forms::{parse_changes, parse_new_store};
use crate::validate::Replace;

/// The stores the caller works in, deactivated ones included, newest first.
///
/// **Permissions**: any signed-in user.
#[utoipa::path(get, path = "/api/users/stores/", tag = "stores", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's stores, deactivated ones included", body = StoreListResponse),
        AccountRefusals,
    ))]
pub async fn list_stores(State(app): State<AppState>, user: AuthUser) -> ApiResult<Json<StoreListResponse>> {
    member_store_list(&app, &user, StoreFilter::IncludingDeactivated).await.map(Json)
}

/// Opens another store: its own schema, with the caller as owner (same provisioning as
/// registration, all-or-nothing). An account owns at most `MAX_STORES_PER_OWNER` stores,
/// deactivated ones included; beyond that: 403 `store_limit_reached`.
///
/// **Permissions**: any signed-in user; they become the new store's owner.
#[utoipa::path(post, path = "/api/users/stores/", tag = "stores", security(("bearerAuth" = [])),
    request_body = CreateStoreRequest,
    responses(
        (status = 201, description = "Created, with the caller as its owner, and the store's shared staff account with its password (`no-store`)", body = StoreCreatedResponse),
        (status = 400, description = "validation_error, per field", body = ErrorBody),
        TokenRefusals,
        (status = 403, description = "store_limit_reached: the caller owns `MAX_STORES_PER_OWNER` stores already; or password_change_required", body = ErrorBody),
        (status = 409, description = "slug_taken", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn create_store(
    State(app): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<CreateStoreRequest>,
) -> ApiResult<NoStore<(StatusCode, Json<StoreCreatedResponse>)>> {
    let (slug_choice, profile) = parse_new_store(body)?;
    // Hashed before the transaction opens: no pooled connection waits on argon2.
    let staff_password = StaffPassword::generate(&app.hasher, &app.config.password_policy).await?;
    let staff = StaffSeed { password: &staff_password, sealer: &app.sealer };

    let mut tx = app.db.begin().await?;
    ensure_room_for_a_store(&mut tx, user.user_id, app.config.max_stores_per_owner).await?;
    let owner = find_user(&mut tx, user.user_id).await?.ok_or(ApiError::TokenInvalid)?;
    let owner = StoreOwner::from(&owner);
    let provisioned =
        provision_store(&mut tx, &owner, &profile, &slug_choice, &app.tenant_migrations, staff).await?;
    let store = member_store(&mut tx, &user, provisioned.store.id).await?;
    tx.commit().await?;

    let message = Message::StoreCreated.text(current_lang()).into_owned();
    let data = CreatedStore { store, staff_credentials: provisioned.staff_credentials };
    Ok(NoStore((StatusCode::CREATED, Json(StoreCreatedResponse { status: "success", message, data }))))
}

/// Refuses a new store when `owner_id` owns `max` already. Holds the owner's row until the
/// caller's transaction ends, so parallel creations are counted one after another and never
/// pass the limit together.
async fn ensure_room_for_a_store(conn: &mut PgConnection, owner_id: i64, max: u32) -> ApiResult<()> {
    queries::lock_owner_for_new_store(conn, owner_id).await?;
    let owned = queries::count_owned_stores(conn, owner_id).await?;
    if owned >= i64::from(max) {
        return Err(ApiError::StoreLimitReached { max });
    }
    Ok(())
}

/// One store the caller works in.
///
/// **Permissions**: members of the store; anyone else gets 404.
#[utoipa::path(get, path = "/api/users/stores/{id}/", tag = "stores", security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Store id")),
    responses(
        (status = 200, description = "The store", body = StoreResponse),
        AccountRefusals,
        (status = 404, description = "not_found: the caller works in no store with this id (or `id` is not a whole number in range)", body = ErrorBody),
    ))]
pub async fn get_store(
    State(app): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<StoreResponse>> {
    let mut conn = Session::open(&app.db).await?;
    let store = member_store(&mut conn, &user, id).await?;
    Ok(Json(StoreResponse { status: "success", message: None, data: store }))
}

/// Replaces a store's profile: fields left out become empty. `name` is required;
/// `is_active`, when given, is applied as in `PATCH`.
///
/// **Permissions**: the store's owner.
#[utoipa::path(put, path = "/api/users/stores/{id}/", tag = "stores", security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Store id")), request_body = crate::stores::forms::ReplaceStoreRequest,
    responses(
        (status = 200, description = "The store as changed", body = StoreResponse),
        StoreChangeRefusals,
        BodyRejections,
    ))]
pub async fn replace_store(
    State(app): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateStoreRequest>,
) -> ApiResult<Json<StoreResponse>> {
    change_store(&app, (&user, &headers), id, body, Replace::Everything).await
}

/// Changes the given fields of a store: its profile, and `is_active` (`true` brings back a
/// deactivated store, `false` deactivates it). Every field sent is applied or refused (400):
/// the ones that cannot change are accepted only as they were read.
///
/// **Permissions**: the store's owner.
#[utoipa::path(patch, path = "/api/users/stores/{id}/", tag = "stores", security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Store id")), request_body = UpdateStoreRequest,
    responses(
        (status = 200, description = "The store as changed", body = StoreResponse),
        StoreChangeRefusals,
        BodyRejections,
    ))]
pub async fn update_store(
    State(app): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateStoreRequest>,
) -> ApiResult<Json<StoreResponse>> {
    change_store(&app, (&user, &headers), id, body, Replace::GivenFields).await
}

/// Deactivates a store: its key then answers 403 `inactive_tenant`; no data is dropped.
/// An owner with two-step sign-in on sends a fresh code in `X-TOTP-Code` (docs/contract.md
/// §16), else 401 `two_factor_required`.
///
/// **Permissions**: the store's owner.
#[utoipa::path(delete, path = "/api/users/stores/{id}/", tag = "stores", security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Store id")),
    responses(
        (status = 204, description = "Deactivated"),
        TokenRefusals,
        (status = 403, description = "permission_denied (not the store's owner) or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: the caller works in no store with this id (or `id` is not a whole number in range)", body = ErrorBody),
    ))]
pub async fn deactivate_store(
    State(app): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let mut conn = Session::open(&app.db).await?;
    let store = member_store(&mut conn, &user, id).await?;
    ensure_owner(&store, &user)?;
    conn.finish().await?;
    require_step_up(&app.db, &app.sealer, user.user_id, &headers).await?;
    let mut conn = Session::open(&app.db).await?;
    queries::deactivate_store(&mut conn, id).await?;
    // Committed before the cache forgets the store, so a re-read cannot find it active.
    conn.finish().await?;
    app.stores.invalidate(&store.store.tenant_key);
    tracing::info!(store.id = id, "store {id} deactivated by its owner");
    Ok(StatusCode::NO_CONTENT)
}

/// PUT and PATCH: the owner's change to store `id`, answered with the store as changed.
/// Deactivating asks for a fresh code of an owner with two-step sign-in on (docs/contract.md §16).
async fn change_store(
    app: &AppState,
    (user, headers): (&AuthUser, &HeaderMap),
    id: i64,
    body: UpdateStoreRequest,
    replace: Replace,
) -> ApiResult<Json<StoreResponse>> {
    let mut conn = Session::open(&app.db).await?;
    let current = member_store(&mut conn, user, id).await?;
    ensure_owner(&current, user)?;
    let change = parse_changes(body, &current, replace)?;
    let policy = change.require_2fa_from_rank.filter(|rank| *rank != current.store.require_2fa_from_rank);
    if let Some(Some(_)) = policy {
        // The owner ranks highest: a policy they do not meet themself would lock them in.
        if !second_factor::totp_is_on(&mut conn, user.user_id).await? {
            return Err(ApiError::field("require_2fa_from_rank", Message::OwnTwoFactorFirst));
        }
    }
    conn.finish().await?;
    let deactivating = change.is_active == Some(false) && current.store.is_active;
    if deactivating || policy.is_some() {
        require_step_up(&app.db, &app.sealer, user.user_id, headers).await?;
    }
    let mut tx = app.db.begin().await?;
    queries::update_store(&mut tx, id, &change.profile, change.is_active).await?;
    if let Some(rank) = policy {
        queries::set_two_factor_policy(&mut tx, id, rank).await?;
        second_factor::apply_store_policy(&mut tx, id).await?;
    }
    let store = member_store(&mut tx, user, id).await?;
    // Committed before the cache forgets the store, so a re-read cannot find the old profile.
    tx.commit().await?;
    app.stores.invalidate(&current.store.tenant_key);
    if let Some(is_active) = change.is_active.filter(|now| *now != current.store.is_active) {
        let state = if is_active { "reactivated" } else { "deactivated" };
        tracing::info!(store.id = id, store.is_active = is_active, "store {id} {state} by its owner");
    }
    if let Some(rank) = policy {
        tracing::info!(
            store.id = id,
            store.require_2fa_from_rank = rank,
            "store {id}'s two-step policy changed"
        );
    }
    let message = Some(Message::StoreUpdated.text(current_lang()).into_owned());
    Ok(Json(StoreResponse { status: "success", message, data: store }))
}

/// Store `id` as the caller sees it; 404 when they do not work there (never a hint that
/// someone else's store exists).
async fn member_store(conn: &mut PgConnection, user: &AuthUser, id: i64) -> ApiResult<MemberStore> {
    queries::find_member_store(conn, user.user_id, id).await?.map(MemberStore::from).ok_or(ApiError::NotFound)
}

/// Writes to a store are the owner's alone (docs/contract.md §6).
fn ensure_owner(store: &MemberStore, user: &AuthUser) -> ApiResult<()> {
    if store.access.role.0 == Role::Owner.as_str() && store.store.owner == user.user_id {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}
