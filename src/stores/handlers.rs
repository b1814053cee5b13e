//! HTTP handlers for `/api/users/stores/`: list, create, read, change, deactivate.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sqlx::PgConnection;

use crate::db::Session;

use crate::auth::extractor::AuthUser;
use crate::auth::queries::find_user;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::openapi::BodyRejections;
use crate::http::path::ApiPath;
use crate::i18n::{Message, current_lang};
use crate::roles::Role;
use crate::state::AppState;
use crate::stores::provision::{StoreOwner, provision_store};
use crate::stores::queries::{self, StoreChanges, StoreFilter};
use crate::stores::{
    CreateStoreRequest, CreatedStore, MemberStore, RawProfile, StoreCreatedResponse, StoreListResponse,
    StoreResponse, UpdateStoreRequest, parse_slug_choice,
};
use crate::validate::{Form, MAX_NAME_CHARS, MAX_TEXT_CHARS, Replace};

/// The stores the caller works in, deactivated ones included, oldest first.
///
/// **Permissions**: any signed-in user.
#[utoipa::path(get, path = "/api/users/stores/", tag = "stores", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's stores, deactivated ones included", body = StoreListResponse),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "password_change_required: the caller must change their password first", body = ErrorBody),
    ))]
pub async fn list_stores(State(app): State<AppState>, user: AuthUser) -> ApiResult<Json<StoreListResponse>> {
    let mut conn = Session::open(&app.db).await?;
    let rows =
        queries::list_member_stores(&mut conn, user.user_id, StoreFilter::IncludingDeactivated).await?;
    Ok(Json(StoreListResponse { status: "success", data: rows.into_iter().map(MemberStore::from).collect() }))
}

/// Opens another store: its own schema, with the caller as owner (same provisioning as
/// registration, all-or-nothing).
///
/// **Permissions**: any signed-in user; they become the new store's owner.
#[utoipa::path(post, path = "/api/users/stores/", tag = "stores", security(("bearerAuth" = [])),
    request_body = CreateStoreRequest,
    responses(
        (status = 201, description = "Created, with the caller as its owner", body = StoreCreatedResponse),
        (status = 400, description = "validation_error, per field", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "password_change_required: the caller must change their password first", body = ErrorBody),
        (status = 409, description = "slug_taken", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn create_store(
    State(app): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<CreateStoreRequest>,
) -> ApiResult<(StatusCode, Json<StoreCreatedResponse>)> {
    let mut form = Form::new();
    let slug_choice = parse_slug_choice(&mut form, "slug", body.slug);
    let profile = RawProfile {
        name: body.name,
        description: body.description,
        address: body.address,
        city: body.city,
        region: body.region,
        phone: body.phone,
        email: body.email,
        legal_name: body.legal_name,
        tax_id: body.tax_id,
    }
    .parse(&mut form, "");
    let profile = form.finish(profile)?;

    let mut tx = app.db.begin().await?;
    let owner = find_user(&mut tx, user.user_id).await?.ok_or(ApiError::TokenInvalid)?;
    let provisioned =
        provision_store(&mut tx, &StoreOwner::from(&owner), &profile, &slug_choice, &app.tenant_migrations)
            .await?;
    let store = member_store(&mut tx, &user, provisioned.store.id).await?;
    tx.commit().await?;

    let message = Message::StoreCreated.text(current_lang()).into_owned();
    let data = CreatedStore { store };
    Ok((StatusCode::CREATED, Json(StoreCreatedResponse { status: "success", message, data })))
}

/// One store the caller works in.
///
/// **Permissions**: members of the store; anyone else gets 404.
#[utoipa::path(get, path = "/api/users/stores/{id}/", tag = "stores", security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Store id")),
    responses(
        (status = 200, description = "The store", body = StoreResponse),
        (status = 400, description = "validation_error: `id` is not a whole number in range", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "password_change_required: the caller must change their password first", body = ErrorBody),
        (status = 404, description = "not_found: the caller works in no store with this id", body = ErrorBody),
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

/// Replaces a store's profile: fields left out become empty. `name` is required.
///
/// **Permissions**: the store's owner.
#[utoipa::path(put, path = "/api/users/stores/{id}/", tag = "stores", security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Store id")), request_body = crate::stores::ReplaceStoreRequest,
    responses(
        (status = 200, description = "The store as changed", body = StoreResponse),
        (status = 400, description = "validation_error, per field (`id` too, when it is not a whole number in range)", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "permission_denied (not the store's owner) or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: the caller works in no store with this id", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn replace_store(
    State(app): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateStoreRequest>,
) -> ApiResult<Json<StoreResponse>> {
    change_store(&app, &user, id, body, Replace::Everything).await
}

/// Changes the given fields of a store's profile.
///
/// **Permissions**: the store's owner.
#[utoipa::path(patch, path = "/api/users/stores/{id}/", tag = "stores", security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Store id")), request_body = UpdateStoreRequest,
    responses(
        (status = 200, description = "The store as changed", body = StoreResponse),
        (status = 400, description = "validation_error, per field (`id` too, when it is not a whole number in range)", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "permission_denied (not the store's owner) or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: the caller works in no store with this id", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn update_store(
    State(app): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateStoreRequest>,
) -> ApiResult<Json<StoreResponse>> {
    change_store(&app, &user, id, body, Replace::GivenFields).await
}

/// Deactivates a store: its key then answers 403 `inactive_tenant`; no data is dropped.
///
/// **Permissions**: the store's owner.
#[utoipa::path(delete, path = "/api/users/stores/{id}/", tag = "stores", security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Store id")),
    responses(
        (status = 204, description = "Deactivated"),
        (status = 400, description = "validation_error: `id` is not a whole number in range", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "permission_denied (not the store's owner) or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: the caller works in no store with this id", body = ErrorBody),
    ))]
pub async fn deactivate_store(
    State(app): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let mut conn = Session::open(&app.db).await?;
    let store = member_store(&mut conn, &user, id).await?;
    ensure_owner(&store, &user)?;
    queries::deactivate_store(&mut conn, id).await?;
    // Committed before the cache forgets the store, so a re-read cannot find it active.
    conn.finish().await?;
    app.stores.invalidate(&store.store.tenant_key);
    tracing::info!(store.id = id, "store {id} deactivated by its owner");
    Ok(StatusCode::NO_CONTENT)
}

async fn change_store(
    app: &AppState,
    user: &AuthUser,
    id: i64,
    body: UpdateStoreRequest,
    replace: Replace,
) -> ApiResult<Json<StoreResponse>> {
    let mut conn = Session::open(&app.db).await?;
    let current = member_store(&mut conn, user, id).await?;
    ensure_owner(&current, user)?;
    let changes = parse_changes(body, &current, replace)?;
    queries::update_store(&mut conn, id, &changes).await?;
    let store = member_store(&mut conn, user, id).await?;
    // Committed before the cache forgets the store, so a re-read cannot find the old profile.
    conn.finish().await?;
    app.stores.invalidate(&current.store.tenant_key);
    let message = Some(Message::StoreUpdated.text(current_lang()).into_owned());
    Ok(Json(StoreResponse { status: "success", message, data: store }))
}

fn parse_changes(
    body: UpdateStoreRequest,
    current: &MemberStore,
    replace: Replace,
) -> ApiResult<StoreChanges> {
    let mut form = Form::new();
    let immutable = [
        ("slug", body.slug, &current.store.slug),
        ("tenant_key", body.tenant_key, &current.store.tenant_key),
        ("schema_name", body.schema_name, &current.store.schema_name),
    ];
    for (field, given, actual) in immutable {
        if given.is_some_and(|value| value.as_str() != Some(actual.as_str())) {
            form.add(field, Message::FieldImmutable);
        }
    }
    // PUT empties what it leaves out; PATCH keeps it.
    let fill = |value: Option<String>| match replace {
        Replace::Everything => Some(value.unwrap_or_default()),
        Replace::GivenFields => value,
    };
    let name = match (replace, body.name) {
        (Replace::GivenFields, None) => None,
        (_, name) => Some(form.required("name", name, MAX_NAME_CHARS)),
    };
    let mut text = |field: &str, value: Option<String>, max: usize| {
        fill(value).map(|v| form.optional(field, Some(v), max))
    };
    let description = text("description", body.description, MAX_TEXT_CHARS);
    let address = text("address", body.address, MAX_TEXT_CHARS);
    let city = text("city", body.city, MAX_NAME_CHARS);
    let region = text("region", body.region, MAX_NAME_CHARS);
    let legal_name = text("legal_name", body.legal_name, MAX_TEXT_CHARS);
    let tax_id = text("tax_id", body.tax_id, 32);
    let phone = fill(body.phone).map(|v| form.phone("phone", Some(v)));
    let email = fill(body.email).map(|v| form.email("email", Some(v)));
    form.finish(StoreChanges { name, description, address, city, region, phone, email, legal_name, tax_id })
}

/// Store `id` as the caller sees it; 404 when they do not work there (never a hint that
/// someone else's store exists).
async fn member_store(conn: &mut PgConnection, user: &AuthUser, id: i64) -> ApiResult<MemberStore> {
    queries::find_member_store(conn, user.user_id, id).await?.map(MemberStore::from).ok_or(ApiError::NotFound)
}

/// Writes to a store are the owner's alone (SPEC §6).
fn ensure_owner(store: &MemberStore, user: &AuthUser) -> ApiResult<()> {
    if store.access.role == Role::Owner && store.store.owner == user.user_id {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}
