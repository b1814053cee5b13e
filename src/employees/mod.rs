//! `/api/users/employees/`: a store's staff addressed by employee id, managed by its owner
//! and managers (docs/contract.md §5, §6), and the cashiers a till may name.
//!
//! A store's till often signs in as the store itself (its shared staff account) or as a
//! manager, and names the cashier of each sale by employee id. The cashiers it names are
//! the ones without an account: with no sign-in of their own, `/employees/cashiers/` is how
//! a till learns who they are. Any active member of the store may read it.
//!
//! A feature owns the routes of one URL area, the first segment after `/api/users/`:
//! `mod.rs` (this router), `handlers.rs`, `forms.rs` (request and response types and
//! their parsing) and `queries.rs` for SQL of its own. What `/employees/` shares with
//! `/users/` and registration (adding, changing, resetting, the employee rows and their
//! statements) is the `staff` domain below, so this feature has no `queries.rs`.

pub mod forms;
pub mod handlers;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `/api/users/employees/…`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_employees, handlers::create_employee))
        .routes(routes!(
            handlers::get_employee,
            handlers::replace_employee,
            handlers::update_employee,
            handlers::remove_employee
        ))
        .routes(routes!(handlers::reset_employee_password))
        .routes(routes!(handlers::issue_setup_code))
        .routes(routes!(handlers::list_cashiers))
        .routes(routes!(handlers::give_account))
        .routes(routes!(handlers::clear_pin))
}
