//! `/api/users/profile/`: who am I in this store, at the path older apps call. It answers as
//! `/auth/me/` does, from the same read (`auth::queries::caller_in_store`).
//!
//! A feature owns the routes of one URL area (`mod.rs`, `handlers.rs`, and `forms.rs` and
//! `queries.rs` where it has types or SQL of its own; this one borrows `me`'s).

pub mod handlers;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `GET /profile/`, store-scoped.
pub fn store_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::profile))
}
