//! Set-up codes (docs/contract.md §16): a manager hands over a code instead of a password, and
//! the employee chooses their own with it, on their own phone.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{EMPLOYEE_PASSWORD, Owner, TestApp, json_answer};
use crate::logging::LoggingServer;

/// The password employees choose in these tests.
const CHOSEN: &str = "Moi-Sobstvenny-Parol-7";

/// `data` of a 201 for a new employee with a set-up code, after checking that it is sent
/// no-store and carries no password anywhere.
fn created_with_code(response: &crate::helpers::TestResponse) -> Value {
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json(StatusCode::CREATED);
    let text = body.to_string();
    assert!(!text.contains("password\":\""), "a password in the answer: {text}");
    assert_eq!(body["data"]["credentials"], Value::Null, "{body}");
    body["data"].clone()
}

/// The set-up code of `data`.
fn code_of(setup: &Value) -> String {
    setup["code"].as_str().unwrap_or_else(|| panic!("no code in {setup}")).to_owned()
}

#[tokio::test]
async fn an_employee_chooses_their_password_with_the_code_and_signs_in_with_it() {
    let (app, owner) = TestApp::with_owner("setup_owner", "Лавка").await;
    let data =
        created_with_code(&app.create_employee_with_setup_code(&owner, "new_cashier", "cashier").await);
    let code = code_of(&data["setup"]);
    assert_eq!(code.len(), 9, "XXXX-XXXX: {code}");
    let expires_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(data["setup"]["expires_at"].clone()).unwrap();
    let hours = (expires_at - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((71.9..=72.0).contains(&hours), "{hours} hours");
    // Before the code is used, no password signs the account in.
    app.login("new_cashier", EMPLOYEE_PASSWORD)
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");

    // Any letter case, dash or none.
    let typed = code.to_lowercase().replace('-', "");
    let answer = app.complete_setup(&json!({"code": typed, "new_password": CHOSEN})).await;
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let signed_in = answer.json(StatusCode::OK);
    assert_eq!(signed_in["user"]["username"], "new_cashier", "{signed_in}");
    assert_eq!(signed_in["available_stores"][0]["tenant_key"], owner.key().as_str());
    let employee = Owner { token: signed_in["access"].as_str().unwrap().to_owned(), ..owner.clone() };
    app.me(&employee).await.json(StatusCode::OK);
    app.login("new_cashier", CHOSEN).await.json(StatusCode::OK);

    // Single use.
    let again = app.complete_setup(&json!({"code": code, "new_password": "Drugoi-Parol-Smeny-8"})).await;
    again.error(StatusCode::BAD_REQUEST, "invalid_setup_code");
    app.login("new_cashier", CHOSEN).await.json(StatusCode::OK);
}

#[tokio::test]
async fn the_users_api_hands_over_a_code_and_no_password() {
    let (app, owner) = TestApp::with_owner("setup_owner", "Лавка").await;
    let body =
        json!({"username": "users_api_cashier", "first_name": "Анна", "role": "cashier", "setup": "code"});
    let response =
        app.scoped(Method::POST, "/api/users/users/", &owner.token, &owner.key(), Some(&body)).await;
    let data = created_with_code(&response);
    assert_eq!(data["initial_password"], Value::Null, "{data}");
    let code = code_of(&data["setup"]);
    app.complete_setup(&json!({"code": code, "username": "USERS_API_CASHIER", "new_password": CHOSEN}))
        .await
        .json(StatusCode::OK);
}

#[tokio::test]
async fn a_code_with_a_password_or_without_a_username_is_refused() {
    let (app, owner) = TestApp::with_owner("setup_owner", "Лавка").await;
    let with_password = json!({"username": "x_cashier", "first_name": "Анна", "role": "cashier",
        "setup": "code", "password": "Kassir-Smena-24"});
    let refused =
        app.create_employee(&owner, &with_password).await.error(StatusCode::BAD_REQUEST, "validation_error");
    assert!(refused["errors"]["password"].is_array(), "{refused}");
    let without_username = json!({"first_name": "Анна", "role": "cashier", "setup": "code"});
    let refused = app
        .create_employee(&owner, &without_username)
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
    assert!(refused["errors"]["username"].is_array(), "{refused}");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let (app, owner) = TestApp::with_owner("setup_owner", "Лавка").await;
    let data =
        created_with_code(&app.create_employee_with_setup_code(&owner, "late_cashier", "cashier").await);
    sqlx::query("update public.setup_codes set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let late = app.complete_setup(&json!({"code": code_of(&data["setup"]), "new_password": CHOSEN})).await;
    late.error(StatusCode::BAD_REQUEST, "invalid_setup_code");
}

#[tokio::test]
async fn a_password_the_policy_refuses_leaves_the_code_usable() {
    let (app, owner) = TestApp::with_owner("setup_owner", "Лавка").await;
    let data =
        created_with_code(&app.create_employee_with_setup_code(&owner, "weak_cashier", "cashier").await);
    let code = code_of(&data["setup"]);
    let weak = app.complete_setup(&json!({"code": code, "new_password": "weak_cashier1"})).await;
    let refused = weak.error(StatusCode::BAD_REQUEST, "validation_error");
    assert!(refused["errors"]["new_password"].is_array(), "{refused}");
    app.complete_setup(&json!({"code": code, "new_password": CHOSEN})).await.json(StatusCode::OK);
}

#[tokio::test]
async fn a_username_not_the_codes_is_refused_as_a_wrong_code() {
    let (app, owner) = TestApp::with_owner("setup_owner", "Лавка").await;
    let data =
        created_with_code(&app.create_employee_with_setup_code(&owner, "named_cashier", "cashier").await);
    let code = code_of(&data["setup"]);
    let wrong =
        app.complete_setup(&json!({"code": code, "username": "setup_owner", "new_password": CHOSEN})).await;
    wrong.error(StatusCode::BAD_REQUEST, "invalid_setup_code");
    app.complete_setup(&json!({"code": code, "username": "named_cashier", "new_password": CHOSEN}))
        .await
        .json(StatusCode::OK);
}

#[tokio::test]
async fn a_new_code_kills_the_old_one_and_using_it_ends_the_other_sessions() {
    let (app, owner) = TestApp::with_owner("setup_owner", "Лавка").await;
    let (cashier, employee) = app.member(&owner, "lost_password", "cashier").await;
    let first = app.issue_setup_code(&owner, &employee["id"]).await;
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let first = first.json(StatusCode::CREATED);
    assert_eq!(first["tenant_key"], owner.key().as_str());
    assert!(!first.to_string().contains("password"), "{first}");
    let second = app.issue_setup_code(&owner, &employee["id"]).await.json(StatusCode::CREATED);
    assert_ne!(first["code"], second["code"]);
    // Issuing a code ends nothing: the password and the session still work.
    app.me(&cashier).await.json(StatusCode::OK);
    app.login("lost_password", EMPLOYEE_PASSWORD).await.json(StatusCode::OK);

    let old = app.complete_setup(&json!({"code": first["code"], "new_password": CHOSEN})).await;
    old.error(StatusCode::BAD_REQUEST, "invalid_setup_code");
    app.complete_setup(&json!({"code": second["code"], "new_password": CHOSEN})).await.json(StatusCode::OK);
    app.me(&cashier).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.login("lost_password", EMPLOYEE_PASSWORD)
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    app.login("lost_password", CHOSEN).await.json(StatusCode::OK);

    let audit = app.audit_events(&owner, "").await.json(StatusCode::OK).to_string();
    assert!(
        audit.contains("employee.setup_code_issued") && audit.contains("employee.setup_completed"),
        "{audit}"
    );
    for code in [&first["code"], &second["code"]] {
        assert!(!audit.contains(code.as_str().unwrap()), "a code in the audit trail: {audit}");
    }
}

#[tokio::test]
async fn codes_are_issued_by_those_who_may_reset_the_password_only() {
    let (app, owner) = TestApp::with_owner("setup_owner", "Лавка").await;
    let [(cashier, _), (_, other)] = app.members(&owner, [("c_one", "cashier"), ("c_two", "cashier")]).await;
    app.issue_setup_code(&cashier, &other["id"]).await.error(StatusCode::FORBIDDEN, "permission_denied");
    let cashier_row = json!({"first_name": "Без", "role": "cashier"});
    let no_account = app.create_employee(&owner, &cashier_row).await.json(StatusCode::CREATED);
    let id = &no_account["data"]["employee"]["id"];
    app.issue_setup_code(&owner, id).await.error(StatusCode::CONFLICT, "no_account");
    app.issue_setup_code(&owner, &json!(9999)).await.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_flood_of_wrong_codes_checks_at_most_ten_a_minute() {
    let app = Arc::new(TestApp::spawn().await);
    let owner = app.register_owner("setup_owner", "Лавка").await;
    let data =
        created_with_code(&app.create_employee_with_setup_code(&owner, "flood_cashier", "cashier").await);
    let code = code_of(&data["setup"]);

    let guesses = (0..50).map(|n| {
        let app = Arc::clone(&app);
        async move {
            let body = json!({"code": format!("ZZZZ-{:04}", n % 10_000), "new_password": CHOSEN});
            app.complete_setup(&body).await.status
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked + refused, 50, "{statuses:?}");
    assert!(checked <= 10, "{checked} codes were checked");
    // Within the minute even the right code is refused from this address…
    let blocked = app.complete_setup(&json!({"code": code, "new_password": CHOSEN})).await;
    blocked.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert!(blocked.header("retry-after").is_some());
    // …and works once the window has passed.
    sqlx::query("update public.setup_throttle set window_started_at = now() - interval '61 seconds'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.complete_setup(&json!({"code": code, "new_password": CHOSEN})).await.json(StatusCode::OK);
}

#[tokio::test]
async fn a_code_of_one_store_never_sets_up_an_employee_of_another() {
    let app = Arc::new(TestApp::spawn().await);
    let a = app.register_owner("owner_a", "Магазин А").await;
    let b = app.register_owner("owner_b", "Магазин Б").await;
    // Both stores issue codes for their employees at once, and both are used at once.
    let issue = |owner: Owner, username: &'static str| {
        let app = Arc::clone(&app);
        async move {
            let data =
                created_with_code(&app.create_employee_with_setup_code(&owner, username, "cashier").await);
            code_of(&data["setup"])
        }
    };
    let (code_a, code_b) = tokio::join!(issue(a.clone(), "cashier_a"), issue(b.clone(), "cashier_b"));
    // Store A's code with store B's employee's name is a wrong code.
    let crossed =
        app.complete_setup(&json!({"code": code_a, "username": "cashier_b", "new_password": CHOSEN})).await;
    crossed.error(StatusCode::BAD_REQUEST, "invalid_setup_code");

    let use_code = |code: String| {
        let app = Arc::clone(&app);
        async move {
            app.complete_setup(&json!({"code": code, "new_password": CHOSEN})).await.json(StatusCode::OK)
        }
    };
    let (signed_a, signed_b) = tokio::join!(use_code(code_a), use_code(code_b));
    for (signed, username, store) in [(signed_a, "cashier_a", &a), (signed_b, "cashier_b", &b)] {
        assert_eq!(signed["user"]["username"], username, "{signed}");
        let stores = signed["available_stores"].as_array().unwrap();
        assert_eq!(stores.len(), 1, "{signed}");
        assert_eq!(stores[0]["tenant_key"], store.key().as_str(), "{signed}");
    }
    // Each audit trail names its own employee's set-up only.
    let audit_a = app.audit_events(&a, "?action=employee.setup_completed").await.json(StatusCode::OK);
    let audit_b = app.audit_events(&b, "?action=employee.setup_completed").await.json(StatusCode::OK);
    assert_eq!(audit_a["count"], 1, "{audit_a}");
    assert_eq!(audit_b["count"], 1, "{audit_b}");
}

#[tokio::test]
async fn set_up_codes_never_reach_the_log() {
    let (server, client, owner) = LoggingServer::with_owner("log_owner", "Лавка").await;
    let api = format!("{}/api/users", server.base);
    let created = json_answer(
        client
            .post(format!("{api}/employees/"))
            .bearer_auth(&owner.token)
            .header("x-tenant-key", &owner.key)
            .json(
                &json!({"username": "log_cashier", "first_name": "Анна", "role": "cashier", "setup": "code"}),
            ),
    )
    .await;
    let code = code_of(&created["data"]["setup"]);
    let employee_id = created["data"]["employee"]["id"].clone();
    let reissued = json_answer(
        client
            .post(format!("{api}/employees/{employee_id}/setup-code/"))
            .bearer_auth(&owner.token)
            .header("x-tenant-key", &owner.key),
    )
    .await;
    let second = code_of(&reissued);
    let signed_in = json_answer(
        client.post(format!("{api}/auth/setup/")).json(&json!({"code": second, "new_password": CHOSEN})),
    )
    .await;
    assert_eq!(signed_in["user"]["username"], "log_cashier", "{signed_in}");

    let logs = server.stop().await;
    assert!(logs.contains("set-up code"), "the issue is logged, without the code: {logs}");
    for secret in
        [code.clone(), code.replace('-', ""), second.clone(), second.replace('-', ""), CHOSEN.to_owned()]
    {
        assert!(!logs.contains(&secret), "{secret} reached the log: {logs}");
    }
}
