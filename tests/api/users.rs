//! `/api/users/users/`: a store's members with an account, by account id, as the POS apps
//! read and change them, under the same rules as the employee API.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{EMPLOYEE_PASSWORD, Owner, TestApp, TestResponse};

const USERS: &str = "/api/users/users/";

fn user_path(id: &Value) -> String {
    format!("{USERS}{id}/")
}

fn usernames(page: &Value) -> Vec<&str> {
    page["results"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_user_list_shows_the_active_members_with_an_account() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let (cashier, employee) = app.member(&owner, "anna", "cashier").await;
    let gone = app.add_employee(&owner, "boris", "stockkeeper").await;
    app.scoped(
        Method::PATCH,
        &format!("/api/users/employees/{}/", gone["id"]),
        &owner.token,
        &owner.key(),
        Some(&json!({"is_active": false})),
    )
    .await
    .json(StatusCode::OK);

    // Any active member reads it, a cashier too.
    let page = app.users(&cashier, "").await.json(StatusCode::OK);
    assert_eq!(page["count"], 3, "{page}");
    assert_eq!(page["next"], Value::Null);
    assert_eq!(page["previous"], Value::Null);
    assert_eq!(usernames(&page), ["anna", "lavka_staff", "vlad"], "by username, without the deactivated");
    assert_eq!(page["tenant_key"], owner.key().as_str());
    assert_eq!(page["store_name"], "Лавка");
    assert!(page["store_slug"].is_string());

    let anna = &page["results"][0];
    assert_eq!(anna["id"], employee["user"], "the account's id");
    assert_eq!(anna["first_name"], "Имя anna");
    assert_eq!(anna["last_name"], "Сотрудник");
    assert_eq!(anna["full_name"], "Имя anna Сотрудник");
    assert_eq!(anna["email"], "");
    assert_eq!(anna["is_active"], true);
    assert!(anna["date_joined"].is_string());
    let info = &anna["employee_info"];
    assert_eq!(info["id"], employee["id"], "the employee id in this store");
    assert_eq!(info["role"], "cashier");
    assert_eq!(info["role_display"], "Кассир");
    assert_eq!(info["sex"], Value::Null);
    assert_eq!(info["sex_display"], Value::Null);
    assert_eq!(info["is_active"], true);
    assert_eq!(info["photo"], Value::Null);
    assert!(info["hired_at"].is_string() && info["phone"].is_string() && info["position"].is_string());

    let one = app.scoped(Method::GET, &user_path(&anna["id"]), &cashier.token, &owner.key(), None).await;
    let one = one.json(StatusCode::OK);
    assert_eq!(one["username"], "anna");
    assert_eq!(one["employee_info"]["role"], "cashier");
    assert_eq!(one["tenant_key"], owner.key().as_str());
}

#[tokio::test]
async fn full_name_is_empty_when_both_names_are() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    sqlx::query("update public.users set first_name = '', last_name = '' where id = $1")
        .bind(owner.user_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let page = app.users(&owner, "?name=vlad").await.json(StatusCode::OK);
    assert_eq!(page["results"][0]["full_name"], "");
}

/// Adds `count` cashiers to `owner`'s store straight in the database (accounts that share
/// the owner's password hash), named `{prefix}{n:02}`, email `{prefix}{n}@shop.uz`.
async fn many_cashiers(app: &TestApp, owner: &Owner, prefix: &str, count: usize) {
    for n in 0..count {
        let username = format!("{prefix}{n:02}");
        let user_id: i64 = sqlx::query_scalar(
            "insert into public.users (username, password_hash, first_name, last_name, email)
             select $1, password_hash, $2, $3, $4 from public.users where id = $5 returning id",
        )
        .bind(&username)
        .bind(format!("Имя{n:02}"))
        .bind(if n % 2 == 0 { "Чётный" } else { "Нечётный" })
        .bind(format!("{prefix}{n}@shop.uz"))
        .bind(owner.user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        app.enrol_cashier_row(owner, user_id, &username).await;
    }
}

#[tokio::test]
async fn the_user_list_pages_by_twenty() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    many_cashiers(&app, &owner, "k", 20).await;

    let first = app.users(&owner, "").await.json(StatusCode::OK);
    assert_eq!(first["count"], 22, "20 cashiers, the owner and the store's shared account");
    assert_eq!(first["results"].as_array().unwrap().len(), 20);
    assert!(first["next"].as_str().unwrap().ends_with("/api/users/users/?page=2"), "{first}");
    let second = app.users(&owner, "?page=2").await.json(StatusCode::OK);
    assert_eq!(usernames(&second), ["lavka_staff", "vlad"]);
    assert!(second["previous"].as_str().unwrap().ends_with("/api/users/users/"), "{second}");
    app.users(&owner, "?page=3").await.error(StatusCode::NOT_FOUND, "not_found");
    app.users(&owner, "?page=0").await.error(StatusCode::BAD_REQUEST, "validation_error");
}

#[tokio::test]
async fn the_user_list_is_searched_by_name_in_the_asked_order() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    many_cashiers(&app, &owner, "k", 4).await;

    // `name`: first or last name or username, any case.
    let odd = app.users(&owner, "?name=%D0%9D%D0%B5%D1%87").await.json(StatusCode::OK);
    assert_eq!(usernames(&odd), ["k01", "k03"], "Неч… in last names");
    let by_username = app.users(&owner, "?name=K0").await.json(StatusCode::OK);
    assert_eq!(by_username["count"], 4);
    // `name` does not look at emails; `search` does.
    let mail = app.users(&owner, "?name=shop.uz").await.json(StatusCode::OK);
    assert_eq!(mail["count"], 0);
    let mail = app.users(&owner, "?search=k2%40SHOP").await.json(StatusCode::OK);
    assert_eq!(usernames(&mail), ["k02"]);
    let literal = app.users(&owner, "?search=%25").await.json(StatusCode::OK);
    assert_eq!(literal["count"], 0, "% is a character, not a wildcard");

    let newest = app.users(&owner, "?ordering=-date_joined").await.json(StatusCode::OK);
    assert_eq!(usernames(&newest)[..4], ["k03", "k02", "k01", "k00"]);
    let by_last = app.users(&owner, "?ordering=last_name").await.json(StatusCode::OK);
    assert_eq!(usernames(&by_last)[..3], ["vlad", "lavka_staff", "k01"], "Иванов, Лавка, then Нечётный");
    let descending = app.users(&owner, "?ordering=-username").await.json(StatusCode::OK);
    assert_eq!(usernames(&descending), ["vlad", "lavka_staff", "k03", "k02", "k01", "k00"]);
    let first_names = app.users(&owner, "?ordering=first_name&name=k0").await.json(StatusCode::OK);
    assert_eq!(usernames(&first_names), ["k00", "k01", "k02", "k03"]);

    for bad in [
        "?ordering=password_hash",
        "?ordering=--username",
        "?name=%00",
        &format!("?search={}", "%D1%8F".repeat(151)),
    ] {
        let refused = app.users(&owner, bad).await.error(StatusCode::BAD_REQUEST, "validation_error");
        assert!(refused["errors"].as_object().unwrap().len() == 1, "{bad}: {refused}");
    }
}

#[tokio::test]
async fn only_active_members_of_the_store_read_its_users() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let stranger = app.register_owner("petr", "Чужая").await;
    let anna = app.add_employee(&owner, "anna", "cashier").await;

    // A valid token with a valid key of a store they are not in: refused, not served.
    for path in [USERS.to_owned(), user_path(&anna["user"]), user_path(&json!(owner.user_id))] {
        let refused = app.scoped(Method::GET, &path, &stranger.token, &owner.key(), None).await;
        let body = refused.error(StatusCode::FORBIDDEN, "not_a_member");
        assert!(!String::from_utf8_lossy(&refused.body).contains("anna"), "{body}");
    }
    app.scoped(Method::GET, USERS, &owner.token, &owner.key(), None).await.json(StatusCode::OK);
    app.get(USERS).await.error(StatusCode::BAD_REQUEST, "missing_tenant_key");
    let anonymous =
        axum::http::Request::get(USERS).header("x-tenant-key", owner.key()).body(axum::body::Body::empty());
    app.send(anonymous.unwrap()).await.error(StatusCode::UNAUTHORIZED, "not_authenticated");
}

#[tokio::test]
async fn a_user_outside_the_list_is_not_found() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let other = app.register_owner("petr", "Чужая").await;
    let gone = app.add_employee(&owner, "boris", "cashier").await;
    let path = format!("/api/users/employees/{}/", gone["id"]);
    let off = json!({"is_active": false});
    app.scoped(Method::PATCH, &path, &owner.token, &owner.key(), Some(&off)).await.json(StatusCode::OK);

    let ids = [
        other.user_id.to_string(),
        gone["user"].to_string(),
        "424242".to_owned(),
        "99999999999999999999".to_owned(),
        "-1".to_owned(),
        "abc".to_owned(),
        "1.5".to_owned(),
    ];
    for id in ids {
        let response =
            app.scoped(Method::GET, &format!("{USERS}{id}/"), &owner.token, &owner.key(), None).await;
        response.error(StatusCode::NOT_FOUND, "not_found");
    }
    // Non-numeric ids name nothing on the other routes with ids either.
    for (method, path) in [
        (Method::PATCH, "/api/users/users/abc/update-employee/"),
        (Method::PATCH, "/api/users/users/abc/update-profile/"),
        (Method::POST, "/api/users/users/abc/change-password/"),
        (Method::GET, "/api/users/employees/abc/"),
        (Method::POST, "/api/users/employees/abc/reset-password/"),
    ] {
        app.scoped(method, path, &owner.token, &owner.key(), Some(&json!({})))
            .await
            .error(StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn writes_to_a_user_name_the_route_to_use() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let anna = app.add_employee(&owner, "anna", "cashier").await;
    let user_id = anna["user"].as_i64().unwrap();

    for method in [Method::PUT, Method::PATCH] {
        let path = format!("{USERS}{user_id}/");
        let off = json!({"is_active": false});
        let response = app.scoped(method.clone(), &path, &owner.token, &owner.key(), Some(&off)).await;
        let body = response.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert_eq!(
            body["message"],
            "Для обновления сотрудника используйте PATCH /api/users/users/{id}/update-employee/"
        );
        assert_eq!(body["hint"], format!("Попробуйте: PATCH /api/users/users/{user_id}/update-employee/"));
        assert_eq!(body["errors"], json!({}));
    }
    let odd =
        app.scoped(Method::PUT, "/api/users/users/abc/", &owner.token, &owner.key(), Some(&json!({}))).await;
    let odd = odd.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(odd["hint"], "Попробуйте: PATCH /api/users/users/abc/update-employee/");

    let removed =
        app.scoped(Method::DELETE, &user_path(&json!(user_id)), &owner.token, &owner.key(), None).await;
    let removed = removed.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(removed["message"], "Используйте /api/users/employees/{id}/ для удаления сотрудника");
    assert!(removed.get("hint").is_none(), "{removed}");

    // Nothing changed: the employee is still active here.
    let page = app.users(&owner, "?name=anna").await.json(StatusCode::OK);
    assert_eq!(page["count"], 1);
}

#[tokio::test]
async fn update_employee_changes_the_row_here_under_the_employee_rules() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let (cashier, anna) = app.member(&owner, "anna", "cashier").await;
    let anna_id = anna["user"].as_i64().unwrap();

    let changes = json!({"phone": "+998 90 111-22-33", "position": "Старший кассир", "first_name": "Игнор", "store": 999});
    let body = app.update_employee(&owner, anna_id, &changes).await.json(StatusCode::OK);
    assert_eq!(body["status"], "success");
    assert_eq!(body["message"], "Информация о сотруднике обновлена");
    let employee = &body["data"]["employee"];
    assert_eq!(employee["id"], anna["id"]);
    assert_eq!(employee["user"], anna_id);
    assert_eq!(employee["phone"], "+998901112233");
    assert_eq!(employee["position"], "Старший кассир");
    assert_eq!(employee["first_name"], "Имя anna", "other fields are ignored");
    assert_eq!(employee["role_display"], "Кассир");
    assert_eq!(body["tenant_key"], owner.key().as_str());

    // Validated as the employee API validates.
    for (bad, field) in [
        (json!({"role": "boss"}), "role"),
        (json!({"phone": "12345"}), "phone"),
        (json!({"is_active": "abc"}), "is_active"),
        (json!({"position": "x".repeat(151)}), "position"),
    ] {
        let refused = app.update_employee(&owner, anna_id, &bad).await;
        let refused = refused.error(StatusCode::BAD_REQUEST, "validation_error");
        assert!(refused["errors"][field].is_array(), "{bad}: {refused}");
    }
    let stored: String = sqlx::query_scalar("select phone from tenant_lavka.employees where user_id = $1")
        .bind(anna_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, "+998901112233", "nothing refused was written");

    // A cashier changes nobody, not even themself.
    app.update_employee(&cashier, anna_id, &json!({"position": "Босс"}))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
}

#[tokio::test]
async fn update_employee_switches_the_account_on_or_off() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let (cashier, anna) = app.member(&owner, "anna", "cashier").await;
    let anna_id = anna["user"].as_i64().unwrap();

    let off = app.update_employee(&owner, anna_id, &json!({"is_active": false})).await.json(StatusCode::OK);
    assert_eq!(off["data"]["employee"]["is_active"], false);
    assert_eq!(app.users(&owner, "?name=anna").await.json(StatusCode::OK)["count"], 0);
    app.scoped(Method::GET, "/api/users/auth/me/", &cashier.token, &owner.key(), None)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");

    // Out of the list, still reachable here to come back.
    let on = app.update_employee(&owner, anna_id, &json!({"is_active": true})).await.json(StatusCode::OK);
    assert_eq!(on["data"]["employee"]["is_active"], true);
    assert_eq!(app.users(&owner, "?name=anna").await.json(StatusCode::OK)["count"], 1);
    app.sign_in("anna", EMPLOYEE_PASSWORD).await;

    let audit = app.audit_events(&owner, "?action=employee.activated").await.json(StatusCode::OK);
    assert_eq!(audit["count"], 1, "{audit}");
}

#[tokio::test]
async fn a_manager_neither_promotes_themself_nor_touches_the_owner() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let (manager, boss) = app.member(&owner, "boss", "manager").await;
    let boss_id = boss["user"].as_i64().unwrap();
    let anna = app.add_employee(&owner, "anna", "cashier").await;
    let anna_id = anna["user"].as_i64().unwrap();

    for role in ["owner", "stockkeeper"] {
        app.update_employee(&manager, boss_id, &json!({"role": role}))
            .await
            .error(StatusCode::FORBIDDEN, "permission_denied");
    }
    app.update_employee(&manager, owner.user_id, &json!({"position": "Никто"}))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    app.update_employee(&manager, owner.user_id, &json!({"is_active": false}))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    app.update_employee(&manager, anna_id, &json!({"role": "manager"}))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    app.scoped(Method::GET, "/api/users/employees/", &manager.token, &owner.key(), None)
        .await
        .json(StatusCode::OK);
    let me = app.scoped(Method::GET, "/api/users/auth/me/", &manager.token, &owner.key(), None).await;
    assert_eq!(me.json(StatusCode::OK)["data"]["role"], "manager");

    // What managers may do, they do.
    let moved = app.update_employee(&manager, anna_id, &json!({"role": "stockkeeper"})).await;
    assert_eq!(moved.json(StatusCode::OK)["data"]["employee"]["role"], "stockkeeper");
    let own = app.update_employee(&manager, boss_id, &json!({"position": "Старший"})).await;
    assert_eq!(own.json(StatusCode::OK)["data"]["employee"]["position"], "Старший");
}

#[tokio::test]
async fn a_manager_deactivated_here_writes_nothing_with_the_old_token() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let (manager, boss) = app.member(&owner, "boss", "manager").await;
    // The manager also runs a store of their own, so their session outlives the deactivation.
    app.json(Method::POST, "/api/users/stores/", &json!({"name": "Своя"}), Some(&manager.token))
        .await
        .json(StatusCode::CREATED);
    let anna = app.add_employee(&owner, "anna", "cashier").await;
    let anna_id = anna["user"].as_i64().unwrap();
    app.update_employee(&owner, boss["user"].as_i64().unwrap(), &json!({"is_active": false}))
        .await
        .json(StatusCode::OK);

    app.update_employee(&manager, anna_id, &json!({"position": "Взлом"}))
        .await
        .error(StatusCode::FORBIDDEN, "not_a_member");
    app.change_user_password(&manager, anna_id, &json!({"new_password": "Manager-Chosen-2026"}))
        .await
        .error(StatusCode::FORBIDDEN, "not_a_member");
    app.update_profile(&manager, anna_id, &json!({"first_name": "Взлом"}))
        .await
        .error(StatusCode::FORBIDDEN, "not_a_member");
    app.users(&manager, "").await.error(StatusCode::FORBIDDEN, "not_a_member");
    assert_eq!(app.count("select count(*) from tenant_lavka.employees where position = 'Взлом'").await, 0);
    app.sign_in("anna", EMPLOYEE_PASSWORD).await;
}

/// vlad's store with manager boss and cashier anna, both signed in: the app, the owner, boss,
/// anna, and anna's account id.
async fn boss_and_anna() -> (TestApp, Owner, Owner, Owner, i64) {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let [(manager, _), (cashier, anna)] =
        app.members(&owner, [("boss", "manager"), ("anna", "cashier")]).await;
    (app, owner, manager, cashier, anna["user"].as_i64().unwrap())
}

#[tokio::test]
async fn update_profile_renames_oneself_or_whom_one_outranks() {
    let (app, owner, manager, cashier, anna_id) = boss_and_anna().await;

    // Oneself, even as a cashier.
    let body = app
        .update_profile(&cashier, anna_id, &json!({"first_name": "Анна", "email": "anna@shop.uz"}))
        .await
        .json(StatusCode::OK);
    assert_eq!(body["status"], "success");
    assert_eq!(body["message"], "Профиль пользователя обновлен");
    assert_eq!(body["data"]["first_name"], "Анна");
    assert_eq!(body["data"]["full_name"], "Анна Сотрудник");
    assert_eq!(body["data"]["email"], "anna@shop.uz");
    assert_eq!(body["data"]["employee_info"]["role"], "cashier");
    assert_eq!(body["tenant_key"], owner.key().as_str());
    let employee_path = format!("/api/users/employees/{}/", body["data"]["employee_info"]["id"]);
    let employee =
        app.scoped(Method::GET, &employee_path, &owner.token, &owner.key(), None).await.json(StatusCode::OK);
    assert_eq!(employee["first_name"], "Анна", "the staff list shows the new name");

    // A manager renames a cashier, username included; she signs in by the new one.
    let renamed = app.update_profile(&manager, anna_id, &json!({"username": "anna_k"})).await;
    assert_eq!(renamed.json(StatusCode::OK)["data"]["username"], "anna_k");
    app.sign_in("anna_k", EMPLOYEE_PASSWORD).await;
    // One's own name in another letter case is still one's own.
    let cased = app.update_profile(&cashier, anna_id, &json!({"username": "Anna_K"})).await;
    assert_eq!(cased.json(StatusCode::OK)["data"]["username"], "Anna_K");

    // Nobody else, and not upward.
    app.update_profile(&cashier, owner.user_id, &json!({"first_name": "Взлом"}))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    app.update_profile(&manager, owner.user_id, &json!({"first_name": "Взлом"}))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    assert_eq!(app.count("select count(*) from public.users where first_name = 'Взлом'").await, 0);

    let audit = app.audit_events(&owner, "?action=account.updated").await.json(StatusCode::OK);
    assert_eq!(audit["count"], 3, "{audit}");
    let changes =
        audit["results"].as_array().unwrap().iter().map(|e| e["changes"].clone()).collect::<Vec<_>>();
    assert!(changes.contains(&json!({"username": {"before": "anna", "after": "anna_k"}})), "{audit}");
}

#[tokio::test]
async fn update_profile_validates_every_field() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let (cashier, anna) = app.member(&owner, "anna", "cashier").await;
    let anna_id = anna["user"].as_i64().unwrap();
    app.add_employee(&owner, "admin", "cashier").await;

    // Taken, in another case, or as a look-alike (Cyrillic а).
    for taken in ["admin", "ADMIN", "аdmin", "Vlad"] {
        app.update_profile(&cashier, anna_id, &json!({"username": taken}))
            .await
            .error(StatusCode::CONFLICT, "username_taken");
    }
    for (bad, field) in [
        (json!({"username": "anna k"}), "username"),
        (json!({"username": ""}), "username"),
        (json!({"email": "not-an-email"}), "email"),
        (json!({"first_name": "  "}), "first_name"),
        (json!({"last_name": "a\u{202E}b"}), "last_name"),
        (json!({"first_name": 5}), "first_name"),
    ] {
        let refused = app.update_profile(&cashier, anna_id, &bad).await;
        let refused = refused.error(StatusCode::BAD_REQUEST, "validation_error");
        assert!(refused["errors"][field].is_array(), "{bad}: {refused}");
    }
    let unchanged = app.sign_in("anna", EMPLOYEE_PASSWORD).await;
    assert_eq!(unchanged["user"]["email"], "");
}

#[tokio::test]
async fn change_password_ends_every_session_of_the_account() {
    let (app, owner, manager, cashier, anna_id) = boss_and_anna().await;

    for weak in [
        json!({"new_password": "12345678"}),
        json!({"new_password": "short"}),
        json!({}),
        json!({"new_password": "anna-anna-anna"}),
    ] {
        let refused = app.change_user_password(&manager, anna_id, &weak).await;
        let refused = refused.error(StatusCode::BAD_REQUEST, "validation_error");
        assert!(refused["errors"]["new_password"].is_array(), "{weak}: {refused}");
    }
    // Refusals changed nothing.
    app.scoped(Method::GET, "/api/users/auth/me/", &cashier.token, &owner.key(), None)
        .await
        .json(StatusCode::OK);

    let response =
        app.change_user_password(&manager, anna_id, &json!({"new_password": "Smena-Nochnaya-77"})).await;
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json(StatusCode::OK);
    assert_eq!(body["status"], "success");
    assert_eq!(body["message"], "Пароль для пользователя anna успешно изменен");
    assert_eq!(body["data"], json!({"user_id": anna_id, "username": "anna"}));
    assert_eq!(body["tenant_key"], owner.key().as_str());
    assert!(!response_mentions(&response, "Smena-Nochnaya-77"));

    app.scoped(Method::GET, "/api/users/auth/me/", &cashier.token, &owner.key(), None)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");
    let old = json!({"username": "anna", "password": EMPLOYEE_PASSWORD});
    app.json(Method::POST, "/api/users/auth/login/", &old, None)
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    app.sign_in("anna", "Smena-Nochnaya-77").await;
    let audit = app.audit_events(&owner, "?action=employee.password_reset").await.json(StatusCode::OK);
    assert_eq!(audit["count"], 1);
}

fn response_mentions(response: &TestResponse, text: &str) -> bool {
    String::from_utf8_lossy(&response.body).contains(text)
}

#[tokio::test]
async fn nobody_sets_the_password_of_the_owner_of_themself_or_of_someone_who_works_elsewhere() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let [(manager, boss), (cashier, anna)] =
        app.members(&owner, [("boss", "manager"), ("anna", "cashier")]).await;
    let new = json!({"new_password": "Manager-Chosen-2026"});

    let (boss_id, anna_id) = (boss["user"].as_i64().unwrap(), anna["user"].as_i64().unwrap());
    for (who, user_id) in
        [(&manager, owner.user_id), (&manager, boss_id), (&owner, owner.user_id), (&cashier, anna_id)]
    {
        app.change_user_password(who, user_id, &new).await.error(StatusCode::FORBIDDEN, "permission_denied");
    }
    app.sign_in("vlad", "Kassa-Strong-2026").await;

    // The cashier owns a store of their own: only they change their password now.
    app.json(Method::POST, "/api/users/stores/", &json!({"name": "Своя"}), Some(&cashier.token))
        .await
        .json(StatusCode::CREATED);
    for who in [&manager, &owner] {
        app.change_user_password(who, anna["user"].as_i64().unwrap(), &new)
            .await
            .error(StatusCode::FORBIDDEN, "account_elsewhere");
        app.update_profile(who, anna["user"].as_i64().unwrap(), &json!({"username": "stolen"}))
            .await
            .error(StatusCode::FORBIDDEN, "account_elsewhere");
    }
    app.sign_in("anna", EMPLOYEE_PASSWORD).await;
}

#[tokio::test]
async fn profile_is_me() {
    let (app, owner) = TestApp::with_owner("vlad", "Лавка").await;
    let me = app.scoped(Method::GET, "/api/users/auth/me/", &owner.token, &owner.key(), None).await;
    let profile = app.scoped(Method::GET, "/api/users/profile/", &owner.token, &owner.key(), None).await;
    assert_eq!(profile.json(StatusCode::OK), me.json(StatusCode::OK));
    let stranger = app.register_owner("petr", "Чужая").await;
    app.scoped(Method::GET, "/api/users/profile/", &stranger.token, &owner.key(), None)
        .await
        .error(StatusCode::FORBIDDEN, "not_a_member");
    app.get_as("/api/users/profile/", &owner.token)
        .await
        .error(StatusCode::BAD_REQUEST, "missing_tenant_key");
}

#[tokio::test]
async fn sign_in_opens_the_newest_store_first() {
    let (app, owner) = TestApp::with_owner("vlad", "Старая").await;
    let newer = app
        .json(Method::POST, "/api/users/stores/", &json!({"name": "Новая"}), Some(&owner.token))
        .await
        .json(StatusCode::CREATED);
    let newer_key = newer["data"]["store"]["tenant_key"].as_str().unwrap().to_owned();

    let login = app.sign_in("vlad", "Kassa-Strong-2026").await;
    assert_eq!(login["default_store"]["tenant_key"], newer_key.as_str());
    assert_eq!(login["default_store"]["name"], "Новая");
    assert_eq!(login["default_store"]["role"], "owner");
    let keys: Vec<&str> = login["available_stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tenant_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [newer_key.as_str(), owner.key().as_str()]);
}

#[tokio::test]
async fn create_answers_in_the_users_envelope_with_or_without_an_account() {
    let (app, owner) = TestApp::with_owner("ivan", "Альфа").await;
    let (manager, _) = app.member(&owner, "olga", "manager").await;
    let create = |who: &Owner, body: Value| {
        let (app, who) = (&app, who.clone());
        async move { app.scoped(Method::POST, USERS, &who.token, &who.key(), Some(&body)).await }
    };

    let response = create(
        &owner,
        json!({"username": "ucash", "first_name": "Дилшод", "last_name": "Юсупов",
                                         "role": "cashier", "password": "Kassa-Till-2026", "sex": "male"}),
    )
    .await;
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let created = response.json(StatusCode::CREATED);
    assert_eq!(created["message"], "Сотрудник создан");
    assert_eq!(created["data"]["username"], "ucash");
    assert_eq!(created["data"]["initial_password"], "Kassa-Till-2026");
    let employee = &created["data"]["employee"];
    assert_eq!(
        (employee["username"].clone(), employee["full_name"].clone()),
        (json!("ucash"), json!("Дилшод Юсупов"))
    );
    assert_eq!(employee["sex_display"], "Мужской");
    assert_eq!(created["tenant_key"], owner.key().as_str());
    app.sign_in("ucash", "Kassa-Till-2026").await;

    let without = create(&manager, json!({"first_name": "Вера", "last_name": "Наличная", "role": "cashier"}))
        .await
        .json(StatusCode::CREATED);
    assert_eq!(without["data"]["username"], Value::Null);
    assert_eq!(without["data"]["initial_password"], Value::Null);
    assert_eq!(without["data"]["employee"]["full_name"], "Наличная Вера");
    let listed = app.users(&owner, "?name=Вера").await.json(StatusCode::OK);
    assert_eq!(listed["count"], 0, "the users list holds accounts only");

    create(
        &manager,
        json!({"username": "boss2", "first_name": "Б", "role": "owner", "password": "Kassa-Till-2026"}),
    )
    .await
    .error(StatusCode::FORBIDDEN, "permission_denied");
    create(&owner, json!({})).await.error(StatusCode::BAD_REQUEST, "validation_error");
    create(&owner, json!({"username": "UCASH", "first_name": "Д", "role": "cashier"}))
        .await
        .error(StatusCode::CONFLICT, "username_taken");
    let (cashier, _) = app.member(&owner, "petr", "cashier").await;
    create(&cashier, json!({"first_name": "Х", "role": "cashier"}))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
}
