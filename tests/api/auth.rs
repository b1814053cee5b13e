//! Sign-in and sessions: login, throttling, rotation and reuse, revocation that bites on the
//! very next request, and tokens that cannot be forged.

use std::time::Instant;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Owner, TEST_JWT_SECRET, TestApp, claims_of};

const PASSWORD: &str = "Kassa-Strong-2026";

fn tokens(body: &Value) -> (String, String) {
    (body["access"].as_str().unwrap().to_owned(), body["refresh"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn login_returns_what_a_client_needs_to_start() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;

    let body = app.login("IVAN", PASSWORD).await.json(StatusCode::OK);

    assert_eq!(body["user"]["username"], "ivan");
    assert_eq!(body["user"]["full_name"], "Иван Иванов");
    assert_eq!(body["password_change_required"], false);
    let stores = body["available_stores"].as_array().unwrap();
    assert_eq!(stores.len(), 1);
    assert_eq!(stores[0]["tenant_key"], owner.data["store"]["tenant_key"]);
    assert_eq!(stores[0]["role"], "owner");
    assert_eq!(stores[0]["role_display"], "Владелец");
    assert_eq!(stores[0]["permissions"].as_array().unwrap().len(), 10);
    assert_eq!(body["default_store"]["tenant_key"], owner.data["store"]["tenant_key"]);
    assert_eq!(body["default_store"]["role"], "owner");
    let (access, _) = tokens(&body);
    app.get_as("/api/users/auth/my-stores/", &access).await.json(StatusCode::OK);
}

#[tokio::test]
async fn every_failed_login_gets_the_same_answer() {
    let app = TestApp::spawn().await;
    app.register_owner("ivan", "Лавка").await;
    app.register_owner("olga", "Другая").await;
    sqlx::query("update public.users set is_active = false where username = 'olga'")
        .execute(&app.pool)
        .await
        .unwrap();

    let wrong =
        app.login("ivan", "Wrong-Password-1").await.error(StatusCode::UNAUTHORIZED, "authentication_failed");
    let unknown =
        app.login("nobody", PASSWORD).await.error(StatusCode::UNAUTHORIZED, "authentication_failed");
    let inactive = app.login("olga", PASSWORD).await.error(StatusCode::UNAUTHORIZED, "authentication_failed");

    assert_eq!(wrong, unknown);
    assert_eq!(wrong, inactive);
    let empty = app.json(Method::POST, "/api/users/auth/login/", &json!({}), None).await;
    let body = empty.error(StatusCode::BAD_REQUEST, "validation_error");
    assert!(body["errors"]["username"].is_array() && body["errors"]["password"].is_array());
}

#[tokio::test]
async fn unknown_usernames_take_as_long_as_wrong_passwords() {
    let app = TestApp::spawn_with(&[("LOGIN_RATE_LIMIT_PER_MINUTE", "1000")]).await;
    app.register_owner("ivan", "Лавка").await;
    app.login("warm-up", PASSWORD).await;

    // Pairs measured back to back (in alternating order) see the same machine load, so the
    // median of their ratios is robust to the other tests running beside this one.
    let mut ratios = Vec::new();
    for pair in 0..21 {
        let unknown = || async {
            let started = Instant::now();
            app.login("nobody-here", PASSWORD).await;
            started.elapsed().as_secs_f64()
        };
        let (u, w) = if pair % 2 == 0 {
            let u = unknown().await;
            (u, timed_wrong_password(&app).await)
        } else {
            let w = timed_wrong_password(&app).await;
            (unknown().await, w)
        };
        ratios.push(u / w);
    }

    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    assert!((0.8..=1.25).contains(&median), "median unknown/wrong time ratio {median:.3}: {ratios:?}");
}

async fn timed_wrong_password(app: &TestApp) -> f64 {
    let started = Instant::now();
    app.login("ivan", "Wrong-Password-1").await;
    started.elapsed().as_secs_f64()
}

#[tokio::test]
async fn login_failures_are_throttled_per_username_per_address() {
    let app = TestApp::spawn_with(&[("LOGIN_RATE_LIMIT_PER_MINUTE", "3")]).await;
    app.register_owner("ivan", "Лавка").await;
    let (attacker, cashier) = ("198.51.100.7", "203.0.113.9");

    for _ in 0..3 {
        app.login_from("ivan", "Wrong-Password-1", attacker)
            .await
            .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    }
    let blocked = app.login_from("ivan", PASSWORD, attacker).await;
    blocked.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    let retry_after: u64 = blocked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // The real user elsewhere is not locked out, and their success unlocks nobody else.
    app.login_from("ivan", PASSWORD, cashier).await.json(StatusCode::OK);
    app.login_from("ivan", PASSWORD, attacker)
        .await
        .error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
}

#[tokio::test]
async fn parallel_guesses_never_get_more_password_checks_than_the_limit() {
    let app = TestApp::spawn_with(&[("LOGIN_RATE_LIMIT_PER_MINUTE", "5")]).await;
    app.register_owner("ivan", "Лавка").await;

    let guesses = (0..50).map(|i| {
        let app = &app;
        async move { app.login_from("ivan", &format!("Guess-{i}-wrong"), "198.51.100.7").await.status }
    });
    let statuses = futures_util::future::join_all(guesses).await;

    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, throttled), (5, 45), "{statuses:?}");
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_session_it_rotated() {
    let app = TestApp::spawn().await;
    app.register_owner("ivan", "Лавка").await;
    let (access, first) = tokens(&app.login("ivan", PASSWORD).await.json(StatusCode::OK));

    let (_, second) = tokens(&app.refresh(&first).await.json(StatusCode::OK));
    assert_ne!(first, second);
    let (_, third) = tokens(&app.refresh(&second).await.json(StatusCode::OK));

    // `first` was retired two rotations ago: presenting it means the tokens were copied.
    app.refresh(&first).await.error(StatusCode::UNAUTHORIZED, "token_reused");
    app.refresh(&third).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.get_as("/api/users/auth/my-stores/", &access).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
}

/// Moves the clock of every session's last rotation back by `seconds`, as if that long had
/// passed since (the grace window counts from `rotated_at`).
async fn rotated_seconds_ago(app: &TestApp, seconds: i32) {
    sqlx::query("update public.sessions set rotated_at = rotated_at - make_interval(secs => $1)")
        .bind(f64::from(seconds))
        .execute(&app.pool)
        .await
        .unwrap();
}

/// A fresh app with `overrides` where `ivan` registered and signed in: the app, and the
/// refresh token of that first sign-in.
async fn first_refresh_token(overrides: &[(&str, &str)]) -> (TestApp, String) {
    let app = TestApp::spawn_with(overrides).await;
    app.register_owner("ivan", "Лавка").await;
    let t0 = tokens(&app.login("ivan", PASSWORD).await.json(StatusCode::OK)).1;
    (app, t0)
}

/// `reused`, a retired refresh token, is refused as `token_reused`, and the session it
/// belonged to is over: its `latest` refresh token and its `access` token are refused too.
async fn assert_reuse_ends_the_session(app: &TestApp, reused: &str, latest: &str, access: &str) {
    app.refresh(reused).await.error(StatusCode::UNAUTHORIZED, "token_reused");
    app.refresh(latest).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.get_as("/api/users/auth/sessions/", access).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
}

#[tokio::test]
async fn a_retry_within_the_window_never_signs_out_the_client_that_kept_the_first_answer() {
    let (app, t0) = first_refresh_token(&[]).await;

    // The till sends T0, the answer (pair A) may or may not arrive, and it retries (pair B).
    let (access_a, refresh_a) = tokens(&app.refresh(&t0).await.json(StatusCode::OK));
    let (access_b, refresh_b) = tokens(&app.refresh(&t0).await.json(StatusCode::OK));
    assert_eq!(refresh_a, refresh_b, "a retry hands out the successor the first answer carried");
    for access in [&access_a, &access_b] {
        app.get_as("/api/users/auth/sessions/", access).await.json(StatusCode::OK);
    }

    // Long after the window (the access token has expired, say), the till that kept A
    // refreshes with it: it is the session's current token, not a retired one.
    rotated_seconds_ago(&app, 3600).await;
    let (access_c, refresh_c) = tokens(&app.refresh(&refresh_a).await.json(StatusCode::OK));
    // A lost answer to that refresh is retried the same way, and the chain goes on.
    let (_, retried_c) = tokens(&app.refresh(&refresh_a).await.json(StatusCode::OK));
    assert_eq!(refresh_c, retried_c);
    app.refresh(&refresh_c).await.json(StatusCode::OK);
    app.get_as("/api/users/auth/sessions/", &access_c).await.json(StatusCode::OK);
    assert_eq!(app.count("select count(*) from public.sessions where revoked_at is not null").await, 0);
}

#[tokio::test]
async fn a_token_older_than_the_current_ones_predecessor_is_reuse_even_within_the_window() {
    let (app, t0) = first_refresh_token(&[]).await;
    let (_, a) = tokens(&app.refresh(&t0).await.json(StatusCode::OK));
    let (access, b) = tokens(&app.refresh(&a).await.json(StatusCode::OK));

    // Seconds later T0 comes back: A has been used since, so T0 is no retry but a copy.
    assert_reuse_ends_the_session(&app, &t0, &b, &access).await;
}

#[tokio::test]
async fn with_no_window_any_second_use_is_reuse() {
    let (app, t0) = first_refresh_token(&[("REFRESH_REUSE_GRACE", "0")]).await;
    let (access, a) = tokens(&app.refresh(&t0).await.json(StatusCode::OK));

    assert_reuse_ends_the_session(&app, &t0, &a, &access).await;
}

#[tokio::test]
async fn past_the_window_the_old_token_is_reuse() {
    let (app, t0) = first_refresh_token(&[("REFRESH_REUSE_GRACE", "1s")]).await;
    let (access, a) = tokens(&app.refresh(&t0).await.json(StatusCode::OK));

    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_reuse_ends_the_session(&app, &t0, &a, &access).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_refresh_retries_share_one_successor() {
    let (app, t0) = first_refresh_token(&[]).await;
    let url = format!("http://{}/api/users/auth/token/refresh/", app.serve().await);
    let client = reqwest::Client::new();

    let answers = futures_util::future::join_all((0..10).map(|_| {
        let request = client.post(&url).json(&json!({"refresh": t0}));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    }))
    .await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    let successors: std::collections::BTreeSet<&str> =
        answers.iter().map(|(_, body)| body["refresh"].as_str().unwrap()).collect();
    assert_eq!(successors.len(), 1, "every retry got the same refresh token: {successors:?}");

    let successor = successors.into_iter().next().unwrap().to_owned();
    let (access, _) = tokens(&app.refresh(&successor).await.json(StatusCode::OK));
    app.get_as("/api/users/auth/sessions/", &access).await.json(StatusCode::OK);
    assert_eq!(app.count("select count(*) from public.sessions where revoked_at is not null").await, 0);
    let retired = app.count("select count(*) from public.retired_refresh_tokens").await;
    assert_eq!(retired, 2, "T0 and its successor, each retired once");
}

#[tokio::test]
async fn refresh_refuses_anything_but_a_live_refresh_token() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;

    let empty = app.json(Method::POST, "/api/users/auth/token/refresh/", &json!({}), None).await;
    assert!(empty.error(StatusCode::BAD_REQUEST, "validation_error")["errors"]["refresh"].is_array());
    app.refresh("garbage").await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.refresh(&owner.token).await.error(StatusCode::UNAUTHORIZED, "token_invalid");

    let registered_refresh = owner.data["tokens"]["refresh"].as_str().unwrap();
    sqlx::query("update public.sessions set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.refresh(registered_refresh).await.error(StatusCode::UNAUTHORIZED, "token_expired");
}

#[tokio::test]
async fn logout_ends_its_sessions_at_once() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let (phone, phone_refresh) = tokens(&app.login("ivan", PASSWORD).await.json(StatusCode::OK));
    let (tablet, _) = tokens(&app.login("ivan", PASSWORD).await.json(StatusCode::OK));

    app.json(Method::POST, "/api/users/auth/logout/", &json!({}), Some(&phone)).await.json(StatusCode::OK);

    app.get_as("/api/users/auth/my-stores/", &phone).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.refresh(&phone_refresh).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.get_as("/api/users/auth/my-stores/", &tablet).await.json(StatusCode::OK);

    app.json(Method::POST, "/api/users/auth/logout-all/", &json!({}), Some(&tablet))
        .await
        .json(StatusCode::OK);
    app.get_as("/api/users/auth/my-stores/", &tablet).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    // The registration's session ended too: its refresh token is refused.
    assert_tokens_refused(&app, &owner, "a refresh token of an ended session").await;
}

#[tokio::test]
async fn users_manage_their_own_sessions_only() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let other = app.register_owner("petr", "Чужая").await;
    let (phone, _) = tokens(&app.login("ivan", PASSWORD).await.json(StatusCode::OK));

    let listed = app.get_as("/api/users/auth/sessions/", &phone).await.json(StatusCode::OK);
    let sessions = listed["data"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(sessions[0]["ip"], "192.0.2.1");
    let registration_session =
        sessions.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();

    let path = format!("/api/users/auth/sessions/{registration_session}/");
    app.delete_as(&path, &other.token).await.error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.delete_as(&path, &phone).await.status, StatusCode::NO_CONTENT);
    app.get_as("/api/users/auth/my-stores/", &owner.token)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.delete_as("/api/users/auth/sessions/not-a-uuid/", &phone)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_password_change_needs_the_old_one_to_end_the_other_sessions() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let (current, _) = tokens(&app.login("ivan", PASSWORD).await.json(StatusCode::OK));
    let change = |old: &str, new: &str| json!({"old_password": old, "new_password": new});
    let path = "/api/users/auth/change-password/";

    let wrong = app
        .json(Method::POST, path, &change("Not-My-Password-1", "New-Strong-Pass-2027"), Some(&current))
        .await;
    assert!(wrong.error(StatusCode::BAD_REQUEST, "validation_error")["errors"]["old_password"].is_array());
    let weak = app.json(Method::POST, path, &change(PASSWORD, "qwerty"), Some(&current)).await;
    assert!(weak.error(StatusCode::BAD_REQUEST, "validation_error")["errors"]["new_password"].is_array());

    let done = app.json(Method::POST, path, &change(PASSWORD, "New-Strong-Pass-2027"), Some(&current)).await;
    assert_eq!(done.json(StatusCode::OK)["message"], "Пароль успешно изменен");

    app.get_as("/api/users/auth/my-stores/", &current).await.json(StatusCode::OK);
    app.get_as("/api/users/auth/my-stores/", &owner.token)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.login("ivan", PASSWORD).await.error(StatusCode::UNAUTHORIZED, "authentication_failed");
    app.login("ivan", "New-Strong-Pass-2027").await.json(StatusCode::OK);
}

/// The tokens `owner` got at registration are all refused: the access token outside and
/// inside the store (`token_invalid`), the refresh token (401, `why`).
async fn assert_tokens_refused(app: &TestApp, owner: &Owner, why: &str) {
    app.get_as("/api/users/auth/my-stores/", &owner.token)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.me(owner).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    let refreshed = app.refresh(owner.data["tokens"]["refresh"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED, "{why}");
}

#[tokio::test]
async fn deactivating_a_user_stops_their_tokens_on_the_next_request() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;

    sqlx::query("update public.users set is_active = false").execute(&app.pool).await.unwrap();

    assert_tokens_refused(&app, &owner, "a refresh token of a deactivated account").await;
}

#[tokio::test]
async fn a_user_who_must_change_their_password_can_do_little_else() {
    let app = TestApp::spawn().await;
    app.register_owner("ivan", "Лавка").await;
    sqlx::query("update public.users set must_change_password = true").execute(&app.pool).await.unwrap();
    let body = app.login("ivan", PASSWORD).await.json(StatusCode::OK);
    assert_eq!(body["password_change_required"], true);
    let (access, _) = tokens(&body);

    app.get_as("/api/users/auth/my-stores/", &access)
        .await
        .error(StatusCode::FORBIDDEN, "password_change_required");
    app.get_as("/api/users/stores/", &access).await.error(StatusCode::FORBIDDEN, "password_change_required");
    app.get_as("/api/users/auth/sessions/", &access).await.json(StatusCode::OK);

    let change = json!({"old_password": PASSWORD, "new_password": "New-Strong-Pass-2027"});
    app.json(Method::POST, "/api/users/auth/change-password/", &change, Some(&access))
        .await
        .json(StatusCode::OK);
    app.get_as("/api/users/auth/my-stores/", &access).await.json(StatusCode::OK);
}

#[tokio::test]
async fn hashes_made_with_older_parameters_are_upgraded_at_sign_in() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let app = TestApp::spawn().await;
    app.register_owner("ivan", "Лавка").await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(4096, 1, 1, None).unwrap(),
    );
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let old_hash = weak.hash_password(PASSWORD.as_bytes(), &salt).unwrap().to_string();
    sqlx::query("update public.users set password_hash = $1 where username = 'ivan'")
        .bind(&old_hash)
        .execute(&app.pool)
        .await
        .unwrap();

    app.login("ivan", PASSWORD).await.json(StatusCode::OK);

    let stored: String = sqlx::query_scalar("select password_hash from public.users where username = 'ivan'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    app.login("ivan", PASSWORD).await.json(StatusCode::OK);
}

/// Signs `claims` with `secret` and `algorithm`, as a forger would.
fn forge(claims: &Value, secret: &[u8], algorithm: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn only_tokens_this_server_issued_and_still_honours_pass() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let claims = claims_of(&owner.token);
    let payload = owner.token.split('.').nth(1).unwrap();
    let now = claims["iat"].as_u64().unwrap();
    let with = |field: &str, value: Value| {
        let mut changed = claims.clone();
        changed[field] = value;
        changed
    };

    let expired = app.sign_as_kassa(&with("exp", json!(now - 120))).await;
    app.get_as("/api/users/stores/", &expired).await.error(StatusCode::UNAUTHORIZED, "token_expired");

    // The public key, as a forger would fetch it, used as an HMAC secret.
    let jwks = app.get("/.well-known/jwks.json").await.json(StatusCode::OK);
    let public_key = URL_SAFE_NO_PAD.decode(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
    let mut unknown_kid = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    unknown_kid.kid = Some("made-up".to_owned());
    let mut invalid = vec![
        app.sign_as_kassa(&with("typ", json!("refresh"))).await,
        app.sign_as_kassa(&with("aud", json!("someone-else"))).await,
        app.sign_as_kassa(&with("iss", json!("evil"))).await,
        app.sign_as_kassa(&with("sub", json!("999"))).await,
        forge(&claims, &public_key, jsonwebtoken::Algorithm::HS256),
        forge(&claims, TEST_JWT_SECRET.as_bytes(), jsonwebtoken::Algorithm::HS256),
        forge(&claims, TEST_JWT_SECRET.as_bytes(), jsonwebtoken::Algorithm::HS512),
        format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)),
        {
            let mut parts: Vec<&str> = owner.token.split('.').collect();
            let altered = URL_SAFE_NO_PAD.encode(with("sub", json!("2")).to_string());
            parts[1] = &altered;
            parts.join(".")
        },
    ];
    // The very signature of a real token under a `kid` kassa never made.
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&unknown_kid).unwrap());
    let (_, signed_part) = owner.token.split_once('.').unwrap();
    invalid.push(format!("{header}.{signed_part}"));
    for token in invalid {
        app.get_as("/api/users/stores/", &token).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
    }
    app.get_as("/api/users/stores/", &owner.token).await.json(StatusCode::OK);
}

#[tokio::test]
async fn login_answers_with_the_account_exactly_as_registration_did() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;

    let body = app.login("Ivan", PASSWORD).await.json(StatusCode::OK);

    assert_eq!(body["user"], owner.data["user"], "the account the password was checked against");
}

#[tokio::test]
async fn answers_that_carry_tokens_are_never_cached() {
    let app = TestApp::spawn().await;
    let registered = app.register(&crate::helpers::registration("nocache", "Без кэша")).await;
    assert_eq!(registered.status, StatusCode::CREATED);
    assert_eq!(registered.header("cache-control"), Some("no-store"), "registration");

    let signed_in = app.login("nocache", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::OK);
    assert_eq!(signed_in.header("cache-control"), Some("no-store"), "login");

    let (_, refresh_token) = tokens(&signed_in.json(StatusCode::OK));
    let refreshed = app.refresh(&refresh_token).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    assert_eq!(refreshed.header("cache-control"), Some("no-store"), "refresh");

    // A refusal carries no secret and no such header.
    let refused = app.login("nocache", "Wrong-Password-1").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.header("cache-control"), None);
}
