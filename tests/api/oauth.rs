//! Service clients, introspection (RFC 7662) and revocation (RFC 7009), docs/contract.md §15:
//! what the platform's other services learn about a kassa token, how soon they learn that
//! it ended, and who may ask.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    CASHIER_PIN, OWNER_PIN, ServiceClient, TEST_JWT_SECRET, TestApp, basic_authorization, kassa,
    register_over_http, shop,
};
use crate::logging::LoggingServer;

/// The password `registration` gives owners.
const OWNER_PASSWORD: &str = "Kassa-Strong-2026";

/// A fresh sign-in of `username`: (access, refresh).
async fn signed_in(app: &TestApp, username: &str, password: &str) -> (String, String) {
    let body = app.sign_in(username, password).await;
    (body["access"].as_str().unwrap().to_owned(), body["refresh"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn introspection_describes_a_live_access_token_and_a_live_refresh_token() {
    let app = TestApp::spawn().await;
    let owner = app.register_owner("ivan", "Лавка").await;
    let client = app.create_service_client("sales");
    let refresh = owner.data["tokens"]["refresh"].as_str().unwrap().to_owned();

    let access = app.introspect(&client, &owner.token).await;
    assert_eq!(access["active"], true, "{access}");
    assert_eq!(access["sub"], owner.user_id.to_string());
    assert_eq!(access["username"], "ivan");
    assert_eq!((&access["iss"], &access["aud"]), (&json!("kassa"), &json!("kassa-api")));
    assert_eq!((&access["client_id"], &access["token_type"]), (&json!("kassa"), &json!("Bearer")));
    assert!(access["exp"].as_u64().unwrap() > access["iat"].as_u64().unwrap(), "{access}");
    assert!(access.get("role").is_none(), "no store was named: {access}");
    let session = access["sid"].as_str().unwrap();

    let hinted =
        app.introspect_form(&client, &[("token", &refresh), ("token_type_hint", "refresh_token")]).await;
    let unhinted = app.introspect(&client, &refresh).await;
    for answer in [hinted, unhinted] {
        assert_eq!(answer["active"], true, "{answer}");
        assert_eq!((&answer["sid"], &answer["token_type"]), (&json!(session), &json!("refresh_token")));
        assert_eq!(answer["sub"], owner.user_id.to_string());
        assert!(answer.get("aud").is_none(), "{answer}");
    }

    for stranger in ["garbage", "eyJhbGciOiJIUzI1NiJ9.e30.x", &"A".repeat(43)] {
        assert_eq!(app.introspect(&client, stranger).await, json!({"active": false}), "{stranger}");
    }
}

#[tokio::test]
async fn introspection_answers_inactive_on_the_very_next_call_after_logout_and_logout_all() {
    let app = TestApp::spawn().await;
    app.register_owner("ivan", "Лавка").await;
    let client = app.create_service_client("sales");
    let (first, first_refresh) = signed_in(&app, "ivan", OWNER_PASSWORD).await;
    let (second, second_refresh) = signed_in(&app, "ivan", OWNER_PASSWORD).await;
    let (third, _) = signed_in(&app, "ivan", OWNER_PASSWORD).await;
    assert_eq!(app.introspect(&client, &first).await["active"], true);

    app.json(Method::POST, "/api/users/auth/logout/", &json!({}), Some(&first)).await.json(StatusCode::OK);
    assert_eq!(app.introspect(&client, &first).await, json!({"active": false}));
    assert_eq!(app.introspect(&client, &first_refresh).await, json!({"active": false}));
    assert_eq!(app.introspect(&client, &second).await["active"], true, "only that session ended");

    app.json(Method::POST, "/api/users/auth/logout-all/", &json!({}), Some(&third))
        .await
        .json(StatusCode::OK);
    for token in [&second, &second_refresh, &third] {
        assert_eq!(app.introspect(&client, token).await, json!({"active": false}));
    }
}

#[tokio::test]
async fn introspection_answers_inactive_on_the_very_next_call_after_a_password_change() {
    let app = TestApp::spawn().await;
    app.register_owner("ivan", "Лавка").await;
    let client = app.create_service_client("sales");
    let (elsewhere, _) = signed_in(&app, "ivan", OWNER_PASSWORD).await;
    let (here, _) = signed_in(&app, "ivan", OWNER_PASSWORD).await;
    assert_eq!(app.introspect(&client, &elsewhere).await["active"], true);

    let change = json!({"old_password": OWNER_PASSWORD, "new_password": "New-Strong-Pass-2027"});
    app.json(Method::POST, "/api/users/auth/change-password/", &change, Some(&here))
        .await
        .json(StatusCode::OK);

    assert_eq!(app.introspect(&client, &elsewhere).await, json!({"active": false}));
    assert_eq!(app.introspect(&client, &here).await["active"], true, "the session that changed it stays");
}

#[tokio::test]
async fn introspection_answers_inactive_on_the_very_next_call_after_a_deactivation() {
    let app = TestApp::spawn().await;
    let owner = app.register_owner("ivan", "Лавка").await;
    let client = app.create_service_client("sales");
    let (cashier, employee) = app.member(&owner, "kassir", "cashier").await;
    assert_eq!(app.introspect_in(&client, &cashier.token, &owner.key()).await["active"], true);

    app.patch_employee(&owner, &employee["id"], &json!({"is_active": false})).await.json(StatusCode::OK);

    assert_eq!(app.introspect(&client, &cashier.token).await, json!({"active": false}));
    assert_eq!(app.introspect_in(&client, &cashier.token, &owner.key()).await, json!({"active": false}));
}

#[tokio::test]
async fn introspection_answers_inactive_on_the_very_next_call_after_the_till_is_revoked() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, "till", "Лавка").await;
    let client = app.create_service_client("sales");
    let on_till = shop.sign_in(&app, &shop.cashier_id, CASHIER_PIN).await;
    let answer = app.introspect_in(&client, &on_till, &shop.key()).await;
    assert_eq!((&answer["active"], &answer["role"]), (&json!(true), &json!("cashier")), "{answer}");
    // A till's session is a member of its own store alone.
    let other = app.open_second_store(&shop.owner, "Вторая").await;
    let cashier_there = app.add_employee(&other, "kassir_2", "cashier").await;
    assert!(cashier_there["id"].is_number());
    assert_eq!(app.introspect_in(&client, &shop.owner.token, &other.key()).await["active"], true);
    let owner_on_till = shop.sign_in(&app, &shop.owner_id, OWNER_PIN).await;
    assert_eq!(app.introspect_in(&client, &owner_on_till, &other.key()).await, json!({"active": false}));

    let devices =
        app.scoped(Method::GET, "/api/users/devices/", &shop.manager.token, &shop.key(), None).await;
    let device_id = devices.json(StatusCode::OK)["results"][0]["id"].clone();
    let path = format!("/api/users/devices/{device_id}/");
    let revoked = app.scoped(Method::DELETE, &path, &shop.manager.token, &shop.key(), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);

    assert_eq!(app.introspect(&client, &on_till).await, json!({"active": false}));
    assert_eq!(
        app.introspect(&client, &shop.manager.token).await["active"],
        true,
        "only the till's sessions"
    );
}

#[tokio::test]
async fn a_named_store_adds_the_role_and_its_permissions_and_a_store_of_strangers_is_inactive() {
    let app = TestApp::spawn().await;
    let owner = app.register_owner("ivan", "Лавка").await;
    let stranger = app.register_owner("petr", "Чужая").await;
    let client = app.create_service_client("sales");
    let (cashier, _) = app.member(&owner, "kassir", "cashier").await;

    let answer = app.introspect_in(&client, &cashier.token, &owner.key()).await;
    assert_eq!((&answer["active"], &answer["role"]), (&json!(true), &json!("cashier")), "{answer}");
    assert_eq!(
        answer["permissions"],
        json!(["view_products", "create_sales", "view_customers", "create_customers"])
    );
    let me = app.me(&cashier).await.json(StatusCode::OK);
    assert_eq!(answer["permissions"], me["data"]["permissions"], "as the API computes them");
    // The store's own definition of the role counts, from the very next call.
    let edited = json!({"permissions": ["view_products"]});
    app.patch_role(&owner, "cashier", &edited).await.json(StatusCode::OK);
    let answer = app.introspect_in(&client, &cashier.token, &owner.key()).await;
    assert_eq!(answer["permissions"], json!(["view_products"]), "{answer}");
    // The header names the store as well as the field.
    let by_header = app
        .oauth_form(
            "/oauth/introspect",
            Some(&client.basic()),
            &[("token", &owner.token)],
            Some(&owner.key()),
        )
        .await
        .json(StatusCode::OK);
    assert_eq!((&by_header["active"], &by_header["role"]), (&json!(true), &json!("owner")));
    let refresh = owner.data["tokens"]["refresh"].as_str().unwrap();
    assert_eq!(app.introspect_in(&client, refresh, &owner.key()).await["role"], "owner");

    for key in [stranger.key(), "no-such-store_00000000".to_owned(), "Not A Key".to_owned()] {
        assert_eq!(app.introspect_in(&client, &cashier.token, &key).await, json!({"active": false}), "{key}");
        assert_eq!(app.introspect_in(&client, refresh, &key).await, json!({"active": false}), "{key}");
    }
    let deactivated = app.patch_store(&owner, &json!({"is_active": false})).await;
    deactivated.json(StatusCode::OK);
    assert_eq!(app.introspect_in(&client, &owner.token, &owner.key()).await, json!({"active": false}));
    assert_eq!(app.introspect(&client, &owner.token).await["active"], true, "the session itself lives on");
}

#[tokio::test]
async fn calls_without_the_right_client_credentials_are_401_with_basic() {
    let app = TestApp::spawn().await;
    let owner = app.register_owner("ivan", "Лавка").await;
    let client = app.create_service_client("sales");
    let bearer = format!("Bearer {}", owner.token);
    let wrong_secret = basic_authorization(&client.client_id, "not-the-secret");
    let unknown = basic_authorization("kc_00000000000000000000000000000000", &client.secret);
    let refusals = [None, Some(bearer.as_str()), Some(wrong_secret.as_str()), Some(unknown.as_str())];

    for path in ["/oauth/introspect", "/oauth/revoke"] {
        for authorization in refusals {
            let response = app.oauth_form(path, authorization, &[("token", &owner.token)], None).await;
            let body = response.error(StatusCode::UNAUTHORIZED, "invalid_client");
            assert_eq!(body["error"], "invalid_client", "RFC 6749 §5.2's member: {body}");
            let challenge = response.header("www-authenticate").unwrap_or_default();
            assert!(challenge.starts_with("Basic"), "{path} {authorization:?}: {challenge}");
        }
    }
    app.me(&owner).await.json(StatusCode::OK);
    let missing = app.oauth_form("/oauth/introspect", Some(&client.basic()), &[], None).await;
    let body = missing.error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!((&body["error"], body["errors"]["token"].is_array()), (&json!("invalid_request"), true));
}

#[tokio::test]
async fn malformed_requests_are_refused_with_invalid_request_or_415() {
    let app = TestApp::spawn().await;
    let owner = app.register_owner("ivan", "Лавка").await;
    let client = app.create_service_client("sales");
    let basic = client.basic();
    let introspect = |form: Vec<(&'static str, String)>, header: Option<String>| {
        let (app, basic) = (&app, basic.clone());
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.oauth_form("/oauth/introspect", Some(&basic), &form, header.as_deref()).await
        }
    };

    let twice = introspect(vec![("token", owner.token.clone()), ("token", "x".to_owned())], None).await;
    let body = twice.error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!((&body["error"], body["errors"]["token"].is_array()), (&json!("invalid_request"), true));
    let long = introspect(vec![("token", "a".repeat(5000))], None).await;
    assert!(long.error(StatusCode::BAD_REQUEST, "validation_error")["errors"]["token"].is_array());
    let two_stores = introspect(
        vec![("token", owner.token.clone()), ("tenant_key", owner.key())],
        Some("other-store_00000000".to_owned()),
    )
    .await;
    assert!(two_stores.error(StatusCode::BAD_REQUEST, "validation_error")["errors"]["tenant_key"].is_array());
    let same_store =
        introspect(vec![("token", owner.token.clone()), ("tenant_key", owner.key())], Some(owner.key()));
    assert_eq!(same_store.await.json(StatusCode::OK)["role"], "owner");

    let json_body = axum::http::Request::post("/oauth/introspect")
        .header("authorization", &basic)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(json!({"token": owner.token}).to_string()))
        .unwrap();
    app.send(json_body).await.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let not_utf8 = axum::http::Request::post("/oauth/introspect")
        .header("authorization", &basic)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(&b"token=%FF%FE\xff"[..]))
        .unwrap();
    assert_eq!(app.send(not_utf8).await.json(StatusCode::OK), json!({"active": false}));
}

#[tokio::test]
async fn revoking_an_access_or_a_refresh_token_ends_its_session() {
    let app = TestApp::spawn().await;
    let owner = app.register_owner("ivan", "Лавка").await;
    let client = app.create_service_client("sales");
    let (first, first_refresh) = signed_in(&app, "ivan", OWNER_PASSWORD).await;
    let (second, second_refresh) = signed_in(&app, "ivan", OWNER_PASSWORD).await;

    let revoked = app.revoke_token(&client, &first).await;
    assert_eq!(revoked.json(StatusCode::OK), json!({}));
    app.get_as("/api/users/auth/my-stores/", &first).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.refresh(&first_refresh).await.error(StatusCode::UNAUTHORIZED, "token_invalid");

    app.revoke_token(&client, &second_refresh).await.json(StatusCode::OK);
    app.get_as("/api/users/auth/my-stores/", &second).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.refresh(&second_refresh).await.error(StatusCode::UNAUTHORIZED, "token_invalid");

    // Whatever the token, the answer is the same, and nothing else ends.
    for token in ["garbage", first.as_str(), second_refresh.as_str()] {
        assert_eq!(app.revoke_token(&client, token).await.json(StatusCode::OK), json!({}));
    }
    app.me(&owner).await.json(StatusCode::OK);
}

#[tokio::test]
async fn a_parallel_flood_of_introspections_by_one_client_stays_within_its_limit() {
    const LIMIT: usize = 5;
    let app = Arc::new(TestApp::spawn_with(&[("INTROSPECTION_RATE_LIMIT_PER_MINUTE", "5")]).await);
    let owner = app.register_owner("ivan", "Лавка").await;
    let flooding = app.create_service_client("sales");
    let other = app.create_service_client("stock");

    let statuses = flood(&app, &flooding.basic(), &owner.token).await;
    let answered = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(answered, LIMIT, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS].contains(s)),
        "{statuses:?}"
    );
    let refused =
        app.oauth_form("/oauth/introspect", Some(&flooding.basic()), &[("token", &owner.token)], None).await;
    refused.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert!(refused.header("retry-after").is_some());

    // Wrong secrets at a client's id are bounded too, and spend nothing of its own allowance.
    let guessing = basic_authorization(&other.client_id, "guess");
    let statuses = flood(&app, &guessing, &owner.token).await;
    let unauthorized = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert_eq!(unauthorized, LIMIT, "{statuses:?}");
    assert!(statuses.iter().all(|s| [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(s)));
    assert_eq!(app.introspect(&other, &owner.token).await["active"], true);
}

/// 30 introspections of `token` at once with `authorization`: their statuses.
async fn flood(app: &Arc<TestApp>, authorization: &str, token: &str) -> Vec<StatusCode> {
    let calls = (0..30).map(|_| {
        let (app, authorization, token) = (Arc::clone(app), authorization.to_owned(), token.to_owned());
        tokio::spawn(async move {
            app.oauth_form("/oauth/introspect", Some(&authorization), &[("token", &token)], None).await.status
        })
    });
    futures_util::future::join_all(calls).await.into_iter().map(Result::unwrap).collect()
}

#[tokio::test]
async fn kassa_clients_creates_lists_rotates_and_deletes_service_clients() {
    let app = TestApp::spawn().await;
    let owner = app.register_owner("ivan", "Лавка").await;
    let sales = app.create_service_client("sales");
    assert!(sales.client_id.starts_with("kc_"), "{sales:?}");
    assert_eq!(sales.secret.len(), 43, "256 bits, base64url");
    let plain = app.kassa_command(&["clients", "create", "stock"]);
    assert!(plain.status.success());
    let printed = String::from_utf8_lossy(&plain.stdout).into_owned();
    assert!(printed.contains("client_id:") && printed.contains("client_secret:"), "{printed}");

    let taken = app.kassa_command(&["clients", "create", "sales"]);
    assert_eq!(taken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&taken.stderr).contains("exists already"));
    assert_eq!(app.kassa_command(&["clients", "create", " "]).status.code(), Some(1), "a blank name");

    let listed = app.kassa_command(&["clients", "list"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.lines().any(|l| l.contains("sales") && l.contains(&sales.client_id)), "{listed}");
    assert!(listed.contains("stock"), "{listed}");
    assert!(!listed.contains(&sales.secret), "a secret is shown once only: {listed}");
    let stored: i64 =
        sqlx::query_scalar("select count(*) from service_clients t where strpos(t::text, $1) > 0")
            .bind(&sales.secret)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0, "the database holds the secret's digest, never the secret");

    let rotated = app.kassa_command(&["clients", "rotate-secret", "sales", "--json"]);
    assert!(rotated.status.success());
    let rotated: Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert_eq!(rotated["client_id"], sales.client_id.as_str());
    let new = ServiceClient {
        client_id: sales.client_id.clone(),
        secret: rotated["client_secret"].as_str().unwrap().to_owned(),
    };
    let old =
        app.oauth_form("/oauth/introspect", Some(&sales.basic()), &[("token", &owner.token)], None).await;
    old.error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(app.introspect(&new, &owner.token).await["active"], true);

    assert!(app.kassa_command(&["clients", "delete", "sales"]).status.success());
    let deleted =
        app.oauth_form("/oauth/introspect", Some(&new.basic()), &[("token", &owner.token)], None).await;
    deleted.error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(app.kassa_command(&["clients", "delete", "sales"]).status.code(), Some(1));
    assert_eq!(app.kassa_command(&["clients", "rotate-secret", "sales"]).status.code(), Some(1));
}

#[tokio::test]
async fn a_client_secret_never_reaches_the_log() {
    let server = LoggingServer::start().await;
    let (base, http) = (server.base.clone(), reqwest::Client::new());
    let dir = tempfile::tempdir().unwrap();
    let created = kassa(dir.path())
        .args(["clients", "create", "sales", "--json"])
        .env("DATABASE_URL", server.database_url())
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "kassa=debug,sqlx=debug")
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let printed: Value = serde_json::from_slice(&created.stdout).expect("stdout is the JSON alone");
    let client = ServiceClient {
        client_id: printed["client_id"].as_str().unwrap().to_owned(),
        secret: printed["client_secret"].as_str().unwrap().to_owned(),
    };
    let command_log = String::from_utf8_lossy(&created.stderr).into_owned();
    assert!(!command_log.contains(&client.secret), "the secret reached the command's log: {command_log}");
    let owner = register_over_http(&http, &format!("{base}/api/users"), "oauth_logger", "Журнал").await;

    let wrong = basic_authorization(&client.client_id, &format!("{}x", client.secret));
    for (path, authorization, status) in [
        ("introspect", client.basic(), 200),
        ("introspect", wrong.clone(), 401),
        ("revoke", client.basic(), 200),
    ] {
        let response = http
            .post(format!("{base}/oauth/{path}"))
            .header("authorization", &authorization)
            .form(&[("token", owner.token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
    }

    let logs = server.stop().await;
    assert!(logs.contains("a service client ended a session"), "the revocation is logged: {logs}");
    for secret in [client.secret.as_str(), client.basic().as_str(), wrong.as_str()] {
        let secret = secret.trim_start_matches("Basic ");
        assert!(!logs.contains(secret), "{secret} reached the log: {logs}");
    }
}
