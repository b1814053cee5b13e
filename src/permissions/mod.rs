//! `/api/users/permissions/`: the permission strings kassa knows (docs/contract.md §5), in
//! the caller's language.
//!
//! A feature owns the routes of one URL area (`mod.rs`, `handlers.rs`, `forms.rs`, and
//! `queries.rs` when it reads the database; this one does not). The catalogue itself is
//! `access::catalog`, which the console reads too.

pub mod forms;
pub mod handlers;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /permissions/`. Needs no state, so it mounts on any router.
pub fn router<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::new().routes(routes!(handlers::list_permissions))
}
