//! How far a store-bound session reaches: the one list of routes it may call.
//!
//! A session opened on a paired till (PIN sign-in) belongs to one store: it stands for a
//! person at that store's counter, not for their whole account. Its access tokens carry the
//! store (`bound_store_id`), and every extractor that reads a bearer token
//! ([`crate::credentials::extractor::access_claims`]) asks [`store_bound_may_call`] before a
//! handler runs, so a route that is not listed here answers 403 `permission_denied` to such a
//! session however its handler is written. Store-scoped routes on the list still check the
//! member's role in that store, and the caller checks refuse every other store.
//!
//! Not listed, because they act on the account rather than on the store: stores (list,
//! create, change, deactivate), `logout-all`, ending another session, changing the
//! account's password, setting a PIN. A test walks every operation of the OpenAPI document
//! with a till session, so a new route is refused until it is added here on purpose.

use axum::http::Method;

/// The routes, as (method, path template), a store-bound session may call.
const STORE_BOUND_ROUTES: &[(Method, &str)] = &[
    // The session itself.
    (Method::GET, "/api/users/auth/me/"),
    (Method::GET, "/api/users/profile/"),
    (Method::GET, "/api/users/auth/my-stores/"),
    (Method::GET, "/api/users/auth/sessions/"),
    (Method::POST, "/api/users/auth/logout/"),
    // The store's staff, by the member's role there.
    (Method::GET, "/api/users/employees/"),
    (Method::POST, "/api/users/employees/"),
    (Method::GET, "/api/users/employees/cashiers/"),
    (Method::GET, "/api/users/employees/{id}/"),
    (Method::PUT, "/api/users/employees/{id}/"),
    (Method::PATCH, "/api/users/employees/{id}/"),
    (Method::DELETE, "/api/users/employees/{id}/"),
    (Method::POST, "/api/users/employees/{id}/reset-password/"),
    (Method::POST, "/api/users/employees/{id}/setup-code/"),
    (Method::POST, "/api/users/employees/{id}/account/"),
    (Method::DELETE, "/api/users/employees/{id}/pin/"),
    (Method::GET, "/api/users/audit-events/"),
    // The store's users (its members with an account), by the member's role there. Their
    // profile (names, email, username) belongs to the account, so it is not here.
    (Method::GET, "/api/users/users/"),
    (Method::POST, "/api/users/users/"),
    (Method::GET, "/api/users/users/{id}/"),
    (Method::PATCH, "/api/users/users/{id}/update-employee/"),
    (Method::POST, "/api/users/users/{id}/change-password/"),
    // Refused for everyone alike (405, naming the route to use instead).
    (Method::PUT, "/api/users/users/{id}/"),
    (Method::PATCH, "/api/users/users/{id}/"),
    (Method::DELETE, "/api/users/users/{id}/"),
    (Method::GET, "/api/users/store-roles/"),
    (Method::POST, "/api/users/store-roles/"),
    (Method::PATCH, "/api/users/store-roles/{code}/"),
    (Method::DELETE, "/api/users/store-roles/{code}/"),
    // The store's tills and approvals.
    (Method::GET, "/api/users/devices/"),
    (Method::POST, "/api/users/devices/pairing-codes/"),
    (Method::DELETE, "/api/users/devices/{id}/"),
    (Method::POST, "/api/users/approvals/"),
    (Method::POST, "/api/users/approvals/redeem/"),
];

/// The routes a session that may only enrol an authenticator may call (docs/contract.md §16:
/// a store's policy requires two-step sign-in of its user, who has not turned it on).
const ENROLMENT_ROUTES: &[(Method, &str)] = &[
    (Method::GET, "/api/users/auth/me/"),
    (Method::GET, "/api/users/profile/"),
    (Method::POST, "/api/users/auth/logout/"),
    (Method::POST, "/api/users/auth/2fa/totp/"),
    (Method::POST, "/api/users/auth/2fa/totp/confirm/"),
];

/// Whether a session that may only enrol an authenticator may call `method` on `path`.
#[must_use]
pub fn enrolment_only_may_call(method: &Method, path: Option<&str>) -> bool {
    listed(ENROLMENT_ROUTES, method, path)
}

/// Whether a session bound to one store may call `method` on the route `path` (the route's
/// template, as axum matched it). An unmatched route (`None`) is not on the list.
#[must_use]
pub fn store_bound_may_call(method: &Method, path: Option<&str>) -> bool {
    listed(STORE_BOUND_ROUTES, method, path)
}

fn listed(routes: &[(Method, &str)], method: &Method, path: Option<&str>) -> bool {
    let Some(path) = path else { return false };
    routes.iter().any(|(allowed_method, allowed_path)| allowed_method == method && *allowed_path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_reachable_and_the_account_is_not() {
        assert!(store_bound_may_call(&Method::GET, Some("/api/users/auth/me/")));
        assert!(store_bound_may_call(&Method::GET, Some("/api/users/employees/{id}/")));
        assert!(!store_bound_may_call(&Method::POST, Some("/api/users/auth/logout-all/")));
        assert!(!store_bound_may_call(&Method::PATCH, Some("/api/users/stores/{id}/")));
        assert!(!store_bound_may_call(&Method::PUT, Some("/api/users/auth/pin/")));
        assert!(!store_bound_may_call(&Method::GET, None));
    }
}
