//! Paired tills (docs/contract.md §11): pairing codes, pairing, device tokens, the device list,
//! revocation and the roster, and that no till reaches another store.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, TestResponse, assert_pools_are_neutral};

const DEVICES: &str = "/api/users/devices/";
const ROSTER: &str = "/api/users/devices/roster/";

async fn roster(app: &TestApp, token: Option<&str>, key: &str) -> TestResponse {
    let mut request = Request::get(ROSTER).header("x-tenant-key", key);
    if let Some(token) = token {
        request = request.header("x-device-token", token);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn a_pairing_code_pairs_one_till_once_before_it_expires() {
    let (app, owner) = TestApp::with_owner("till_owner", "Лавка").await;
    let [(manager, _), (cashier, _)] =
        app.members(&owner, [("till_manager", "manager"), ("till_cashier", "cashier")]).await;

    app.create_pairing_code(&cashier, "Касса").await.error(StatusCode::FORBIDDEN, "permission_denied");
    app.create_pairing_code(&manager, "   ").await.error(StatusCode::BAD_REQUEST, "validation_error");
    let response = app.create_pairing_code(&manager, "Касса 1").await;
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let made = response.json(StatusCode::CREATED);
    let code = made["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 9, "{code}");
    assert_eq!(&code[4..5], "-");
    assert_eq!(made["name"], "Касса 1");
    assert_eq!(made["tenant_key"], owner.key().as_str());
    assert_eq!(app.count("select count(*) from public.pairing_codes").await, 1);

    // Typed in lower case without its dash: accepted, once.
    let typed = code.replace('-', "").to_lowercase();
    let response = app.pair(&typed).await;
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let paired = response.json(StatusCode::CREATED);
    assert_eq!(paired["device"]["name"], "Касса 1");
    assert_eq!(paired["tenant_key"], owner.key().as_str());
    let token = paired["device_token"].as_str().unwrap();
    assert!(token.len() >= 43, "256 bits: {token}");
    app.pair(&code).await.error(StatusCode::BAD_REQUEST, "invalid_pairing_code");
    // Neither the code nor the token is stored as such.
    let text: String = sqlx::query_scalar(
        "select coalesce(string_agg(encode(code_hash, 'escape'), ''), '') || coalesce((select string_agg(encode(token_hash, 'escape'), '') from public.devices), '') from public.pairing_codes",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!text.contains(token) && !text.contains(&code[..4]), "secrets stored in clear");

    // An expired code is refused.
    let late = app.create_pairing_code(&owner, "Касса 2").await.json(StatusCode::CREATED)["code"]
        .as_str()
        .unwrap()
        .to_owned();
    sqlx::query(
        "update public.pairing_codes set expires_at = now() - interval '1 second' where used_at is null",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.pair(&late).await.error(StatusCode::BAD_REQUEST, "invalid_pairing_code");
    for garbage in ["", "ABCD", "ABCD-EFGH-J", "!!!!-!!!!"] {
        app.pair(garbage).await.error(StatusCode::BAD_REQUEST, "invalid_pairing_code");
    }

    let events = app.audit_events(&owner, "?action=device.paired").await.json(StatusCode::OK);
    assert_eq!(events["count"], 1, "{events}");
    assert_eq!(events["results"][0]["actor_username"], "till_manager");
    assert!(!events.to_string().contains(token));
}

#[tokio::test]
async fn a_flood_of_wrong_codes_checks_at_most_ten_a_minute() {
    let app = Arc::new(TestApp::spawn().await);
    let owner = app.register_owner("till_owner", "Лавка").await;
    let code = app.create_pairing_code(&owner, "Касса").await.json(StatusCode::CREATED)["code"]
        .as_str()
        .unwrap()
        .to_owned();

    let guesses = (0..50).map(|n| {
        let app = Arc::clone(&app);
        async move { app.pair(&format!("ZZZZ-{:04}", n % 10_000)).await.status }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked + refused, 50, "{statuses:?}");
    assert!(checked <= 10, "{checked} codes were checked");
    // Within the minute even the right code is refused from this address…
    let blocked = app.pair(&code).await;
    blocked.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert!(blocked.header("retry-after").is_some());
    // …and keeps working once the window has passed.
    sqlx::query("update public.pairing_throttle set window_started_at = now() - interval '61 seconds'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.pair(&code).await.json(StatusCode::CREATED);
}

#[tokio::test]
async fn a_device_token_opens_its_own_store_only_until_revoked() {
    let (app, owner) = TestApp::with_owner("till_owner", "Лавка").await;
    let other = app.register_owner("other_owner", "Другая").await;
    let (cashier, cashier_employee) = app.member(&owner, "till_cashier", "cashier").await;
    let token = app.paired_till(&owner, "Касса 1").await;

    // The roster: active members with a PIN only.
    assert_eq!(roster(&app, Some(&token), &owner.key()).await.json(StatusCode::OK)["results"], json!([]));
    app.set_pin(&cashier, "482137").await;
    let list = roster(&app, Some(&token), &owner.key()).await.json(StatusCode::OK);
    assert_eq!(list["results"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["results"][0]["employee_id"], cashier_employee["id"]);
    assert_eq!(list["results"][0]["role"], "cashier");
    assert_eq!(list["tenant_key"], owner.key().as_str());
    assert!(!list.to_string().contains("482137"));

    // Another store's key, a wrong token, no token.
    roster(&app, Some(&token), &other.key()).await.error(StatusCode::FORBIDDEN, "invalid_tenant_key");
    roster(&app, Some("not-a-device"), &owner.key()).await.error(StatusCode::UNAUTHORIZED, "device_invalid");
    roster(&app, None, &owner.key()).await.error(StatusCode::UNAUTHORIZED, "device_invalid");
    // A bearer token is no device token.
    let bearer = Request::get(ROSTER)
        .header("x-tenant-key", owner.key())
        .header("authorization", format!("Bearer {}", owner.token))
        .body(Body::empty())
        .unwrap();
    app.send(bearer).await.error(StatusCode::UNAUTHORIZED, "device_invalid");

    // The list, and revocation.
    app.scoped(Method::GET, DEVICES, &cashier.token, &cashier.key(), None)
        .await
        .error(StatusCode::FORBIDDEN, "permission_denied");
    let devices =
        app.scoped(Method::GET, DEVICES, &owner.token, &owner.key(), None).await.json(StatusCode::OK);
    assert_eq!(devices["results"].as_array().unwrap().len(), 1);
    let device = &devices["results"][0];
    assert_eq!(device["is_active"], true);
    assert_eq!(device["paired_by"], owner.user_id);
    assert!(device["last_seen_at"].is_string(), "the roster marked it seen: {device}");
    assert!(!devices.to_string().contains(&token));
    let path = format!("{DEVICES}{}/", device["id"]);
    app.scoped(Method::DELETE, &path, &other.token, &other.key(), None)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.scoped(Method::DELETE, &path, &owner.token, &owner.key(), None).await.status,
        StatusCode::NO_CONTENT
    );
    roster(&app, Some(&token), &owner.key()).await.error(StatusCode::UNAUTHORIZED, "device_invalid");
    let devices =
        app.scoped(Method::GET, DEVICES, &owner.token, &owner.key(), None).await.json(StatusCode::OK);
    assert_eq!(devices["results"][0]["is_active"], false);
    let events = app.audit_events(&owner, "?action=device.revoked").await.json(StatusCode::OK);
    assert_eq!(events["count"], 1);
}

#[tokio::test]
async fn a_storm_of_tills_across_stores_never_crosses_stores() {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "4")]).await;
    let mut stores = Vec::new();
    for (n, name) in ["Альфа", "Бета", "Гамма"].into_iter().enumerate() {
        let owner = app.register_owner(&format!("storm_owner_{n}"), name).await;
        let marker = format!("zz{n}marker");
        let (cashier, _) = app.member(&owner, &format!("{marker}_cashier"), "cashier").await;
        app.set_pin(&cashier, "482137").await;
        let employee_first_name = format!("Имя {marker}_cashier");
        let token = app.paired_till(&owner, &format!("Касса {n}")).await;
        stores.push((owner.key(), token, employee_first_name));
    }
    let stores = Arc::new(stores);
    let addr = app.serve().await;
    let client = reqwest::Client::new();
    let requests = (0..400).map(|n| {
        let (client, stores) = (client.clone(), Arc::clone(&stores));
        async move {
            let home = n % stores.len();
            let other = (home + 1 + n / 7 % 2) % stores.len();
            // Mostly the till's own store; some another store's key; some cut off.
            let (key, foreign, cut) = match n % 10 {
                0 => (&stores[other].0, true, false),
                1 => (&stores[home].0, false, true),
                _ => (&stores[home].0, false, false),
            };
            let mut request = client
                .get(format!("http://{addr}{ROSTER}"))
                .header("x-device-token", stores[home].1.as_str())
                .header("x-tenant-key", key.as_str());
            if cut {
                request = request.timeout(Duration::from_micros(300 + (n as u64 % 5) * 500));
            }
            let outcome = match request.send().await {
                Ok(response) => Some((response.status().as_u16(), response.text().await.unwrap_or_default())),
                Err(_) => None,
            };
            (home, foreign, cut, outcome)
        }
    });
    let mut served = 0;
    for (home, foreign, cut, outcome) in futures_util::future::join_all(requests).await {
        let Some((status, body)) = outcome else {
            assert!(cut, "only cut requests may go unanswered");
            continue;
        };
        for (n, store) in stores.iter().enumerate() {
            assert!(n == home || !body.contains(&store.2), "store {home}'s till saw store {n}: {body}");
        }
        if foreign {
            assert!(status == 403 && body.contains("invalid_tenant_key"), "{status} {body}");
        } else {
            assert_eq!(status, 200, "{body}");
            assert!(body.contains(&stores[home].2), "{body}");
            served += 1;
        }
    }
    assert!(served >= 280, "only {served} served");
    assert_pools_are_neutral(&app.app_db).await;
}
