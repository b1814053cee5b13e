//! `/api/users/devices/`: the tills a store trusts (docs/contract.md §11). A manager makes a
//! pairing code, a till pairs with it and gets a device token (both kept only as hashes, in
//! `public`); the store's managers list and revoke its tills; a till reads the roster of
//! members it may sign in.
//!
//! A feature owns the routes of one URL area (`mod.rs`, `handlers.rs`, `queries.rs`,
//! `forms.rs`); what tills share with approvals and PIN sign-in (device tokens, the PIN
//! check, lockout) is the `tills` domain below.

pub mod forms;
pub mod handlers;
pub mod queries;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The store-scoped routes: pairing codes, the device list and revocation, the roster.
pub fn store_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create_pairing_code))
        .routes(routes!(handlers::list_devices))
        .routes(routes!(handlers::revoke_device))
        .routes(routes!(handlers::roster))
}

/// `POST /devices/pair/`: no token, no store key (the code names the store).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::pair_device))
}
