//! `/oauth/`: what the platform's other services ask of kassa (docs/contract.md §15):
//! whether a token is live and what it stands for (RFC 7662 introspection), and ending the
//! session behind a token (RFC 7009 revocation). The callers are service clients, which the
//! operator makes with `kassa clients` (`cli::clients`); they authenticate with HTTP Basic,
//! never with a bearer token, so a till's session can reach neither route.
//!
//! `mod.rs` (this router), `handlers.rs` (HTTP), `forms.rs` (the client's credentials, the
//! form bodies and the answers), `queries.rs` (service clients, and the sessions tokens name).

pub mod forms;
pub mod handlers;
pub mod queries;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `/oauth/…`: no store key, no bearer token.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::introspect)).routes(routes!(handlers::revoke_token))
}
