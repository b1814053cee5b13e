//! HTTP handlers of the two-step routes (docs/contract.md §16).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;

use crate::credentials::extractor::AuthUser;
use crate::credentials::queries::{find_password_hash, revoke_user_sessions};
use crate::credentials::second_factor::{
    self, Authenticator, check_totp, new_recovery_codes, recovery_code_digest, require_step_up,
    spend_recovery_code,
};
use crate::credentials::throttle;
use crate::db::Session;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::client::ClientInfo;
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::{AccountRefusals, BodyRejections};
use crate::i18n::{Message, current_lang};
use crate::state::AppState;
use crate::two_factor::forms::{
    ConfirmRequest, DisableProof, DisableRequest, RecoveryCodes, TotpEnrolment, TwoFactorOff, parse_confirm,
    parse_disable,
};
use crate::two_factor::queries::{confirm_enrolment, remove_authenticator, start_enrolment};

/// Starts enrolling an authenticator app: a new secret, shown this once, as base32 and as
/// an `otpauth://` URI for a QR code. Nothing changes at sign-in until a code from the app
/// confirms it (`POST /auth/2fa/totp/confirm/`); enrolling again before that replaces the
/// secret.
///
/// **Permissions**: any signed-in user, for their own account.
#[utoipa::path(post, path = "/api/users/auth/2fa/totp/", tag = "auth", security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "The new secret, waiting for confirmation (Cache-Control: no-store)", body = TotpEnrolment),
        AccountRefusals,
        (status = 409, description = "two_factor_already_on: turn it off first", body = ErrorBody),
    ))]
pub async fn enrol_totp(
    State(app): State<AppState>,
    user: AuthUser,
) -> ApiResult<NoStore<(StatusCode, Json<TotpEnrolment>)>> {
    let body = start_totp(&app, user.user_id, &user.username).await?;
    Ok(NoStore((StatusCode::CREATED, Json(body))))
}

/// Turns two-step sign-in on with the app's current code, and answers the 10 recovery
/// codes, this once: each can stand in for a code, once. A session a store's policy kept
/// to enrolment reaches everything again from its next token refresh. Codes count against the account's
/// second-step throttle (10 wrong ones per 15 minutes).
///
/// **Permissions**: any signed-in user, for their own account.
#[utoipa::path(post, path = "/api/users/auth/2fa/totp/confirm/", tag = "auth", security(("bearerAuth" = [])),
    request_body = ConfirmRequest,
    responses(
        (status = 200, description = "On; the recovery codes (Cache-Control: no-store)", body = RecoveryCodes),
        (status = 400, description = "validation_error on `code`: wrong, used already, or no enrolment waiting", body = ErrorBody),
        AccountRefusals,
        (status = 429, description = "too_many_attempts, with Retry-After", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn confirm_totp(
    State(app): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> ApiResult<NoStore<Json<RecoveryCodes>>> {
    let code = parse_confirm(body)?;
    let recovery_codes = confirm_totp_code(&app, user.user_id, &code).await?;
    Ok(NoStore(Json(RecoveryCodes { recovery_codes })))
}

/// Starts (or restarts) enrolling an authenticator for `user_id`: its secret, sealed at
/// rest, and the `otpauth://` URI an app reads from a QR code. For the API and the console.
pub async fn start_totp(app: &AppState, user_id: i64, username: &str) -> ApiResult<TotpEnrolment> {
    let authenticator = Authenticator::generate(username)?;
    let sealed = authenticator.seal(&app.sealer, user_id)?;
    let mut conn = Session::open(&app.db).await?;
    let started = start_enrolment(&mut conn, user_id, &sealed).await?;
    conn.finish().await?;
    if !started {
        return Err(ApiError::TwoFactorAlreadyOn);
    }
    tracing::info!(user.id = user_id, "started enrolling an authenticator app");
    Ok(TotpEnrolment {
        secret: authenticator.secret_base32().expose_secret().to_owned(),
        otpauth_uri: authenticator.otpauth_uri()?.expose_secret().to_owned(),
    })
}

/// Confirms `user_id`'s waiting enrolment with the app's `code`: two-step sign-in is on,
/// and the new recovery codes are answered this once. For the API and the console.
pub async fn confirm_totp_code(app: &AppState, user_id: i64, code: &str) -> ApiResult<Vec<String>> {
    let mut conn = Session::open(&app.db).await?;
    let right = check_totp(&mut conn, &app.sealer, user_id, code, false).await?;
    conn.finish().await?;
    if !right {
        return Err(ApiError::field("code", Message::WrongTwoFactorCode));
    }
    let codes = new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| recovery_code_digest(c.expose_secret())).collect();
    let mut tx = app.db.begin().await?;
    if !confirm_enrolment(&mut tx, user_id, &hashes).await? {
        return Err(ApiError::field("code", Message::NoTwoFactorEnrolment));
    }
    second_factor::lift_enrolment_restriction(&mut tx, user_id).await?;
    tx.commit().await?;
    tracing::info!(user.id = user_id, "turned two-step sign-in on");
    Ok(codes.iter().map(|c| c.expose_secret().to_owned()).collect())
}

/// Turns two-step sign-in off, proved by the password and a fresh code in `X-TOTP-Code`
/// (step-up), or by a recovery code alone; every other session of the caller ends. Password guesses count against the sign-in limit, recovery
/// codes against the second-step one.
///
/// **Permissions**: any signed-in user, for their own account.
#[utoipa::path(delete, path = "/api/users/auth/2fa/totp/", tag = "auth", security(("bearerAuth" = [])),
    request_body = DisableRequest,
    responses(
        (status = 200, description = "Off; every other session of the caller ended", body = TwoFactorOff),
        (status = 400, description = "validation_error: no proof, a wrong password (`password`), a wrong recovery code (`recovery_code`), or two-step sign-in is not on", body = ErrorBody),
        AccountRefusals,
        (status = 401, description = "two_factor_required: with the password, `X-TOTP-Code` must carry a fresh code", body = ErrorBody),
        (status = 429, description = "too_many_attempts, with Retry-After", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn disable_totp(
    State(app): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DisableRequest>,
) -> ApiResult<Json<TwoFactorOff>> {
    let proof = parse_disable(body)?;
    turn_totp_off(&app, &user, &client, &headers, proof).await?;
    let message = Message::TwoFactorOff.text(current_lang()).into_owned();
    Ok(Json(TwoFactorOff { status: "success", message }))
}

/// Turns `user`'s two-step sign-in off once `proof` (and, with the password, a fresh code in
/// `headers`) shows it is them; every other session of theirs ends. For the API and the
/// console.
pub async fn turn_totp_off(
    app: &AppState,
    user: &AuthUser,
    client: &ClientInfo,
    headers: &HeaderMap,
    proof: DisableProof,
) -> ApiResult<()> {
    // A recovery code stands for a lost authenticator: it is the second factor itself.
    let step_up = matches!(proof, DisableProof::Password(_));
    let mut conn = Session::open(&app.db).await?;
    if !second_factor::totp_is_on(&mut conn, user.user_id).await? {
        return Err(ApiError::field("password", Message::TwoFactorNotOn));
    }
    let proved = match proof {
        DisableProof::Password(password) => {
            let ip = client.ip_key();
            let limit = app.config.login_rate_limit_per_minute;
            throttle::claim_attempt(&mut conn, &user.username, &ip, limit).await?;
            let stored = find_password_hash(&mut conn, user.user_id).await?;
            conn.finish().await?;
            let verified = app.hasher.verify(password, stored).await.map_err(ApiError::internal)?;
            verified.matches.then_some(()).ok_or(ApiError::field("password", Message::WrongCurrentPassword))
        }
        DisableProof::RecoveryCode(code) => {
            let spent = spend_recovery_code(&mut conn, user.user_id, code.expose_secret()).await?;
            conn.finish().await?;
            spent.then_some(()).ok_or(ApiError::field("recovery_code", Message::WrongTwoFactorCode))
        }
    };
    proved?;
    // After the password, so a mistyped one does not spend the code.
    if step_up {
        require_step_up(&app.db, &app.sealer, user.user_id, headers).await?;
    }
    let mut tx = app.db.begin().await?;
    let removed = remove_authenticator(&mut tx, user.user_id).await?;
    let ended = revoke_user_sessions(&mut tx, user.user_id, Some(user.session_id)).await?;
    // A store that requires two-step sign-in of the caller keeps requiring it: this session
    // reaches only enrolment from its next refresh.
    if second_factor::required_by_a_store(&mut tx, user.user_id).await? {
        second_factor::restrict_session(&mut tx, user.session_id).await?;
    }
    tx.commit().await?;
    if removed {
        tracing::info!(user.id = user.user_id, sessions.revoked = ended, "turned two-step sign-in off");
    }
    Ok(())
}
