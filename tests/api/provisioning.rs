//! Public provisioning is bounded: one client address gets `REGISTRATION_LIMIT_PER_HOUR`
//! registrations an hour (username probes included), counted atomically and shared by every
//! instance, and one account owns at most `MAX_STORES_PER_OWNER` stores, however many
//! creations run at once.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use futures_util::future::join_all;
use kassa::db::pool;
use kassa::router::build_router;
use kassa::state::AppState;
use serde_json::{Value, json};

use crate::helpers::{TestApp, registration, send, test_config};

/// `POST /auth/register/` for `username` through a trusted proxy (the test's own socket)
/// for client `ip`: its status, `Retry-After` and body.
async fn register_from(addr: SocketAddr, ip: &str, username: &str) -> (u16, Option<u64>, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/users/auth/register/"))
        .header("x-forwarded-for", ip)
        .json(&registration(username, &format!("Магазин {username}")))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry_after, response.json().await.unwrap())
}

async fn proxied_app(registrations_per_hour: &str) -> (TestApp, SocketAddr) {
    let app = TestApp::spawn_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("REGISTRATION_LIMIT_PER_HOUR", registrations_per_hour),
    ])
    .await;
    let addr = app.serve().await;
    (app, addr)
}

/// What exists of stores: rows in `public.stores`, `tenant_` schemas, accounts.
/// Stores, store schemas, and the accounts people made (each store's shared staff account
/// aside: there is exactly one per store, checked here too).
async fn provisioned(app: &TestApp) -> (i64, i64, i64) {
    let stores = app.count("select count(*) from public.stores").await;
    assert_eq!(
        app.count("select count(*) from public.staff_accounts").await,
        stores,
        "one staff account a store"
    );
    (
        stores,
        app.count("select count(*) from pg_namespace where nspname like 'tenant\\_%'").await,
        app.count("select count(*) from public.users u where not exists (select 1 from public.staff_accounts a where a.user_id = u.id)")
            .await,
    )
}

fn assert_throttled(status: u16, retry_after: Option<u64>, body: &Value) {
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "too_many_attempts", "{body}");
    let retry_after = retry_after.expect("Retry-After on a 429");
    assert!((1..=3600).contains(&retry_after), "Retry-After {retry_after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_registrations_from_one_address_provisions_at_most_the_limit() {
    let (app, addr) = proxied_app("5").await;

    let flood =
        (0..50).map(|n| async move { register_from(addr, "198.51.100.7", &format!("flood{n}")).await });
    let answers = join_all(flood).await;

    let created = answers.iter().filter(|(status, ..)| *status == 201).count();
    assert_eq!(created, 5, "{:?}", answers.iter().map(|a| a.0).collect::<Vec<_>>());
    for (status, retry_after, body) in answers.iter().filter(|(status, ..)| *status != 201) {
        assert_throttled(*status, *retry_after, body);
    }
    assert_eq!(provisioned(&app).await, (5, 5, 5), "stores, schemas and accounts: the limit's number");

    // Another address has its own hour.
    assert_eq!(register_from(addr, "203.0.113.9", "neighbour").await.0, 201);
    // The flooding address gets nothing more until its hour is over…
    let (status, retry_after, body) = register_from(addr, "198.51.100.7", "later").await;
    assert_throttled(status, retry_after, &body);
    assert_eq!(provisioned(&app).await, (6, 6, 6));
    // …and then a full hour's worth again.
    sqlx::query("update public.registration_throttle set window_started_at = now() - interval '1 hour'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(register_from(addr, "198.51.100.7", "later").await.0, 201);
}

#[tokio::test]
async fn username_probes_are_throttled_per_address() {
    let (app, addr) = proxied_app("3").await;
    assert_eq!(register_from(addr, "198.51.100.7", "ivan").await.0, 201);

    // Two probes of a taken username answer 409…
    for _ in 0..2 {
        let (status, _, body) = register_from(addr, "198.51.100.7", "ivan").await;
        assert_eq!((status, body["code"].as_str()), (409, Some("username_taken")), "{body}");
    }
    // …and the next says nothing about whether a username is taken, nor creates anything.
    for username in ["ivan", "olga"] {
        let (status, retry_after, body) = register_from(addr, "198.51.100.7", username).await;
        assert_throttled(status, retry_after, &body);
    }
    assert_eq!(provisioned(&app).await, (1, 1, 1));
    assert_eq!(app.count("select count(*) from public.sessions").await, 1, "no session was opened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_shares_one_count() {
    let app = TestApp::spawn_with(&[("REGISTRATION_LIMIT_PER_HOUR", "4")]).await;
    // A second instance on the same database: in-process requests from both come from the
    // same (unknown) address.
    let config = Arc::new(test_config(&[("REGISTRATION_LIMIT_PER_HOUR", "4")]));
    let other =
        build_router(AppState::new(Arc::clone(&config), pool::lazy_pool(&config, app.db.app_options())));
    let register_on = |n: usize| {
        let router = if n.is_multiple_of(2) { app.router.clone() } else { other.clone() };
        async move {
            let body = registration(&format!("both{n}"), &format!("Лавка {n}"));
            let request =
                crate::helpers::post_body("/api/users/auth/register/", "application/json", body.to_string());
            send(&router, request).await
        }
    };

    let answers = join_all((0..30).map(register_on)).await;

    let statuses: Vec<StatusCode> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 4, "{statuses:?}");
    for answer in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        answer.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    }
    assert_eq!(provisioned(&app).await, (4, 4, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_store_creations_never_pass_the_owners_limit() {
    let app = TestApp::spawn_with(&[("MAX_STORES_PER_OWNER", "4")]).await;
    let owner = app.register_owner("ivan", "Лавка").await;
    let other = app.register_owner("olga", "Дукон").await;

    let flood = (0..20).map(|n| {
        let name = format!("Филиал {n}");
        let token = owner.token.clone();
        let app = &app;
        async move { app.create_store(&token, &name).await }
    });
    let answers = join_all(flood).await;

    let created = answers.iter().filter(|a| a.status == StatusCode::CREATED).count();
    assert_eq!(created, 3, "the registration's store and three more");
    for refused in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        refused.error(StatusCode::FORBIDDEN, "store_limit_reached");
    }
    let owned = sqlx::query_scalar::<_, i64>("select count(*) from public.stores where owner_id = $1")
        .bind(owner.user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(owned, 4);
    assert_eq!(
        provisioned(&app).await,
        (5, 5, 2),
        "four stores of ivan's and olga's one, each with its schema"
    );

    // A deactivated store still counts: it can come back.
    let deleted = app.delete_as(&format!("/api/users/stores/{}/", owner.store_id), &owner.token).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.create_store(&owner.token, "Ещё одна").await.error(StatusCode::FORBIDDEN, "store_limit_reached");
    // Another owner has a limit of their own.
    app.create_store(&other.token, "Дукон 2").await.json(StatusCode::CREATED);
    assert_eq!(provisioned(&app).await.0, 6);
}

#[tokio::test]
async fn the_store_limit_says_so_in_each_language() {
    let app = TestApp::spawn_with(&[("MAX_STORES_PER_OWNER", "1")]).await;
    let owner = app.register_owner("ivan", "Лавка").await;

    let ru =
        app.create_store(&owner.token, "Вторая").await.error(StatusCode::FORBIDDEN, "store_limit_reached");
    assert!(ru["message"].as_str().unwrap().contains("не более чем 1 "), "{ru}");
    let request = axum::http::Request::post("/api/users/stores/")
        .header("authorization", format!("Bearer {}", owner.token))
        .header("content-type", "application/json")
        .header("accept-language", "en")
        .body(axum::body::Body::from(json!({"name": "Second"}).to_string()))
        .unwrap();
    let en = app.send(request).await.error(StatusCode::FORBIDDEN, "store_limit_reached");
    assert!(en["message"].as_str().unwrap().contains("at most 1 stores"), "{en}");
    assert_eq!(provisioned(&app).await, (1, 1, 1));
}
