//! Access tokens are not accepted before their time: one issued in the future (`iat`) or
//! not yet valid (`nbf`), beyond the few seconds of clock leeway, is refused like a forged one.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_token_from_the_future_or_before_its_time_is_refused() {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let stores = "/api/users/stores/";

    // The same claims, signed again, still pass: only the times below make the difference.
    let same = app.resigned(&owner.token, json!({})).await;
    app.get_as(stores, &same).await.json(StatusCode::OK);
    for (what, changes) in [
        ("issued in a minute", json!({"iat": now + 60, "exp": now + 960})),
        ("valid from a minute on", json!({"nbf": now + 60})),
    ] {
        let early = app.resigned(&owner.token, changes).await;
        let refused = app.get_as(stores, &early).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{what}");
        refused.error(StatusCode::UNAUTHORIZED, "token_invalid");
    }
    let already_valid = app.resigned(&owner.token, json!({"nbf": now - 1})).await;
    app.get_as(stores, &already_valid).await.json(StatusCode::OK);
}
