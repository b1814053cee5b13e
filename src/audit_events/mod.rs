//! `/api/users/audit-events/`: the store's audit trail, as its managers read it.
//!
//! A feature owns the routes of one URL area (`mod.rs`, `handlers.rs`, `queries.rs`,
//! `forms.rs`). Writing the trail is the `audit` domain below, which every feature that
//! changes staff, roles, PINs or tills calls.

pub mod forms;
pub mod handlers;
pub mod queries;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `GET /audit-events/`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::list_audit_events))
}
