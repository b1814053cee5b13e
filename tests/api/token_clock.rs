//! Access tokens are not accepted before their time: one issued in the future (`iat`) or
//! not yet valid (`nbf`), beyond the few seconds of clock leeway, is refused like a forged one.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{TEST_JWT_SECRET, TestApp};

/// `token`'s claims with `changes` laid over them, signed again with the test secret.
fn resigned(token: &str, changes: Value) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
    let key = EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

#[tokio::test]
async fn a_token_from_the_future_or_before_its_time_is_refused() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let stores = "/api/users/stores/";

    // The same claims, signed again, still pass: only the times below make the difference.
    let same = resigned(&owner.token, json!({}));
    app.get_as(stores, &same).await.json(StatusCode::OK);
    for (what, changes) in [
        ("issued in a minute", json!({"iat": now + 60, "exp": now + 960})),
        ("valid from a minute on", json!({"nbf": now + 60})),
    ] {
        let early = resigned(&owner.token, changes);
        let refused = app.get_as(stores, &early).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{what}");
        refused.error(StatusCode::UNAUTHORIZED, "token_invalid");
    }
    let already_valid = resigned(&owner.token, json!({"nbf": now - 1}));
    app.get_as(stores, &already_valid).await.json(StatusCode::OK);
}
