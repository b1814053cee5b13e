//! HTTP handlers for `/api/users/auth/`.

pub mod pin;
pub mod second_step;
pub mod setup;

use crate::db::Session;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::SecretString;
use uuid::Uuid;

use crate::access::Role;
use crate::auth::forms::{
    ChangePasswordRequest, DefaultStore, LoginRequest, LoginResponse, MeResponse, MessageResponse,
    OwnerEmployeeOut, RefreshRequest, RegisterRequest, RegisterResponse, Registered, SessionListResponse,
    SessionOut, SignInStore, UserOut,
};
use crate::auth::forms::{Credentials, PasswordChange, Registration, parse_refresh};
use crate::auth::queries::{caller_in_store, insert_owner_with_store};
use crate::credentials::extractor::AuthUser;
use crate::credentials::extractor::SignedIn;
use crate::credentials::queries::{self, SessionProof};
use crate::credentials::second_factor;
use crate::credentials::sessions::{
    TokenPair, start_enrolment_only_session, start_session, start_store_bound_session, successor_of,
};
use crate::credentials::throttle;
use crate::credentials::tokens::SessionReach;
use crate::db::schema::SchemaName;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::client::ClientInfo;
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::{AccountRefusals, BodyRejections, CallerInStoreRefusals, TokenRefusals};
use crate::http::path::ApiPath;
use crate::i18n::{Message, current_lang};
use crate::registry::MemberStore;
use crate::registry::provision::StaffSeed;
use crate::registry::queries::{MemberStoreRow, StoreFilter, list_member_stores};
use crate::registry::staff_account::StaffPassword;
use crate::registry::staff_account::queries::store_of_account;
use crate::registry::{StoreListResponse, member_store_list};
use crate::staff::CashierOut;
use crate::staff::queries::{CASHIERS_SQL, CashierRow};
use crate::state::AppState;
use crate::tenant::conn::StoreScope;
use crate::validate::password::MAX_PASSWORD_CHARS;

/// Registers a store owner: their account, their first store with its own schema, their
/// employee profile there, and a session, all in one transaction (nothing is left behind
/// when any step fails). The slug comes from `store_slug`, or from `store_name`
/// transliterated (`Мой Магазин` → `moi-magazin`) with a `-2`, `-3`… suffix when taken.
/// One client address may attempt `REGISTRATION_LIMIT_PER_HOUR` registrations an hour
/// (successful or not); beyond that: 429.
///
/// **Permissions**: none (public).
#[utoipa::path(post, path = "/api/users/auth/register/", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered: the owner, the store, the owner's employee profile, a session's tokens, and the store's shared staff account with its password", body = RegisterResponse),
        (status = 400, description = "validation_error, per field", body = ErrorBody),
        (status = 409, description = "username_taken or slug_taken", body = ErrorBody),
        (status = 429, description = "too_many_attempts: this address's registrations for the hour are used up; Retry-After says when to try again", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn register(
    State(app): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<NoStore<(StatusCode, Json<RegisterResponse>)>> {
    let registration = Registration::parse(body, &app.config.password_policy)?;
    let mut conn = Session::open(&app.db).await?;
    // Claimed before the username is looked at: the probe below tells whether a username
    // exists, so it is throttled with the rest. The claim is kept whatever happens next.
    throttle::claim_registration(&mut conn, &client.ip_key(), app.config.registration_limit_per_hour).await?;
    // Answer a taken username before paying for the hash; the unique index still decides races.
    let taken = queries::username_exists(&mut conn, &registration.username).await?;
    // No pooled connection is held while argon2 runs (or waits for a hashing permit): a
    // registration burst must not starve every other request of connections.
    conn.finish().await?;
    if taken {
        return Err(ApiError::UsernameTaken);
    }
    let password_hash = app.hasher.hash(registration.password.clone()).await.map_err(ApiError::internal)?;
    let staff_password = StaffPassword::generate(&app.hasher, &app.config.password_policy).await?;
    let staff = StaffSeed { password: &staff_password, sealer: &app.sealer };

    let mut tx = app.db.begin().await?;
    let (user, provisioned) =
        insert_owner_with_store(&mut tx, &registration, &password_hash, &app.tenant_migrations, staff)
            .await?;
    let tokens =
        start_session(&mut tx, (&app.tokens, &app.config), user.id, &client, SessionProof::InTransaction)
            .await?;
    tx.commit().await?;

    tracing::info!(user.id = user.id, store.slug = %provisioned.store.slug, "registered a store owner");
    let data = Registered {
        employee: OwnerEmployeeOut::from(provisioned.owner_employee),
        user: UserOut::from(user),
        store: provisioned.store,
        tokens,
        staff_credentials: provisioned.staff_credentials,
    };
    let message = Message::RegistrationSucceeded.text(current_lang()).into_owned();
    Ok(NoStore((StatusCode::CREATED, Json(RegisterResponse { status: "success", message, data }))))
}

/// Signs in with username and password: a new session, its tokens, and the stores the user
/// may open. Unknown usernames cost the same time as wrong passwords. After
/// `LOGIN_RATE_LIMIT_PER_MINUTE` failures for one (username, client IP) in a minute, or
/// `LOGIN_ACCOUNT_LIMIT_PER_15_MINUTES` failed attempts at one username from any address in
/// 15 minutes: 429.
///
/// **Permissions**: none (public).
#[utoipa::path(post, path = "/api/users/auth/login/", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in: the new session's tokens, the user and their stores", body = LoginResponse),
        (status = 400, description = "validation_error, per field", body = ErrorBody),
        (status = 401, description = "authentication_failed: wrong username or password, or an inactive account; two_factor_required: the password was right and the account has two-step sign-in on, with `challenge`, `methods` and `expires_at` for `POST /api/users/auth/login/2fa/`", body = ErrorBody),
        (status = 429, description = "too_many_attempts, with Retry-After", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn login(
    State(app): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<NoStore<Json<LoginResponse>>> {
    let signed_in = sign_in_with_password(&app, &client, Credentials::parse(body)?, None).await?;
    login_body(&app, signed_in).await.map(|body| NoStore(Json(body)))
}

/// What a sign-in answers (docs/contract.md §6), after the password or after its second step.
pub async fn login_body(app: &AppState, signed_in: PasswordSignIn) -> ApiResult<LoginResponse> {
    let default_store = signed_in.stores.first().map(DefaultStore::from);
    let available_stores = with_cashiers_for_staff(app, signed_in.stores).await?;
    Ok(LoginResponse {
        access: signed_in.tokens.access,
        refresh: signed_in.tokens.refresh,
        password_change_required: signed_in.account.must_change_password,
        user: UserOut::from(signed_in.account),
        default_store,
        available_stores,
    })
}

/// `stores` as sign-in lists them: where the role is `staff` (the store's shared account
/// signs its tills in), with the cashiers those tills name, read now. Other sign-ins read
/// nothing more.
async fn with_cashiers_for_staff(app: &AppState, stores: Vec<MemberStore>) -> ApiResult<Vec<SignInStore>> {
    let mut listed = Vec::with_capacity(stores.len());
    for store in stores {
        let cashiers = match store.access.role.0 == Role::Staff.as_str() {
            true => Some(store_cashiers(app, &store).await?),
            false => None,
        };
        listed.push(SignInStore { store, cashiers });
    }
    Ok(listed)
}

/// The cashiers without an account of `store`, newest first.
async fn store_cashiers(app: &AppState, store: &MemberStore) -> ApiResult<Vec<CashierOut>> {
    let schema = SchemaName::parse(&store.store.schema_name).map_err(ApiError::internal)?;
    let mut conn = Session::open(&app.db).await?;
    let rows: Vec<CashierRow> =
        crate::db::query_as(schema.tables().sql(CASHIERS_SQL)).fetch_all(&mut *conn).await?;
    conn.finish().await?;
    Ok(rows.into_iter().map(CashierOut::from).collect())
}

/// A password sign-in that succeeded: the account, the new session's tokens, and the
/// active stores the account works in, newest first.
pub struct PasswordSignIn {
    pub account: queries::UserForLogin,
    pub tokens: TokenPair,
    pub stores: Vec<MemberStore>,
}

/// Checks `credentials` under the sign-in throttle (docs/contract.md §4) and opens a session: the one
/// way to sign in with a password, for the API's login and the console's sign-in form.
///
/// `known_device` is the id of a valid device cookie naming this username (the console's
/// browsers that signed in before): while that cookie's own failure allowance lasts, the
/// attempt is claimed against it instead of the account-wide cap, which strangers can use up.
pub async fn sign_in_with_password(
    app: &AppState,
    client: &ClientInfo,
    Credentials { username, password }: Credentials,
    known_device: Option<&str>,
) -> ApiResult<PasswordSignIn> {
    let client_ip = client.ip_key();

    let mut conn = Session::open(&app.db).await?;
    throttle::claim_attempt(&mut conn, &username, &client_ip, app.config.login_rate_limit_per_minute).await?;
    let device_claim = match known_device {
        Some(device_id) => {
            throttle::claim_device_attempt(&mut conn, device_id).await?.map(|c| (device_id, c))
        }
        None => None,
    };
    // After the per-IP claim, so one address's refused requests do not spend the account's budget.
    let account_claim = match device_claim {
        Some(_) => None,
        None => Some(
            throttle::claim_account_attempt(
                &mut conn,
                &username,
                app.config.login_account_limit_per_15_minutes,
            )
            .await?,
        ),
    };
    // The one read of the account: its hash, and what the answer shows of it.
    let account = queries::find_user_for_login(&mut conn, &username).await?;
    // The claimed attempt is kept, and the connection goes back to the pool while argon2 runs.
    conn.finish().await?;
    let stored_hash = account.as_ref().map(|a| a.password_hash.clone());
    let verified = app.hasher.verify(password.clone(), stored_hash).await.map_err(ApiError::internal)?;
    let account = match account {
        Some(account) if verified.matches && account.is_active && secret_fits(&password) => account,
        _ => return Err(ApiError::InvalidCredentials),
    };
    let mut tx = app.db.begin().await?;
    // With two-step sign-in on, the right password earns a challenge, not a session
    // (docs/contract.md §16). The hash is not upgraded on this path: the challenge is tied
    // to the hash as checked.
    if second_factor::totp_is_on(&mut tx, account.id).await? {
        let pending =
            second_factor::issue_challenge(&mut tx, account.id, &account.password_hash, client).await?;
        release_password_claims(&mut tx, &username, &client_ip, account_claim, device_claim).await?;
        tx.commit().await?;
        return Err(ApiError::TwoFactorRequired(Some(pending)));
    }
    let upgraded_hash = match verified.needs_rehash {
        true => Some(app.hasher.hash(password).await.map_err(ApiError::internal)?),
        false => None,
    };
    let (tokens, stores) = open_password_session(&mut tx, app, client, &account).await?;
    release_password_claims(&mut tx, &username, &client_ip, account_claim, device_claim).await?;
    tx.commit().await?;
    if let Some(hash) = &upgraded_hash {
        upgrade_hash(app, &account, hash).await?;
    }
    Ok(PasswordSignIn { account, tokens, stores })
}

/// Gives back what a right password claimed of the sign-in throttle.
async fn release_password_claims(
    tx: &mut sqlx::PgConnection,
    username: &str,
    client_ip: &str,
    account_claim: Option<throttle::AccountClaim>,
    device_claim: Option<(&str, throttle::DeviceClaim)>,
) -> ApiResult<()> {
    throttle::clear_attempts(tx, username, client_ip).await?;
    if let Some(claim) = account_claim {
        throttle::release_account_attempt(tx, username, claim).await?;
    }
    if let Some((device_id, claim)) = device_claim {
        throttle::release_device_attempt(tx, device_id, claim).await?;
    }
    Ok(())
}

/// Opens the session of `account` in `tx`, if its password hash is still the one checked
/// (`account.password_hash`): its tokens, and the active stores it works in, newest first.
/// After the password, or after the password and its second step (docs/contract.md §16).
pub async fn open_password_session(
    tx: &mut sqlx::PgConnection,
    app: &AppState,
    client: &ClientInfo,
    account: &queries::UserForLogin,
) -> ApiResult<(TokenPair, Vec<MemberStore>)> {
    // The session is recorded only if the password just checked is still the account's.
    // First, so this transaction takes the account's row before the throttle's, in the
    // order a password change takes them.
    let proof = SessionProof::PasswordHash(&account.password_hash);
    let signing = (&*app.tokens, &*app.config);
    // A store's shared staff account belongs to that store alone: its sessions are bound there.
    let staff_store = store_of_account(tx, account.id).await?;
    let rows: Vec<MemberStoreRow> = list_member_stores(tx, account.id, StoreFilter::ActiveOnly)
        .await?
        .into_iter()
        .filter(|row| staff_store.is_none_or(|bound| row.store.id == bound))
        .collect();
    let tokens = match staff_store {
        Some(store_id) => {
            start_store_bound_session(tx, signing, (account.id, proof), client, store_id).await?
        }
        None if must_enrol_first(tx, account.id, &rows).await? => {
            start_enrolment_only_session(tx, signing, account.id, client, proof).await?
        }
        None => start_session(tx, signing, account.id, client, proof).await?,
    };
    Ok((tokens, rows.into_iter().map(MemberStore::from).collect()))
}

/// Whether one of the member's stores requires two-step sign-in at their rank there
/// (docs/contract.md §16) while they have no authenticator: their session may then only
/// enrol one. A store's shared staff account is not a person and never asked.
async fn must_enrol_first(
    tx: &mut sqlx::PgConnection,
    user_id: i64,
    stores: &[MemberStoreRow],
) -> ApiResult<bool> {
    let required = stores
        .iter()
        .any(|row| row.store.require_2fa_from_rank.is_some_and(|from_rank| row.role.rank >= from_rank));
    Ok(required && !second_factor::totp_is_on(tx, user_id).await?)
}

/// Stores the same password under current parameters, unless the hash changed since it
/// was checked (a password change, or a parallel sign-in's upgrade, came first). After the
/// session's commit, so parallel sign-ins never refuse each other over it.
async fn upgrade_hash(app: &AppState, account: &queries::UserForLogin, new_hash: &str) -> ApiResult<()> {
    let mut conn = Session::open(&app.db).await?;
    if queries::upgrade_password_hash(&mut conn, account.id, &account.password_hash, new_hash).await? {
        tracing::info!(user.id = account.id, "upgraded a password hash to current parameters");
    }
    conn.finish().await?;
    Ok(())
}

/// Passwords longer than any we accept cannot be right; checked after hashing so the
/// answer takes the usual time.
fn secret_fits(secret: &SecretString) -> bool {
    use secrecy::ExposeSecret;
    secret.expose_secret().chars().count() <= MAX_PASSWORD_CHARS
}

/// Trades a refresh token for a new pair; the old one is retired. A client that lost the
/// answer may retry with the same token within `REFRESH_REUSE_GRACE` (10 s by default) and
/// gets the same refresh token again (with a fresh access token), so the answer it did or
/// did not receive stays valid. Any other use of a retired token (an older one, or after
/// the window; with `REFRESH_REUSE_GRACE=0` any second use) revokes the whole session (401
/// `token_reused`).
///
/// **Permissions**: none (the refresh token is the credential).
#[utoipa::path(post, path = "/api/users/auth/token/refresh/", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is retired (a retry within the window gets the same refresh token again)", body = TokenPair),
        (status = 400, description = "validation_error, per field", body = ErrorBody),
        (status = 401, description = "token_invalid, token_expired or token_reused", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn refresh_token(
    State(app): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<NoStore<Json<TokenPair>>> {
    let presented = parse_refresh(body)?;
    let successor = successor_of(&presented, &app.config.secret_key)?;
    let presented = presented.digest();
    let idle_secs = app.config.session_idle_timeout.as_secs_f64();
    let grace_secs = app.config.refresh_reuse_grace.as_secs_f64();

    let mut conn = Session::open(&app.db).await?;
    let rotated =
        queries::rotate_refresh_token(&mut conn, &presented, &successor.digest(), idle_secs, grace_secs)
            .await?;
    let outcome = match rotated {
        Some(session) => Ok(session),
        None if queries::revoke_session_of_retired_token(&mut conn, &presented).await? => {
            tracing::warn!("a retired refresh token was presented again: its session is revoked");
            Err(ApiError::TokenReused)
        }
        None if queries::is_refresh_token_expired(&mut conn, &presented, idle_secs).await? => {
            Err(ApiError::TokenExpired)
        }
        None => Err(ApiError::TokenInvalid),
    };
    // Both the rotation and a reuse's revocation are kept.
    conn.finish().await?;
    let session = outcome?;
    let reach =
        SessionReach { bound_store_id: session.bound_store_id, enrolment_only: session.enrolment_only };
    let access =
        app.tokens.issue(session.user_id, session.session_id, reach).await.map_err(ApiError::internal)?;
    Ok(NoStore(Json(TokenPair { access, refresh: successor.expose().to_owned() })))
}

/// Ends the caller's session: its access and refresh tokens stop working at once.
///
/// **Permissions**: any signed-in user.
#[utoipa::path(post, path = "/api/users/auth/logout/", tag = "auth", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Signed out: this session's tokens no longer work", body = MessageResponse),
        TokenRefusals,
    ))]
pub async fn logout(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
) -> ApiResult<Json<MessageResponse>> {
    let mut conn = Session::open(&app.db).await?;
    queries::revoke_session(&mut conn, user.user_id, user.session_id).await?;
    conn.finish().await?;
    Ok(Json(message(Message::LoggedOut)))
}

/// Ends every session of the caller, on every device.
///
/// **Permissions**: any signed-in user.
#[utoipa::path(post, path = "/api/users/auth/logout-all/", tag = "auth", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Signed out everywhere: every session of the caller ended", body = MessageResponse),
        TokenRefusals,
    ))]
pub async fn logout_all(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
) -> ApiResult<Json<MessageResponse>> {
    let mut conn = Session::open(&app.db).await?;
    queries::revoke_user_sessions(&mut conn, user.user_id, None).await?;
    conn.finish().await?;
    Ok(Json(message(Message::LoggedOut)))
}

/// The caller's live sessions: where and when they signed in, and which one is this.
///
/// **Permissions**: any signed-in user, for their own sessions.
#[utoipa::path(get, path = "/api/users/auth/sessions/", tag = "auth", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's live sessions", body = SessionListResponse),
        TokenRefusals,
    ))]
pub async fn list_sessions(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
) -> ApiResult<Json<SessionListResponse>> {
    let mut conn = Session::open(&app.db).await?;
    let sessions = queries::list_live_sessions(&mut conn, user.user_id).await?;
    // A till's session stands for the person at that counter, not for their account: it
    // sees itself alone.
    let data = sessions
        .into_iter()
        .filter(|row| user.bound_store_id.is_none() || row.id == user.session_id)
        .map(|row| SessionOut::new(row, user.session_id))
        .collect();
    Ok(Json(SessionListResponse { status: "success", data }))
}

/// Ends one of the caller's sessions (a lost phone, say).
///
/// **Permissions**: any signed-in user, for their own sessions; others' are 404.
#[utoipa::path(delete, path = "/api/users/auth/sessions/{id}/", tag = "auth", security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Revoked"),
        TokenRefusals,
        (status = 404, description = "not_found: the caller has no live session with this id (or `id` is not a UUID)", body = ErrorBody),
    ))]
pub async fn revoke_session(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let mut conn = Session::open(&app.db).await?;
    let revoked = queries::revoke_session(&mut conn, user.user_id, id).await?;
    conn.finish().await?;
    if revoked { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::NotFound) }
}

/// Changes the caller's password after checking the current one; every other session ends
/// and the `must_change_password` flag clears. Guesses of the current password count
/// against the same limit as sign-in.
///
/// **Permissions**: any signed-in user, including one who must change their password.
#[utoipa::path(post, path = "/api/users/auth/change-password/", tag = "auth", security(("bearerAuth" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed; every other session of the caller ended", body = MessageResponse),
        (status = 400, description = "validation_error, per field (`old_password` when it is wrong)", body = ErrorBody),
        TokenRefusals,
        (status = 429, description = "too_many_attempts at the current password, with Retry-After", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn change_password(
    State(app): State<AppState>,
    SignedIn(user): SignedIn,
    client: ClientInfo,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let change = PasswordChange::parse(body, &app.config.password_policy, &user.username)?;
    let client_ip = client.ip_key();

    let mut conn = Session::open(&app.db).await?;
    throttle::claim_attempt(&mut conn, &user.username, &client_ip, app.config.login_rate_limit_per_minute)
        .await?;
    let stored = queries::find_password_hash(&mut conn, user.user_id).await?;
    conn.finish().await?;
    let verified = app.hasher.verify(change.old_password, stored).await.map_err(ApiError::internal)?;
    if !verified.matches {
        return Err(ApiError::field("old_password", Message::WrongCurrentPassword));
    }
    let new_hash = app.hasher.hash(change.new_password).await.map_err(ApiError::internal)?;

    let mut tx = app.db.begin().await?;
    queries::update_password_hash(&mut tx, user.user_id, &new_hash, false).await?;
    let ended = queries::revoke_user_sessions(&mut tx, user.user_id, Some(user.session_id)).await?;
    throttle::clear_attempts(&mut tx, &user.username, &client_ip).await?;
    tx.commit().await?;
    tracing::info!(user.id = user.user_id, sessions.revoked = ended, "a user changed their password");
    Ok(Json(message(Message::PasswordChanged)))
}

fn message(message: Message) -> MessageResponse {
    MessageResponse { status: "success", message: message.text(current_lang()).into_owned() }
}

/// Who am I in this store: the account, the store of `X-Tenant-Key`, the role with its
/// permissions, and the employee profile from the store's own schema.
///
/// **Permissions**: active members of the store (403 `not_a_member` otherwise); also
/// answers for a member who must change their password.
#[utoipa::path(get, path = "/api/users/auth/me/", tag = "auth",
    security(("bearerAuth" = [], "tenantKey" = [])),
    responses(
        (status = 200, description = "The caller in the store of `X-Tenant-Key`", body = MeResponse),
        CallerInStoreRefusals,
    ))]
pub async fn me(scope: StoreScope) -> ApiResult<Json<MeResponse>> {
    caller_in_store(scope).await.map(Json)
}

/// The active stores the caller works in, with their `tenant_key`, role and permissions:
/// what a POS app offers after sign-in. No `X-Tenant-Key` is needed.
///
/// **Permissions**: any signed-in user.
#[utoipa::path(get, path = "/api/users/auth/my-stores/", tag = "auth", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's active stores", body = StoreListResponse),
        AccountRefusals,
    ))]
pub async fn list_my_stores(
    State(app): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<StoreListResponse>> {
    member_store_list(&app, &user, StoreFilter::ActiveOnly).await.map(Json)
}
