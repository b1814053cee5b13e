//! A changed credential wins over the sign-ins already under way with the old one: once the
//! change has answered, no session opened with the old credential is left, even from a
//! sign-in that had read the old hash and was hashing while the change committed.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{CASHIER_PIN, EMPLOYEE_PASSWORD, Shop, TestApp, TestResponse, shop};

/// The owner's password in [`crate::helpers::registration`].
const PASSWORD: &str = "Kassa-Strong-2026";

/// Sign-in loops running side by side until the change has answered.
const LOOPS: usize = 4;

/// Runs [`LOOPS`] loops of `sign_in` until each has signed in twice (200), then `change`,
/// then stops the loops and waits for them: every sign-in that began before the change
/// answered has ended when this returns.
async fn race<S, SF, C>(sign_in: S, change: C)
where
    S: Fn() -> SF + Clone + Send + 'static,
    SF: Future<Output = StatusCode> + Send,
    C: Future<Output = ()>,
{
    let stop = Arc::new(AtomicBool::new(false));
    let warmed = Arc::new(AtomicUsize::new(0));
    let loops: Vec<_> = (0..LOOPS)
        .map(|_| {
            let (sign_in, stop, warmed) = (sign_in.clone(), Arc::clone(&stop), Arc::clone(&warmed));
            tokio::spawn(async move {
                let mut signed_in = 0;
                while !stop.load(Ordering::SeqCst) {
                    let status = sign_in().await;
                    assert!(status.as_u16() < 500, "a sign-in in the race answered {status}");
                    signed_in += usize::from(status == StatusCode::OK);
                    if signed_in == 2 {
                        warmed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    let started = std::time::Instant::now();
    while warmed.load(Ordering::SeqCst) < LOOPS {
        assert!(started.elapsed().as_secs() < 60, "the sign-in loops do not sign in");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    change.await;
    stop.store(true, Ordering::SeqCst);
    for task in loops {
        task.await.expect("a sign-in loop panicked");
    }
}

/// The live sessions of `username`'s account (those opened on a till alone, with `till_only`).
async fn live_sessions(app: &TestApp, username: &str, till_only: bool) -> i64 {
    sqlx::query_scalar(
        "select count(*) from public.sessions s join public.users u on u.id = s.user_id
         where u.username = $1 and s.revoked_at is null and ($2 = false or s.device_id is not null)",
    )
    .bind(username)
    .bind(till_only)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// A fresh app with a shop (see [`shop`]) named after `prefix`, both shared with the racers.
async fn racing_shop(prefix: &str) -> (Arc<TestApp>, Arc<Shop>) {
    let app = Arc::new(TestApp::spawn().await);
    let shop = Arc::new(shop(&app, prefix, "Лавка").await);
    (app, shop)
}

/// `method path` with `body`, as the shop's manager.
async fn as_manager(
    app: &TestApp,
    shop: &Shop,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> TestResponse {
    app.scoped(method, path, &shop.manager.token, &shop.key(), body).await
}

fn password_sign_in(
    app: &Arc<TestApp>,
    username: &str,
    password: &str,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = StatusCode> + Send>> + Clone + Send + 'static {
    let (app, body) = (Arc::clone(app), json!({"username": username, "password": password}));
    move || {
        let (app, body) = (Arc::clone(&app), body.clone());
        Box::pin(async move { app.json(Method::POST, "/api/users/auth/login/", &body, None).await.status })
    }
}

fn till_sign_in(
    app: &Arc<TestApp>,
    shop: &Arc<Shop>,
    employee_id: &Value,
    pin: &str,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = StatusCode> + Send>> + Clone + Send + 'static {
    let (app, shop, employee_id, pin) =
        (Arc::clone(app), Arc::clone(shop), employee_id.clone(), pin.to_owned());
    move || {
        let (app, shop, employee_id, pin) =
            (Arc::clone(&app), Arc::clone(&shop), employee_id.clone(), pin.clone());
        Box::pin(async move { app.pin_login(&shop.till, &shop.key(), &employee_id, &pin).await.status })
    }
}

#[tokio::test]
async fn a_password_change_leaves_no_session_of_the_old_password() {
    let app = Arc::new(TestApp::spawn().await);
    let owner = app.register_owner("change_owner", "Лавка").await;
    let change = json!({"old_password": PASSWORD, "new_password": "Another-Secret-2027"});
    race(password_sign_in(&app, "change_owner", PASSWORD), async {
        app.json(Method::POST, "/api/users/auth/change-password/", &change, Some(&owner.token))
            .await
            .json(StatusCode::OK);
    })
    .await;
    // The session that changed it is the one left.
    assert_eq!(live_sessions(&app, "change_owner", false).await, 1);
}

#[tokio::test]
async fn a_managers_password_reset_leaves_no_session_of_the_old_password() {
    let (app, shop) = racing_shop("reset").await;
    let path = format!("/api/users/employees/{}/reset-password/", shop.cashier_id);
    race(password_sign_in(&app, "reset_cashier", EMPLOYEE_PASSWORD), async {
        as_manager(&app, &shop, Method::POST, &path, Some(&json!({}))).await.json(StatusCode::OK);
    })
    .await;
    assert_eq!(live_sessions(&app, "reset_cashier", false).await, 0);
}

#[tokio::test]
async fn a_replaced_pin_leaves_no_session_of_the_old_pin() {
    let (app, shop) = racing_shop("repin").await;
    race(till_sign_in(&app, &shop, &shop.cashier_id, CASHIER_PIN), async {
        assert_eq!(app.set_pin(&shop.cashier, "602917").await.status, StatusCode::NO_CONTENT);
    })
    .await;
    assert_eq!(live_sessions(&app, "repin_cashier", true).await, 0);
    // The new PIN signs in, with none of the old one's failures.
    assert_eq!(till_sign_in(&app, &shop, &shop.cashier_id, "602917")().await, StatusCode::OK);
}

#[tokio::test]
async fn a_cleared_pin_leaves_no_session_of_it() {
    let (app, shop) = racing_shop("unpin").await;
    let path = format!("/api/users/employees/{}/pin/", shop.cashier_id);
    race(till_sign_in(&app, &shop, &shop.cashier_id, CASHIER_PIN), async {
        let response = as_manager(&app, &shop, Method::DELETE, &path, None).await;
        assert_eq!(response.status, StatusCode::NO_CONTENT, "{response:?}");
    })
    .await;
    assert_eq!(live_sessions(&app, "unpin_cashier", true).await, 0);
}

#[tokio::test]
async fn a_revoked_till_leaves_no_session_opened_on_it() {
    let (app, shop) = racing_shop("unpair").await;
    let devices = as_manager(&app, &shop, Method::GET, "/api/users/devices/", None).await;
    let device_id = devices.json(StatusCode::OK)["results"][0]["id"].clone();
    let path = format!("/api/users/devices/{device_id}/");
    race(till_sign_in(&app, &shop, &shop.cashier_id, CASHIER_PIN), async {
        let response = as_manager(&app, &shop, Method::DELETE, &path, None).await;
        assert_eq!(response.status, StatusCode::NO_CONTENT, "{response:?}");
    })
    .await;
    assert_eq!(
        app.count("select count(*) from public.sessions where device_id is not null and revoked_at is null")
            .await,
        0
    );
}

#[tokio::test]
async fn a_deactivation_leaves_no_till_session_of_the_member() {
    let (app, shop) = racing_shop("leave").await;
    let (path, deactivate) =
        (format!("/api/users/employees/{}/", shop.cashier_id), json!({"is_active": false}));
    race(till_sign_in(&app, &shop, &shop.cashier_id, CASHIER_PIN), async {
        as_manager(&app, &shop, Method::PATCH, &path, Some(&deactivate)).await.json(StatusCode::OK);
    })
    .await;
    assert_eq!(live_sessions(&app, "leave_cashier", true).await, 0);
}

#[tokio::test]
async fn parallel_right_pins_on_one_till_never_deadlock() {
    let (app, shop) = racing_shop("crowd").await;
    let sign_in = till_sign_in(&app, &shop, &shop.cashier_id, CASHIER_PIN);
    for _ in 0..25 {
        let statuses = futures_util::future::join_all((0..4).map(|_| sign_in())).await;
        assert!(statuses.iter().all(|status| *status == StatusCode::OK), "{statuses:?}");
    }
}
