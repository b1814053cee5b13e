//! `/api/users/auth/`: the account endpoints (docs/contract.md §4): owner registration,
//! sign-in with a password or, on a paired till, with a PIN; token refresh, logout,
//! sessions, password change, a member's own PIN, `me`, and the caller's stores.
//!
//! A feature owns the routes of one URL area, the first segment after `/api/users/`:
//! `mod.rs` (this router), `handlers.rs` (here a folder: password sign-in and the account,
//! and PINs), `forms.rs` (request and response types and their parsing) and `queries.rs`.
//! The machinery they use (tokens, hashing, sessions, throttling) is the `credentials`
//! domain below; the store a registration opens is `registry`; the PIN check is `tills`.

pub mod forms;
pub mod handlers;
pub mod queries;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `/api/users/auth/…` that need no store key.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::register))
        .routes(routes!(handlers::login))
        .routes(routes!(handlers::second_step::login_second_step))
        .routes(routes!(handlers::refresh_token))
        .routes(routes!(handlers::logout))
        .routes(routes!(handlers::logout_all))
        .routes(routes!(handlers::list_sessions))
        .routes(routes!(handlers::revoke_session))
        .routes(routes!(handlers::change_password))
        .routes(routes!(handlers::setup::complete_setup))
        .routes(routes!(handlers::list_my_stores))
}

/// The store-scoped account routes, `me`, a member's own PIN and PIN sign-in on a till:
/// mounted behind the tenant layer.
pub fn store_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::me))
        .routes(routes!(handlers::pin::pin_login))
        .routes(routes!(handlers::pin::set_own_pin))
}
