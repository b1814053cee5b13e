//! `POST /auth/setup/`: an employee chooses their password with a set-up code
//! (docs/contract.md §16) and is signed in. The code is the credential, as a pairing code
//! is a till's, so it is throttled the same way: per client address, claimed before the code
//! is looked at.

use axum::Json;
use axum::extract::State;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::forms::LoginResponse;
use crate::auth::handlers::{PasswordSignIn, login_body, open_password_session};
use crate::credentials::queries;
use crate::credentials::second_factor;
use crate::credentials::throttle::{self, SetupClaim};
use crate::credentials::typed_code;
use crate::db::Session;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::client::ClientInfo;
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::BodyRejections;
use crate::staff::setup_codes::{self, CodeHolder};
use crate::state::AppState;
use crate::validate::Form;
use crate::validate::username::folded;

/// `POST /auth/setup/`.
#[derive(Deserialize, ToSchema)]
pub struct SetupRequest {
    /// The set-up code the manager handed over: any letter case, with or without the dash.
    #[schema(required = true, nullable = false, example = "7KQ2-M9XD")]
    pub code: Option<String>,
    /// The account's username, when the app asks for it: it must then be the code's
    /// account's (any letter case), or the code is refused as wrong.
    #[schema(example = "kassir1", max_length = 150)]
    pub username: Option<String>,
    /// The password the employee chooses, under the password policy (at least
    /// `PASSWORD_MIN_LENGTH` characters, not a common password, not containing the username).
    #[schema(format = Password, example = "Moi-Parol-Smeny-7", required = true, nullable = false, min_length = 8, max_length = 256)]
    pub new_password: Option<String>,
}

/// Sets the password of the account a set-up code was issued for, to the one the employee
/// chooses, and signs them in: §6's login body. The code works once; every other session
/// of the account ends. A wrong, used, replaced or expired code (or a `username` that is
/// not the code's account's): 400 `invalid_setup_code`; past 10 failures a minute from one
/// client address: 429. A password the policy refuses is 400 `validation_error` naming
/// `new_password`, and leaves the code usable.
///
/// **Permissions**: none (the code is the credential).
#[utoipa::path(post, path = "/api/users/auth/setup/", tag = "auth", request_body = SetupRequest,
    responses(
        (status = 200, description = "The password is set and the employee signed in", body = LoginResponse),
        (status = 400, description = "invalid_setup_code, or validation_error naming `new_password` or `code`", body = ErrorBody),
        (status = 401, description = "two_factor_required: the password is set, and the account has two-step sign-in on: `challenge`, `methods` and `expires_at` for `POST /api/users/auth/login/2fa/`", body = ErrorBody),
        (status = 429, description = "too_many_attempts: 10 failed codes from this address this minute, with Retry-After", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn complete_setup(
    State(app): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<SetupRequest>,
) -> ApiResult<NoStore<Json<LoginResponse>>> {
    let mut form = Form::new();
    let typed = form.required("code", body.code, 64);
    let new_password = form.password("new_password", body.new_password);
    form.finish(())?;

    let ip = client.ip_key();
    // The attempt is claimed before the code is looked at, and kept unless the code is right.
    let mut session = Session::open(&app.db).await?;
    let claim = throttle::claim_setup_attempt(&mut session, &ip).await?;
    let code_hash = typed_code::code_hash(&typed);
    let holder = match &code_hash {
        Some(hash) => setup_codes::find_holder(&mut session, hash).await?,
        None => None,
    };
    session.finish().await?;
    let (Some(code_hash), Some(holder)) = (code_hash, holder) else {
        return Err(ApiError::InvalidSetupCode);
    };
    if body.username.as_deref().is_some_and(|given| folded(given.trim()) != folded(&holder.username)) {
        return Err(ApiError::InvalidSetupCode);
    }
    // The code is right: a password the policy refuses does not count as a guess.
    let password = match chosen_password(&app, &holder, new_password) {
        Ok(password) => password,
        Err(refused) => {
            give_back(&app, &ip, claim).await?;
            return Err(refused);
        }
    };
    let password_hash = app.hasher.hash(password).await.map_err(ApiError::internal)?;

    let mut tx = app.db.begin().await?;
    setup_codes::use_code(&mut tx, &code_hash, holder.user_id, &password_hash)
        .await?
        .ok_or(ApiError::InvalidSetupCode)?;
    throttle::release_setup_attempt(&mut tx, &ip, claim).await?;
    let account =
        queries::find_user_for_login(&mut tx, &holder.username).await?.ok_or(ApiError::InvalidSetupCode)?;
    // A set-up code replaces the password, never the second step: an account with an
    // authenticator gets the challenge a right password gets.
    if second_factor::totp_is_on(&mut tx, account.id).await? {
        let pending =
            second_factor::issue_challenge(&mut tx, account.id, &account.password_hash, &client).await?;
        tx.commit().await?;
        return Err(ApiError::TwoFactorRequired(Some(pending)));
    }
    let (tokens, stores) = open_password_session(&mut tx, &app, &client, &account).await?;
    tx.commit().await?;
    let body = login_body(&app, PasswordSignIn { account, tokens, stores }).await?;
    Ok(NoStore(Json(body)))
}

/// `new_password` held to the password policy for the code's account.
fn chosen_password(app: &AppState, holder: &CodeHolder, new_password: String) -> ApiResult<SecretString> {
    let mut form = Form::new();
    let checked = form.new_password(
        "new_password",
        Some(new_password),
        &app.config.password_policy,
        &[&holder.username],
    );
    form.finish(SecretString::from(checked))
}

/// Gives back `claim` on a connection of its own.
async fn give_back(app: &AppState, ip: &str, claim: SetupClaim) -> ApiResult<()> {
    let mut session = Session::open(&app.db).await?;
    throttle::release_setup_attempt(&mut session, ip, claim).await?;
    session.finish().await?;
    Ok(())
}
