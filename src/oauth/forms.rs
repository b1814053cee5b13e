//! What the OAuth routes read and answer (docs/contract.md §15): the client's HTTP Basic
//! credentials (RFC 6749 §2.3.1), the form bodies of RFC 7662 and RFC 7009, and the
//! introspection answer.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::StoreRole;
use crate::error::{ApiError, FieldErrors};
use crate::i18n::Message;

/// The media type both routes read (RFC 7662 §2.1, RFC 7009 §2.1).
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Longest token read: far above any token kassa issues (a JWT of a few hundred bytes, a
/// 43-character refresh token).
const MAX_TOKEN_CHARS: usize = 4096;

/// What a service client presented with HTTP Basic: its id and its secret.
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: SecretString,
}

impl ClientCredentials {
    /// `Authorization: Basic base64(client_id ":" client_secret)`, each part form-urlencoded
    /// first (RFC 6749 §2.3.1); 401 `invalid_client` when it is missing or malformed.
    pub fn from_headers(headers: &HeaderMap) -> Result<ClientCredentials, ApiError> {
        let value = headers.get(header::AUTHORIZATION).ok_or(ApiError::InvalidClient)?;
        let value = value.to_str().map_err(|_| ApiError::InvalidClient)?;
        let (scheme, encoded) = value.split_once(' ').ok_or(ApiError::InvalidClient)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(ApiError::InvalidClient);
        }
        let decoded = STANDARD.decode(encoded.trim()).map_err(|_| ApiError::InvalidClient)?;
        let decoded = String::from_utf8(decoded).map_err(|_| ApiError::InvalidClient)?;
        let (id, secret) = decoded.split_once(':').ok_or(ApiError::InvalidClient)?;
        let (client_id, secret) = (form_decoded(id), form_decoded(secret));
        if client_id.is_empty() || secret.is_empty() {
            return Err(ApiError::InvalidClient);
        }
        Ok(ClientCredentials { client_id, secret: SecretString::from(secret) })
    }
}

/// `part` with `application/x-www-form-urlencoded`'s escapes undone (`+` is a space).
fn form_decoded(part: &str) -> String {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// The body of `POST /oauth/introspect` (RFC 7662 §2.1).
// The form as the OpenAPI document describes it; `TokenForm` reads the body itself.
#[derive(Debug, ToSchema)]
pub struct IntrospectRequest {
    /// An access token or a refresh token of kassa.
    pub token: String,
    /// `access_token` or `refresh_token`: which kind to look for first. Any other value is
    /// ignored, as RFC 7662 allows.
    pub token_type_hint: Option<String>,
    /// A store's `tenant_key` (or send `X-Tenant-Key`): the answer then carries the user's
    /// `role` and `permissions` there, and is inactive when the user is not its active member.
    pub tenant_key: Option<String>,
}

/// The body of `POST /oauth/revoke` (RFC 7009 §2.1).
// The form as the OpenAPI document describes it; `TokenForm` reads the body itself.
#[derive(Debug, ToSchema)]
pub struct RevokeRequest {
    /// An access token or a refresh token of kassa: its session ends.
    pub token: String,
    /// `access_token` or `refresh_token`: which kind to look for first; any other value is ignored.
    pub token_type_hint: Option<String>,
}

/// The kinds of token kassa hands out, by the names RFC 7009 §4.1.2 registers for hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// A token request's fields, read from the form body.
#[derive(Debug)]
pub struct TokenForm {
    pub token: SecretString,
    /// The kinds to try, in order: the hinted one first.
    pub kinds: [TokenKind; 2],
    /// The store named by the `tenant_key` field or the `X-Tenant-Key` header.
    pub tenant_key: Option<String>,
}

impl TokenForm {
    /// Reads `body` (form-urlencoded, as `headers` must declare): 415 for another media
    /// type, 400 `invalid_request` for a missing or repeated field (RFC 6749 §3.2 allows
    /// each parameter once) or a store named twice differently.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<TokenForm, ApiError> {
        if !is_form(headers) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let mut fields: BTreeMap<String, String> = BTreeMap::new();
        let mut errors = FieldErrors::new();
        for (name, value) in form_urlencoded::parse(body) {
            if fields.insert(name.clone().into_owned(), value.into_owned()).is_some() {
                errors.insert(name.into_owned(), vec![Message::FieldInvalid]);
            }
        }
        let token = match fields.remove("token") {
            None => {
                errors.insert("token".to_owned(), vec![Message::FieldRequired]);
                String::new()
            }
            Some(token) if token.is_empty() => {
                errors.insert("token".to_owned(), vec![Message::FieldBlank]);
                token
            }
            Some(token) if token.chars().count() > MAX_TOKEN_CHARS => {
                errors.insert("token".to_owned(), vec![Message::FieldTooLong { max: MAX_TOKEN_CHARS }]);
                token
            }
            Some(token) => token,
        };
        let header_key =
            headers.get(crate::tenant::layer::TENANT_KEY_HEADER).map(|v| v.to_str().unwrap_or(""));
        let tenant_key = match (fields.remove("tenant_key"), header_key) {
            (Some(field), Some(header)) if field != header => {
                errors.insert("tenant_key".to_owned(), vec![Message::FieldInvalid]);
                None
            }
            (Some(field), _) => Some(field),
            (None, header) => header.map(str::to_owned),
        };
        let kinds = match fields.remove("token_type_hint").as_deref() {
            Some("refresh_token") => [TokenKind::Refresh, TokenKind::Access],
            _ => [TokenKind::Access, TokenKind::Refresh],
        };
        if !errors.is_empty() {
            return Err(ApiError::InvalidRequest(errors));
        }
        Ok(TokenForm { token: SecretString::from(token), kinds, tenant_key })
    }
}

/// `application/x-www-form-urlencoded`, parameters (charset) ignored.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(FORM_CONTENT_TYPE))
}

/// A new service client's public id: `kc_` and 128 random bits in hex.
#[must_use]
pub fn new_client_id() -> String {
    format!("kc_{}", crate::random::random_hex(16))
}

/// Longest name of a service client.
pub const MAX_CLIENT_NAME_CHARS: usize = 100;

/// A service client's name as the operator gives it: required, at most
/// [`MAX_CLIENT_NAME_CHARS`], text without control characters. Trimmed.
pub fn parse_client_name(name: String) -> Result<String, ApiError> {
    let mut form = crate::validate::Form::new();
    let name = form.required("name", Some(name), MAX_CLIENT_NAME_CHARS);
    form.finish(name)
}

/// `client_id` of sessions kassa itself opened (sign-in, PIN sign-in, registration): every
/// session is first-party today.
pub const FIRST_PARTY_CLIENT_ID: &str = "kassa";

/// The answer of introspection (RFC 7662 §2.2): `{"active": false}` alone for any token that
/// is not live, the token's facts besides for one that is.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct IntrospectionResponse {
    /// Whether the token is live: valid, unexpired, its session not ended, its account
    /// active (and, when a store was named, its user an active member there).
    pub active: bool,
    /// The user's id, as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "42")]
    pub sub: Option<String>,
    /// The session the token belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<uuid::Uuid>,
    /// When the token stops working (seconds since the epoch): an access token's `exp`, the
    /// absolute end of a refresh token's session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// When the token (or a refresh token's session) was issued, in seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "kassa")]
    pub iss: Option<String>,
    /// The audience of an access token; refresh tokens have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "kassa-api")]
    pub aud: Option<String>,
    /// The client the session was opened by: `kassa` for its own sign-ins.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "kassa")]
    pub client_id: Option<&'static str>,
    /// `Bearer` for an access token (RFC 6749 §7.1), `refresh_token` for a refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Bearer")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The user's role code in the store named by the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "cashier")]
    pub role: Option<String>,
    /// The permissions of that role, as the store defines it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["view_products", "create_sales"]))]
    pub permissions: Option<Vec<String>>,
}

impl IntrospectionResponse {
    /// `{"active": false}`.
    #[must_use]
    pub fn inactive() -> Self {
        IntrospectionResponse::default()
    }

    /// This answer with the user's `role` and its permissions in the named store.
    #[must_use]
    pub fn in_store(self, role: StoreRole) -> Self {
        IntrospectionResponse { role: Some(role.code), permissions: Some(role.permissions), ..self }
    }
}

/// The answer of revocation: an empty object (RFC 7009 §2.2 gives the body no content).
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokeResponse {}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        let encoded = STANDARD.encode("kc_1%3Ax:s+e%2Bcret");
        let credentials = ClientCredentials::from_headers(&basic(&format!("basic {encoded}"))).unwrap();
        assert_eq!(credentials.client_id, "kc_1:x");
        assert_eq!(secrecy::ExposeSecret::expose_secret(&credentials.secret), "s e+cret");
    }

    #[test]
    fn anything_but_complete_basic_credentials_is_an_invalid_client() {
        let cases = [
            "Bearer abc".to_owned(),
            "Basic".to_owned(),
            "Basic !!!".to_owned(),
            format!("Basic {}", STANDARD.encode("no-colon")),
            format!("Basic {}", STANDARD.encode(":secret")),
            format!("Basic {}", STANDARD.encode("kc_1:")),
        ];
        for case in cases {
            let refused = ClientCredentials::from_headers(&basic(&case));
            assert!(matches!(refused, Err(ApiError::InvalidClient)), "{case}");
        }
        assert!(matches!(ClientCredentials::from_headers(&HeaderMap::new()), Err(ApiError::InvalidClient)));
    }
}
