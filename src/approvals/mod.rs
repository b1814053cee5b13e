//! `/api/users/approvals/`: a manager's approval of one action typed on a till, given with
//! their PIN for the member signed in there, and redeemed once (docs/contract.md §11).
//!
//! A feature owns the routes of one URL area (`mod.rs`, `handlers.rs`, `queries.rs`,
//! `forms.rs`); the PIN check and the till's device token are the `tills` domain below.

pub mod handlers;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Both routes are store-scoped.
pub fn store_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::grant_approval)).routes(routes!(handlers::redeem_approval))
}
