//! `GET /.well-known/jwks.json`, `GET /.well-known/openid-configuration`.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::response::IntoResponse;

use crate::credentials::tokens::ISSUER;
use crate::discovery::forms::{DiscoveryDocument, JwkSet};
use crate::error::ApiError;
use crate::http::pagination::request_origin;
use crate::state::AppState;

/// The algorithms of kassa's signing keys.
const SIGNING_ALGORITHMS: [&str; 2] = ["EdDSA", "ES256"];

/// The public keys that verify kassa's access tokens: every key that signs, will sign
/// (published a JWKS cache time ahead) or signed tokens still live. Cacheable for
/// `JWKS_MAX_AGE`; a verifier meeting an unknown `kid` should fetch it again.
///
/// **Permissions**: none (public).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses(
        (status = 200, description = "The public keys, by `kid`", body = JwkSet),
        (status = 503, description = "The keys could not be read", body = crate::error::ErrorBody),
    ))]
pub async fn jwks(State(app): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let keys = app.tokens.published_keys().await?;
    let max_age = format!("public, max-age={}", app.config.jwks_max_age.as_secs());
    Ok((cache_control(&max_age), axum::Json(JwkSet { keys })))
}

/// Where the keys and the OAuth endpoints are, and what kassa's tokens are signed with.
/// The URLs start with `PUBLIC_URL` (or the request's host when it is an allowed one).
///
/// **Permissions**: none (public).
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "keys",
    responses((status = 200, description = "The discovery document", body = DiscoveryDocument)))]
pub async fn openid_configuration(State(app): State<AppState>, parts: Parts) -> impl IntoResponse {
    let origin = request_origin(&parts, &app.config).unwrap_or_default();
    let document = DiscoveryDocument {
        issuer: ISSUER,
        jwks_uri: format!("{origin}/.well-known/jwks.json"),
        introspection_endpoint: format!("{origin}/oauth/introspect"),
        revocation_endpoint: format!("{origin}/oauth/revoke"),
        introspection_endpoint_auth_methods_supported: ["client_secret_basic"],
        revocation_endpoint_auth_methods_supported: ["client_secret_basic"],
        id_token_signing_alg_values_supported: SIGNING_ALGORITHMS,
        access_token_signing_alg_values_supported: SIGNING_ALGORITHMS,
        token_endpoint_auth_methods_supported: ["client_secret_basic"],
    };
    let max_age = format!("public, max-age={}", app.config.jwks_max_age.as_secs());
    (cache_control(&max_age), axum::Json(document))
}

fn cache_control(value: &str) -> [(HeaderName, HeaderValue); 1] {
    [(CACHE_CONTROL, HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("no-cache")))]
}
