//! The users API (`/api/users/users/…`): a store's members who have an account, as the
//! POS apps read and change them, addressed by the account's (global) id.
//!
//! It is a second door onto what the employee API manages, so it goes through the same
//! rules: only active members of the store read its users; a change of someone's place in
//! the store (role, status, phone, position) is the employee API's change
//! ([`crate::staff::operations::change_employee`]); a new password is the employee API's
//! reset ([`crate::staff::operations::set_password`]), which needs rank over the person
//! in every store they belong to. The account's own profile (names, email, username)
//! changes for its holder, or for someone who outranks them in this store and reaches
//! their account.
//!
//! A feature owns the routes of one URL area (`mod.rs`, `handlers.rs`, `forms.rs`,
//! `queries.rs`); what it shares with `/employees/` is the `staff` domain below.

pub mod forms;
pub mod handlers;
pub mod queries;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `/api/users/users/…`, store-scoped.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_users, handlers::create_user))
        .routes(routes!(
            handlers::get_user,
            handlers::replace_user,
            handlers::patch_user,
            handlers::delete_user
        ))
        .routes(routes!(handlers::update_user_employee))
        .routes(routes!(handlers::update_user_profile))
        .routes(routes!(handlers::change_user_password))
}
