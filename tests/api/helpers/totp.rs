//! Authenticator codes computed the RFC 6238 way by `totp-lite`, an implementation kassa
//! does not use, and an owner with two-step sign-in on.

use axum::http::StatusCode;
use totp_lite::{Sha1, totp_custom};

use super::{Owner, TestApp};

/// The code of `secret` (base32) `steps` steps away from now.
pub fn code_at(secret: &str, steps: i64) -> String {
    let key = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret).expect("base32 secret");
    let time = chrono::Utc::now().timestamp() + steps * 30;
    totp_custom::<Sha1>(30, 6, &key, u64::try_from(time).unwrap())
}

/// Waits out the last seconds of a 30-second step, so the steps a test computes are still
/// the ones the server sees.
pub async fn away_from_step_edge() {
    let into_step = chrono::Utc::now().timestamp() % 30;
    if into_step >= 26 {
        tokio::time::sleep(std::time::Duration::from_secs(u64::try_from(31 - into_step).unwrap())).await;
    }
}

/// Turns two-step sign-in on for the account of `token`: its secret and recovery codes.
/// The confirming code is the previous step's, so the current and later steps are unused.
pub async fn turn_totp_on(app: &TestApp, token: &str) -> (String, Vec<String>) {
    away_from_step_edge().await;
    let secret = app.enrol_totp(token).await.json(StatusCode::CREATED)["secret"].as_str().unwrap().to_owned();
    let confirmed = app.confirm_totp(token, &code_at(&secret, -1)).await;
    assert_eq!(confirmed.header("cache-control"), Some("no-store"));
    let codes = confirmed.json(StatusCode::OK)["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

/// An owner with two-step sign-in on: their secret and recovery codes.
pub async fn owner_with_totp(app: &TestApp, username: &str) -> (Owner, String, Vec<String>) {
    let owner = app.register_owner(username, &format!("{username} shop")).await;
    let (secret, codes) = turn_totp_on(app, &owner.token).await;
    (owner, secret, codes)
}
