//! Shared tills (SPEC §11): PINs that sign members in on a till the store trusts.
//!
//! This part: each member sets their own PIN for the store they work in, and whoever
//! manages them may clear it. PINs are argon2id hashes per (person, store), hashed off the
//! async workers like passwords, never shown, never logged; a password reset, deactivation
//! or removal clears them too (`employees`).

pub mod pins;

use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `/api/users/auth/pin/` and `/api/users/employees/{id}/pin/` (store-scoped).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(pins::set_own_pin)).routes(routes!(pins::clear_pin))
}

/// `PUT /auth/pin/`.
#[derive(Deserialize, ToSchema)]
pub struct SetPinRequest {
    /// 6 to 12 digits; not one digit repeated, not a run (`123456`, `987654`), not one of
    /// the most common PINs.
    #[schema(format = Password, pattern = "^[0-9]{6,12}$", required = true, nullable = false, example = "482137")]
    pub pin: Option<String>,
}
