//! A day of a POS app that speaks the old backend's API, played through kassa's API alone, a
//! step per test on the day so far: every answer carries the fields that app reads.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Owner, TestApp, registration};

/// Asserts that `value` has each of `fields` (not null unless listed in `nullable`).
fn has_fields(value: &Value, fields: &[&str], nullable: &[&str]) {
    for field in fields {
        let present = value.get(*field).is_some_and(|v| !v.is_null() || nullable.contains(field));
        assert!(present, "`{field}` missing from {value}");
    }
}

/// The store's day so far: its owner, a second store "Бета" with its shared account, and
/// Бета's staff (Анна, a cashier without an account; Пётр, a cashier with one).
struct Day {
    owner: Owner,
    beta: Owner,
    staff_username: String,
    staff_password: String,
    anna: Value,
    petr_user_id: i64,
}

/// The owner registers and the back office reads the store's shared account.
async fn registered_owner(app: &TestApp) -> Owner {
    // The owner registers and the back office reads the store's shared account.
    let registered = app.register(&registration("dilshod", "Альфа Маркет")).await;
    assert_eq!(registered.header("cache-control"), Some("no-store"));
    let registered = registered.json(StatusCode::CREATED);
    let data = &registered["data"];
    has_fields(data, &["user", "store", "employee", "tokens", "staff_credentials"], &[]);
    has_fields(&data["staff_credentials"], &["username", "password", "full_name", "is_active"], &[]);
    let owner = Owner {
        token: data["tokens"]["access"].as_str().unwrap().to_owned(),
        user_id: data["user"]["id"].as_i64().unwrap(),
        store_id: data["store"]["id"].as_i64().unwrap(),
        data: data.clone(),
    };
    let sidebar = app.scoped(Method::GET, "/api/users/profile/", &owner.token, &owner.key(), None).await;
    let sidebar = sidebar.json(StatusCode::OK);
    has_fields(&sidebar["data"], &["user", "store", "role", "permissions", "employee"], &[]);
    owner
}

/// The store list with credentials, then a second store and its staff account.
async fn second_store(app: &TestApp, owner: &Owner) -> (Owner, String, String) {
    // The store list with credentials, then a second store and its staff account.
    let listed = app.get_as("/api/users/stores/my-stores-with-credentials/", &owner.token).await;
    let listed = listed.json(StatusCode::OK);
    assert_eq!(listed["data"]["count"], 1);
    let first = &listed["data"]["stores"][0];
    has_fields(
        first,
        &["id", "name", "slug", "tenant_key", "is_active", "created_at", "staff_credentials"],
        &[],
    );
    let beta_store = json!({"name": "Бета", "address": "ул. Бета"});
    let second = app.json(Method::POST, "/api/users/stores/", &beta_store, Some(&owner.token)).await;
    assert_eq!(second.header("cache-control"), Some("no-store"));
    let second = second.json(StatusCode::CREATED);
    let staff_username = second["data"]["staff_credentials"]["username"].as_str().unwrap().to_owned();
    let beta = Owner {
        store_id: second["data"]["store"]["id"].as_i64().unwrap(),
        data: second["data"].clone(),
        ..owner.clone()
    };
    let read_back = app
        .scoped(Method::GET, "/api/users/stores/staff-credentials/", &owner.token, &beta.key(), None)
        .await
        .json(StatusCode::OK);
    assert_eq!(read_back["data"]["username"], staff_username.as_str());
    let staff_password = read_back["data"]["password"].as_str().unwrap().to_owned();
    assert!(staff_password.len() >= 12 && staff_password != "12345678");
    (beta, staff_username, staff_password)
}

/// Staff for the second store: a cashier without an account, a manager and a cashier with one.
async fn hired_staff(app: &TestApp, beta: &Owner) -> (Value, i64) {
    // Staff for the second store: a cashier without an account, a manager and a cashier with one.
    let create = |path: &'static str, body: Value| {
        let (app, beta) = (app, beta.clone());
        async move { app.scoped(Method::POST, path, &beta.token, &beta.key(), Some(&body)).await }
    };
    let anna = create(
        "/api/users/employees/",
        json!({"first_name": "Анна", "last_name": "Кассирова", "phone": "+998901110001", "role": "cashier"}),
    )
    .await
    .json(StatusCode::CREATED);
    assert_eq!(anna["data"]["credentials"], Value::Null);
    let anna = anna["data"]["employee"].clone();
    has_fields(
        &anna,
        &["id", "full_name", "user", "username", "role", "role_display", "is_active"],
        &["user", "username"],
    );
    let manager = create(
        "/api/users/users/",
        json!({"username": "mgr", "password": "Manager-Pass-2026", "first_name": "Мария", "role": "manager"}),
    )
    .await
    .json(StatusCode::CREATED);
    has_fields(&manager["data"], &["employee", "username", "initial_password"], &[]);
    let petr = create(
        "/api/users/users/",
        json!({"username": "petr", "first_name": "Пётр", "role": "cashier", "password": "Cashier-Pass-2026"}),
    )
    .await
    .json(StatusCode::CREATED);
    let petr_user_id = petr["data"]["employee"]["user"].as_i64().unwrap();
    (anna, petr_user_id)
}

async fn store_day(app: &TestApp) -> Day {
    let owner = registered_owner(app).await;
    let (beta, staff_username, staff_password) = second_store(app, &owner).await;
    let (anna, petr_user_id) = hired_staff(app, &beta).await;
    Day { owner, beta, staff_username, staff_password, anna, petr_user_id }
}

#[tokio::test]
async fn the_back_office_reads_every_field_it_needs_of_a_new_owners_stores() {
    let app = TestApp::spawn().await;

    let owner = registered_owner(&app).await;

    second_store(&app, &owner).await;
}

#[tokio::test]
async fn the_back_office_hires_staff_of_every_kind() {
    let app = TestApp::spawn().await;
    let owner = registered_owner(&app).await;
    let (beta, _, _) = second_store(&app, &owner).await;

    hired_staff(&app, &beta).await;
}

#[tokio::test]
async fn the_till_signs_in_as_the_shared_account_to_pick_a_cashier() {
    let app = TestApp::spawn().await;
    let Day { owner, beta, staff_username, staff_password, anna, .. } = store_day(&app).await;

    // The till signs in as the store's shared account and picks the cashier.
    let till = app.sign_in(&staff_username, &staff_password).await;
    let till_store = &till["available_stores"][0];
    assert_eq!(till["available_stores"].as_array().unwrap().len(), 1);
    assert_eq!(
        (till_store["role"].clone(), till["default_store"]["tenant_key"].clone()),
        (json!("staff"), json!(beta.key()))
    );
    assert_eq!(
        till_store["cashiers"],
        json!([{"id": anna["id"], "full_name": "Кассирова Анна", "phone": "+998901110001", "role": "cashier"}])
    );
    let till_token = till["access"].as_str().unwrap();
    let picker = app
        .scoped(Method::GET, "/api/users/employees/cashiers/", till_token, &beta.key(), None)
        .await
        .json(StatusCode::OK);
    assert_eq!(picker["data"], till_store["cashiers"]);
    let till_users = app.scoped(Method::GET, "/api/users/users/", till_token, &beta.key(), None).await;
    has_fields(&till_users.json(StatusCode::OK), &["count", "results"], &[]);
    let elsewhere =
        app.scoped(Method::GET, "/api/users/employees/cashiers/", till_token, &owner.key(), None).await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN, "the shared account works in its store alone");
}

#[tokio::test]
async fn a_manager_sets_a_cashiers_password_from_the_edit_form() {
    let app = TestApp::spawn().await;
    let Day { beta, petr_user_id, .. } = store_day(&app).await;

    // The manager sets Petr's password from the edit form; Petr signs in with it.
    let manager_login = app.sign_in("mgr", "Manager-Pass-2026").await;
    let manager_token = manager_login["access"].as_str().unwrap();
    let changed = app
        .scoped(
            Method::POST,
            &format!("/api/users/users/{petr_user_id}/change-password/"),
            manager_token,
            &beta.key(),
            Some(&json!({"new_password": "Smena-Nochnaya-77"})),
        )
        .await
        .json(StatusCode::OK);
    assert_eq!(changed["data"], json!({"user_id": petr_user_id, "username": "petr"}));
    app.sign_in("petr", "Smena-Nochnaya-77").await;
}

#[tokio::test]
async fn a_deactivated_seller_leaves_the_history_filter() {
    let app = TestApp::spawn().await;
    let Day { owner, beta, petr_user_id, .. } = store_day(&app).await;

    // The history page's seller filter finds him; the owner then deactivates him.
    let sellers = app
        .scoped(Method::GET, "/api/users/users/?name=Пётр", &owner.token, &beta.key(), None)
        .await
        .json(StatusCode::OK);
    assert_eq!(sellers["count"], 1);
    has_fields(&sellers["results"][0], &["id", "username", "full_name", "employee_info"], &[]);
    let deactivated = app
        .scoped(
            Method::PATCH,
            &format!("/api/users/users/{petr_user_id}/update-employee/"),
            &owner.token,
            &beta.key(),
            Some(&json!({"is_active": false})),
        )
        .await
        .json(StatusCode::OK);
    assert_eq!(deactivated["data"]["employee"]["is_active"], false);
    let sellers = app
        .scoped(Method::GET, "/api/users/users/?name=Пётр", &owner.token, &beta.key(), None)
        .await
        .json(StatusCode::OK);
    assert_eq!(sellers["count"], 0, "a deactivated member leaves the list");
    let login = app.sign_in("petr", "Cashier-Pass-2026").await;
    assert_eq!(login["available_stores"], json!([]), "and works nowhere now");
}
