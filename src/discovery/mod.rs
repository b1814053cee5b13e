//! `/.well-known/`: what a service of the platform needs to verify kassa's access tokens
//! without holding any secret (docs/contract.md §15): the public keys (RFC 7517 JWKS) and a
//! discovery document naming them and the OAuth endpoints.

pub mod forms;
pub mod handlers;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::jwks)).routes(routes!(handlers::openid_configuration))
}
