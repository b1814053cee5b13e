//! Stores come back: the owner reactivates a deactivated store through the API, the operator
//! with `kassa tenants activate`; a store change applies or refuses every field it is sent;
//! and `kassa tenants purge` removes any store, whatever it held, leaving nothing of it in
//! `public`.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{EMPLOYEE_PASSWORD, Owner, TEST_JWT_SECRET, TestApp, kassa};

fn store_path(id: i64) -> String {
    format!("/api/users/stores/{id}/")
}

/// `GET /auth/me/` in the owner's store: what the store's key opens.
async fn me_status(app: &TestApp, owner: &Owner) -> StatusCode {
    app.scoped(Method::GET, "/api/users/auth/me/", &owner.token, &owner.key(), None).await.status
}

/// The store's row as the registry holds it, for checks that a refusal changed nothing.
async fn registry_row(app: &TestApp, store_id: i64) -> String {
    sqlx::query_scalar("select s::text from public.stores s where id = $1")
        .bind(store_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reactivated_stores_key_works_at_once() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let (manager, _) = app.member(&owner, "maria", "manager").await;
    let stranger = app.register_owner("petr", "Чужая").await;
    let path = store_path(owner.store_id);
    assert_eq!(app.delete_as(&path, &owner.token).await.status, StatusCode::NO_CONTENT);
    // This instance has now seen, and cached, the key refused.
    app.scoped(Method::GET, "/api/users/auth/me/", &owner.token, &owner.key(), None)
        .await
        .error(StatusCode::FORBIDDEN, "inactive_tenant");

    // Nobody but the owner brings it back.
    let before = registry_row(&app, owner.store_id).await;
    let back = json!({"is_active": true});
    app.patch_store(&manager, &back).await.error(StatusCode::FORBIDDEN, "permission_denied");
    let theirs = Owner { store_id: owner.store_id, ..stranger };
    app.patch_store(&theirs, &back).await.error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(registry_row(&app, owner.store_id).await, before);

    // The owner still reaches the store through /stores/{id}/…
    let read = app.get_as(&path, &owner.token).await.json(StatusCode::OK);
    assert_eq!(read["data"]["is_active"], false);
    // …and brings it back.
    let patched = app.patch_store(&owner, &back).await.json(StatusCode::OK);
    assert_eq!(patched["data"]["is_active"], true);

    assert_eq!(me_status(&app, &owner).await, StatusCode::OK, "no stale cache entry");
    let mine = app.get_as("/api/users/auth/my-stores/", &owner.token).await.json(StatusCode::OK);
    assert_eq!(mine["data"][0]["id"], owner.store_id, "the POS apps see it again");
    assert_eq!(app.count("select count(*) from tenant_lavka.employees").await, 3, "with its data");

    // `false` deactivates, as DELETE does; PUT applies `is_active` too.
    app.patch_store(&owner, &json!({"is_active": false})).await.json(StatusCode::OK);
    app.scoped(Method::GET, "/api/users/auth/me/", &owner.token, &owner.key(), None)
        .await
        .error(StatusCode::FORBIDDEN, "inactive_tenant");
    let put = json!({"name": "Лавка", "is_active": true});
    let replaced = app.json(Method::PUT, &path, &put, Some(&owner.token)).await.json(StatusCode::OK);
    assert_eq!(replaced["data"]["is_active"], true);
    assert_eq!(me_status(&app, &owner).await, StatusCode::OK);
}

#[tokio::test]
async fn a_store_change_applies_or_refuses_every_field_it_is_sent() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let path = store_path(owner.store_id);
    let before = registry_row(&app, owner.store_id).await;

    let refused: [(Value, &str); 10] = [
        (json!({"name": "Новое имя", "colour": "red"}), "colour"),
        (json!({"name": "Новое имя", "owner": owner.user_id + 1}), "owner"),
        (json!({"name": "Новое имя", "id": owner.store_id + 1}), "id"),
        (json!({"name": "Новое имя", "employee_count": 7}), "employee_count"),
        (json!({"name": "Новое имя", "created_at": "2020-01-01T00:00:00Z"}), "created_at"),
        (json!({"name": "Новое имя", "role": "cashier"}), "role"),
        (json!({"name": "Новое имя", "is_active": "yes"}), "is_active"),
        (json!({"name": "Новое имя", "is_active": null}), "is_active"),
        (json!({"name": null}), "name"),
        (json!({"name": "Новое имя", "id": null}), "id"),
    ];
    for (body, field) in refused {
        for method in [Method::PATCH, Method::PUT] {
            let response = app.json(method.clone(), &path, &body, Some(&owner.token)).await;
            let error = response.error(StatusCode::BAD_REQUEST, "validation_error");
            assert!(error["errors"][field][0].is_string(), "{method} {body} → {error}");
            assert_eq!(registry_row(&app, owner.store_id).await, before, "{method} {body} changed the store");
        }
    }

    // The store sent back as it was read, with a change: accepted, the change applied.
    let mut read = app.get_as(&path, &owner.token).await.json(StatusCode::OK)["data"].clone();
    read["city"] = json!("Самарканд");
    let patched = app.json(Method::PATCH, &path, &read, Some(&owner.token)).await.json(StatusCode::OK);
    assert_eq!(patched["data"]["city"], "Самарканд");
    // A null text field is emptied, not passed over.
    let emptied = app.patch_store(&owner, &json!({"address": null})).await.json(StatusCode::OK);
    assert_eq!(emptied["data"]["address"], "");
}

// ---- the operator's commands ----

/// Runs `kassa ARGS` on the test's database with no terminal and no `.env`.
fn run(app: &TestApp, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    kassa(dir.path())
        .args(args)
        .env("DATABASE_URL", app.db.url())
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn all_output(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Waits (up to the store cache's few seconds) until the owner's key answers `expected`.
async fn until_key_answers(app: &TestApp, owner: &Owner, expected: StatusCode) {
    let started = Instant::now();
    while me_status(app, owner).await != expected {
        assert!(
            started.elapsed() < Duration::from_secs(7),
            "still not {expected} after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn the_operator_switches_a_store_by_slug_or_key() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    assert_eq!(me_status(&app, &owner).await, StatusCode::OK);

    let deactivated = run(&app, &["tenants", "deactivate", "lavka"]);
    assert!(deactivated.status.success(), "{}", all_output(&deactivated));
    until_key_answers(&app, &owner, StatusCode::FORBIDDEN).await;

    let activated = run(&app, &["tenants", "activate", "lavka"]);
    assert!(activated.status.success(), "{}", all_output(&activated));
    assert!(all_output(&activated).contains("now active"), "{}", all_output(&activated));
    until_key_answers(&app, &owner, StatusCode::OK).await;
    let again = run(&app, &["tenants", "activate", &owner.key()]);
    assert!(
        again.status.success() && all_output(&again).contains("already active"),
        "{}",
        all_output(&again)
    );

    let unknown = run(&app, &["tenants", "activate", "no-such-store"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(all_output(&unknown).contains("no-such-store"), "{}", all_output(&unknown));
    for command in ["activate", "deactivate"] {
        let dir = tempfile::tempdir().unwrap();
        let help = kassa(dir.path()).args(["tenants", command, "--help"]).output().unwrap();
        assert!(help.status.success() && String::from_utf8_lossy(&help.stdout).contains("slug"), "{command}");
    }
}

/// `POST /auth/pin-login/` on `till` in `owner`'s store as the store's owner: the session's
/// access token.
async fn pin_session(app: &TestApp, owner: &Owner, till: &str) -> String {
    let me = app.scoped(Method::GET, "/api/users/auth/me/", &owner.token, &owner.key(), None).await;
    let employee_id = me.json(StatusCode::OK)["data"]["employee"]["id"].clone();
    let request = axum::http::Request::post("/api/users/auth/pin-login/")
        .header("x-device-token", till)
        .header("x-tenant-key", owner.key())
        .header("content-type", "application/json")
        .body(axum::body::Body::from(json!({"employee_id": employee_id, "pin": "519283"}).to_string()))
        .unwrap();
    app.send(request).await.json(StatusCode::OK)["access"].as_str().unwrap().to_owned()
}

/// Rows in `public` that belong to store `store_id`, table by table.
async fn public_rows_of(app: &TestApp, store_id: i64) -> Vec<(String, i64)> {
    sqlx::query_as(
        "select 'stores', count(*) from public.stores where id = $1
         union all select 'store_memberships', count(*) from public.store_memberships where store_id = $1
         union all select 'pairing_codes', count(*) from public.pairing_codes where store_id = $1
         union all select 'devices', count(*) from public.devices where store_id = $1
         union all select 'sessions', count(*) from public.sessions
             where store_id = $1 or device_id in (select id from public.devices where store_id = $1)",
    )
    .bind(store_id)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn purge_removes_a_store_with_its_tills() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    app.add_employee(&owner, "kassir", "cashier").await;
    let neighbour = app.register_owner("olga", "Дукон").await;
    // Everything a store's tills leave in `public`: a used and an unused pairing code, a
    // paired till, a PIN session on it.
    assert_eq!(app.set_pin(&owner, "519283").await.status, StatusCode::NO_CONTENT);
    let till = app.paired_till(&owner, "Касса 1").await;
    let unused = json!({"name": "Касса 2"});
    app.scoped(Method::POST, "/api/users/devices/pairing-codes/", &owner.token, &owner.key(), Some(&unused))
        .await
        .json(StatusCode::CREATED);
    let on_till = pin_session(&app, &owner, &till).await;
    let neighbours_till = app.paired_till(&neighbour, "Касса 1").await;
    let rows_before = public_rows_of(&app, owner.store_id).await;
    assert!(rows_before.iter().all(|(_, rows)| *rows > 0), "the store holds all of it: {rows_before:?}");

    assert_eq!(app.delete_as(&store_path(owner.store_id), &owner.token).await.status, StatusCode::NO_CONTENT);
    let purged = run(&app, &["tenants", "purge", &owner.key(), "--yes"]);
    assert!(purged.status.success(), "{}", all_output(&purged));

    let left: Vec<(String, i64)> =
        public_rows_of(&app, owner.store_id).await.into_iter().filter(|(_, rows)| *rows > 0).collect();
    assert!(left.is_empty(), "left in public: {left:?}");
    assert_eq!(app.count("select count(*) from pg_namespace where nspname = 'tenant_lavka'").await, 0);
    app.get_as("/api/users/auth/sessions/", &on_till).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    // Accounts stay, and can sign in; the neighbour's store and till are untouched.
    app.sign_in("kassir", EMPLOYEE_PASSWORD).await;
    assert_eq!(me_status(&app, &neighbour).await, StatusCode::OK);
    let roster = axum::http::Request::get("/api/users/devices/roster/")
        .header("x-tenant-key", neighbour.key())
        .header("x-device-token", &neighbours_till)
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.send(roster).await.status, StatusCode::OK);
}
