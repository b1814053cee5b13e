//! The one error type of the HTTP API and the one place errors become responses.
//!
//! Every failure a handler can meet is an [`ApiError`] variant with a fixed status and a
//! snake_case `code` (docs/contract.md §7). The body is always the envelope
//! `{"status":"error","code","message","errors"?}`, with the message in the caller's language.
//! Causes of 500 and 503 never reach the client: they ride in the response extensions as an
//! [`ErrorCause`] and are logged once by the request log.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n::{Message, current_lang};

/// The key DRF uses for errors that belong to the body as a whole; POS apps already read it.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// Per-field validation messages, keyed by the request field name (DRF's shape).
pub type FieldErrors = BTreeMap<String, Vec<Message>>;

/// The result type of handlers and of everything they call with `?`.
pub type ApiResult<T> = Result<T, ApiError>;

/// Everything that can go wrong while serving a request, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed: {0:?}")]
    Validation(FieldErrors),
    #[error("not authenticated")]
    NotAuthenticated,
    /// A wrong username or password (the peer's `authentication_failed`).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A service client's HTTP Basic credentials are missing or wrong (RFC 6749 §2.3.1).
    #[error("invalid client")]
    InvalidClient,
    /// A malformed request to an OAuth route: per-field messages, like `Validation`, and
    /// RFC 6749 §5.2's `invalid_request` beside them.
    #[error("invalid oauth request: {0:?}")]
    InvalidRequest(FieldErrors),
    #[error("token invalid")]
    TokenInvalid,
    #[error("token expired")]
    TokenExpired,
    #[error("refresh token reused")]
    TokenReused,
    #[error("missing tenant key")]
    MissingTenantKey,
    #[error("invalid tenant key")]
    InvalidTenantKey,
    #[error("inactive tenant")]
    InactiveTenant,
    #[error("not a member of the store")]
    NotAMember,
    #[error("permission denied")]
    PermissionDenied,
    /// An account-wide action on someone who also belongs to a store where the caller does
    /// not outrank them.
    #[error("account belongs elsewhere")]
    AccountElsewhere,
    #[error("password change required")]
    PasswordChangeRequired,
    /// The password was right but a second step is due (docs/contract.md §16): at sign-in
    /// with the challenge to answer, for step-up without one.
    #[error("two-factor required")]
    TwoFactorRequired(Option<PendingSecondStep>),
    /// An enrolment-only session: the store policy wants an authenticator first.
    #[error("two-factor enrolment required")]
    TwoFactorEnrolmentRequired,
    /// Enrolling while two-step sign-in is on.
    #[error("two-factor already on")]
    TwoFactorAlreadyOn,
    #[error("not found")]
    NotFound,
    /// A list page past the last one.
    #[error("page not found")]
    PageNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("username taken")]
    UsernameTaken,
    /// An account-wide action (a password reset) on an employee who has no account.
    #[error("employee has no account")]
    NoAccount,
    /// An account for an employee who already has one.
    #[error("employee already has an account")]
    AccountExists,
    /// The slug in `field` (`store_slug` on registration, `slug` on store creation) is used.
    #[error("slug taken")]
    SlugTaken { field: &'static str },
    /// A device token that is wrong, missing or revoked (docs/contract.md §11).
    #[error("device invalid")]
    DeviceInvalid,
    /// A pairing code that is wrong, used or expired (docs/contract.md §11).
    #[error("invalid pairing code")]
    InvalidPairingCode,
    /// A set-up code that is wrong, used, expired or replaced (docs/contract.md §16).
    #[error("invalid setup code")]
    InvalidSetupCode,
    /// A PIN sign-in or approval that failed, whatever the cause (docs/contract.md §11): a wrong PIN,
    /// no PIN, an unknown or inactive employee all answer alike.
    #[error("invalid pin")]
    InvalidPin,
    /// An approval token that is used, expired, of another store or another permission.
    #[error("approval invalid")]
    ApprovalInvalid,
    /// A store role with this code exists already (docs/contract.md §10).
    #[error("role code taken")]
    RoleTaken,
    /// A store role that members still hold cannot be deleted (docs/contract.md §10).
    #[error("role in use")]
    RoleInUse,
    /// The caller owns `MAX_STORES_PER_OWNER` stores already (`max`), deactivated ones included.
    #[error("store limit reached")]
    StoreLimitReached { max: u32 },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64, kind: ThrottleKind },
    #[error("service unavailable: {0:#}")]
    ServiceUnavailable(anyhow::Error),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl ApiError {
    /// A validation error on a single field.
    #[must_use]
    pub fn field(field: &str, message: Message) -> Self {
        ApiError::Validation(BTreeMap::from([(field.to_owned(), vec![message])]))
    }

    /// Wraps an unexpected failure; the client sees only "internal error".
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(cause.into())
    }

    /// The error for people reading a terminal (the command line): its message and each
    /// field's problems, in the current language.
    #[must_use]
    pub fn describe(&self) -> String {
        let lang = current_lang();
        let mut text = self.message().text(lang).into_owned();
        let fields = match self {
            ApiError::Validation(errors) | ApiError::InvalidRequest(errors) => Some(errors),
            _ => None,
        };
        for (field, messages) in fields.into_iter().flatten() {
            let messages: Vec<_> = messages.iter().map(|m| m.text(lang)).collect();
            text.push_str(&format!("\n  {field}: {}", messages.join(" ")));
        }
        text
    }

    /// The HTTP status of this error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        use ApiError as E;
        match self {
            E::Validation(_)
            | E::InvalidRequest(_)
            | E::MissingTenantKey
            | E::InvalidPairingCode
            | E::InvalidSetupCode => StatusCode::BAD_REQUEST,
            E::NotAuthenticated
            | E::InvalidClient
            | E::InvalidCredentials
            | E::TokenInvalid
            | E::TokenExpired
            | E::TokenReused
            | E::DeviceInvalid
            | E::InvalidPin
            | E::TwoFactorRequired(_) => StatusCode::UNAUTHORIZED,
            E::InvalidTenantKey
            | E::InactiveTenant
            | E::NotAMember
            | E::PermissionDenied
            | E::AccountElsewhere
            | E::PasswordChangeRequired
            | E::TwoFactorEnrolmentRequired
            | E::StoreLimitReached { .. } => StatusCode::FORBIDDEN,
            E::NotFound | E::PageNotFound => StatusCode::NOT_FOUND,
            E::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            E::UsernameTaken
            | E::NoAccount
            | E::AccountExists
            | E::TwoFactorAlreadyOn
            | E::SlugTaken { .. }
            | E::RoleTaken
            | E::RoleInUse
            | E::ApprovalInvalid => StatusCode::CONFLICT,
            E::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            E::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            E::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            E::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            E::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code clients switch on (docs/contract.md §7).
    #[must_use]
    pub fn code(&self) -> &'static str {
        use ApiError as E;
        match self {
            E::Validation(_) | E::InvalidRequest(_) => "validation_error",
            E::NotAuthenticated => "not_authenticated",
            E::InvalidClient => "invalid_client",
            E::InvalidCredentials => "authentication_failed",
            E::TokenInvalid => "token_invalid",
            E::TokenExpired => "token_expired",
            E::TokenReused => "token_reused",
            E::MissingTenantKey => "missing_tenant_key",
            E::InvalidTenantKey => "invalid_tenant_key",
            E::InactiveTenant => "inactive_tenant",
            E::NotAMember => "not_a_member",
            E::PermissionDenied => "permission_denied",
            E::AccountElsewhere => "account_elsewhere",
            E::PasswordChangeRequired => "password_change_required",
            E::TwoFactorRequired(_) => "two_factor_required",
            E::TwoFactorEnrolmentRequired => "two_factor_enrolment_required",
            E::TwoFactorAlreadyOn => "two_factor_already_on",
            E::NotFound | E::PageNotFound => "not_found",
            E::MethodNotAllowed => "method_not_allowed",
            E::UsernameTaken => "username_taken",
            E::NoAccount => "no_account",
            E::AccountExists => "account_exists",
            E::SlugTaken { .. } => "slug_taken",
            E::DeviceInvalid => "device_invalid",
            E::InvalidPairingCode => "invalid_pairing_code",
            E::InvalidSetupCode => "invalid_setup_code",
            E::InvalidPin => "invalid_pin",
            E::ApprovalInvalid => "approval_invalid",
            E::RoleTaken => "role_taken",
            E::RoleInUse => "role_in_use",
            E::StoreLimitReached { .. } => "store_limit_reached",
            E::PayloadTooLarge => "payload_too_large",
            E::UnsupportedMediaType => "unsupported_media_type",
            E::TooManyAttempts { .. } => "too_many_attempts",
            E::ServiceUnavailable(_) => "service_unavailable",
            E::Internal(_) => "internal_error",
        }
    }

    /// RFC 6749 §5.2's `error` for the refusals the OAuth routes share with it.
    fn oauth_error(&self) -> Option<&'static str> {
        match self {
            ApiError::InvalidClient => Some("invalid_client"),
            ApiError::InvalidRequest(_) => Some("invalid_request"),
            _ => None,
        }
    }

    fn message(&self) -> Message {
        use ApiError as E;
        match self {
            E::Validation(_) | E::InvalidRequest(_) => Message::ValidationFailed,
            E::NotAuthenticated => Message::NotAuthenticated,
            E::InvalidClient => Message::InvalidClient,
            E::InvalidCredentials => Message::InvalidCredentials,
            E::TokenInvalid => Message::TokenInvalid,
            E::TokenExpired => Message::TokenExpired,
            E::TokenReused => Message::TokenReused,
            E::MissingTenantKey => Message::MissingTenantKey,
            E::InvalidTenantKey => Message::InvalidTenantKey,
            E::InactiveTenant => Message::InactiveTenant,
            E::NotAMember => Message::NotAMember,
            E::PermissionDenied => Message::PermissionDenied,
            E::AccountElsewhere => Message::AccountElsewhere,
            E::PasswordChangeRequired => Message::PasswordChangeRequired,
            E::TwoFactorRequired(_) => Message::TwoFactorRequired,
            E::TwoFactorEnrolmentRequired => Message::TwoFactorEnrolmentRequired,
            E::TwoFactorAlreadyOn => Message::TwoFactorAlreadyOn,
            E::NotFound => Message::NotFound,
            E::PageNotFound => Message::PageNotFound,
            E::MethodNotAllowed => Message::MethodNotAllowed,
            E::UsernameTaken => Message::UsernameTaken,
            E::NoAccount => Message::NoAccount,
            E::AccountExists => Message::AccountExists,
            E::SlugTaken { .. } => Message::SlugTaken,
            E::DeviceInvalid => Message::DeviceInvalid,
            E::InvalidPairingCode => Message::InvalidPairingCode,
            E::InvalidSetupCode => Message::InvalidSetupCode,
            E::InvalidPin => Message::InvalidPin,
            E::ApprovalInvalid => Message::ApprovalInvalid,
            E::RoleTaken => Message::RoleTaken,
            E::RoleInUse => Message::RoleInUse,
            E::StoreLimitReached { max } => Message::StoreLimitReached { max: *max },
            E::PayloadTooLarge => Message::PayloadTooLarge,
            E::UnsupportedMediaType => Message::UnsupportedMediaType,
            E::TooManyAttempts { .. } => Message::TooManyAttempts,
            E::ServiceUnavailable(_) => Message::ServiceUnavailable,
            E::Internal(_) => Message::InternalError,
        }
    }
}

/// The second step a sign-in waits for (docs/contract.md §16), shown in the fields of
/// [`ErrorBody`] of the 401 that asks for it.
#[derive(Debug, Clone)]
pub struct PendingSecondStep {
    pub challenge: String,
    pub methods: Vec<&'static str>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Which throttle refused a request: the label of its refusals in the metrics (never a
/// per-store or per-user value). The refusal's response carries it as an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleKind {
    /// Sign-in attempts per (username, network), per account, or per known browser.
    Login,
    /// Registrations per network.
    Registration,
    /// Pairing codes and PINs: a till's guessable secrets.
    Till,
    /// Set-up codes, and the second step's codes (TOTP, recovery).
    Code,
    /// A service client's calls, or wrong secrets at its id.
    ServiceClient,
}

impl ThrottleKind {
    /// The label value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleKind::Login => "login",
            ThrottleKind::Registration => "registration",
            ThrottleKind::Till => "till",
            ThrottleKind::Code => "code",
            ThrottleKind::ServiceClient => "service_client",
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always `"error"`.
    #[schema(example = "error")]
    pub status: &'static str,
    /// Machine-readable error code, e.g. `validation_error`, `not_found`.
    #[schema(example = "validation_error")]
    pub code: &'static str,
    /// Human-readable message in the language of `Accept-Language`.
    pub message: String,
    /// Per-field messages; present on validation errors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    /// The OAuth 2.0 error code (RFC 6749 §5.2: `invalid_client`, `invalid_request`), on the
    /// `/oauth/` routes' refusals that RFC 7662 and RFC 7009 define; absent elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// On `two_factor_required` at sign-in only (docs/contract.md §16): the challenge to send
    /// to `POST /api/users/auth/login/2fa/`, single use, for this client only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// Beside `challenge`: what may answer it, `totp` (a code) and `recovery_code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<&'static str>>,
    /// Beside `challenge`: when it stops working (5 minutes after the password was checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ErrorBody {
    fn new(code: &'static str, message: &Message, errors: Option<&FieldErrors>) -> Self {
        let lang = current_lang();
        ErrorBody {
            status: "error",
            code,
            error: None,
            challenge: None,
            methods: None,
            expires_at: None,
            message: message.text(lang).into_owned(),
            errors: errors.map(|errors| {
                errors
                    .iter()
                    .map(|(field, messages)| {
                        let texts = messages.iter().map(|m| m.text(lang).into_owned()).collect();
                        (field.clone(), texts)
                    })
                    .collect()
            }),
        }
    }
}

/// The hidden cause of a 500 or 503, for the request log only.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub Arc<anyhow::Error>);

/// Marks a response whose body already is the error envelope.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeRendered;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Conflicts also name their field, as DRF did, for apps that read `errors` only.
        let conflict = match &self {
            ApiError::UsernameTaken => {
                Some(BTreeMap::from([("username".to_owned(), vec![Message::UsernameTaken])]))
            }
            ApiError::SlugTaken { field } => {
                Some(BTreeMap::from([((*field).to_owned(), vec![Message::SlugTaken])]))
            }
            ApiError::RoleTaken => Some(BTreeMap::from([("code".to_owned(), vec![Message::RoleTaken])])),
            _ => None,
        };
        let errors = match &self {
            ApiError::Validation(errors) | ApiError::InvalidRequest(errors) => Some(errors),
            _ => conflict.as_ref(),
        };
        let mut body = ErrorBody::new(self.code(), &self.message(), errors);
        body.error = self.oauth_error();
        if let ApiError::TwoFactorRequired(Some(pending)) = &self {
            body.challenge = Some(pending.challenge.clone());
            body.methods = Some(pending.methods.clone());
            body.expires_at = Some(pending.expires_at);
        }
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            // RFC 6749 §5.2: a client that failed HTTP Basic is told to use it.
            ApiError::InvalidClient => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"kassa\""));
            }
            // RFC 9110 §11.6.1: a 401 names the scheme the client should use.
            _ if status == StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"api\""));
            }
            ApiError::TooManyAttempts { retry_after_secs, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response.extensions_mut().insert(EnvelopeRendered);
        if let ApiError::TooManyAttempts { kind, .. } = &self {
            response.extensions_mut().insert(*kind);
        }
        if let ApiError::Internal(cause) | ApiError::ServiceUnavailable(cause) = self {
            response.extensions_mut().insert(ErrorCause(Arc::new(cause)));
        }
        response
    }
}

/// The envelope for an error response that did not come from an [`ApiError`]: axum's own
/// 405, tower-http's 413 and timeout, anything else that answers with a bare status.
#[must_use]
pub fn envelope_for_status(status: StatusCode) -> Response {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", Message::NotFound),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", Message::MethodNotAllowed),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", Message::PayloadTooLarge),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", Message::UnsupportedMediaType),
        StatusCode::UNAUTHORIZED => ("not_authenticated", Message::NotAuthenticated),
        StatusCode::FORBIDDEN => ("permission_denied", Message::PermissionDenied),
        StatusCode::TOO_MANY_REQUESTS => ("too_many_attempts", Message::TooManyAttempts),
        // The only bare 503 on our stack is the request timeout (see middleware.rs).
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => {
            ("service_unavailable", Message::RequestTimeout)
        }
        s if s.is_server_error() => ("internal_error", Message::InternalError),
        _ => ("validation_error", Message::ValidationFailed),
    };
    let mut response = (status, Json(ErrorBody::new(code, &message, None))).into_response();
    response.extensions_mut().insert(EnvelopeRendered);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_class_maps_to_an_envelope_code() {
        for status in [400u16, 401, 403, 404, 405, 408, 413, 415, 422, 429, 500, 502, 503] {
            let status = StatusCode::from_u16(status).unwrap();
            let response = envelope_for_status(status);
            assert_eq!(response.status(), status);
            assert!(response.extensions().get::<EnvelopeRendered>().is_some());
        }
    }

    #[test]
    fn internal_errors_keep_their_cause_out_of_the_body() {
        let response = ApiError::internal(anyhow::anyhow!("password=hunter2")).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let cause = response.extensions().get::<ErrorCause>().expect("cause kept for the log");
        assert!(cause.0.to_string().contains("hunter2"));
    }
}
