//! Usernames are unambiguous: compared after NFKC and case folding, and a new one is refused
//! (409 `username_taken`) when its Unicode TR39 confusable skeleton equals an existing
//! account's, on every path that makes an account, even when the look-alikes arrive at once.

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{EMPLOYEE_PASSWORD, TestApp, registration};

const PASSWORD: &str = "Kassa-Strong-2026";

async fn login(app: &TestApp, username: &str) -> crate::helpers::TestResponse {
    let body = json!({"username": username, "password": PASSWORD});
    app.json(Method::POST, "/api/users/auth/login/", &body, None).await
}

/// The accounts people made (each store's shared staff account aside).
async fn accounts(app: &TestApp) -> i64 {
    app.count("select count(*) from public.users u where not exists (select 1 from public.staff_accounts a where a.user_id = u.id)")
        .await
}

#[tokio::test]
async fn usernames_are_compared_folded() {
    let app = TestApp::spawn().await;
    let admin = app.register_owner("admin", "Лавка").await;
    // Besides the registration throttle, which counts every attempt that reaches it.
    let footprint = || async {
        let mut footprint = app.footprint().await;
        footprint.tables.remove("public.registration_throttle");
        footprint
    };
    let before = footprint().await;
    // Cyrillic а; fullwidth; another case; Cyrillic і; Greek Α; fullwidth capitals.
    for look_alike in ["аdmin", "ａｄｍｉｎ", "ADMIN", "admіn", "ΑDMIN", "ＡＤＭＩＮ"] {
        let response = app.register(&registration(look_alike, "Другая лавка")).await;
        let body = response.error(StatusCode::CONFLICT, "username_taken");
        assert!(body["errors"]["username"].is_array(), "{look_alike}: {body}");
    }
    assert_eq!(footprint().await, before, "a refused registration wrote something");

    for spelling in ["ADMIN", "ＡＤＭＩＮ", "ａｄｍｉｎ", " Admin "] {
        let body = login(&app, spelling).await.json(StatusCode::OK);
        assert_eq!(body["user"]["id"], admin.user_id, "{spelling}");
        assert_eq!(body["user"]["username"], "admin");
    }
    // A look-alike is not the name: it signs in as nobody.
    login(&app, "аdmin").await.error(StatusCode::UNAUTHORIZED, "authentication_failed");

    // A name that merely shares letters is someone else.
    app.register_owner("admin2", "Третья лавка").await;
    assert_eq!(accounts(&app).await, 2);
}

#[tokio::test]
async fn an_employee_cannot_be_given_a_look_alike_username() {
    let (app, owner) = TestApp::with_owner("owner", "Лавка").await;
    app.add_employee(&owner, "kassir", "cashier").await;
    let before = app.footprint().await;
    for look_alike in ["оwner", "ＯＷＮＥＲ", "kаssir", "KASSIR", "ｋａｓｓｉｒ"] {
        let body = json!({
            "username": look_alike, "first_name": "Имя", "role": "cashier", "password": EMPLOYEE_PASSWORD,
        });
        let response =
            app.scoped(Method::POST, "/api/users/employees/", &owner.token, &owner.key(), Some(&body)).await;
        let body = response.error(StatusCode::CONFLICT, "username_taken");
        assert!(body["errors"]["username"].is_array(), "{look_alike}: {body}");
    }
    assert_eq!(app.footprint().await, before, "a refused employee wrote something");
    let signed_in = app.sign_in("ＫＡＳＳＩＲ", EMPLOYEE_PASSWORD).await;
    assert_eq!(signed_in["user"]["username"], "kassir");
}

/// Every spelling of `admin` from Latin, fullwidth and Cyrillic/Greek look-alikes of `a`
/// and `i`, in either case: 25 distinct usernames that are all one name.
fn spellings_of_admin() -> Vec<String> {
    let a = ['a', 'A', 'ａ', 'Ａ', 'а'];
    let i = ['i', 'I', 'ｉ', 'Ｉ', 'і'];
    a.iter().flat_map(|a| i.iter().map(move |i| format!("{a}dm{i}n"))).collect()
}

#[tokio::test]
async fn a_parallel_flood_of_look_alike_registrations_creates_one_account() {
    // The flood comes from one address: the registration throttle is not what is tested.
    let app = TestApp::spawn_with(&[("REGISTRATION_LIMIT_PER_HOUR", "1000")]).await;
    let names = spellings_of_admin();
    assert_eq!(names.iter().collect::<std::collections::HashSet<_>>().len(), 25);
    let registrations = names.iter().enumerate().map(|(n, name)| {
        let app = &app;
        async move { app.register(&registration(name, &format!("Лавка {n}"))).await }
    });
    let responses = join_all(registrations).await;
    let created = responses.iter().filter(|response| response.status == StatusCode::CREATED).count();
    for response in responses.iter().filter(|response| response.status != StatusCode::CREATED) {
        response.error(StatusCode::CONFLICT, "username_taken");
    }
    assert_eq!(created, 1, "look-alikes registered side by side");
    assert_eq!(accounts(&app).await, 1);
    assert_eq!(app.count("select count(*) from public.stores").await, 1);
    assert_eq!(app.count("select count(*) from pg_namespace where nspname like 'tenant\\_%'").await, 1);
}

#[tokio::test]
async fn accounts_of_the_previous_release_are_keyed_by_the_migration() {
    let app = TestApp::spawn().await;
    let boss = app.register_owner("boss", "Лавка").await;
    // As the previous release writes them: no key. `bоss` (Cyrillic о) could be made then.
    sqlx::query("update public.users set username_key = null where username = 'boss'")
        .execute(&app.pool)
        .await
        .unwrap();
    let twin: i64 = sqlx::query_scalar(
        "insert into public.users (username, password_hash)
         select 'bоss', password_hash from public.users where username = 'boss' returning id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();

    // Without keys they are compared in Rust: no third look-alike.
    for look_alike in ["BOSS", "bоsѕ", "ｂｏｓｓ"] {
        app.register(&registration(look_alike, "Другая")).await.error(StatusCode::CONFLICT, "username_taken");
    }
    // The migration keys the older; the younger look-alike keeps its name and no key.
    let fill = kassa::credentials::queries::fill_username_keys(&app.pool).await.unwrap();
    assert_eq!((fill.keyed, fill.look_alikes), (1, vec![twin]));
    let keys: Vec<(String, Option<String>)> = sqlx::query_as(
        "select username, username_key from public.users where username not like '%\\_staff' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(keys[0], ("boss".to_owned(), Some("boss".to_owned())));
    assert_eq!(keys[1], ("bоss".to_owned(), None));
    app.register(&registration("BOSS", "Другая")).await.error(StatusCode::CONFLICT, "username_taken");

    // Each still signs in by their own name.
    assert_eq!(login(&app, "boss").await.json(StatusCode::OK)["user"]["id"], boss.user_id);
    assert_eq!(login(&app, "bоss").await.json(StatusCode::OK)["user"]["id"], twin);
    assert_eq!(login(&app, "BOSS").await.json(StatusCode::OK)["user"]["id"], boss.user_id);
}
