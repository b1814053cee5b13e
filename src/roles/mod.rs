//! `/api/users/roles/`: the built-in roles every store starts with (docs/contract.md §5).
//!
//! A feature owns the routes of one URL area, the first segment after `/api/users/`; it has
//! `mod.rs` (this router), `handlers.rs`, `forms.rs` (request and response types) and
//! `queries.rs` when it reads the database (this one does not: the roles are built in).
//! Role definitions, ranks and the policy are the `access` domain below.

pub mod forms;
pub mod handlers;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /roles/`. Needs no state, so it mounts on any router.
pub fn router<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::new().routes(routes!(handlers::list_roles))
}
