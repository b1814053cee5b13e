//! kassa checked by implementations in another language that no one here wrote: Python's
//! PyJWT verifies a kassa access token with nothing but the JWKS URL (`PyJWKClient`).
//!
//! These tests need a Python with those packages: `.ci/interop` installs them, pinned, in a
//! virtualenv and runs these tests with `KASSA_INTEROP_PYTHON` pointing at its interpreter.
//! Run without it they fail (they never pass without checking anything).

use std::process::Command;

use axum::http::StatusCode;

use crate::helpers::TestApp;

/// The interpreter `.ci/interop` prepared.
fn python() -> Command {
    let python = std::env::var("KASSA_INTEROP_PYTHON")
        .expect("KASSA_INTEROP_PYTHON names a Python with PyJWT[crypto] (run .ci/interop)");
    Command::new(python)
}

/// Verifies `token` the way a platform service would: the key comes from `jwks_url` by the
/// token's `kid`, the algorithm must be one kassa signs with, issuer and audience are kassa's.
const PYJWT_VERIFY: &str = r#"
import json, sys, jwt
url, token = sys.argv[1], sys.argv[2]
key = jwt.PyJWKClient(url).get_signing_key_from_jwt(token)
claims = jwt.decode(token, key.key, algorithms=["EdDSA", "ES256"], audience="kassa-api", issuer="kassa",
                    options={"require": ["exp", "iat", "sub"]})
tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
try:
    jwt.decode(tampered, key.key, algorithms=["EdDSA", "ES256"], audience="kassa-api", issuer="kassa")
    refused = False
except jwt.InvalidTokenError:
    refused = True
print(json.dumps({"sub": claims["sub"], "kid": key.key_id, "tampered_refused": refused}))
"#;

#[tokio::test]
#[ignore = "needs Python with PyJWT: .ci/interop runs it"]
async fn pyjwt_verifies_a_kassa_token_from_the_jwks_url_alone() {
    for algorithm in ["EdDSA", "ES256"] {
        let app = TestApp::spawn_with(&[("SIGNING_ALGORITHM", algorithm)]).await;
        let owner = app.register_owner("ivan", "Лавка").await;
        let addr = app.serve().await;
        let url = format!("http://{addr}/.well-known/jwks.json");
        let output = tokio::task::spawn_blocking(move || {
            python().args(["-c", PYJWT_VERIFY, &url, &owner.token]).output().unwrap()
        })
        .await
        .unwrap();
        assert!(output.status.success(), "{algorithm}: {}", String::from_utf8_lossy(&output.stderr));
        let verified: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(verified["sub"], owner.user_id.to_string(), "{algorithm}");
        assert_eq!(verified["tampered_refused"], true, "{algorithm}");
        let published = app.get("/.well-known/jwks.json").await.json(StatusCode::OK);
        assert_eq!(published["keys"][0]["kid"], verified["kid"], "{algorithm}");
    }
}
