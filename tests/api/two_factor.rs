//! Two-step sign-in with authenticator apps (docs/contract.md §16). Codes are computed with
//! `totp-lite`, an RFC 6238 implementation kassa does not use.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, away_from_step_edge, code_at, owner_with_totp};

const PASSWORD: &str = "Kassa-Strong-2026";
const APP: &str = "kassa-pos/1.0";

/// The challenge a right password earns from `user_agent`.
async fn challenge(app: &TestApp, username: &str, user_agent: &str) -> String {
    let answer = app.login_as_client(username, PASSWORD, user_agent).await;
    let body = answer.error(StatusCode::UNAUTHORIZED, "two_factor_required");
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    assert!(body["expires_at"].is_string());
    assert!(body.get("access").is_none());
    body["challenge"].as_str().unwrap().to_owned()
}

async fn second_step(app: &TestApp, challenge: &str, code: &str) -> crate::helpers::TestResponse {
    app.login_second_step(&json!({"challenge": challenge, "code": code}), APP).await
}

#[tokio::test]
async fn enrolment_shows_the_secret_once_and_changes_nothing_until_confirmed() {
    let app = TestApp::spawn().await;
    let owner = app.register_owner("totp_enrol", "Enrol Shop").await;
    let enrolled = app.enrol_totp(&owner.token).await;
    assert_eq!(enrolled.header("cache-control"), Some("no-store"));
    let body = enrolled.json(StatusCode::CREATED);
    let secret = body["secret"].as_str().unwrap();
    assert!(secret.len() >= 32, "160 bits in base32: {secret}");
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/kassa:totp_enrol?"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    // Not on until confirmed: the password alone still signs in.
    app.login("totp_enrol", PASSWORD).await.json(StatusCode::OK);
    app.confirm_totp(&owner.token, "000000").await.error(StatusCode::BAD_REQUEST, "validation_error");
}

#[tokio::test]
async fn the_secret_is_sealed_in_the_database() {
    let app = TestApp::spawn().await;
    let (owner, secret, codes) = owner_with_totp(&app, "totp_sealed").await;
    let (sealed,): (String,) =
        sqlx::query_as("select secret_sealed from public.user_totp where user_id = $1")
            .bind(owner.user_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(sealed.starts_with("v1:"), "{sealed}");
    assert!(!sealed.contains(&secret) && !sealed.contains(&secret[..16]), "the base32 secret is in clear");
    let stored: Vec<(Vec<u8>,)> =
        sqlx::query_as("select code_hash from public.recovery_codes where user_id = $1")
            .bind(owner.user_id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(stored.iter().all(|(hash,)| hash.len() == 32 && !codes.iter().any(|c| c.as_bytes() == hash)));
}

#[tokio::test]
async fn sign_in_takes_a_code_one_step_either_side_and_refuses_two() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = owner_with_totp(&app, "totp_window").await;
    away_from_step_edge().await;
    let challenge = challenge(&app, "totp_window", APP).await;
    second_step(&app, &challenge, &code_at(&secret, 2))
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    second_step(&app, &challenge, &code_at(&secret, -2))
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    let signed_in = second_step(&app, &challenge, &code_at(&secret, 1)).await;
    assert_eq!(signed_in.header("cache-control"), Some("no-store"));
    let body = signed_in.json(StatusCode::OK);
    assert!(body["access"].is_string() && body["refresh"].is_string());
    assert_eq!(body["user"]["username"], "totp_window");
}

#[tokio::test]
async fn a_code_is_accepted_once_and_an_earlier_step_after_it_never() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = owner_with_totp(&app, "totp_replay").await;
    away_from_step_edge().await;
    let first = challenge(&app, "totp_replay", APP).await;
    second_step(&app, &first, &code_at(&secret, 0)).await.json(StatusCode::OK);
    let again = challenge(&app, "totp_replay", APP).await;
    second_step(&app, &again, &code_at(&secret, 0))
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    // The confirming step (-1) is older than the one used: refused too.
    second_step(&app, &again, &code_at(&secret, -1))
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    second_step(&app, &again, &code_at(&secret, 1)).await.json(StatusCode::OK);
}

#[tokio::test]
async fn a_challenge_works_once_for_its_client_only_and_not_after_it_expires() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = owner_with_totp(&app, "totp_challenge").await;
    away_from_step_edge().await;
    let challenge_one = challenge(&app, "totp_challenge", APP).await;
    // Another client: another user agent, or another address.
    let elsewhere = json!({"challenge": challenge_one, "code": code_at(&secret, 0)});
    app.login_second_step(&elsewhere, "curl/8.0")
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    app.login_second_step_from(&elsewhere, "198.51.100.7", APP)
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    second_step(&app, &challenge_one, &code_at(&secret, 0)).await.json(StatusCode::OK);
    // Used.
    second_step(&app, &challenge_one, &code_at(&secret, 1))
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");

    let expiring = challenge(&app, "totp_challenge", APP).await;
    sqlx::query("update public.two_factor_challenges set expires_at = now() - interval '1 second' where used_at is null")
        .execute(&app.pool)
        .await
        .unwrap();
    second_step(&app, &expiring, &code_at(&secret, 1))
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    let unknown = "ab".repeat(32);
    second_step(&app, &unknown, &code_at(&secret, 1))
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
}

#[tokio::test]
async fn each_recovery_code_signs_in_once() {
    let app = TestApp::spawn().await;
    let (_, _, codes) = owner_with_totp(&app, "totp_recovery").await;
    assert_eq!(codes.len(), 10);
    let first = challenge(&app, "totp_recovery", APP).await;
    // Typed in lower case, without dashes: the same code.
    let typed = codes[0].replace('-', "").to_lowercase();
    app.login_second_step(&json!({"challenge": first, "recovery_code": typed}), APP)
        .await
        .json(StatusCode::OK);
    let again = challenge(&app, "totp_recovery", APP).await;
    app.login_second_step(&json!({"challenge": again, "recovery_code": codes[0]}), APP)
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    app.login_second_step(&json!({"challenge": again, "recovery_code": codes[1]}), APP)
        .await
        .json(StatusCode::OK);
}

/// Answers of a flood: how many were checked (401) and how many refused unchecked (429).
fn tally(answers: &[crate::helpers::TestResponse]) -> (usize, usize) {
    let checked = answers.iter().filter(|a| a.status == StatusCode::UNAUTHORIZED).count();
    let throttled = answers.iter().filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked + throttled, answers.len(), "only 401 and 429");
    (checked, throttled)
}

#[tokio::test]
async fn a_parallel_flood_of_wrong_codes_checks_at_most_the_limits() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = owner_with_totp(&app, "totp_flood").await;
    let wrong = |n: u32| format!("{:06}", (code_at(&secret, 0).parse::<u32>().unwrap() + 1 + n) % 1_000_000);

    let one = challenge(&app, "totp_flood", APP).await;
    let flood = (0..20).map(|n| {
        let body = json!({"challenge": one, "code": wrong(n)});
        let app = &app;
        async move { app.login_second_step(&body, APP).await }
    });
    let (checked, _) = tally(&futures_util::future::join_all(flood).await);
    assert!(checked <= 5, "{checked} codes checked against one challenge");

    // The account's 10 per 15 minutes, across challenges.
    let mut challenges = Vec::new();
    for _ in 0..4 {
        challenges.push(challenge(&app, "totp_flood", APP).await);
    }
    let flood = challenges.iter().flat_map(|c| (0..5).map(move |n| (c.clone(), n))).map(|(c, n)| {
        let body = json!({"challenge": c, "code": wrong(n + 100)});
        let app = &app;
        async move { app.login_second_step(&body, APP).await }
    });
    let (checked_more, throttled) = tally(&futures_util::future::join_all(flood).await);
    assert!(checked + checked_more <= 10, "{} codes checked for one account", checked + checked_more);
    assert!(throttled >= 10);
    // The right code is refused too while the account's window lasts.
    let last = challenge(&app, "totp_flood", APP).await;
    second_step(&app, &last, &code_at(&secret, 0))
        .await
        .error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
}

#[tokio::test]
async fn turning_it_off_needs_the_password_and_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let (owner, secret, _) = owner_with_totp(&app, "totp_off").await;
    away_from_step_edge().await;
    let other = challenge(&app, "totp_off", APP).await;
    let other: Value = second_step(&app, &other, &code_at(&secret, 0)).await.json(StatusCode::OK);
    let other_token = other["access"].as_str().unwrap();

    app.disable_totp(&owner.token, &json!({})).await.error(StatusCode::BAD_REQUEST, "validation_error");
    app.disable_totp(&owner.token, &json!({"password": "Not-The-Password-1"}))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
    app.get_as("/api/users/auth/sessions/", other_token).await.json(StatusCode::OK);

    // Step-up: the password alone is not enough while it is on; a wrong password spends no code.
    app.disable_totp(&owner.token, &json!({"password": PASSWORD}))
        .await
        .error(StatusCode::UNAUTHORIZED, "two_factor_required");
    let wrong = json!({"password": "Not-The-Password-1"});
    app.disable_totp_with_code(&owner.token, &wrong, &code_at(&secret, 1))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
    app.get_as("/api/users/auth/sessions/", other_token).await.json(StatusCode::OK);
    app.disable_totp_with_code(&owner.token, &json!({"password": PASSWORD}), &code_at(&secret, 1))
        .await
        .json(StatusCode::OK);
    app.get_as("/api/users/auth/sessions/", other_token)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");
    app.get_as("/api/users/auth/sessions/", &owner.token).await.json(StatusCode::OK);
    // The password alone signs in again.
    app.login("totp_off", PASSWORD).await.json(StatusCode::OK);
    app.disable_totp(&owner.token, &json!({"password": PASSWORD}))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
}

#[tokio::test]
async fn a_recovery_code_turns_it_off_once() {
    let app = TestApp::spawn().await;
    let (owner, _, codes) = owner_with_totp(&app, "totp_off_code").await;
    app.disable_totp(&owner.token, &json!({"recovery_code": "0000-0000-0000-0000"}))
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
    app.disable_totp(&owner.token, &json!({"recovery_code": codes[3]})).await.json(StatusCode::OK);
    app.login("totp_off_code", PASSWORD).await.json(StatusCode::OK);
}

#[tokio::test]
async fn enrolling_again_while_on_is_refused() {
    let app = TestApp::spawn().await;
    let (owner, _, _) = owner_with_totp(&app, "totp_twice").await;
    app.enrol_totp(&owner.token).await.error(StatusCode::CONFLICT, "two_factor_already_on");
}

#[tokio::test]
async fn step_up_refuses_a_store_deactivation_without_a_fresh_code() {
    let app = TestApp::spawn().await;
    let (owner, secret, _) = owner_with_totp(&app, "totp_stepup").await;
    away_from_step_edge().await;
    app.deactivate_store(&owner, None).await.error(StatusCode::UNAUTHORIZED, "two_factor_required");
    app.deactivate_store(&owner, Some(&code_at(&secret, 2)))
        .await
        .error(StatusCode::UNAUTHORIZED, "two_factor_required");
    // The confirming code is spent: not fresh.
    app.deactivate_store(&owner, Some(&code_at(&secret, -1)))
        .await
        .error(StatusCode::UNAUTHORIZED, "two_factor_required");
    app.me(&owner).await.json(StatusCode::OK);
    let deactivated = app.deactivate_store(&owner, Some(&code_at(&secret, 0))).await;
    assert_eq!(deactivated.status, StatusCode::NO_CONTENT, "{}", String::from_utf8_lossy(&deactivated.body));
    app.me(&owner).await.error(StatusCode::FORBIDDEN, "inactive_tenant");
}

#[tokio::test]
async fn no_secret_of_the_second_step_reaches_the_log() {
    let server = crate::logging::LoggingServer::start().await;
    let (base, client) = (server.base.clone(), reqwest::Client::new());
    let api = format!("{base}/api/users");
    let owner = crate::helpers::register_over_http(&client, &api, "totp_logger", "Лог").await;
    let enrolled: Value = client
        .post(format!("{api}/auth/2fa/totp/"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrolled["secret"].as_str().unwrap().to_owned();
    away_from_step_edge().await;
    let confirmed = client
        .post(format!("{api}/auth/2fa/totp/confirm/"))
        .bearer_auth(&owner.token)
        .json(&json!({ "code": code_at(&secret, 0) }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let codes: Value = confirmed.json().await.unwrap();
    let recovery = codes["recovery_codes"][0].as_str().unwrap().to_owned();
    let challenged: Value = client
        .post(format!("{api}/auth/login/"))
        .json(&json!({"username": "totp_logger", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let challenge = challenged["challenge"].as_str().unwrap().to_owned();
    let second = client
        .post(format!("{api}/auth/login/2fa/"))
        .json(&json!({"challenge": challenge, "recovery_code": recovery}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);

    let logs = server.stop().await;
    assert!(logs.contains("turned two-step sign-in on"), "the change itself is logged: {logs}");
    assert!(logs.contains("a recovery code was used"), "{logs}");
    // The six-digit code is left out: any six digits (a timestamp's microseconds) would match.
    for (what, value) in [("secret", &secret), ("recovery code", &recovery), ("challenge", &challenge)] {
        assert!(!logs.contains(value.as_str()), "the {what} reached the log: {logs}");
    }
    assert!(!logs.contains(&recovery.replace('-', "")), "{logs}");
}
