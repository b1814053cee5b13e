//! HTTP handlers for `/api/users/auth/`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::SecretString;
use sqlx::Acquire;

use crate::app::AppState;
use crate::auth::extractor::AuthUser;
use crate::auth::password::policy_violations;
use crate::auth::queries::{self, NewUser};
use crate::auth::sessions::start_session;
use crate::auth::{OwnerEmployeeOut, RegisterRequest, RegisterResponse, Registered, UserOut};
use crate::config::PasswordPolicy;
use crate::error::{ApiError, ApiResult, ErrorBody, ResultExt};
use crate::http::client::ClientInfo;
use crate::http::json::ApiJson;
use crate::i18n::{Message, current_lang};
use crate::stores::queries::{StoreProfile, list_active_member_stores};
use crate::stores::{MemberStore, RawProfile, StoreDetails, StoreListResponse, parse_slug_choice};
use crate::tenant::provision::{SlugChoice, StoreOwner, provision_store};
use crate::validate::{Form, MAX_NAME_CHARS};

/// A registration that passed validation.
struct Registration {
    username: String,
    password: SecretString,
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    store: StoreProfile,
    slug: SlugChoice,
}

impl Registration {
    /// Every field checked at once; the password against the policy and its confirmation.
    fn parse(body: RegisterRequest, policy: &PasswordPolicy) -> ApiResult<Self> {
        let mut form = Form::new();
        let username = form.username("username", body.username);
        let password = form.password("password", body.password);
        let confirmation = form.password("password_confirm", body.password_confirm);
        let first_name = form.required("first_name", body.first_name, MAX_NAME_CHARS);
        let last_name = form.optional("last_name", body.last_name, MAX_NAME_CHARS);
        let email = form.email("email", body.email);
        let phone = form.phone("owner_phone", body.owner_phone);
        let slug = parse_slug_choice(&mut form, "store_slug", body.store_slug);
        let store = RawProfile {
            name: body.store_name,
            description: body.store_description,
            address: body.store_address,
            city: body.store_city,
            region: body.store_region,
            phone: body.store_phone,
            email: body.store_email,
            legal_name: body.store_legal_name,
            tax_id: body.store_tax_id,
        }
        .parse(&mut form, "store_");
        if !password.is_empty() {
            for problem in policy_violations(&password, policy, &[&username]) {
                form.add("password", problem);
            }
        }
        if !confirmation.is_empty() && password != confirmation {
            form.add("password_confirm", Message::PasswordsDoNotMatch);
        }
        form.finish(Registration {
            username,
            password: SecretString::from(password),
            first_name,
            last_name,
            email,
            phone,
            store,
            slug,
        })
    }
}

/// Registers a store owner: their account, their first store with its own schema, their
/// employee profile there, and a session, all in one transaction (nothing is left behind
/// when any step fails). The slug comes from `store_slug`, or from `store_name`
/// transliterated (`Мой Магазин` → `moi-magazin`) with a `-2`, `-3`… suffix when taken.
///
/// **Permissions**: none (public).
#[utoipa::path(post, path = "/api/users/auth/register/", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, body = RegisterResponse),
        (status = 400, description = "validation_error, per field", body = ErrorBody),
        (status = 409, description = "username_taken or slug_taken", body = ErrorBody),
    ))]
pub async fn register(
    State(app): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<RegisterResponse>)> {
    let registration = Registration::parse(body, &app.config.password_policy)?;
    let mut conn = app.db.acquire().await?;
    // Answer a taken username before paying for the hash; the unique index still decides races.
    if queries::username_exists(&mut conn, &registration.username).await? {
        return Err(ApiError::UsernameTaken);
    }
    let password_hash = app.hasher.hash(registration.password.clone()).await.map_err(ApiError::internal)?;

    let mut tx = conn.begin().await?;
    let user = queries::insert_user(
        &mut tx,
        &NewUser {
            username: &registration.username,
            password_hash: &password_hash,
            first_name: &registration.first_name,
            last_name: &registration.last_name,
            email: &registration.email,
            phone: &registration.phone,
        },
    )
    .await
    .on_constraint("users_username_key", |_| ApiError::UsernameTaken)?;
    let owner = StoreOwner {
        user_id: user.id,
        first_name: &user.first_name,
        last_name: &user.last_name,
        phone: &user.phone,
    };
    let provisioned =
        provision_store(&mut tx, &owner, &registration.store, &registration.slug, &app.tenant_migrations)
            .await?;
    let tokens = start_session(&mut tx, &app, user.id, &client).await?;
    tx.commit().await?;

    tracing::info!(user.id = user.id, store.slug = %provisioned.store.slug, "registered a store owner");
    let employee = provisioned.owner_employee;
    let role = employee.role();
    let data = Registered {
        employee: OwnerEmployeeOut {
            id: employee.id,
            role,
            role_display: role.display(current_lang()),
            permissions: role.permissions().to_vec(),
            phone: employee.phone,
            position: employee.position,
            is_active: employee.is_active,
            hired_at: employee.hired_at,
        },
        user: UserOut::from(user),
        store: StoreDetails::from(provisioned.store),
        tokens,
    };
    let message = Message::RegistrationSucceeded.text(current_lang()).into_owned();
    Ok((StatusCode::CREATED, Json(RegisterResponse { status: "success", message, data })))
}

/// The active stores the caller works in, with their `tenant_key`, role and permissions:
/// what a POS app offers after sign-in. No `X-Tenant-Key` is needed.
///
/// **Permissions**: any signed-in user.
#[utoipa::path(get, path = "/api/users/auth/my-stores/", tag = "auth", security(("bearerAuth" = [])),
    responses((status = 200, body = StoreListResponse), (status = 401, body = ErrorBody)))]
pub async fn list_my_stores(
    State(app): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<StoreListResponse>> {
    let mut conn = app.db.acquire().await?;
    let rows = list_active_member_stores(&mut conn, user.user_id).await?;
    Ok(Json(StoreListResponse { status: "success", data: rows.into_iter().map(MemberStore::from).collect() }))
}
