//! PINs for shared tills (docs/contract.md §11): each member sets their own for the store, the weak ones
//! are refused, nobody reads one back, whoever manages a member may clear it, and a password
//! reset, deactivation or removal clears it too.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Owner, TestApp};

const PIN: &str = "/api/users/auth/pin/";
/// A PIN no rule refuses.
const GOOD_PIN: &str = "482137";

fn employee_path(id: &Value) -> String {
    format!("/api/users/employees/{id}/")
}

fn pin_path(id: &Value) -> String {
    format!("/api/users/employees/{id}/pin/")
}

/// The PIN hashes stored in `schema`, by employee id.
async fn stored_pins(app: &TestApp, schema: &str) -> Vec<(i64, String)> {
    let sql = format!("select employee_id, pin_hash from {schema}.employee_pins order by employee_id");
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&app.pool).await.unwrap()
}

#[tokio::test]
async fn each_weak_pin_is_refused_by_name() {
    let (app, owner) = TestApp::with_owner("pin_owner", "Лавка").await;
    for pin in [
        "12345",         // too short
        "1234567890123", // too long
        "12a456",        // not digits
        "4821 37",
        "",
        "111111", // one digit repeated
        "999999999",
        "123456", // runs
        "987654",
        "012345",
        "123123", // among the most common
        "121212",
        "159753",
        "147258",
    ] {
        let body = app.set_pin(&owner, pin).await.error(StatusCode::BAD_REQUEST, "validation_error");
        assert!(body["errors"]["pin"].is_array(), "{pin}: {body}");
    }
    for body in [json!({}), json!({"pin": 482137}), json!({"pin": null})] {
        let response = app.scoped(Method::PUT, PIN, &owner.token, &owner.key(), Some(&body)).await;
        response.error(StatusCode::BAD_REQUEST, "validation_error");
    }
    assert!(stored_pins(&app, "tenant_lavka").await.is_empty());
}

#[tokio::test]
async fn a_pin_is_stored_as_an_argon2id_hash_per_store() {
    let (app, owner) = TestApp::with_owner("pin_owner", "Лавка").await;
    let (cashier, employee) = app.member(&owner, "pin_cashier", "cashier").await;
    // The owner's second store: the same person, no PIN there.
    let second = json!({"name": "Вторая лавка"});
    let created = app.json(Method::POST, "/api/users/stores/", &second, Some(&owner.token)).await;
    let second_key =
        created.json(StatusCode::CREATED)["data"]["store"]["tenant_key"].as_str().unwrap().to_owned();

    assert_eq!(app.set_pin(&cashier, GOOD_PIN).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.set_pin(&owner, "730519").await.status, StatusCode::NO_CONTENT);

    let pins = stored_pins(&app, "tenant_lavka").await;
    assert_eq!(pins.len(), 2);
    assert_eq!(pins[1].0, employee["id"].as_i64().unwrap());
    for (_, hash) in &pins {
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains(GOOD_PIN) && !hash.contains("730519"), "{hash}");
    }
    let other_schema: String = sqlx::query_scalar("select schema_name from stores where tenant_key = $1")
        .bind(&second_key)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(stored_pins(&app, &other_schema).await.is_empty(), "a PIN is for one store");

    // Setting it again replaces it (one row per member).
    assert_eq!(app.set_pin(&cashier, "730519").await.status, StatusCode::NO_CONTENT);
    let again = stored_pins(&app, "tenant_lavka").await;
    assert_eq!(again.len(), 2);
    assert_ne!(again[1].1, pins[1].1);

    // Nothing a member or the owner can read shows a PIN.
    let owner_reads = [
        "/api/users/auth/me/".to_owned(),
        "/api/users/employees/".to_owned(),
        employee_path(&employee["id"]),
        "/api/users/audit-events/?page_size=100".to_owned(),
    ];
    for path in owner_reads {
        let body =
            app.scoped(Method::GET, &path, &owner.token, &owner.key(), None).await.json(StatusCode::OK);
        let text = body.to_string();
        assert!(
            !text.contains(GOOD_PIN) && !text.contains("730519") && !text.contains("argon2"),
            "{path}: {text}"
        );
    }
    let events = app.audit_events(&owner, "?action=pin.set").await.json(StatusCode::OK);
    assert_eq!(events["count"], 3, "{events}");
    assert_eq!(events["results"][0]["changes"], json!({"has_pin": {"before": true, "after": true}}));
    assert_eq!(events["results"][2]["changes"], json!({"has_pin": {"before": false, "after": true}}));
}

#[tokio::test]
async fn who_may_clear_a_pin_follows_the_ranks() {
    let (app, owner) = TestApp::with_owner("pin_owner", "Лавка").await;
    let (manager, manager_employee) = app.member(&owner, "pin_manager", "manager").await;
    let (other_manager, other_manager_employee) = app.member(&owner, "pin_manager_two", "manager").await;
    let (cashier, cashier_employee) = app.member(&owner, "pin_cashier", "cashier").await;
    let (stockkeeper, _) = app.member(&owner, "pin_stock", "stockkeeper").await;
    for who in [&manager, &other_manager, &cashier, &stockkeeper] {
        assert_eq!(app.set_pin(who, GOOD_PIN).await.status, StatusCode::NO_CONTENT);
    }
    let clear = |who: &Owner, id: &Value| {
        let (app, who, path) = (&app, who.clone(), pin_path(id));
        async move { app.scoped(Method::DELETE, &path, &who.token, &who.key(), None).await }
    };
    let count = || app.count("select count(*) from tenant_lavka.employee_pins");

    // Refused: a peer, someone above, oneself, and anyone below rank 50.
    clear(&manager, &other_manager_employee["id"]).await.error(StatusCode::FORBIDDEN, "permission_denied");
    clear(&manager, &manager_employee["id"]).await.error(StatusCode::FORBIDDEN, "permission_denied");
    clear(&stockkeeper, &cashier_employee["id"]).await.error(StatusCode::FORBIDDEN, "permission_denied");
    clear(&cashier, &cashier_employee["id"]).await.error(StatusCode::FORBIDDEN, "permission_denied");
    clear(&manager, &json!(999_999)).await.error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(count().await, 4);

    // A manager clears a cashier's; the owner a manager's.
    assert_eq!(clear(&manager, &cashier_employee["id"]).await.status, StatusCode::NO_CONTENT);
    assert_eq!(clear(&owner, &other_manager_employee["id"]).await.status, StatusCode::NO_CONTENT);
    assert_eq!(count().await, 2);
    // A custom role of rank 60 manages managers, so clears their PINs.
    let supervisor = json!({"code": "supervisor", "name": "Старший", "rank": 60});
    app.scoped(Method::POST, "/api/users/store-roles/", &owner.token, &owner.key(), Some(&supervisor))
        .await
        .json(StatusCode::CREATED);
    let (chief, _) = app.member(&owner, "pin_chief", "supervisor").await;
    assert_eq!(clear(&chief, &manager_employee["id"]).await.status, StatusCode::NO_CONTENT);
    assert_eq!(count().await, 1);

    let events = app.audit_events(&owner, "?action=pin.cleared").await.json(StatusCode::OK);
    assert_eq!(events["count"], 3, "{events}");
    assert_eq!(events["results"][0]["changes"], json!({"has_pin": {"before": true, "after": false}}));
}

#[tokio::test]
async fn losing_the_password_clears_the_pin() {
    let (app, owner) = TestApp::with_owner("pin_owner", "Лавка").await;
    let mut staff = Vec::new();
    for username in ["pin_reset", "pin_off", "pin_gone", "pin_kept"] {
        let (token, employee) = app.member(&owner, username, "cashier").await;
        assert_eq!(app.set_pin(&token, GOOD_PIN).await.status, StatusCode::NO_CONTENT);
        staff.push(employee);
    }
    let owner_does = |method: Method, path: String, body: Option<Value>| {
        let (app, owner) = (&app, &owner);
        async move { app.scoped(method, &path, &owner.token, &owner.key(), body.as_ref()).await }
    };
    let reset = format!("{}reset-password/", employee_path(&staff[0]["id"]));
    owner_does(Method::POST, reset, Some(json!({}))).await.json(StatusCode::OK);
    owner_does(Method::PATCH, employee_path(&staff[1]["id"]), Some(json!({"is_active": false})))
        .await
        .json(StatusCode::OK);
    assert_eq!(
        owner_does(Method::DELETE, employee_path(&staff[2]["id"]), None).await.status,
        StatusCode::NO_CONTENT
    );

    let left: Vec<i64> = stored_pins(&app, "tenant_lavka").await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(left, [staff[3]["id"].as_i64().unwrap()], "only the untouched member keeps a PIN");
    // A profile change keeps it.
    owner_does(Method::PATCH, employee_path(&staff[3]["id"]), Some(json!({"position": "Старший"})))
        .await
        .json(StatusCode::OK);
    assert_eq!(stored_pins(&app, "tenant_lavka").await.len(), 1);
}
