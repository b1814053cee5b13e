//! The second step of a password sign-in (docs/contract.md §16): `POST /auth/login/2fa/`
//! answers the challenge that `POST /auth/login/` gave an account with two-step sign-in on.

use axum::Json;
use axum::extract::State;
use secrecy::ExposeSecret;

use crate::auth::forms::{LoginResponse, SecondFactorProof, SecondStepRequest, parse_second_step};
use crate::auth::handlers::{PasswordSignIn, login_body, open_password_session};
use crate::auth::queries::find_account;
use crate::credentials::second_factor::{
    self, check_totp, claim_challenge, spend_recovery_code, use_challenge,
};
use crate::db::Session;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::client::ClientInfo;
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::BodyRejections;
use crate::state::AppState;

/// The second step of a sign-in (docs/contract.md §16): the challenge that `POST
/// /auth/login/` answered, with the app's current code or a recovery code, from the same
/// client, within 5 minutes; answers what sign-in answers. A code is accepted once. Each
/// challenge takes 5 answers, each account 10 wrong codes per 15 minutes; then 429.
///
/// **Permissions**: none (the challenge and the code are the credential).
#[utoipa::path(post, path = "/api/users/auth/login/2fa/", tag = "auth", request_body = SecondStepRequest,
    responses(
        (status = 200, description = "Signed in: the new session's tokens, the user and their stores", body = LoginResponse),
        (status = 400, description = "validation_error, per field", body = ErrorBody),
        (status = 401, description = "authentication_failed: a wrong or used code, or a challenge that is unknown, used, expired or another client's", body = ErrorBody),
        (status = 429, description = "too_many_attempts, with Retry-After", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn login_second_step(
    State(app): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<SecondStepRequest>,
) -> ApiResult<NoStore<Json<LoginResponse>>> {
    let (challenge, proof) = parse_second_step(body)?;
    let signed_in = sign_in_second_step(&app, &client, &challenge, proof).await?;
    let body = login_body(&app, signed_in).await?;
    Ok(NoStore(Json(body)))
}

/// Answers `challenge` with `proof`, from `client`, and opens the session: the one second
/// step, for the API's and the console's sign-in alike.
pub async fn sign_in_second_step(
    app: &AppState,
    client: &ClientInfo,
    challenge: &str,
    proof: SecondFactorProof,
) -> ApiResult<PasswordSignIn> {
    let mut conn = Session::open(&app.db).await?;
    let owner = claim_challenge(&mut conn, challenge, client).await?;
    let right = match &proof {
        SecondFactorProof::Code(code) => {
            check_totp(&mut conn, &app.sealer, owner.user_id, code, true).await?
        }
        SecondFactorProof::RecoveryCode(code) => {
            spend_recovery_code(&mut conn, owner.user_id, code.expose_secret()).await?
        }
    };
    conn.finish().await?;
    if !right {
        return Err(ApiError::InvalidCredentials);
    }
    let mut tx = app.db.begin().await?;
    let account = find_account(&mut tx, owner.user_id).await?.ok_or(ApiError::InvalidCredentials)?;
    let same_password = second_factor::password_digest(&account.password_hash) == owner.password_digest;
    if !account.is_active || !same_password || !use_challenge(&mut tx, challenge).await? {
        return Err(ApiError::InvalidCredentials);
    }
    let (tokens, stores) = open_password_session(&mut tx, app, client, &account).await?;
    tx.commit().await?;
    Ok(PasswordSignIn { account, tokens, stores })
}
