//! Each store's shared staff account `<slug>_staff`: made with the store (and by the
//! migration for older stores), linked to it by id, bound to it when it signs in, and read
//! back, rotated and switched off by the store's owner alone.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Owner, STAFF_PERMISSIONS, TestApp, registration, test_config};

fn credentials_of(owner: &Owner) -> (String, String) {
    let staff = &owner.data["staff_credentials"];
    (staff["username"].as_str().unwrap().to_owned(), staff["password"].as_str().unwrap().to_owned())
}

fn slug_of(owner: &Owner) -> String {
    owner.data["store"]["slug"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_new_store_comes_with_a_staff_account() {
    let app = TestApp::spawn().await;
    let response = app.register(&registration("staff_owner", "Лавка Сотрудников")).await;
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let data = response.json(StatusCode::CREATED)["data"].clone();
    let staff = &data["staff_credentials"];
    let slug = data["store"]["slug"].as_str().unwrap();
    assert_eq!(staff["username"], format!("{slug}_staff"), "{staff}");
    assert_eq!(staff["full_name"], "Сотрудники Лавка Сотрудников");
    assert_eq!(staff["is_active"], true);
    assert!(staff["note"].as_str().is_some_and(|n| !n.is_empty()));
    let password = staff["password"].as_str().unwrap();
    assert!(password.chars().filter(char::is_ascii_alphanumeric).count() >= 12, "{password}");
    assert!(!password.contains(['0', 'O', '1', 'l', 'I']), "{password}");
    assert_ne!(password, "12345678");

    // It signs in to its store alone, in the built-in role `staff`.
    let signed_in = app.login(staff["username"].as_str().unwrap(), password).await.json(StatusCode::OK);
    let stores = signed_in["available_stores"].as_array().unwrap();
    assert_eq!(stores.len(), 1, "{signed_in}");
    assert_eq!(stores[0]["role"], "staff");
    assert_eq!(stores[0]["permissions"], json!(STAFF_PERMISSIONS));
    assert_eq!(signed_in["default_store"]["tenant_key"], data["store"]["tenant_key"]);
    assert_eq!(signed_in["user"]["first_name"], "Сотрудники");
    assert_eq!(signed_in["user"]["last_name"], "Лавка Сотрудников");

    // A store opened later gets one of its own, handed over once, not cached.
    let owner_token = data["tokens"]["access"].as_str().unwrap();
    let created = app
        .json(Method::POST, "/api/users/stores/", &json!({"name": "Второй Склад"}), Some(owner_token))
        .await;
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let created = created.json(StatusCode::CREATED)["data"].clone();
    let second = &created["staff_credentials"];
    assert_eq!(second["username"], format!("{}_staff", created["store"]["slug"].as_str().unwrap()));
    assert_ne!(second["password"], staff["password"]);
    let second_login =
        app.login(second["username"].as_str().unwrap(), second["password"].as_str().unwrap()).await;
    let second_login = second_login.json(StatusCode::OK);
    assert_eq!(second_login["available_stores"][0]["tenant_key"], created["store"]["tenant_key"]);

    // The owner sees it among the store's staff.
    let key = data["store"]["tenant_key"].as_str().unwrap();
    let staff_list = app.scoped(Method::GET, "/api/users/employees/", owner_token, key, None).await;
    let staff_list = staff_list.json(StatusCode::OK);
    let listed = staff_list["results"].as_array().unwrap();
    assert!(
        listed.iter().any(|e| e["username"] == staff["username"] && e["role"] == "staff"),
        "{staff_list}"
    );
}

#[tokio::test]
async fn its_sessions_are_bound_to_its_store() {
    let (app, owner) = TestApp::with_owner("bound_owner", "Привязанная").await;
    let (username, password) = credentials_of(&owner);
    let other = app
        .json(Method::POST, "/api/users/stores/", &json!({"name": "Другая"}), Some(&owner.token))
        .await
        .json(StatusCode::CREATED);
    let other_key = other["data"]["store"]["tenant_key"].as_str().unwrap();

    let signed_in = app.login(&username, &password).await.json(StatusCode::OK);
    let access = signed_in["access"].as_str().unwrap();
    let me = app.scoped(Method::GET, "/api/users/auth/me/", access, &owner.key(), None).await;
    assert_eq!(me.json(StatusCode::OK)["data"]["role"], "staff");

    let refusals = [
        app.json(Method::POST, "/api/users/stores/", &json!({"name": "Своя"}), Some(access)).await,
        app.json(
            Method::POST,
            "/api/users/auth/change-password/",
            &json!({"old_password": password, "new_password": "Another-Staff-2026"}),
            Some(access),
        )
        .await,
        app.staff_credentials(access, &owner.key()).await,
        app.get_as("/api/users/stores/my-stores-with-credentials/", access).await,
        app.json(Method::POST, "/api/users/auth/logout-all/", &json!({}), Some(access)).await,
    ];
    for refused in refusals {
        refused.error(StatusCode::FORBIDDEN, "permission_denied");
    }
    let elsewhere = app.scoped(Method::GET, "/api/users/auth/me/", access, other_key, None).await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN, "{elsewhere:?}");
    assert_eq!(app.count("select count(*) from public.stores").await, 2);
    // Its password is what it was.
    app.login(&username, &password).await.json(StatusCode::OK);

    // A refreshed session stays bound.
    let refreshed = app
        .json(Method::POST, "/api/users/auth/token/refresh/", &json!({"refresh": signed_in["refresh"]}), None)
        .await
        .json(StatusCode::OK);
    let refreshed_access = refreshed["access"].as_str().unwrap();
    app.json(Method::POST, "/api/users/stores/", &json!({"name": "Своя"}), Some(refreshed_access))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    let mine = app.get_as("/api/users/auth/my-stores/", refreshed_access).await.json(StatusCode::OK);
    assert_eq!(mine["data"].as_array().unwrap().len(), 1, "{mine}");
}

#[tokio::test]
async fn only_the_owner_reads_the_staff_password() {
    let (app, owner) = TestApp::with_owner("reading_owner", "Читальня").await;
    let (username, password) = credentials_of(&owner);
    let (manager, _) = app.member(&owner, "reading_manager", "manager").await;

    app.staff_credentials(&manager.token, &owner.key())
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    let none = app.get_as("/api/users/stores/my-stores-with-credentials/", &manager.token).await;
    assert_eq!(none.json(StatusCode::OK)["data"], json!({"count": 0, "stores": []}));

    let read = app.staff_credentials(&owner.token, &owner.key()).await;
    assert_eq!(read.header("cache-control"), Some("no-store"));
    let read = read.json(StatusCode::OK);
    assert_eq!(read["status"], "success");
    assert_eq!(read["data"]["username"], username.as_str());
    assert_eq!(read["data"]["password"], password.as_str());
    assert_eq!(read["data"]["is_active"], true);
    assert_eq!(read["data"]["store_name"], "Читальня");
    assert_eq!(read["data"]["tenant_key"], owner.key().as_str());
    assert_eq!(read["tenant_key"], owner.key().as_str());

    let second = app
        .json(Method::POST, "/api/users/stores/", &json!({"name": "Новее"}), Some(&owner.token))
        .await
        .json(StatusCode::CREATED);
    let listed = app.get_as("/api/users/stores/my-stores-with-credentials/", &owner.token).await;
    assert_eq!(listed.header("cache-control"), Some("no-store"));
    let listed = listed.json(StatusCode::OK);
    assert_eq!(listed["data"]["count"], 2, "{listed}");
    let stores = listed["data"]["stores"].as_array().unwrap();
    assert_eq!(stores[0]["id"], second["data"]["store"]["id"], "newest first: {listed}");
    assert_eq!(stores[0]["staff_credentials"], second["data"]["staff_credentials"]);
    assert_eq!(stores[1]["tenant_key"], owner.key().as_str());
    assert_eq!(stores[1]["staff_credentials"]["password"], password.as_str());
    assert_eq!(stores[1]["staff_credentials_missing"], false);
    assert!(stores[1]["role"].is_string() && stores[1]["employee_count"].is_number(), "{listed}");

    // The GET and the list each left an event in this store's trail, naming no password.
    let audit = app.audit_events(&owner, "?action=staff_account.password_viewed").await.json(StatusCode::OK);
    assert_eq!(audit["count"], 2, "{audit}");
    assert!(!audit.to_string().contains(&password), "{audit}");
    assert_eq!(audit["results"][0]["actor_id"], owner.user_id);
}

/// Every text of every row of every table in `public` and the store schemas.
async fn every_stored_text(app: &TestApp) -> String {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "select table_schema::text, table_name::text from information_schema.tables
         where table_type = 'BASE TABLE' and (table_schema = 'public' or table_schema like 'tenant\\_%')",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut everything = String::new();
    for (schema, table) in tables {
        let sql = format!("select coalesce(string_agg(t::text, E'\\n'), '') from \"{schema}\".\"{table}\" t");
        let rows: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&app.pool).await.unwrap();
        everything.push_str(&rows);
    }
    everything
}

#[tokio::test]
async fn the_password_is_never_stored_in_the_clear() {
    let (app, owner) = TestApp::with_owner("sealed_owner", "Сейф").await;
    let (username, first) = credentials_of(&owner);
    let rotated = app
        .scoped(Method::POST, "/api/users/stores/staff-credentials/rotate/", &owner.token, &owner.key(), None)
        .await
        .json(StatusCode::OK);
    let second = rotated["data"]["password"].as_str().unwrap().to_owned();
    app.login(&username, &second).await.json(StatusCode::OK);

    let stored = every_stored_text(&app).await;
    assert!(stored.contains(&username), "the scan reads the tables");
    for password in [&first, &second] {
        assert!(!stored.contains(password.as_str()), "{password} is stored in the clear");
    }
    let sealed: String = sqlx::query_scalar("select password_ciphertext from public.staff_accounts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(sealed.starts_with("v1:"), "{sealed}");
}

#[tokio::test]
async fn rotation_retires_the_old_staff_password() {
    let (app, owner) = TestApp::with_owner("rotating_owner", "Ротация").await;
    let (username, old_password) = credentials_of(&owner);
    let signed_in = app.login(&username, &old_password).await.json(StatusCode::OK);
    let access = signed_in["access"].as_str().unwrap();
    let (manager, _) = app.member(&owner, "rotating_manager", "manager").await;
    let rotate = |token: String| {
        let key = owner.key();
        let app = &app;
        async move {
            app.scoped(Method::POST, "/api/users/stores/staff-credentials/rotate/", &token, &key, None).await
        }
    };

    rotate(manager.token.clone()).await.error(StatusCode::FORBIDDEN, "permission_denied");
    app.login(&username, &old_password).await.json(StatusCode::OK);

    let rotated = rotate(owner.token.clone()).await;
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let rotated = rotated.json(StatusCode::OK);
    let new_password = rotated["data"]["password"].as_str().unwrap();
    assert_ne!(new_password, old_password);
    assert_eq!(rotated["data"]["username"], username.as_str());

    app.scoped(Method::GET, "/api/users/auth/me/", access, &owner.key(), None)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");
    let refresh = app
        .json(Method::POST, "/api/users/auth/token/refresh/", &json!({"refresh": signed_in["refresh"]}), None)
        .await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED, "{refresh:?}");
    app.login(&username, &old_password).await.error(StatusCode::UNAUTHORIZED, "authentication_failed");
    app.login(&username, new_password).await.json(StatusCode::OK);
    let read = app.staff_credentials(&owner.token, &owner.key()).await.json(StatusCode::OK);
    assert_eq!(read["data"]["password"], new_password);

    // Nobody resets it another way, which would leave the owner reading a stale password.
    let staff_id = staff_employee_id(&app, &owner).await;
    app.scoped(
        Method::POST,
        &format!("/api/users/employees/{staff_id}/reset-password/"),
        &owner.token,
        &owner.key(),
        Some(&json!({"new_password": "Owner-Chosen-2026"})),
    )
    .await
    .error(StatusCode::FORBIDDEN, "permission_denied");
    app.login(&username, new_password).await.json(StatusCode::OK);
}

async fn staff_employee_id(app: &TestApp, owner: &Owner) -> Value {
    let list = app.scoped(Method::GET, "/api/users/employees/", &owner.token, &owner.key(), None).await;
    let list = list.json(StatusCode::OK);
    let staff = list["results"].as_array().unwrap().iter().find(|e| e["role"] == "staff").cloned();
    staff.unwrap_or_else(|| panic!("no staff account listed: {list}"))["id"].clone()
}

#[tokio::test]
async fn a_switched_off_staff_account_is_signed_out() {
    let (app, owner) = TestApp::with_owner("switching_owner", "Выключатель").await;
    let (username, password) = credentials_of(&owner);
    let access =
        app.login(&username, &password).await.json(StatusCode::OK)["access"].as_str().unwrap().to_owned();
    let switch = |active: bool| {
        let (app, owner) = (&app, &owner);
        async move {
            let body = json!({"is_active": active});
            app.scoped(
                Method::PATCH,
                "/api/users/stores/staff-credentials/",
                &owner.token,
                &owner.key(),
                Some(&body),
            )
            .await
        }
    };

    let off = switch(false).await;
    assert_eq!(off.header("cache-control"), Some("no-store"));
    let off = off.json(StatusCode::OK);
    assert_eq!(off["data"]["is_active"], false);
    assert_eq!(off["data"]["password"], Value::Null, "switching shows no password");
    app.scoped(Method::GET, "/api/users/auth/me/", &access, &owner.key(), None)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.login(&username, &password).await.error(StatusCode::UNAUTHORIZED, "authentication_failed");
    let listed =
        app.get_as("/api/users/stores/my-stores-with-credentials/", &owner.token).await.json(StatusCode::OK);
    assert_eq!(listed["data"]["stores"][0]["staff_credentials"]["is_active"], false, "{listed}");

    switch(true).await.json(StatusCode::OK);
    app.login(&username, &password).await.json(StatusCode::OK);
    app.scoped(
        Method::PATCH,
        "/api/users/stores/staff-credentials/",
        &owner.token,
        &owner.key(),
        Some(&json!({"is_active": "no"})),
    )
    .await
    .error(StatusCode::BAD_REQUEST, "validation_error");
    let audit = app.audit_events(&owner, "").await.json(StatusCode::OK).to_string();
    assert!(
        audit.contains("staff_account.deactivated") && audit.contains("staff_account.activated"),
        "{audit}"
    );
}

#[tokio::test]
async fn usernames_ending_in_staff_are_reserved() {
    let app = TestApp::spawn().await;
    for taken in ["someone_staff", "Shop_STAFF", "shop_ѕtaff"] {
        let refused = app
            .register(&registration(taken, "Захват"))
            .await
            .error(StatusCode::BAD_REQUEST, "validation_error");
        assert!(refused["errors"]["username"].is_array(), "{taken}: {refused}");
    }
    let owner = app.register_owner("reserving_owner", "Резерв").await;
    let body = json!({"username": "cashier_staff", "first_name": "Касса", "role": "cashier", "password": "Till-Secret-2026"});
    let refused = app
        .scoped(Method::POST, "/api/users/employees/", &owner.token, &owner.key(), Some(&body))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
    assert!(refused["errors"]["username"].is_array(), "{refused}");
    // Nor can the owner take the staff account into another store of theirs.
    let (username, _) = credentials_of(&owner);
    let body = json!({"username": username, "first_name": "Касса", "role": "cashier"});
    let other = app
        .json(Method::POST, "/api/users/stores/", &json!({"name": "Ещё"}), Some(&owner.token))
        .await
        .json(StatusCode::CREATED);
    let other_key = other["data"]["store"]["tenant_key"].as_str().unwrap();
    app.scoped(Method::POST, "/api/users/employees/", &owner.token, other_key, Some(&body))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
}

#[tokio::test]
async fn the_migration_gives_an_older_store_its_own_account_never_one_found_by_name() {
    let (app, owner) = TestApp::with_owner("older_owner", "Старый").await;
    let (squatted, _) = credentials_of(&owner);
    // A store from before staff accounts: no link, no member; an account made before the
    // name was reserved holds `<slug>_staff`.
    for statement in [
        "delete from public.staff_accounts",
        "delete from public.store_memberships where role = 'staff'",
        "update public.users set first_name = 'Захватчик', last_name = 'Имени' where username like '%\\_staff'",
    ] {
        sqlx::query(statement).execute(&app.pool).await.unwrap();
    }
    let schema = owner.data["store"]["schema_name"].as_str().unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("delete from \"{schema}\".employees where role = 'staff'")))
        .execute(&app.pool)
        .await
        .unwrap();
    app.staff_credentials(&owner.token, &owner.key()).await.error(StatusCode::NOT_FOUND, "not_found");
    let listed =
        app.get_as("/api/users/stores/my-stores-with-credentials/", &owner.token).await.json(StatusCode::OK);
    assert_eq!(listed["data"]["stores"][0]["staff_credentials"], Value::Null, "{listed}");
    assert_eq!(listed["data"]["stores"][0]["staff_credentials_missing"], true, "{listed}");

    let state = kassa::state::AppState::new(Arc::new(test_config(&[])), app.pool.clone());
    let args = kassa::cli::migrate::MigrateArgs { jobs: 2 };
    kassa::cli::migrate::migrate_all(&state, &args).await.unwrap();
    kassa::cli::migrate::migrate_all(&state, &args).await.unwrap();
    assert_eq!(app.count("select count(*) from public.staff_accounts").await, 1, "made once");

    let read = app.staff_credentials(&owner.token, &owner.key()).await.json(StatusCode::OK);
    let username = read["data"]["username"].as_str().unwrap();
    assert_eq!(username, format!("{}_2_staff", slug_of(&owner)));
    assert_ne!(username, squatted);
    assert_eq!(read["data"]["full_name"], "Сотрудники Старый");
    let signed_in =
        app.login(username, read["data"]["password"].as_str().unwrap()).await.json(StatusCode::OK);
    assert_eq!(signed_in["available_stores"][0]["role"], "staff");
    assert_eq!(signed_in["default_store"]["tenant_key"], owner.key().as_str());
}

#[tokio::test]
async fn the_store_roles_list_the_staff_role_as_a_built_in() {
    let (app, owner) = TestApp::with_owner("roles_owner", "Роли").await;
    let roles = app.scoped(Method::GET, "/api/users/store-roles/", &owner.token, &owner.key(), None).await;
    let roles = roles.json(StatusCode::OK);
    let staff = roles["data"].as_array().unwrap().iter().find(|r| r["code"] == "staff").cloned();
    let staff = staff.unwrap_or_else(|| panic!("no staff role: {roles}"));
    assert_eq!(staff["rank"], 10);
    assert_eq!(staff["built_in"], true);
    assert_eq!(staff["permissions"], json!(STAFF_PERMISSIONS));
    assert_eq!(staff["member_count"], 1);
}

#[tokio::test]
async fn nobody_renames_the_shared_account() {
    let (app, owner) = TestApp::with_owner("naming_owner", "Именная").await;
    let (username, _) = credentials_of(&owner);
    let users = app.scoped(Method::GET, "/api/users/users/", &owner.token, &owner.key(), None).await;
    let users = users.json(StatusCode::OK);
    let staff_id = users["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username.as_str())
        .unwrap()["id"]
        .clone();

    for body in [json!({"username": "renamed"}), json!({"first_name": "Кто-то"})] {
        let renamed = app
            .scoped(
                Method::PATCH,
                &format!("/api/users/users/{staff_id}/update-profile/"),
                &owner.token,
                &owner.key(),
                Some(&body),
            )
            .await;
        renamed.error(StatusCode::FORBIDDEN, "permission_denied");
    }
    let kept: String = sqlx::query_scalar("select username from users where id = $1")
        .bind(staff_id.as_i64().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept, username);
}
