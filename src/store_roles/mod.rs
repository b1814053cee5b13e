//! The store's own roles, edited by its owner (docs/contract.md §10): `/api/users/store-roles/`.
//!
//! The definitions live in the store's schema (`roles`, tenant migration 0003) and are
//! read with every member wherever a role is reported (`access`); this feature is the API
//! that lists and changes them. Every change is one transaction with its audit event.
//!
//! A feature owns the routes of one URL area (`mod.rs`, `handlers.rs`, `forms.rs`,
//! `queries.rs`). The store-role SQL is `access::queries`, below: adding or changing an
//! employee locks the role it gives too.

pub mod forms;
pub mod handlers;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `/api/users/store-roles/` (store-scoped).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_store_roles, handlers::create_store_role))
        .routes(routes!(handlers::update_store_role, handlers::delete_store_role))
}
