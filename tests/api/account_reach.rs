//! Who may act on an account and who may give which role: a store's staff reach no other
//! store, and nobody grants a permission they do not hold.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{EMPLOYEE_PASSWORD, Owner, TestApp};

/// `owner`'s store with a manager, and a cashier who also owns a store of their own: the
/// manager, the cashier's employee id, the cashier signed in, and their own store's key.
async fn cashier_who_owns_elsewhere(app: &TestApp, owner: &Owner) -> (Owner, Value, String, String) {
    let (manager, _) = app.member(owner, "reach_manager", "manager").await;
    let cashier = app.add_employee(owner, "reach_cashier", "cashier").await;
    let login = app.sign_in("reach_cashier", EMPLOYEE_PASSWORD).await;
    let token = login["access"].as_str().unwrap().to_owned();
    let own =
        app.json(Method::POST, "/api/users/stores/", &json!({"name": "Своя лавка"}), Some(&token)).await;
    let own_key = own.json(StatusCode::CREATED)["data"]["store"]["tenant_key"].as_str().unwrap().to_owned();
    (manager, cashier["id"].clone(), token, own_key)
}

#[tokio::test]
async fn nobody_resets_the_password_of_someone_who_owns_another_store() {
    let (app, owner) = TestApp::with_owner("reach_owner", "Лавка").await;
    let (manager, cashier_id, _, _) = cashier_who_owns_elsewhere(&app, &owner).await;
    let path = format!("/api/users/employees/{cashier_id}/reset-password/");
    let body = json!({"new_password": "Manager-Chosen-2026"});
    for who in [&manager, &owner] {
        app.scoped(Method::POST, &path, &who.token, &owner.key(), Some(&body))
            .await
            .error(StatusCode::FORBIDDEN, "account_elsewhere");
    }
    // The password is the cashier's own still, and their sessions live on.
    app.sign_in("reach_cashier", EMPLOYEE_PASSWORD).await;
    let refused = json!({"username": "reach_cashier", "password": "Manager-Chosen-2026"});
    app.json(Method::POST, "/api/users/auth/login/", &refused, None)
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");

    // Someone who works only here is reset as before.
    let other = app.add_employee(&owner, "reach_other", "cashier").await;
    let path = format!("/api/users/employees/{}/reset-password/", other["id"]);
    app.scoped(Method::POST, &path, &manager.token, &owner.key(), Some(&body)).await.json(StatusCode::OK);
}

#[tokio::test]
async fn deactivating_someone_here_leaves_their_other_store_alone() {
    let (app, owner) = TestApp::with_owner("leave_owner", "Лавка").await;
    let (manager, cashier_id, cashier_token, own_key) = cashier_who_owns_elsewhere(&app, &owner).await;
    let path = format!("/api/users/employees/{cashier_id}/");
    app.scoped(Method::PATCH, &path, &manager.token, &owner.key(), Some(&json!({"is_active": false})))
        .await
        .json(StatusCode::OK);
    // Gone from this store at once…
    app.scoped(Method::GET, "/api/users/auth/me/", &cashier_token, &owner.key(), None)
        .await
        .error(StatusCode::FORBIDDEN, "not_a_member");
    // …and still the owner of their own, on the same session.
    let me = app.scoped(Method::GET, "/api/users/auth/me/", &cashier_token, &own_key, None).await;
    assert_eq!(me.json(StatusCode::OK)["data"]["role"], "owner");
    app.scoped(Method::DELETE, &path, &manager.token, &owner.key(), None).await;
    app.scoped(Method::GET, "/api/users/auth/me/", &cashier_token, &own_key, None).await.json(StatusCode::OK);
}

async fn create_role(app: &TestApp, owner: &Owner, code: &str, rank: i64, permissions: &[&str]) -> Value {
    let body = json!({"code": code, "name": code, "rank": rank, "permissions": permissions});
    app.create_role(owner, &body).await.json(StatusCode::CREATED)["data"].clone()
}

fn employee(username: &str, role: &str) -> Value {
    json!({"username": username, "first_name": "Имя", "role": role, "password": EMPLOYEE_PASSWORD})
}

#[tokio::test]
async fn a_manager_gives_no_role_holding_a_permission_they_lack() {
    let (app, owner) = TestApp::with_owner("grant_owner", "Лавка").await;
    let (manager, _) = app.member(&owner, "grant_manager", "manager").await;
    let cashier = app.add_employee(&owner, "grant_cashier", "cashier").await;
    let key = owner.key();
    for (code, lacked) in [("purger", "delete_all"), ("keeper", "manage_store"), ("refunder", "refund_sales")]
    {
        let role = create_role(&app, &owner, code, 20, &["view_products", lacked]).await;
        assert_eq!(role["given_by"], json!(["owner"]), "{role}");
        let hire = employee(&format!("grant_{code}"), code);
        app.create_employee(&manager, &hire).await.error(StatusCode::FORBIDDEN, "permission_denied");
        let promote = json!({"role": code});
        let path = format!("/api/users/employees/{}/", cashier["id"]);
        app.scoped(Method::PATCH, &path, &manager.token, &key, Some(&promote))
            .await
            .error(StatusCode::FORBIDDEN, "permission_denied");
        // The owner holds every permission.
        app.create_employee(&owner, &hire).await.json(StatusCode::CREATED);
    }
    // A role within the manager's own permissions is theirs to give.
    create_role(&app, &owner, "senior", 20, &["view_products", "create_sales", "manage_customers"]).await;
    app.create_employee(&manager, &employee("grant_senior", "senior")).await.json(StatusCode::CREATED);
}

#[tokio::test]
async fn a_permission_added_to_the_cashier_role_keeps_managers_without_it_from_hiring_cashiers() {
    let (app, owner) = TestApp::with_owner("refund_owner", "Лавка").await;
    let (manager, _) = app.member(&owner, "refund_manager", "manager").await;
    let key = owner.key();
    let hire = |name: &str| employee(name, "cashier");
    app.create_employee(&manager, &hire("refund_one")).await.json(StatusCode::CREATED);

    let roles = app.scoped(Method::GET, "/api/users/store-roles/", &owner.token, &key, None).await;
    let cashier_role = |roles: &Value| {
        roles["data"].as_array().unwrap().iter().find(|r| r["code"] == "cashier").cloned().unwrap()
    };
    assert_eq!(cashier_role(&roles.json(StatusCode::OK))["given_by"], json!(["owner", "manager"]));

    let permissions = json!({"permissions": ["view_products", "create_sales", "view_customers", "create_customers", "refund_sales"]});
    let changed = app
        .scoped(Method::PATCH, "/api/users/store-roles/cashier/", &owner.token, &key, Some(&permissions))
        .await
        .json(StatusCode::OK);
    // The owner is told who can no longer give it.
    assert_eq!(changed["data"]["given_by"], json!(["owner"]), "{changed}");
    app.create_employee(&manager, &hire("refund_two"))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    // Stockkeepers, untouched, are still the manager's to hire.
    app.create_employee(&manager, &employee("refund_stock", "stockkeeper")).await.json(StatusCode::CREATED);
}
