//! Request and response bodies of the two-step routes, and their parsing.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::i18n::Message;
use crate::validate::Form;

/// Longest code or challenge read: anything longer is no code of ours.
const MAX_CODE_CHARS: usize = 100;

/// `POST /auth/2fa/totp/`: the new authenticator's secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// RFC 4648 base32, for typing into an app.
    pub secret: String,
    /// `otpauth://totp/kassa:<username>?secret=…&issuer=kassa`, for a QR code.
    pub otpauth_uri: String,
}

/// `POST /auth/2fa/totp/confirm/`.
#[derive(Deserialize, ToSchema)]
pub struct ConfirmRequest {
    /// The app's current six-digit code.
    #[schema(example = "492039", required = true, nullable = false)]
    pub code: Option<String>,
}

/// The recovery codes, shown this once: each signs in once in place of a code.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// `DELETE /auth/2fa/totp/`: the password, or one recovery code.
#[derive(Deserialize, ToSchema)]
pub struct DisableRequest {
    #[schema(format = Password, nullable = false)]
    pub password: Option<String>,
    #[schema(example = "7K2M-9QXD-4RTB-H8ZC", nullable = false)]
    pub recovery_code: Option<String>,
}

/// `DELETE /auth/2fa/totp/`: `{status, message}`.
#[derive(Serialize, ToSchema)]
pub struct TwoFactorOff {
    #[schema(example = "success")]
    pub status: &'static str,
    pub message: String,
}

/// The six-digit code of a confirmation.
pub fn parse_confirm(body: ConfirmRequest) -> ApiResult<String> {
    let mut form = Form::new();
    let code = form.required("code", body.code, MAX_CODE_CHARS);
    form.finish(code)
}

/// How a caller proves it is them when turning two-step sign-in off.
pub enum DisableProof {
    Password(SecretString),
    RecoveryCode(SecretString),
}

/// Exactly one of `password` and `recovery_code`.
pub fn parse_disable(body: DisableRequest) -> ApiResult<DisableProof> {
    match (body.password.filter(|p| !p.is_empty()), non_blank(body.recovery_code)) {
        (Some(password), None) => Ok(DisableProof::Password(SecretString::from(password))),
        (None, Some(code)) => Ok(DisableProof::RecoveryCode(SecretString::from(code))),
        _ => Err(ApiError::field("password", Message::PasswordOrRecoveryCodeNeeded)),
    }
}

/// `value` trimmed, unless blank or longer than any code.
fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty() && v.chars().count() <= MAX_CODE_CHARS)
}
