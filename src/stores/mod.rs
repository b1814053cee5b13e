//! `/api/users/stores/`: the stores an owner runs, as their owners and staff see and manage
//! them, and each store's shared staff account (`/stores/staff-credentials/`).
//!
//! A feature owns the routes of one URL area, the first segment after `/api/users/`:
//! `mod.rs` (this router), `handlers.rs` (here a folder: the stores, and the shared staff
//! account), `forms.rs` (request and response types and their parsing) and `queries.rs`.
//! The registry rows, provisioning and the staff account's making are the `registry`
//! domain below, which registration at `/auth/register/` uses too.

pub mod forms;
pub mod handlers;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `/api/users/stores/…` that need no store key.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_stores, handlers::create_store))
        .routes(routes!(
            handlers::get_store,
            handlers::replace_store,
            handlers::update_store,
            handlers::deactivate_store
        ))
        .routes(routes!(handlers::staff_account::my_stores_with_credentials))
}

/// The store-scoped routes under `/api/users/stores/` (the store's shared staff account),
/// mounted behind the tenant layer. Their fixed paths win over `/stores/{id}/`.
pub fn store_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            handlers::staff_account::get_staff_credentials,
            handlers::staff_account::update_staff_account
        ))
        .routes(routes!(handlers::staff_account::rotate_staff_password))
}
