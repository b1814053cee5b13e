//! Cashiers without an account: added by the POS app's back office with a name and a role,
//! named by the till that sells for them, never signing in themselves; and the `sex` field.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Owner, TestApp};

const EMPLOYEES: &str = "/api/users/employees/";
const CASHIERS: &str = "/api/users/employees/cashiers/";

/// The back office's own body for a cashier without an account.
fn anna() -> Value {
    json!({"first_name": "Анна", "last_name": "Кассирова", "phone": "+998901110001", "role": "cashier",
           "position": "Кассир", "sex": "female"})
}

/// Adds the employee `body` describes to `owner`'s store: the employee as the 201 shows it.
async fn hire(app: &TestApp, owner: &Owner, body: &Value) -> Value {
    app.create_employee(owner, body).await.json(StatusCode::CREATED)["data"]["employee"].clone()
}

#[tokio::test]
async fn a_cashier_without_a_username_gets_no_account() {
    let (app, owner) = TestApp::with_owner("ivan", "Альфа").await;
    let accounts_before = app.count("select count(*) from users").await;
    let memberships_before = app.count("select count(*) from store_memberships").await;

    let response = app.create_employee(&owner, &anna()).await;

    let created = response.json(StatusCode::CREATED);
    assert_eq!(created["data"]["credentials"], Value::Null);
    assert_eq!(created["data"]["is_existing_user"], false);
    let employee = &created["data"]["employee"];
    for field in ["user", "username", "email"] {
        assert_eq!(employee[field], Value::Null, "{field}");
    }
    assert_eq!(employee["full_name"], "Кассирова Анна", "last name first, as the till shows it");
    assert_eq!(employee["role"], "cashier");
    assert_eq!(employee["phone"], "+998901110001");
    assert_eq!(employee["sex"], "female");
    assert_eq!(employee["sex_display"], "Женский");
    assert_eq!(app.count("select count(*) from users").await, accounts_before, "no account");
    assert_eq!(app.count("select count(*) from store_memberships").await, memberships_before);

    let listed =
        app.scoped(Method::GET, EMPLOYEES, &owner.token, &owner.key(), None).await.json(StatusCode::OK);
    assert_eq!(listed["count"], 3, "the owner, the store's shared account and Anna");
    assert_eq!(listed["results"][0]["full_name"], "Кассирова Анна");
    let read = app
        .scoped(Method::GET, &format!("{EMPLOYEES}{}/", employee["id"]), &owner.token, &owner.key(), None)
        .await
        .json(StatusCode::OK);
    assert_eq!(read["username"], Value::Null);
}

#[tokio::test]
async fn an_account_is_optional_for_cashiers_alone() {
    let (app, owner) = TestApp::with_owner("ivan", "Альфа").await;
    let employees_before = app.count("select count(*) from tenant_alfa.employees").await;

    for role in ["stockkeeper", "manager"] {
        let errors = app
            .create_employee(&owner, &json!({"first_name": "Склад", "role": role}))
            .await
            .error(StatusCode::BAD_REQUEST, "validation_error")["errors"]
            .clone();
        assert_eq!(errors["username"][0], "Для этой роли требуется username", "{role}");
    }
    for extra in [json!({"password": "Kassa-Till-2026"}), json!({"password": ""}), json!({"email": "a@b.uz"})]
    {
        let mut body = json!({"first_name": "Гули", "role": "cashier", "username": " "});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let errors = app
            .create_employee(&owner, &body)
            .await
            .error(StatusCode::BAD_REQUEST, "validation_error")["errors"]
            .clone();
        assert!(errors["username"].is_array(), "{body}: {errors}");
    }
    let errors = app
        .create_employee(&owner, &json!({"role": "cashier"}))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error")["errors"]
        .clone();
    assert!(errors["first_name"].is_array(), "a name is all that tells them apart: {errors}");
    assert_eq!(app.count("select count(*) from tenant_alfa.employees").await, employees_before);

    // A blank username counts as none.
    let blank = json!({"first_name": "Гули", "last_name": "Пустая", "role": "cashier", "username": ""});
    let created = app.create_employee(&owner, &blank).await.json(StatusCode::CREATED);
    assert_eq!(created["data"]["employee"]["username"], Value::Null);
}

#[tokio::test]
async fn the_cashier_list_holds_the_active_till_staff_newest_first() {
    let (app, owner) = TestApp::with_owner("ivan", "Альфа").await;
    let anna = hire(&app, &owner, &anna()).await;
    let bobur = hire(&app, &owner, &json!({"first_name": "Бобур", "role": "cashier"})).await;
    let gone = hire(&app, &owner, &json!({"first_name": "Ушёл", "role": "cashier"})).await;
    let (cashier, _) = app.member(&owner, "petr", "cashier").await;
    app.patch_employee(&owner, &bobur["id"], &json!({"role": "stockkeeper"})).await.json(StatusCode::OK);
    app.patch_employee(&owner, &gone["id"], &json!({"is_active": false})).await.json(StatusCode::OK);

    for caller in [&owner, &cashier] {
        let list = app.cashiers(caller).await.json(StatusCode::OK);
        assert_eq!(list["status"], "success");
        assert_eq!(list["tenant_key"], owner.key().as_str());
        assert_eq!(
            list["data"],
            json!([
                {"id": bobur["id"], "full_name": "Бобур", "phone": "", "role": "stockkeeper"},
                {"id": anna["id"], "full_name": "Кассирова Анна", "phone": "+998901110001", "role": "cashier"},
            ]),
            "employees with an account (petr) and deactivated ones are not listed"
        );
    }
    app.patch_employee(&owner, &gone["id"], &json!({"is_active": true})).await.json(StatusCode::OK);
    assert_eq!(app.cashiers(&owner).await.json(StatusCode::OK)["data"][0]["id"], gone["id"]);
    let removed = app
        .scoped(Method::DELETE, &format!("{EMPLOYEES}{}/", gone["id"]), &owner.token, &owner.key(), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(app.cashiers(&owner).await.json(StatusCode::OK)["data"].as_array().unwrap().len(), 2);
    let staff =
        app.scoped(Method::GET, EMPLOYEES, &owner.token, &owner.key(), None).await.json(StatusCode::OK);
    assert!(staff["results"].as_array().unwrap().iter().all(|e| e["id"] != gone["id"]), "removed: {staff}");
}

#[tokio::test]
async fn the_cashier_list_is_for_members_of_the_store_alone() {
    let app = TestApp::spawn().await;
    let alfa = app.register_owner("ivan", "Альфа").await;
    let beta = app.register_owner("olga", "Бета").await;
    app.create_employee(&alfa, &anna()).await.json(StatusCode::CREATED);

    let stranger = Owner { token: beta.token.clone(), ..alfa.clone() };
    app.cashiers(&stranger).await.error(StatusCode::FORBIDDEN, "not_a_member");
    assert_eq!(app.cashiers(&beta).await.json(StatusCode::OK)["data"], json!([]), "nothing crosses stores");
    let no_key = app.get_as(CASHIERS, &alfa.token).await;
    no_key.error(StatusCode::BAD_REQUEST, "missing_tenant_key");
    let no_token = app.scoped(Method::GET, CASHIERS, "", &alfa.key(), None).await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_cashier_without_an_account_can_be_renamed_but_has_no_password_to_reset() {
    let (app, owner) = TestApp::with_owner("ivan", "Альфа").await;
    let anna = hire(&app, &owner, &anna()).await;

    let renamed = app
        .patch_employee(&owner, &anna["id"], &json!({"first_name": "Анна-Мария"}))
        .await
        .json(StatusCode::OK);
    assert_eq!(renamed["full_name"], "Кассирова Анна-Мария");
    let reset = app
        .scoped(
            Method::POST,
            &format!("{EMPLOYEES}{}/reset-password/", anna["id"]),
            &owner.token,
            &owner.key(),
            Some(&json!({})),
        )
        .await;
    reset.error(StatusCode::CONFLICT, "no_account");
}

#[tokio::test]
async fn sex_is_validated_on_every_write() {
    let (app, owner) = TestApp::with_owner("ivan", "Альфа").await;
    let employee = app.add_employee(&owner, "petr", "cashier").await;
    assert_eq!(employee["sex"], Value::Null);
    assert_eq!(employee["sex_display"], Value::Null);

    let male =
        app.patch_employee(&owner, &employee["id"], &json!({"sex": "male"})).await.json(StatusCode::OK);
    assert_eq!((male["sex"].clone(), male["sex_display"].clone()), (json!("male"), json!("Мужской")));
    let unchanged = app
        .patch_employee(&owner, &employee["id"], &json!({"position": "Старший"}))
        .await
        .json(StatusCode::OK);
    assert_eq!(unchanged["sex"], "male", "left out keeps it");
    let cleared =
        app.patch_employee(&owner, &employee["id"], &json!({"sex": null})).await.json(StatusCode::OK);
    assert_eq!(cleared["sex"], Value::Null);

    for bad in [json!("x"), json!("unknown"), json!("abcdefghijkl"), json!(1), json!("Male")] {
        let errors = app
            .patch_employee(&owner, &employee["id"], &json!({"sex": bad}))
            .await
            .error(StatusCode::BAD_REQUEST, "validation_error")["errors"]
            .clone();
        assert!(errors["sex"].is_array(), "{bad}: {errors}");
        let mut body = anna();
        body["sex"] = bad.clone();
        app.create_employee(&owner, &body).await.error(StatusCode::BAD_REQUEST, "validation_error");
    }
    let sex: Option<String> = sqlx::query_scalar("select sex from tenant_alfa.employees where id = $1")
        .bind(employee["id"].as_i64().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sex, None, "refused values change nothing");
}

#[tokio::test]
async fn a_cashier_given_an_account_later_signs_in() {
    let (app, owner) = TestApp::with_owner("ivan", "Альфа").await;
    let anna = hire(&app, &owner, &anna()).await;
    let account_path = format!("{EMPLOYEES}{}/account/", anna["id"]);
    let give = |body: Value| {
        let (app, owner, path) = (&app, &owner, account_path.clone());
        async move { app.scoped(Method::POST, &path, &owner.token, &owner.key(), Some(&body)).await }
    };

    give(json!({"username": "ivan"})).await.error(StatusCode::CONFLICT, "username_taken");
    give(json!({"username": "anna", "password": "123"}))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
    let response = give(json!({"username": "anna", "email": "anna@example.uz"})).await;

    assert_eq!(response.header("cache-control"), Some("no-store"));
    let given = response.json(StatusCode::CREATED);
    let password = given["data"]["credentials"]["password"].as_str().unwrap().to_owned();
    assert_eq!(given["data"]["credentials"]["username"], "anna");
    let employee = &given["data"]["employee"];
    assert_eq!((employee["id"].clone(), employee["username"].clone()), (anna["id"].clone(), json!("anna")));
    assert_eq!(employee["full_name"], "Анна Кассирова", "with an account, first name first");
    assert_eq!(employee["sex"], "female", "the profile stays");
    give(json!({"username": "anna2"})).await.error(StatusCode::CONFLICT, "account_exists");

    let login = app.sign_in("anna", &password).await;
    assert_eq!(login["available_stores"][0]["role"], "cashier");
    let list = app.cashiers(&owner).await.json(StatusCode::OK);
    assert_eq!(list["data"], json!([]), "with an account she signs in herself");
    let token = login["access"].as_str().unwrap();
    let me =
        app.scoped(Method::GET, "/api/users/auth/me/", token, &owner.key(), None).await.json(StatusCode::OK);
    assert_eq!(me["data"]["employee"]["id"], anna["id"]);
}

#[tokio::test]
async fn a_manager_gives_accounts_to_cashiers_only() {
    let (app, owner) = TestApp::with_owner("ivan", "Альфа").await;
    let [(manager, _), (cashier, _)] = app.members(&owner, [("olga", "manager"), ("petr", "cashier")]).await;
    let anna = hire(&app, &owner, &anna()).await;
    let path = format!("{EMPLOYEES}{}/account/", anna["id"]);

    let refused = app
        .scoped(Method::POST, &path, &cashier.token, &cashier.key(), Some(&json!({"username": "a1"})))
        .await;
    refused.error(StatusCode::FORBIDDEN, "permission_denied");
    assert_eq!(app.count("select count(*) from users where username = 'a1'").await, 0);
    let given = app
        .scoped(Method::POST, &path, &manager.token, &manager.key(), Some(&json!({"username": "a1"})))
        .await;
    given.json(StatusCode::CREATED);
}

#[tokio::test]
async fn an_owner_adds_their_manager_to_a_second_store_by_username() {
    let (app, owner) = TestApp::with_owner("ivan", "Альфа").await;
    let (manager, _) = app.member(&owner, "olga", "manager").await;
    let beta = app.open_second_store(&owner, "Бета").await;

    let added = app
        .create_employee(
            &beta,
            &json!({"username": "OLGA", "first_name": "x", "role": "cashier", "position": "Кассир"}),
        )
        .await
        .json(StatusCode::CREATED);
    assert_eq!(added["message"], "Сотрудник добавлен в магазин");
    assert_eq!(added["data"]["is_existing_user"], true);
    assert_eq!(added["data"]["credentials"], Value::Null);
    assert_eq!(added["data"]["employee"]["username"], "olga");
    assert_eq!(added["data"]["employee"]["role"], "cashier", "the role is the store's own");
    let login = app.sign_in("olga", crate::helpers::EMPLOYEE_PASSWORD).await;
    let roles: Vec<_> =
        login["available_stores"].as_array().unwrap().iter().map(|s| s["role"].clone()).collect();
    assert_eq!(roles, [json!("cashier"), json!("manager")], "newest store first");

    // Again, with a password, or for an account the caller does not outrank everywhere: 409.
    app.create_employee(&beta, &json!({"username": "olga", "first_name": "x", "role": "cashier"}))
        .await
        .error(StatusCode::CONFLICT, "username_taken");
    let stranger = app.register_owner("petr", "Гамма").await;
    for body in [
        json!({"username": "petr", "first_name": "x", "role": "cashier"}),
        json!({"username": "ivan", "first_name": "x", "role": "cashier"}),
    ] {
        app.create_employee(&manager, &body).await.error(StatusCode::CONFLICT, "username_taken");
    }
    app.create_employee(&owner, &json!({"username": "petr", "first_name": "x", "role": "cashier"}))
        .await
        .error(StatusCode::CONFLICT, "username_taken");
    let memberships: i64 = sqlx::query_scalar("select count(*) from store_memberships where user_id = $1")
        .bind(stranger.user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(memberships, 1, "a stranger's account is nobody else's to add");
}

#[tokio::test]
async fn someone_removed_from_a_store_comes_back_on_their_old_row() {
    let (app, owner) = TestApp::with_owner("ivan", "Альфа").await;
    let employee = app.add_employee(&owner, "olga", "cashier").await;
    let beta = app.open_second_store(&owner, "Бета").await;
    app.create_employee(&beta, &json!({"username": "olga", "first_name": "x", "role": "cashier"}))
        .await
        .json(StatusCode::CREATED);
    let path = format!("{EMPLOYEES}{}/", employee["id"]);
    let removed = app.scoped(Method::DELETE, &path, &owner.token, &owner.key(), None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);

    let back = app
        .create_employee(&owner, &json!({"username": "olga", "first_name": "x", "role": "stockkeeper"}))
        .await
        .json(StatusCode::CREATED);

    assert_eq!(back["data"]["employee"]["id"], employee["id"], "one row per account and store");
    assert_eq!(back["data"]["employee"]["role"], "stockkeeper");
    assert_eq!(back["data"]["employee"]["is_active"], true);
    let read = app.scoped(Method::GET, &path, &owner.token, &owner.key(), None).await.json(StatusCode::OK);
    assert_eq!(read["username"], "olga");
}

#[tokio::test]
async fn an_account_that_works_nowhere_is_nobodys_to_add() {
    let (app, owner) = TestApp::with_owner("ivan", "Альфа").await;
    let employee = app.add_employee(&owner, "olga", "cashier").await;
    let path = format!("{EMPLOYEES}{}/", employee["id"]);
    let removed = app.scoped(Method::DELETE, &path, &owner.token, &owner.key(), None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);

    app.create_employee(&owner, &json!({"username": "olga", "first_name": "x", "role": "stockkeeper"}))
        .await
        .error(StatusCode::CONFLICT, "username_taken");
}
