//! PIN sign-in on a paired till and a manager's approval (docs/contract.md §11): what a till does all
//! day, every way it fails, the two lockouts, and that nothing of it crosses stores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{
    CASHIER_PIN, MANAGER_PIN, OWNER_PIN, Shop, TestApp, TestResponse, assert_pools_are_neutral, shop,
    till_request,
};

const PIN_LOGIN: &str = "/api/users/auth/pin-login/";
const APPROVALS: &str = "/api/users/approvals/";
const REDEEM: &str = "/api/users/approvals/redeem/";
const ROSTER: &str = "/api/users/devices/roster/";

#[tokio::test]
async fn a_pin_signs_a_member_in_on_the_till_for_that_store_alone_until_the_till_is_revoked() {
    let (app, shop) = TestApp::with_shop("pin").await;
    // The owner also has a second store, which a password sign-in lists.
    let second = app
        .json(Method::POST, "/api/users/stores/", &json!({"name": "Второй"}), Some(&shop.owner.token))
        .await;
    let second_key =
        second.json(StatusCode::CREATED)["data"]["store"]["tenant_key"].as_str().unwrap().to_owned();

    let response = app.pin_login(&shop.till, &shop.key(), &shop.owner_id, OWNER_PIN).await;
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json(StatusCode::OK);
    assert_eq!(body["user"]["id"], shop.owner.user_id);
    assert_eq!(body["password_change_required"], false);
    let stores = body["available_stores"].as_array().unwrap();
    assert_eq!(stores.len(), 1, "{body}");
    assert_eq!(stores[0]["tenant_key"], shop.key().as_str());
    assert_eq!(stores[0]["role"], "owner");
    assert_eq!(body["default_store"]["tenant_key"], shop.key().as_str());
    let access = body["access"].as_str().unwrap();

    // The till session works in its store, is no member of the other, and is listed with the till.
    app.scoped(Method::GET, "/api/users/auth/me/", access, &shop.key(), None).await.json(StatusCode::OK);
    app.scoped(Method::GET, "/api/users/employees/", access, &second_key, None)
        .await
        .error(StatusCode::FORBIDDEN, "not_a_member");
    app.scoped(Method::GET, "/api/users/employees/", &shop.owner.token, &second_key, None)
        .await
        .json(StatusCode::OK);
    let sessions = app.get_as("/api/users/auth/sessions/", access).await.json(StatusCode::OK);
    let current: Vec<&Value> =
        sessions["data"].as_array().unwrap().iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current[0]["device_name"], "Касса 1");
    let others: Vec<&Value> =
        sessions["data"].as_array().unwrap().iter().filter(|s| s["current"] == false).collect();
    assert!(others.iter().all(|s| s["device_name"].is_null()), "{sessions}");

    // A cashier signs in the same way; their refresh token works like any other.
    let cashier =
        app.pin_login(&shop.till, &shop.key(), &shop.cashier_id, CASHIER_PIN).await.json(StatusCode::OK);
    assert_eq!(cashier["available_stores"][0]["role"], "cashier");
    let refresh = json!({"refresh": cashier["refresh"]});
    let refreshed =
        app.json(Method::POST, "/api/users/auth/token/refresh/", &refresh, None).await.json(StatusCode::OK);

    // Revoking the till ends every session opened on it, and only those.
    let devices =
        app.scoped(Method::GET, "/api/users/devices/", &shop.manager.token, &shop.key(), None).await;
    let device_id = devices.json(StatusCode::OK)["results"][0]["id"].clone();
    let revoked = app
        .scoped(
            Method::DELETE,
            &format!("/api/users/devices/{device_id}/"),
            &shop.manager.token,
            &shop.key(),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    app.scoped(Method::GET, "/api/users/auth/me/", access, &shop.key(), None)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");
    let next = json!({"refresh": refreshed["refresh"]});
    app.json(Method::POST, "/api/users/auth/token/refresh/", &next, None)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.scoped(Method::GET, "/api/users/auth/me/", &shop.owner.token, &shop.key(), None)
        .await
        .json(StatusCode::OK);
    app.pin_login(&shop.till, &shop.key(), &shop.owner_id, OWNER_PIN)
        .await
        .error(StatusCode::UNAUTHORIZED, "device_invalid");
}

#[tokio::test]
async fn every_failed_pin_answers_the_same() {
    let (app, shop) = TestApp::with_shop("same").await;
    let (_, no_pin) = app.member(&shop.owner, "same_nopin", "cashier").await;
    let (leaver, leaver_row) = app.member(&shop.owner, "same_leaver", "cashier").await;
    assert_eq!(app.set_pin(&leaver, "604918").await.status, StatusCode::NO_CONTENT);
    let off = json!({"is_active": false});
    let path = format!("/api/users/employees/{}/", leaver_row["id"]);
    app.scoped(Method::PATCH, &path, &shop.owner.token, &shop.key(), Some(&off)).await.json(StatusCode::OK);

    let key = shop.key();
    let wrong = app
        .pin_login(&shop.till, &key, &shop.cashier_id, "111222")
        .await
        .error(StatusCode::UNAUTHORIZED, "invalid_pin");
    let unknown = app
        .pin_login(&shop.till, &key, &json!(987_654), CASHIER_PIN)
        .await
        .error(StatusCode::UNAUTHORIZED, "invalid_pin");
    let without = app
        .pin_login(&shop.till, &key, &no_pin["id"], CASHIER_PIN)
        .await
        .error(StatusCode::UNAUTHORIZED, "invalid_pin");
    let inactive = app
        .pin_login(&shop.till, &key, &leaver_row["id"], "604918")
        .await
        .error(StatusCode::UNAUTHORIZED, "invalid_pin");
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, without);
    assert_eq!(wrong, inactive);
    // No bearer, no device token: not a till.
    let request = Request::post(PIN_LOGIN)
        .header("x-tenant-key", key.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"employee_id": shop.cashier_id, "pin": CASHIER_PIN}).to_string()))
        .unwrap();
    app.send(request).await.error(StatusCode::UNAUTHORIZED, "device_invalid");

    let empty = app.send(till_request(Method::POST, PIN_LOGIN, &shop.till, &key, None, &json!({}))).await;
    let body = empty.error(StatusCode::BAD_REQUEST, "validation_error");
    assert!(body["errors"]["employee_id"].is_array() && body["errors"]["pin"].is_array(), "{body}");
    // The right PIN still works: four failures do not lock the till.
    shop.sign_in(&app, &shop.cashier_id, CASHIER_PIN).await;
}

#[tokio::test]
async fn a_pin_failure_takes_as_long_whatever_its_cause() {
    let (app, shop) = TestApp::with_shop("timing").await;
    let (_, no_pin) = app.member(&shop.owner, "timing_nopin", "cashier").await;
    let key = shop.key();
    shop.sign_in(&app, &shop.owner_id, OWNER_PIN).await;

    let timed = |employee_id: Value, pin: &'static str| {
        let (app, till, key) = (&app, &shop.till, &key);
        async move {
            let started = Instant::now();
            app.pin_login(till, key, &employee_id, pin).await.error(StatusCode::UNAUTHORIZED, "invalid_pin");
            started.elapsed().as_secs_f64()
        }
    };
    // For each cause, 21 pairs measured back to back, in alternating order (as the password
    // test does): the median of their ratios is robust to the other tests running beside
    // this one. The counters are reset between pairs so that neither lock interferes.
    let mut ratios_of = Vec::new();
    for other in [json!(987_654), no_pin["id"].clone()] {
        let mut ratios = Vec::new();
        for pair in 0..21 {
            let wrong = || timed(shop.cashier_id.clone(), "111222");
            let (other_time, wrong_time) = if pair % 2 == 0 {
                let other_time = timed(other.clone(), CASHIER_PIN).await;
                (other_time, wrong().await)
            } else {
                let wrong_time = wrong().await;
                (timed(other.clone(), CASHIER_PIN).await, wrong_time)
            };
            ratios.push(other_time / wrong_time);
            sqlx::query(
                "update public.devices set pin_failures = 0, pin_lockouts = 0, pin_locked_until = null",
            )
            .execute(&app.pool)
            .await
            .unwrap();
            let reset = format!("update \"{}\".employee_pins set failures = 0", shop.schema());
            sqlx::query(sqlx::AssertSqlSafe(reset)).execute(&app.pool).await.unwrap();
        }
        ratios_of.push(ratios);
    }
    let (no_pin_ratios, unknown_ratios) = (ratios_of.pop().unwrap(), ratios_of.pop().unwrap());
    for (cause, mut ratios) in [("unknown employee", unknown_ratios), ("no PIN", no_pin_ratios)] {
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        // What this guards against is a cause answered without the hash (a ratio near 0.1 here)
        // or with two (near 2). The band leaves room for the round trips, which differ by cause
        // and weigh more on a loaded machine (1.36 seen with the load average at 12 on 2 cores).
        assert!(
            (0.67..=1.5).contains(&median),
            "{cause}/wrong PIN median time ratio {median:.3}: {ratios:?}"
        );
    }
}

#[tokio::test]
async fn wrong_pins_lock_the_till_for_a_doubling_time() {
    // 2 s, doubling to a cap of 4 s: each Retry-After read within a second of its lock tells
    // the lengths apart even on a loaded machine.
    let app = TestApp::spawn_with(&[("PIN_LOCK_FIRST", "2s"), ("PIN_LOCK_MAX", "4s")]).await;
    let shop = shop(&app, "lock", "Лавка").await;
    let other_till = app.paired_till(&shop.manager, "Касса 2").await;
    let key = shop.key();
    // Wrong guesses at someone who does not exist: only the till's count moves.
    let nobody = json!(987_654);
    let guess = || app.pin_login(&shop.till, &key, &nobody, "111222");

    for _ in 0..5 {
        guess().await.error(StatusCode::UNAUTHORIZED, "invalid_pin");
    }
    let locked = app.pin_login(&shop.till, &key, &shop.cashier_id, CASHIER_PIN).await;
    locked.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    let first: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&first), "first lock: {first} s");
    // Another till of the store is not locked.
    app.pin_login(&other_till, &key, &shop.cashier_id, CASHIER_PIN).await.json(StatusCode::OK);

    // After the lock, five more failures lock it for twice as long, and no longer than the cap.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    for _ in 0..5 {
        guess().await.error(StatusCode::UNAUTHORIZED, "invalid_pin");
    }
    let second = locked_for(guess().await);
    assert!((3..=4).contains(&second), "second lock: {second} s");
    tokio::time::sleep(Duration::from_millis(4_100)).await;
    for _ in 0..5 {
        guess().await.error(StatusCode::UNAUTHORIZED, "invalid_pin");
    }
    let third = locked_for(guess().await);
    assert!((3..=4).contains(&third), "third lock, capped: {third} s");

    // Right PINs between wrong ones give back only their own attempt: an insider who mixes
    // their own PIN with guesses at a colleague's still meets the lock at the fifth guess,
    // and it is still the doubled one.
    tokio::time::sleep(Duration::from_millis(4_100)).await;
    for _ in 0..2 {
        guess().await.error(StatusCode::UNAUTHORIZED, "invalid_pin");
        shop.sign_in(&app, &shop.cashier_id, CASHIER_PIN).await;
        guess().await.error(StatusCode::UNAUTHORIZED, "invalid_pin");
        shop.sign_in(&app, &shop.cashier_id, CASHIER_PIN).await;
    }
    guess().await.error(StatusCode::UNAUTHORIZED, "invalid_pin");
    let mixed = locked_for(app.pin_login(&shop.till, &key, &shop.cashier_id, CASHIER_PIN).await);
    assert!((3..=4).contains(&mixed), "five wrong PINs among right ones lock the till: {mixed} s");
}

/// How long a 429 says the till stays locked, in seconds.
fn locked_for(response: TestResponse) -> u64 {
    let seconds = response.header("retry-after").unwrap_or_default().parse().unwrap_or_default();
    response.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    seconds
}

#[tokio::test]
async fn fifty_parallel_wrong_pins_from_one_till_check_at_most_five() {
    let app = Arc::new(TestApp::spawn().await);
    let shop = Arc::new(shop(&app, "flood", "Лавка").await);
    let guesses = (0..50).map(|n| {
        let (app, shop) = (Arc::clone(&app), Arc::clone(&shop));
        async move {
            app.pin_login(&shop.till, &shop.key(), &shop.cashier_id, &format!("{:06}", 300_000 + n))
                .await
                .status
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked + refused, 50, "{statuses:?}");
    assert!((1..=5).contains(&checked), "{checked} PINs were checked");
    // Locked: even the right PIN waits.
    app.pin_login(&shop.till, &shop.key(), &shop.cashier_id, CASHIER_PIN)
        .await
        .error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
}

#[tokio::test]
async fn ten_wrong_pins_for_one_person_in_a_day_clear_their_pin() {
    let (app, shop) = TestApp::with_shop("tenth").await;
    let key = shop.key();
    let schema = shop.schema();
    // Nine wrong PINs on two tills (the till lock stops at four each)…
    let second_till = app.paired_till(&shop.manager, "Касса 2").await;
    let third_till = app.paired_till(&shop.manager, "Касса 3").await;
    for (till, tries) in [(&shop.till, 4), (&second_till, 4), (&third_till, 1)] {
        for _ in 0..tries {
            app.pin_login(till, &key, &shop.cashier_id, "111222")
                .await
                .error(StatusCode::UNAUTHORIZED, "invalid_pin");
        }
    }
    let wrong = || app.pin_login(&third_till, &key, &shop.cashier_id, "111222");
    // Nine failures so far: the cashier's own PIN still works, and does not undo them.
    let right = app.pin_login(&third_till, &key, &shop.cashier_id, CASHIER_PIN).await;
    right.json(StatusCode::OK);
    wrong().await.error(StatusCode::UNAUTHORIZED, "invalid_pin");

    // The tenth cleared it: the right PIN fails, the roster drops them, the audit says why.
    app.pin_login(&third_till, &key, &shop.cashier_id, CASHIER_PIN)
        .await
        .error(StatusCode::UNAUTHORIZED, "invalid_pin");
    let roster = app
        .send(till_request(Method::GET, ROSTER, &shop.till, &key, None, &json!({})))
        .await
        .json(StatusCode::OK);
    let listed: Vec<&Value> =
        roster["results"].as_array().unwrap().iter().map(|m| &m["employee_id"]).collect();
    assert!(!listed.contains(&&shop.cashier_id), "{roster}");
    let audit = app.audit_events(&shop.owner, "?action=pin.locked").await.json(StatusCode::OK);
    assert_eq!(audit["count"], 1, "{audit}");
    assert_eq!(audit["results"][0]["employee_id"], shop.cashier_id);
    let pins: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select count(*) from \"{schema}\".employee_pins where employee_id = {}",
        shop.cashier_id
    )))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(pins, 0);
    // A new PIN starts from nothing.
    assert_eq!(app.set_pin(&shop.cashier, "604918").await.status, StatusCode::NO_CONTENT);
    shop.sign_in(&app, &shop.cashier_id, "604918").await;
}

/// `POST /approvals/` from `shop`'s till on `session`'s behalf.
async fn ask(app: &TestApp, shop: &Shop, session: &str, body: &Value) -> TestResponse {
    app.send(till_request(Method::POST, APPROVALS, &shop.till, &shop.key(), Some(session), body)).await
}

async fn redeem(app: &TestApp, who: &str, key: &str, token: &Value, permission: &str) -> TestResponse {
    let body = json!({"approval_token": token, "permission": permission});
    app.scoped(Method::POST, REDEEM, who, key, Some(&body)).await
}

#[tokio::test]
async fn a_manager_approves_one_action_for_a_cashier_on_the_till() {
    let (app, shop) = TestApp::with_shop("approve").await;
    let cashier = shop.sign_in(&app, &shop.cashier_id, CASHIER_PIN).await;
    let asked = json!({
        "permission": "manage_sales", "approver_employee_id": shop.manager_id, "pin": MANAGER_PIN,
        "reason": "Покупатель вернул товар", "subject": "чек 0042",
    });
    let response = ask(&app, &shop, &cashier, &asked).await;
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let granted = response.json(StatusCode::CREATED);
    assert_eq!(granted["permission"], "manage_sales");
    assert_eq!(granted["approver"]["employee_id"], shop.manager_id);
    assert_eq!(granted["approver"]["full_name"], "Имя approve_manager Сотрудник");
    let token = granted["approval_token"].clone();
    let expires_at = chrono::DateTime::parse_from_rfc3339(granted["expires_at"].as_str().unwrap()).unwrap();
    let left = expires_at.signed_duration_since(chrono::Utc::now()).num_seconds();
    assert!((50..=60).contains(&left), "{left} s to redeem");

    // Another permission's redemption does not use it up; the right one does, once.
    redeem(&app, &cashier, &shop.key(), &token, "manage_products")
        .await
        .error(StatusCode::CONFLICT, "approval_invalid");
    let used = redeem(&app, &cashier, &shop.key(), &token, "manage_sales").await.json(StatusCode::OK);
    assert_eq!(used["permission"], "manage_sales");
    assert_eq!(used["subject"], "чек 0042");
    assert_eq!(used["reason"], "Покупатель вернул товар");
    assert_eq!(used["requester"]["employee_id"], shop.cashier_id);
    assert_eq!(used["requester"]["full_name"], "Имя approve_cashier Сотрудник");
    assert_eq!(used["approver"]["employee_id"], shop.manager_id);
    assert!(used["granted_at"].is_string());
    redeem(&app, &cashier, &shop.key(), &token, "manage_sales")
        .await
        .error(StatusCode::CONFLICT, "approval_invalid");
    for made_up in ["not-a-token", "", " "] {
        redeem(&app, &cashier, &shop.key(), &json!(made_up), "manage_sales")
            .await
            .error(StatusCode::CONFLICT, "approval_invalid");
    }
    let missing = app.scoped(Method::POST, REDEEM, &cashier, &shop.key(), Some(&json!({}))).await;
    let body = missing.error(StatusCode::BAD_REQUEST, "validation_error");
    assert!(body["errors"]["approval_token"].is_array() && body["errors"]["permission"].is_array(), "{body}");

    // Both ends are in the audit trail; the token is stored only as a hash.
    for (action, actor) in [("approval.granted", "approve_manager"), ("approval.redeemed", "approve_cashier")]
    {
        let audit = app.audit_events(&shop.owner, &format!("?action={action}")).await.json(StatusCode::OK);
        assert_eq!(audit["count"], 1, "{audit}");
        assert_eq!(audit["results"][0]["actor_username"], actor, "{audit}");
        assert_eq!(audit["results"][0]["employee_id"], shop.cashier_id, "{audit}");
    }
    let schema = shop.schema();
    let stored: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select encode(token_hash, 'escape') from \"{schema}\".approvals"
    )))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!stored.contains(token.as_str().unwrap()));
}

#[tokio::test]
async fn each_refused_approval_names_its_error() {
    let (app, shop) = TestApp::with_shop("refuse").await;
    let (_, second_cashier) = app.member(&shop.owner, "refuse_cashier2", "cashier").await;
    let (second_manager, second_manager_row) = app.member(&shop.owner, "refuse_manager2", "manager").await;
    assert_eq!(app.set_pin(&second_manager, "640281").await.status, StatusCode::NO_CONTENT);
    let cashier = shop.sign_in(&app, &shop.cashier_id, CASHIER_PIN).await;
    let manager = shop.sign_in(&app, &shop.manager_id, MANAGER_PIN).await;
    let asking = |approver: &Value, pin: &str, permission: &str| json!({"permission": permission, "approver_employee_id": approver, "pin": pin});

    // A wrong PIN, an approver without the permission, one who does not outrank the
    // requester, the requester themself.
    ask(&app, &shop, &cashier, &asking(&shop.manager_id, "111222", "manage_sales"))
        .await
        .error(StatusCode::UNAUTHORIZED, "invalid_pin");
    ask(&app, &shop, &cashier, &asking(&shop.manager_id, MANAGER_PIN, "manage_employees"))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    ask(&app, &shop, &manager, &asking(&second_manager_row["id"], "640281", "manage_sales"))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    ask(&app, &shop, &manager, &asking(&shop.manager_id, MANAGER_PIN, "manage_sales"))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    ask(&app, &shop, &cashier, &asking(&second_cashier["id"], CASHIER_PIN, "create_sales"))
        .await
        .error(StatusCode::UNAUTHORIZED, "invalid_pin");
    // Not on a till session: the cashier's password session, even on the till.
    ask(&app, &shop, &shop.cashier.token, &asking(&shop.manager_id, MANAGER_PIN, "manage_sales"))
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    // No device token.
    let request = Request::post(APPROVALS)
        .header("x-tenant-key", shop.key().as_str())
        .header(header::AUTHORIZATION, format!("Bearer {cashier}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(asking(&shop.manager_id, MANAGER_PIN, "manage_sales").to_string()))
        .unwrap();
    app.send(request).await.error(StatusCode::UNAUTHORIZED, "device_invalid");
    // Bad fields, each named.
    let bad = ask(&app, &shop, &cashier, &json!({"permission": "Refund!", "reason": "x".repeat(201)})).await;
    let body = bad.error(StatusCode::BAD_REQUEST, "validation_error");
    for field in ["permission", "reason", "approver_employee_id", "pin"] {
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }

    assert_eq!(approvals_in(&app, &shop).await, 0);
    // The owner outranks a manager and holds the permission.
    let granted = ask(&app, &shop, &manager, &asking(&shop.owner_id, OWNER_PIN, "manage_sales")).await;
    granted.json(StatusCode::CREATED);
    assert_eq!(approvals_in(&app, &shop).await, 1);
}

async fn approvals_in(app: &TestApp, shop: &Shop) -> i64 {
    let schema = shop.schema();
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from \"{schema}\".approvals")))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_approval_is_redeemed_at_most_once() {
    let app = Arc::new(TestApp::spawn().await);
    let shop = shop(&app, "once", "Лавка").await;
    let elsewhere = app.register_owner("once_other", "Другая").await;
    let cashier = shop.sign_in(&app, &shop.cashier_id, CASHIER_PIN).await;
    let asked =
        json!({"permission": "manage_sales", "approver_employee_id": shop.manager_id, "pin": MANAGER_PIN});
    let grant = || async {
        ask(&app, &shop, &cashier, &asked).await.json(StatusCode::CREATED)["approval_token"].clone()
    };

    // Another store's key cannot redeem it (its store has no such approval)…
    let token = grant().await;
    redeem(&app, &elsewhere.token, &elsewhere.key(), &token, "manage_sales")
        .await
        .error(StatusCode::CONFLICT, "approval_invalid");
    // …and ten redeems at once use it exactly once.
    let attempts = (0..10).map(|_| {
        let (app, cashier, key, token) = (Arc::clone(&app), cashier.clone(), shop.key(), token.clone());
        async move { redeem(&app, &cashier, &key, &token, "manage_sales").await.status }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 9, "{statuses:?}");

    // Past its 60 seconds, an approval is refused.
    let token = grant().await;
    let schema = shop.schema();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "update \"{schema}\".approvals set expires_at = now() - interval '1 second' where redeemed_at is null"
    )))
    .execute(&app.pool)
    .await
    .unwrap();
    redeem(&app, &cashier, &shop.key(), &token, "manage_sales")
        .await
        .error(StatusCode::CONFLICT, "approval_invalid");
}

#[tokio::test]
async fn a_storm_of_pin_sign_ins_and_approvals_across_stores_never_crosses_stores() {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "4"), ("DATABASE_STORE_CONNECTIONS", "2")]).await;
    let mut shops = Vec::new();
    for (n, name) in ["Альфа", "Бета", "Гамма"].into_iter().enumerate() {
        let shop = shop(&app, &format!("zz{n}marker"), name).await;
        let cashier = shop.sign_in(&app, &shop.cashier_id, CASHIER_PIN).await;
        // Wrong PINs go to a till of their own, which they lock; the first keeps working.
        let spare = app.paired_till(&shop.manager, "Касса 2").await;
        shops.push((shop, cashier, spare));
    }
    let shops = Arc::new(shops);
    let addr = app.serve().await;
    let client = reqwest::Client::new();
    let requests = (0..240).map(|n| {
        let (client, shops) = (client.clone(), Arc::clone(&shops));
        async move {
            let home = n % shops.len();
            let (shop, cashier, spare) = &shops[home];
            let cut = n % 8 == 1;
            let (path, till, bearer, body) = match n / 3 % 3 {
                0 => (PIN_LOGIN, &shop.till, None, json!({"employee_id": shop.cashier_id, "pin": CASHIER_PIN})),
                1 => (
                    APPROVALS,
                    &shop.till,
                    Some(cashier.as_str()),
                    json!({"permission": "manage_sales", "approver_employee_id": shop.manager_id, "pin": MANAGER_PIN}),
                ),
                _ => (PIN_LOGIN, spare, None, json!({"employee_id": shop.cashier_id, "pin": "111222"})),
            };
            let mut request = client
                .post(format!("http://{addr}{path}"))
                .header("x-device-token", till.as_str())
                .header("x-tenant-key", shop.key())
                .json(&body);
            if let Some(bearer) = bearer {
                request = request.bearer_auth(bearer);
            }
            if cut {
                request = request.timeout(Duration::from_micros(300 + (n as u64 % 5) * 700));
            }
            let outcome = match request.send().await {
                Ok(response) => Some((response.status().as_u16(), response.text().await.unwrap_or_default())),
                Err(_) => None,
            };
            // Whatever the till got, redeem it in its own store and in the next one.
            let mut redeemed = Vec::new();
            if let Some((201, granted)) = &outcome {
                let token = serde_json::from_str::<Value>(granted).unwrap()["approval_token"].clone();
                for (n, (other, other_cashier, _)) in shops.iter().enumerate() {
                    let answer = client
                        .post(format!("http://{addr}{REDEEM}"))
                        .bearer_auth(other_cashier)
                        .header("x-tenant-key", other.key())
                        .json(&json!({"approval_token": token, "permission": "manage_sales"}))
                        .send()
                        .await
                        .unwrap();
                    redeemed.push((n, answer.status().as_u16(), answer.text().await.unwrap()));
                }
            }
            (home, cut, outcome, redeemed)
        }
    });
    let mut signed_in = 0;
    for (home, cut, outcome, redeemed) in futures_util::future::join_all(requests).await {
        let Some((status, body)) = outcome else {
            assert!(cut, "only cut requests may go unanswered");
            continue;
        };
        for n in 0..shops.len() {
            assert!(
                n == home || !body.contains(&format!("zz{n}marker")),
                "store {home}'s till saw store {n}: {body}"
            );
        }
        match status {
            200 => {
                let body: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(body["available_stores"].as_array().unwrap().len(), 1);
                assert_eq!(body["available_stores"][0]["tenant_key"], shops[home].0.key().as_str());
                signed_in += 1;
            }
            201 => {
                for (n, status, answer) in redeemed {
                    match n == home {
                        true => assert!(
                            status == 200 && answer.contains(&format!("zz{home}marker")),
                            "{status} {answer}"
                        ),
                        false => {
                            assert!(status == 409 && answer.contains("approval_invalid"), "{status} {answer}")
                        }
                    }
                }
            }
            401 => assert!(body.contains("invalid_pin"), "{body}"),
            429 => assert!(body.contains("too_many_attempts"), "{body}"),
            _ => panic!("store {home}: {status} {body}"),
        }
    }
    assert!(signed_in >= 1, "no PIN sign-in got through");
    assert_pools_are_neutral(&app.app_db).await;
}
