//! What a session opened on a till reaches: its store, by the member's role there, and
//! nothing of the account beyond it.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{OWNER_PIN, TestApp};

/// Every (method, path) of the served OpenAPI document that takes a bearer token.
fn bearer_operations() -> Vec<(Method, String)> {
    let spec = serde_json::to_value(kassa::router::openapi_spec()).unwrap();
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation["security"].to_string().contains("bearerAuth") {
                found.push((method.to_uppercase().parse().unwrap(), path.clone()));
            }
        }
    }
    found
}

/// What a till's session of the owner may call: the store, not the account.
fn store_bound_may_call(method: &Method, path: &str) -> bool {
    let account_wide = [
        (Method::POST, "/api/users/auth/logout-all/"),
        (Method::POST, "/api/users/auth/change-password/"),
        (Method::PUT, "/api/users/auth/pin/"),
        (Method::DELETE, "/api/users/auth/sessions/{id}/"),
        // Two-step sign-in guards the account (docs/contract.md §16).
        (Method::POST, "/api/users/auth/2fa/totp/"),
        (Method::POST, "/api/users/auth/2fa/totp/confirm/"),
        (Method::DELETE, "/api/users/auth/2fa/totp/"),
        // The account's own profile, which every store shows.
        (Method::PATCH, "/api/users/users/{id}/update-profile/"),
    ];
    !path.starts_with("/api/users/stores/") && !account_wide.iter().any(|(m, p)| m == method && *p == path)
}

#[tokio::test]
async fn an_owners_till_session_reaches_its_store_alone() {
    let (app, shop) = TestApp::with_shop("walk").await;
    let key = shop.key();
    let access = shop.sign_in(&app, &shop.owner_id, OWNER_PIN).await;
    let store_path = format!("/api/users/stores/{}/", shop.owner.store_id);

    let operations = bearer_operations();
    assert!(operations.len() >= 30, "{operations:?}");
    let mut walked = 0;
    // Logout last: it ends the session the walk uses.
    for (method, path) in operations.iter().filter(|(_, path)| !path.ends_with("/auth/logout/")) {
        let concrete = match path.as_str() {
            "/api/users/stores/{id}/" => store_path.clone(),
            _ => path.replace("{id}", "987654").replace("{code}", "no_such_role"),
        };
        let response = app.scoped(method.clone(), &concrete, &access, &key, Some(&json!({}))).await;
        assert!(response.status.as_u16() < 500, "{method} {path}: {response:?}");
        let code = serde_json::from_slice::<Value>(&response.body).ok().map(|body| body["code"].clone());
        let refused = response.status == StatusCode::FORBIDDEN && code == Some(json!("permission_denied"));
        assert_eq!(!refused, store_bound_may_call(method, path), "{method} {path}: {response:?}");
        walked += 1;
    }
    assert_eq!(walked + 1, operations.len());

    // The store the till session could not touch is as it was, and so is the account.
    let store = app.get_as(&store_path, &shop.owner.token).await.json(StatusCode::OK);
    assert_eq!(store["data"]["name"], "Лавка", "{store}");
    assert_eq!(store["data"]["is_active"], true, "{store}");
    app.get_as("/api/users/auth/sessions/", &shop.owner.token).await.json(StatusCode::OK);
    assert_eq!(app.count("select count(*) from public.stores").await, 1);

    app.scoped(Method::POST, "/api/users/auth/logout/", &access, &key, None).await.json(StatusCode::OK);
    app.scoped(Method::GET, "/api/users/auth/me/", &access, &key, None)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");
}

#[tokio::test]
async fn the_shared_staff_account_reaches_nothing_account_wide() {
    let (app, owner) = TestApp::with_owner("walk_staff_owner", "Лавка").await;
    let key = owner.key();
    let staff = &owner.data["staff_credentials"];
    let login = app.sign_in(staff["username"].as_str().unwrap(), staff["password"].as_str().unwrap()).await;
    let access = login["access"].as_str().unwrap();
    let store_path = format!("/api/users/stores/{}/", owner.store_id);

    let operations = bearer_operations();
    // Logout last: it ends the session the walk uses. The routes a store-bound session may
    // call still answer by the staff role's rights; every other one refuses it.
    for (method, path) in operations.iter().filter(|(_, path)| !path.ends_with("/auth/logout/")) {
        let concrete = match path.as_str() {
            "/api/users/stores/{id}/" => store_path.clone(),
            _ => path.replace("{id}", "987654").replace("{code}", "no_such_role"),
        };
        let response = app.scoped(method.clone(), &concrete, access, &key, Some(&json!({}))).await;
        assert!(response.status.as_u16() < 500, "{method} {path}: {response:?}");
        if !store_bound_may_call(method, path) {
            let code = serde_json::from_slice::<Value>(&response.body).ok().map(|body| body["code"].clone());
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{method} {path}: {response:?}");
            assert_eq!(code, Some(json!("permission_denied")), "{method} {path}: {response:?}");
        }
    }

    // The store and the account are as they were, and so is the staff account's password.
    assert_eq!(app.count("select count(*) from public.stores").await, 1);
    let store = app.get_as(&store_path, &owner.token).await.json(StatusCode::OK);
    assert_eq!(store["data"]["name"], "Лавка", "{store}");
    app.sign_in(staff["username"].as_str().unwrap(), staff["password"].as_str().unwrap()).await;
    app.scoped(Method::POST, "/api/users/auth/logout/", access, &key, None).await.json(StatusCode::OK);
}

#[tokio::test]
async fn a_till_session_sees_only_itself() {
    let (app, shop) = TestApp::with_shop("alone").await;
    app.json(Method::POST, "/api/users/stores/", &json!({"name": "Второй"}), Some(&shop.owner.token))
        .await
        .json(StatusCode::CREATED);
    let access = shop.sign_in(&app, &shop.owner_id, OWNER_PIN).await;

    let all = app.get_as("/api/users/auth/my-stores/", &shop.owner.token).await.json(StatusCode::OK);
    let till = app.get_as("/api/users/auth/my-stores/", &access).await.json(StatusCode::OK);
    let count = |body: &Value| body["data"].as_array().map_or(0, Vec::len);
    assert_eq!(count(&all), 2, "{all}");
    assert_eq!(count(&till), 1, "{till}");
    assert_eq!(till["data"][0]["tenant_key"], shop.key().as_str());

    let sessions = app.get_as("/api/users/auth/sessions/", &access).await.json(StatusCode::OK);
    let listed = sessions["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{sessions}");
    assert_eq!(listed[0]["current"], true);
    // The owner's other sessions stay out of the till's reach.
    let own = app.get_as("/api/users/auth/sessions/", &shop.owner.token).await.json(StatusCode::OK);
    assert!(own["data"].as_array().unwrap().len() >= 2, "{own}");
}

#[tokio::test]
async fn a_refreshed_till_session_stays_bound_to_its_store() {
    let (app, shop) = TestApp::with_shop("refresh").await;
    let body = app.pin_login(&shop.till, &shop.key(), &shop.owner_id, OWNER_PIN).await.json(StatusCode::OK);
    let refreshed = app
        .json(Method::POST, "/api/users/auth/token/refresh/", &json!({"refresh": body["refresh"]}), None)
        .await
        .json(StatusCode::OK);
    let access = refreshed["access"].as_str().unwrap();
    app.json(Method::POST, "/api/users/auth/logout-all/", &json!({}), Some(access))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    app.json(Method::POST, "/api/users/stores/", &json!({"name": "Чужой"}), Some(access))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    assert_eq!(app.count("select count(*) from public.stores").await, 1);
}
