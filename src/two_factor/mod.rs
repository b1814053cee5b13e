//! Two-step sign-in with authenticator apps (docs/contract.md §16): enrolling a TOTP
//! authenticator, confirming it (which hands over the recovery codes) and turning it off,
//! under `/api/users/auth/2fa/`. The machinery (codes, challenges, throttle) is
//! `credentials::second_factor`; the sign-in's second step (`/auth/login/2fa/`) is `auth`'s,
//! beside the first.

pub mod forms;
pub mod handlers;
pub mod queries;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `/api/users/auth/2fa/…`: no store key needed.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::enrol_totp, handlers::disable_totp))
        .routes(routes!(handlers::confirm_totp))
}
