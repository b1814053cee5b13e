//! Employees: create, list, read, change, remove, reset, as owners and managers use them;
//! revocation that bites on the next request; ids and rows that never cross stores.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{EMPLOYEE_PASSWORD, Owner, TestApp, TestResponse};

const EMPLOYEES: &str = "/api/users/employees/";

fn employee_path(id: &Value) -> String {
    format!("{EMPLOYEES}{id}/")
}

async fn me(app: &TestApp, token: &str, key: &str) -> TestResponse {
    app.scoped(Method::GET, "/api/users/auth/me/", token, key, None).await
}

fn access_token(login: &Value) -> String {
    login["access"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_owner_adds_an_employee_who_can_then_work_in_that_store() {
    let (app, owner) = TestApp::with_owner("ivan", "Мой Магазин").await;
    let body = json!({
        "username": "kassir1", "password": "Kassa-Till-2026", "first_name": "Анна", "last_name": "Петрова",
        "role": "cashier", "email": "anna@example.uz", "phone": "+998 90 765-43-21", "position": "Кассир",
    });

    let response = app.create_employee(&owner, &body).await;

    assert_eq!(response.header("cache-control"), Some("no-store"));
    let created = response.json(StatusCode::CREATED);
    assert_eq!(created["status"], "success");
    assert_eq!(created["message"], "Сотрудник успешно создан");
    assert_eq!(created["tenant_key"], owner.key().as_str());
    assert_eq!(created["store_slug"], "moi-magazin");
    assert_eq!(created["data"]["credentials"], json!({"username": "kassir1", "password": "Kassa-Till-2026"}));
    assert_eq!(created["data"]["is_existing_user"], false);
    let employee = &created["data"]["employee"];
    assert_eq!(employee["id"], 3, "the owner is employee 1 of the store, its shared staff account 2");
    assert_eq!(employee["username"], "kassir1");
    assert_eq!(employee["full_name"], "Анна Петрова");
    assert_eq!(employee["role"], "cashier");
    assert_eq!(employee["role_display"], "Кассир");
    assert_eq!(
        employee["permissions"],
        json!(["view_products", "create_sales", "view_customers", "create_customers"])
    );
    assert_eq!(employee["phone"], "+998907654321");
    assert_eq!(employee["position"], "Кассир");
    assert_eq!(employee["email"], "anna@example.uz");
    assert_eq!(employee["is_active"], true);
    assert_eq!(employee["store"], owner.store_id);
    assert_eq!(employee["hired_at"], chrono::Utc::now().date_naive().to_string());

    let login = app.sign_in("KASSIR1", "Kassa-Till-2026").await;
    assert_eq!(login["available_stores"][0]["tenant_key"], owner.key().as_str());
    assert_eq!(login["available_stores"][0]["role"], "cashier");
    let me = me(&app, &access_token(&login), &owner.key()).await.json(StatusCode::OK);
    assert_eq!(me["data"]["role"], "cashier");
    assert_eq!(me["data"]["employee"]["id"], 3);
    assert_eq!(me["data"]["employee"]["position"], "Кассир");
}

#[tokio::test]
async fn a_generated_password_is_handed_over_once() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;

    let created = app
        .create_employee(&owner, &json!({"username": "sklad", "first_name": "Олег", "role": "stockkeeper"}))
        .await
        .json(StatusCode::CREATED);

    let password = created["data"]["credentials"]["password"].as_str().unwrap().to_owned();
    let groups: Vec<&str> = password.split('-').collect();
    assert!(groups.len() >= 3 && groups.iter().all(|g| g.len() == 4), "{password}");
    assert!(!password.contains(['0', 'O', 'o', '1', 'l', 'I']), "{password}");
    app.sign_in("sklad", &password).await;
    let read = app.scoped(Method::GET, &employee_path(&json!(2)), &owner.token, &owner.key(), None).await;
    assert!(!String::from_utf8_lossy(&read.body).contains(&password), "reads never carry the password");
    let audit: String =
        sqlx::query_scalar("select string_agg(changes::text, ' ') from tenant_lavka.audit_events")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!audit.contains(&password) && !audit.contains("password\""), "{audit}");
}

#[tokio::test]
async fn a_refused_create_reports_every_problem_at_once() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let users_before = app.count("select count(*) from users").await;

    let errors = app
        .create_employee(&owner, &json!({}))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error")["errors"]
        .clone();
    assert_eq!(errors.as_object().unwrap().keys().collect::<Vec<_>>(), ["first_name", "role"]);

    let bad = json!({
        "username": "has space", "first_name": "Анна", "role": "boss", "password": "123",
        "phone": "12345", "email": "nope", "hired_at": "2026-13-40",
    });
    let errors =
        app.create_employee(&owner, &bad).await.error(StatusCode::BAD_REQUEST, "validation_error")["errors"]
            .clone();
    assert!(errors["hired_at"].is_array(), "{errors}");
    let bad = json!({"username": "has space", "first_name": "Анна", "role": "boss", "password": "123",
                     "phone": "12345", "email": "nope"});
    let errors =
        app.create_employee(&owner, &bad).await.error(StatusCode::BAD_REQUEST, "validation_error")["errors"]
            .clone();
    for field in ["username", "role", "password", "phone", "email"] {
        assert!(errors[field].is_array(), "{field} missing from {errors}");
    }
    // Too short and too common; digits-only is a composition rule, off by default (docs/contract.md §4).
    assert_eq!(errors["password"].as_array().unwrap().len(), 2, "{errors}");

    let taken = json!({"username": "IVAN", "first_name": "Анна", "role": "cashier"});
    let conflict = app.create_employee(&owner, &taken).await.error(StatusCode::CONFLICT, "username_taken");
    assert!(conflict["errors"]["username"].is_array());
    assert_eq!(app.count("select count(*) from users").await, users_before);
    assert_eq!(
        app.count("select count(*) from tenant_lavka.employees").await,
        2,
        "the owner and the staff account"
    );
    assert_eq!(app.count("select count(*) from tenant_lavka.audit_events").await, 0);
}

#[tokio::test]
async fn the_employee_list_keeps_a_stable_order_through_pages_and_filters() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    for n in 1..=24 {
        let role = if n % 3 == 0 { "stockkeeper" } else { "cashier" };
        app.add_employee(&owner, &format!("staff{n:02}"), role).await;
    }
    app.add_employee(&owner, "special_100", "manager").await;
    app.patch_employee(&owner, &json!(3), &json!({"is_active": false})).await.json(StatusCode::OK);

    // The owner (1), the shared staff account (2), staff01..staff24 (3..26), special_100.
    let first = app.employees(&owner, "").await.json(StatusCode::OK);
    assert_eq!(first["count"], 27);
    assert_eq!(first["results"].as_array().unwrap().len(), 20);
    assert_eq!(first["results"][0]["username"], "special_100", "newest first");
    assert_eq!(first["results"][1]["username"], "staff24");
    assert_eq!(first["previous"], Value::Null);
    assert_eq!(first["next"], "/api/users/employees/?page=2");
    assert_eq!(first["tenant_key"], owner.key().as_str());
    let second = app.employees(&owner, "?page=2").await.json(StatusCode::OK);
    assert_eq!(second["results"].as_array().unwrap().len(), 7);
    assert_eq!(second["results"][5]["username"], "lavka_staff");
    assert_eq!(second["results"][6]["username"], "ivan", "the owner is the oldest");
    assert_eq!(second["next"], Value::Null);
    assert_eq!(second["previous"], "/api/users/employees/");
    let mut seen: Vec<Value> = first["results"].as_array().unwrap().clone();
    seen.extend(second["results"].as_array().unwrap().iter().cloned());
    seen.sort_by_key(|e| e["id"].as_i64());
    seen.dedup_by_key(|e| e["id"].as_i64());
    assert_eq!(seen.len(), 27, "pages neither overlap nor skip");

    app.employees(&owner, "?page=3").await.error(StatusCode::NOT_FOUND, "not_found");
    for bad in ["?page=0", "?page=x", "?page_size=-5", "?role=Staff!", "?is_active=maybe"] {
        app.employees(&owner, bad).await.error(StatusCode::BAD_REQUEST, "validation_error");
    }
    // A well-formed code the store does not define matches nobody (stores define their own).
    assert_eq!(app.employees(&owner, "?role=floor_lead").await.json(StatusCode::OK)["count"], 0);
    assert_eq!(app.employees(&owner, "?role=staff").await.json(StatusCode::OK)["count"], 1);
    let small = app.employees(&owner, "?page_size=5&page=2&role=cashier").await.json(StatusCode::OK);
    assert_eq!(small["count"], 16);
    assert_eq!(small["next"], "/api/users/employees/?page_size=5&role=cashier&page=3");
    assert_eq!(
        app.employees(&owner, "?page_size=1000").await.json(StatusCode::OK)["results"]
            .as_array()
            .unwrap()
            .len(),
        27
    );

    let stockkeepers = app.employees(&owner, "?role=stockkeeper").await.json(StatusCode::OK);
    assert_eq!(stockkeepers["count"], 8);
    assert!(stockkeepers["results"].as_array().unwrap().iter().all(|e| e["role"] == "stockkeeper"));
    let inactive = app.employees(&owner, "?is_active=false").await.json(StatusCode::OK);
    assert_eq!(inactive["count"], 1);
    assert_eq!(inactive["results"][0]["id"], 3);
    assert_eq!(app.employees(&owner, "?is_active=true").await.json(StatusCode::OK)["count"], 26);

    let search = |q: &'static str| {
        let (app, owner) = (&app, &owner);
        async move { app.employees(owner, q).await.json(StatusCode::OK) }
    };
    assert_eq!(search("?search=STAFF1").await["count"], 10, "staff10..staff19, any case");
    assert_eq!(
        search("?search=%D0%B8%D0%BC%D1%8F%20staff07").await["count"],
        1,
        "first name, Cyrillic, any case"
    );
    assert_eq!(
        search("?search=%D0%98%D0%B2%D0%B0%D0%BD%20%D0%98%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2").await["count"],
        1,
        "full name"
    );
    assert_eq!(search("?search=100%25").await["count"], 0, "% is matched literally, not as a wildcard");
    // special_100 and lavka_staff.
    assert_eq!(search("?search=_").await["count"], 2, "_ is matched literally, not as a wildcard");
    assert_eq!(search("?search=nobody").await["count"], 0);
}

#[tokio::test]
async fn employee_ids_are_numbered_per_store() {
    let app = TestApp::spawn().await;
    let alpha = app.register_owner("alpha", "Альфа").await;
    let beta = app.register_owner("beta", "Бета").await;
    app.add_employee(&alpha, "alpha_cashier", "cashier").await;
    app.add_employee(&beta, "beta_cashier", "cashier").await;

    // Employee 1 is each store's owner, 2 its shared staff account.
    let path = employee_path(&json!(3));
    let from_alpha =
        app.scoped(Method::GET, &path, &alpha.token, &alpha.key(), None).await.json(StatusCode::OK);
    let from_beta = app.scoped(Method::GET, &path, &beta.token, &beta.key(), None).await.json(StatusCode::OK);
    assert_eq!(from_alpha["username"], "alpha_cashier");
    assert_eq!(from_beta["username"], "beta_cashier");

    // Alpha's owner cannot reach beta's staff with beta's key, nor change it.
    app.scoped(Method::GET, &path, &alpha.token, &beta.key(), None)
        .await
        .error(StatusCode::FORBIDDEN, "not_a_member");
    let body = json!({"position": "взлом"});
    app.scoped(Method::PATCH, &path, &alpha.token, &beta.key(), Some(&body))
        .await
        .error(StatusCode::FORBIDDEN, "not_a_member");
    // Nor can a body move an employee to another store.
    app.patch_employee(&alpha, &json!(3), &json!({"store": beta.store_id}))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(app.count("select count(*) from tenant_beta.employees where position = 'взлом'").await, 0);
    app.scoped(Method::GET, &employee_path(&json!(99)), &alpha.token, &alpha.key(), None)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    app.scoped(Method::GET, &format!("{EMPLOYEES}abc/"), &alpha.token, &alpha.key(), None)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_page_past_the_last_is_not_found_however_the_list_is_filtered() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    for username in ["staff1", "staff2", "staff3"] {
        app.add_employee(&owner, username, "cashier").await;
    }

    // The owner, the shared staff account and three cashiers: 5, 3, 4 (`lavka_staff` too), 3.
    for (query, pages) in [
        ("", 3),
        ("&role=cashier", 2),
        ("&search=staff", 2),
        ("&search=staff&role=cashier&is_active=true", 2),
    ] {
        let last =
            app.employees(&owner, &format!("?page_size=2&page={pages}{query}")).await.json(StatusCode::OK);
        assert!(!last["results"].as_array().unwrap().is_empty(), "{query}: {last}");
        assert_eq!(last["next"], Value::Null, "{query}");
        app.employees(&owner, &format!("?page_size=2&page={}{query}", pages + 1))
            .await
            .error(StatusCode::NOT_FOUND, "not_found");
    }
    let audit = |query: &str| {
        let query = format!("?page_size=2&action=employee.created{query}");
        let (app, owner) = (&app, &owner);
        async move { app.audit_events(owner, &query).await }
    };
    assert_eq!(audit("&page=2").await.json(StatusCode::OK)["count"], 3);
    audit("&page=3").await.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_role_the_store_does_not_define_fails_the_read_instead_of_passing_for_another() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let employee = app.add_employee(&owner, "kassir", "cashier").await;
    // Role writes keep such a role out of both tables (it is locked while given, deleted
    // only when unheld); a hand edit could still leave one behind.
    for row in [
        "update store_memberships set role = 'supervisor'
         where user_id = (select user_id from tenant_lavka.employees where id = $1)",
        "update tenant_lavka.employees set role = 'supervisor' where id = $1",
    ] {
        let changed =
            sqlx::query(row).bind(employee["id"].as_i64().unwrap()).execute(&app.pool).await.unwrap();
        assert_eq!(changed.rows_affected(), 1, "{row}");
    }

    let read =
        app.scoped(Method::GET, &employee_path(&employee["id"]), &owner.token, &owner.key(), None).await;
    let body = read.error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    assert!(!body.to_string().contains("supervisor"), "the cause stays in the log: {body}");
    for query in ["", "?search=kassir"] {
        app.employees(&owner, query).await.error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    }
}

#[tokio::test]
async fn patch_changes_only_what_it_names_where_put_replaces() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let id = app.add_employee(&owner, "kassir", "cashier").await["id"].clone();
    app.patch_employee(&owner, &id, &json!({"phone": "+998901111111", "position": "Кассир"}))
        .await
        .json(StatusCode::OK);

    let changed = app
        .patch_employee(&owner, &id, &json!({"position": "Старший кассир", "hired_at": "2025-01-15"}))
        .await
        .json(StatusCode::OK);
    assert_eq!(changed["position"], "Старший кассир");
    assert_eq!(changed["hired_at"], "2025-01-15");
    assert_eq!(changed["phone"], "+998901111111", "PATCH keeps what it does not name");
    assert_eq!(changed["tenant_key"], owner.key().as_str());

    let put = |body: Value| {
        let (app, owner, id) = (&app, &owner, &id);
        async move { app.scoped(Method::PUT, &employee_path(id), &owner.token, &owner.key(), Some(&body)).await }
    };
    let errors =
        put(json!({"position": "X"})).await.error(StatusCode::BAD_REQUEST, "validation_error")["errors"]
            .clone();
    assert!(errors["first_name"].is_array() && errors["role"].is_array(), "{errors}");
    let replaced = put(json!({"first_name": "Анна", "role": "cashier"})).await.json(StatusCode::OK);
    assert_eq!((replaced["phone"].as_str(), replaced["position"].as_str()), (Some(""), Some("")));
    assert_eq!(replaced["hired_at"], "2025-01-15", "PUT keeps the hiring date when left out");
    assert_eq!(replaced["is_active"], true);

    for immutable in [json!({"username": "other"}), json!({"email": "x@y.uz"}), json!({"user": 1})] {
        let field = immutable.as_object().unwrap().keys().next().unwrap().clone();
        let body = app
            .patch_employee(&owner, &id, &immutable)
            .await
            .error(StatusCode::BAD_REQUEST, "validation_error");
        assert!(body["errors"][&field].is_array(), "{body}");
    }
    app.patch_employee(&owner, &id, &json!({"username": "kassir", "first_name": "  "}))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
    app.patch_employee(&owner, &id, &json!({"is_active": "no"}))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
    let unchanged =
        app.patch_employee(&owner, &id, &json!({"username": "kassir"})).await.json(StatusCode::OK);
    assert_eq!(unchanged["first_name"], "Анна");
}

#[tokio::test]
async fn deactivation_signs_the_employee_out_until_reactivated() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let id = app.add_employee(&owner, "kassir", "cashier").await["id"].clone();
    let token = access_token(&app.sign_in("kassir", EMPLOYEE_PASSWORD).await);
    me(&app, &token, &owner.key()).await.json(StatusCode::OK);

    let deactivated =
        app.patch_employee(&owner, &id, &json!({"is_active": false})).await.json(StatusCode::OK);

    assert_eq!(deactivated["is_active"], false);
    me(&app, &token, &owner.key()).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    let login = app.sign_in("kassir", EMPLOYEE_PASSWORD).await;
    assert_eq!(login["available_stores"], json!([]), "the store is no longer offered");
    me(&app, &access_token(&login), &owner.key()).await.error(StatusCode::FORBIDDEN, "not_a_member");

    app.patch_employee(&owner, &id, &json!({"is_active": true})).await.json(StatusCode::OK);
    let login = app.sign_in("kassir", EMPLOYEE_PASSWORD).await;
    assert_eq!(login["available_stores"][0]["tenant_key"], owner.key().as_str());
    me(&app, &access_token(&login), &owner.key()).await.json(StatusCode::OK);
}

#[tokio::test]
async fn removal_ends_access_but_keeps_the_row_for_history() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let id = app.add_employee(&owner, "kassir", "cashier").await["id"].clone();
    let token = access_token(&app.sign_in("kassir", EMPLOYEE_PASSWORD).await);

    let removed = app.scoped(Method::DELETE, &employee_path(&id), &owner.token, &owner.key(), None).await;

    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    me(&app, &token, &owner.key()).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.scoped(Method::GET, &employee_path(&id), &owner.token, &owner.key(), None)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.employees(&owner, "").await.json(StatusCode::OK)["count"],
        2,
        "the owner and the staff account"
    );
    assert_eq!(
        app.count("select count(*) from tenant_lavka.employees where id = 3 and not is_active").await,
        1
    );
    assert_eq!(app.count("select count(*) from store_memberships where role = 'cashier'").await, 0);
    assert_eq!(
        app.count("select count(*) from users where username = 'kassir'").await,
        1,
        "the account stays"
    );
    app.scoped(Method::DELETE, &employee_path(&id), &owner.token, &owner.key(), None)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let login = app.sign_in("kassir", EMPLOYEE_PASSWORD).await;
    assert_eq!(login["available_stores"], json!([]));
}

#[tokio::test]
async fn a_password_reset_ends_every_session_of_the_employee() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let id = app.add_employee(&owner, "kassir", "cashier").await["id"].clone();
    let token = access_token(&app.sign_in("kassir", EMPLOYEE_PASSWORD).await);
    let reset_path = format!("{}reset-password/", employee_path(&id));
    let reset = |body: Value| {
        let (app, owner, path) = (&app, &owner, &reset_path);
        async move { app.scoped(Method::POST, path, &owner.token, &owner.key(), Some(&body)).await }
    };

    let response = reset(json!({})).await;

    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json(StatusCode::OK);
    assert_eq!(body["message"], "Пароль сотрудника успешно сброшен");
    assert_eq!(body["data"]["username"], "kassir");
    assert_eq!(body["tenant_key"], owner.key().as_str());
    let generated = body["data"]["new_password"].as_str().unwrap().to_owned();
    me(&app, &token, &owner.key()).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    let old = json!({"username": "kassir", "password": EMPLOYEE_PASSWORD});
    app.json(Method::POST, "/api/users/auth/login/", &old, None)
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    assert_eq!(app.sign_in("kassir", &generated).await["password_change_required"], false);

    let errors = reset(json!({"new_password": "123"}))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error")["errors"]["new_password"]
        .clone();
    assert_eq!(errors.as_array().unwrap().len(), 2, "too short, too common: {errors}");
    let chosen = reset(json!({"new_password": "Novyi-Parol-77", "must_change_password": true}))
        .await
        .json(StatusCode::OK);
    assert_eq!(chosen["data"]["new_password"], "Novyi-Parol-77");
    assert_eq!(app.sign_in("kassir", "Novyi-Parol-77").await["password_change_required"], true);

    let audit: String = sqlx::query_scalar(
        "select string_agg(action || ' ' || changes::text, '; ' order by id) from tenant_lavka.audit_events
         where action = 'employee.password_reset'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!audit.contains(&generated) && !audit.contains("Novyi-Parol-77"), "{audit}");
    assert!(audit.contains(r#""must_change_password": {"after": true, "before": false}"#), "{audit}");
}

/// A store where the owner and a manager have made seven changes to employees: the owner,
/// the manager (signed in), the manager's user id, and the employee ids of the manager and
/// of the cashier the changes were about.
async fn audited_store(app: &TestApp) -> (Owner, Owner, Value, Value, Value) {
    let owner = app.register_owner("ivan", "Лавка").await;
    let manager_id = app.add_employee(&owner, "boss", "manager").await["id"].clone();
    let manager_login = app.sign_in("boss", EMPLOYEE_PASSWORD).await;
    let manager_user_id = manager_login["user"]["id"].clone();
    let manager = Owner { token: access_token(&manager_login), ..owner.clone() };
    let cashier_id = app.add_employee(&manager, "kassir", "cashier").await["id"].clone();
    app.patch_employee(&owner, &cashier_id, &json!({"role": "stockkeeper", "position": "Склад"}))
        .await
        .json(StatusCode::OK);
    app.patch_employee(&manager, &cashier_id, &json!({"is_active": false})).await.json(StatusCode::OK);
    let reset = format!("{}reset-password/", employee_path(&cashier_id));
    app.scoped(Method::POST, &reset, &owner.token, &owner.key(), Some(&json!({}))).await.json(StatusCode::OK);
    app.scoped(Method::DELETE, &employee_path(&cashier_id), &owner.token, &owner.key(), None).await;
    (owner, manager, manager_user_id, manager_id, cashier_id)
}

#[tokio::test]
async fn an_empty_audit_trail_has_one_empty_page() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let empty = app.audit_events(&owner, "").await.json(StatusCode::OK);
    assert_eq!((empty["count"].as_i64(), empty["next"].is_null()), (Some(0), true), "{empty}");
    app.audit_events(&owner, "?page=2").await.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn the_audit_trail_records_every_change_to_an_employee() {
    let app = TestApp::spawn().await;
    let (owner, manager, _, _, cashier_id) = audited_store(&app).await;

    let trail = app.audit_events(&owner, "").await.json(StatusCode::OK);

    let actions: Vec<&str> =
        trail["results"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "employee.removed",
            "employee.password_reset",
            "employee.deactivated",
            "employee.updated",
            "employee.role_changed",
            "employee.created",
            "employee.created",
        ]
    );
    assert_eq!(trail["count"], 7);
    assert_eq!(trail["tenant_key"], owner.key().as_str());
    let role_change = &trail["results"][4];
    assert_eq!(role_change["actor_username"], "ivan");
    assert_eq!(role_change["actor_id"], owner.user_id);
    assert_eq!(role_change["employee_id"], cashier_id);
    assert_eq!(role_change["employee_username"], "kassir");
    assert_eq!(role_change["changes"], json!({"role": {"before": "cashier", "after": "stockkeeper"}}));
    assert_eq!(trail["results"][3]["changes"], json!({"position": {"before": "", "after": "Склад"}}));
    assert_eq!(trail["results"][2]["actor_username"], "boss");
    assert_eq!(trail["results"][5]["changes"]["role"], json!({"before": null, "after": "cashier"}));
    assert!(trail["results"][0]["created_at"].as_str().is_some());
    assert_eq!(app.audit_events(&manager, "").await.json(StatusCode::OK)["count"], 7, "managers read it too");
}

#[tokio::test]
async fn the_audit_trail_is_narrowed_by_what_its_query_names() {
    let app = TestApp::spawn().await;
    let (owner, _, manager_user_id, manager_id, _) = audited_store(&app).await;

    let by_manager =
        app.audit_events(&owner, &format!("?actor={manager_user_id}")).await.json(StatusCode::OK);
    assert_eq!(by_manager["count"], 2, "created the cashier, deactivated them: {by_manager}");
    assert!(by_manager["results"].as_array().unwrap().iter().all(|e| e["actor_username"] == "boss"));
    let resets = app.audit_events(&owner, "?action=employee.password_reset").await.json(StatusCode::OK);
    assert_eq!(resets["count"], 1);
    let about_manager =
        app.audit_events(&owner, &format!("?employee={manager_id}")).await.json(StatusCode::OK);
    assert_eq!(about_manager["count"], 1);
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    assert_eq!(
        app.audit_events(&owner, &format!("?date_from={today}&date_to={today}")).await.json(StatusCode::OK)["count"],
        7
    );
    assert_eq!(
        app.audit_events(&owner, &format!("?date_from={tomorrow}")).await.json(StatusCode::OK)["count"],
        0
    );
    let paged = app.audit_events(&owner, "?page_size=3&page=3").await.json(StatusCode::OK);
    assert_eq!(paged["results"].as_array().unwrap().len(), 1);
    app.audit_events(&owner, "?page=4&page_size=3").await.error(StatusCode::NOT_FOUND, "not_found");
    for bad in ["?action=employee.deleted", "?actor=me", "?date_from=yesterday", "?employee=-1"] {
        app.audit_events(&owner, bad).await.error(StatusCode::BAD_REQUEST, "validation_error");
    }
}
