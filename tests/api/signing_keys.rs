//! Tokens other services can trust (docs/contract.md §15): signed with published keys that a
//! JWT library kassa does not use verifies from the JWKS alone; rotated without a restart on
//! every instance sharing the database; retired at once; the HS256 tokens of the release
//! before verifying only for one token lifetime after an upgrade; private keys sealed.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_simple::prelude::{
    ECDSAP256PublicKeyLike, ES256PublicKey, Ed25519PublicKey, EdDSAPublicKeyLike, JWTClaims,
    VerificationOptions,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::helpers::{
    TEST_JWT_SECRET, TestApp, TestResponse, claims_of, header_of, kassa, private_key_spellings, send,
};

const PASSWORD: &str = "Kassa-Strong-2026";

/// The claims kassa adds to the registered ones.
#[derive(Debug, Deserialize)]
struct KassaClaims {
    sid: String,
    typ: String,
}

fn verification() -> VerificationOptions {
    VerificationOptions {
        allowed_issuers: Some(HashSet::from(["kassa".to_owned()])),
        allowed_audiences: Some(HashSet::from(["kassa-api".to_owned()])),
        ..VerificationOptions::default()
    }
}

/// `token` verified by jwt-simple with the key of its `kid` in `jwks`, and nothing else.
fn verify_with_the_jwks_alone(token: &str, jwks: &Value) -> JWTClaims<KassaClaims> {
    let header = header_of(token);
    let kid = header["kid"].as_str().expect("a kid in the header");
    let jwk =
        jwks["keys"].as_array().unwrap().iter().find(|key| key["kid"] == kid).expect("the kid is published");
    let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    match header["alg"].as_str().unwrap() {
        "EdDSA" => {
            assert_eq!((&jwk["kty"], &jwk["crv"]), (&json!("OKP"), &json!("Ed25519")));
            let key = Ed25519PublicKey::from_bytes(&coordinate("x")).unwrap();
            key.verify_token::<KassaClaims>(token, Some(verification())).expect("jwt-simple verifies it")
        }
        "ES256" => {
            assert_eq!((&jwk["kty"], &jwk["crv"]), (&json!("EC"), &json!("P-256")));
            let point = [vec![0x04], coordinate("x"), coordinate("y")].concat();
            let key = ES256PublicKey::from_bytes(&point).unwrap();
            key.verify_token::<KassaClaims>(token, Some(verification())).expect("jwt-simple verifies it")
        }
        other => panic!("unexpected alg {other}"),
    }
}

#[tokio::test]
async fn a_token_verifies_with_another_jwt_library_from_the_jwks_alone() {
    for algorithm in ["EdDSA", "ES256"] {
        let app = TestApp::spawn_with(&[("SIGNING_ALGORITHM", algorithm)]).await;
        let owner = app.register_owner("ivan", "Лавка").await;
        assert_eq!(header_of(&owner.token)["alg"], algorithm);

        let published = app.get("/.well-known/jwks.json").await;
        assert_eq!(published.header("cache-control"), Some("public, max-age=300"), "{algorithm}");
        let jwks = published.json(StatusCode::OK);
        for key in jwks["keys"].as_array().unwrap() {
            assert_eq!((&key["use"], &key["alg"]), (&json!("sig"), &json!(algorithm)));
            assert!(key.get("d").is_none(), "no private part is published: {key}");
        }

        let claims = verify_with_the_jwks_alone(&owner.token, &jwks);
        assert_eq!(claims.subject, Some(owner.user_id.to_string()), "{algorithm}");
        assert_eq!(claims.custom.typ, "access");
        assert_eq!(claims.custom.sid, claims_of(&owner.token)["sid"].as_str().unwrap());

        // One changed claim and the other library refuses it too.
        let mut parts: Vec<String> = owner.token.split('.').map(str::to_owned).collect();
        let mut payload = claims_of(&owner.token);
        payload["sub"] = json!("1");
        parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
        let tampered = parts.join(".");
        let header = header_of(&owner.token);
        let jwk = jwks["keys"].as_array().unwrap().iter().find(|key| key["kid"] == header["kid"]).unwrap();
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        if algorithm == "EdDSA" {
            let key = Ed25519PublicKey::from_bytes(&x).unwrap();
            assert!(key.verify_token::<KassaClaims>(&tampered, Some(verification())).is_err());
        }
    }
}

#[tokio::test]
async fn the_discovery_document_names_the_keys_and_the_oauth_endpoints() {
    let app = TestApp::spawn_with(&[("PUBLIC_URL", "https://pos.example.com")]).await;
    let document = app.get("/.well-known/openid-configuration").await.json(StatusCode::OK);
    assert_eq!(document["issuer"], "kassa");
    assert_eq!(document["jwks_uri"], "https://pos.example.com/.well-known/jwks.json");
    assert_eq!(document["introspection_endpoint"], "https://pos.example.com/oauth/introspect");
    assert_eq!(document["revocation_endpoint"], "https://pos.example.com/oauth/revoke");
    assert_eq!(document["id_token_signing_alg_values_supported"], json!(["EdDSA", "ES256"]));
    assert_eq!(document["introspection_endpoint_auth_methods_supported"], json!(["client_secret_basic"]));
}

/// A second kassa instance on `app`'s database, with the same configuration.
fn second_instance(app: &TestApp, overrides: &[(&str, &str)]) -> Router {
    let config = std::sync::Arc::new(crate::helpers::test_config(overrides));
    let pool = kassa::db::pool::lazy_pool(&config, app.db.app_options());
    kassa::router::build_router(kassa::state::AppState::new(config, pool))
}

async fn login_on(instance: &Router, username: &str) -> String {
    let request = Request::post("/api/users/auth/login/")
        .header("content-type", "application/json")
        .body(Body::from(json!({"username": username, "password": PASSWORD}).to_string()))
        .unwrap();
    let body = send(instance, request).await.json(StatusCode::OK);
    body["access"].as_str().unwrap().to_owned()
}

/// `GET /stores/` (the caller's stores: any signed-in account) on `instance`.
async fn me_on(instance: &Router, token: &str) -> TestResponse {
    let request = Request::get("/api/users/stores/")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty());
    send(instance, request.unwrap()).await
}

async fn published_kids(instance: &Router) -> Vec<String> {
    let request = Request::get("/.well-known/jwks.json").body(Body::empty()).unwrap();
    let jwks = send(instance, request).await.json(StatusCode::OK);
    jwks["keys"].as_array().unwrap().iter().map(|key| key["kid"].as_str().unwrap().to_owned()).collect()
}

/// Runs `kassa keys ARGS` on `app`'s database, configured with `settings` as the servers
/// are, and returns its stdout.
fn keys_command(app: &TestApp, settings: &[(&str, &str)], args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = kassa(dir.path())
        .env("DATABASE_URL", app.db.url())
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .envs(settings.iter().copied())
        .arg("keys")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "kassa keys {args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Waits (up to `within`) until `check` holds.
async fn eventually<F: std::future::Future<Output = bool>>(within: Duration, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_rotation_publishes_first_signs_next_and_reaches_a_second_instance_without_a_restart() {
    // The JWKS may be cached 8 s: instances read the keys every 2 s, a new key signs 10 s
    // after it is published.
    let settings = [("JWKS_MAX_AGE", "8s")];
    let app = TestApp::spawn_with(&settings).await;
    let second = second_instance(&app, &settings);
    let owner = app.register_owner("ivan", "Лавка").await;
    let first_kid = header_of(&owner.token)["kid"].as_str().unwrap().to_owned();
    assert_eq!(header_of(&login_on(&second, "ivan").await)["kid"], first_kid.as_str());

    let rotated_at = Instant::now();
    let printed = keys_command(&app, &settings, &["rotate"]);
    let new_kid = printed.split(':').next().unwrap().to_owned();
    assert_ne!(new_kid, first_kid);
    for instance in [&app.router, &second] {
        eventually(Duration::from_secs(5), || async {
            let kids = published_kids(instance).await;
            kids.contains(&new_kid) && kids.contains(&first_kid)
        })
        .await;
        // Published, not yet signing.
        assert_eq!(header_of(&login_on(instance, "ivan").await)["kid"], first_kid.as_str());
    }
    assert!(rotated_at.elapsed() < Duration::from_secs(9), "the checks above ran before the new key signs");
    let listed: Value = serde_json::from_str(&keys_command(&app, &settings, &["list", "--json"])).unwrap();
    let states: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kid"].as_str().unwrap(), k["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [(new_kid.as_str(), "pending"), (first_kid.as_str(), "signing")]);

    // Once its time has come, both instances sign with the new key; both keys verify.
    let signs_from =
        chrono::DateTime::parse_from_rfc3339(printed.trim().rsplit(' ').next().unwrap()).unwrap();
    let wait = (signs_from.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(100)).await;
    for instance in [&app.router, &second] {
        let fresh = login_on(instance, "ivan").await;
        assert_eq!(header_of(&fresh)["kid"], new_kid.as_str());
        for other in [&app.router, &second] {
            me_on(other, &fresh).await.json(StatusCode::OK);
            me_on(other, &owner.token).await.json(StatusCode::OK);
        }
    }

    // Retired: out of the JWKS, and its tokens refused everywhere within a refresh.
    let fresh = login_on(&second, "ivan").await;
    keys_command(&app, &settings, &["retire", &first_kid]);
    for instance in [&app.router, &second] {
        eventually(Duration::from_secs(5), || async { !published_kids(instance).await.contains(&first_kid) })
            .await;
        me_on(instance, &owner.token).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
        me_on(instance, &fresh).await.json(StatusCode::OK);
    }
}

#[tokio::test]
async fn hs256_tokens_of_the_release_before_verify_for_one_token_lifetime_after_the_upgrade() {
    let settings = [("ACCESS_TOKEN_TTL", "4s"), ("JWKS_MAX_AGE", "4s")];
    let app = TestApp::spawn_with(&settings).await;
    // As the migration leaves a database that had sessions: HS256 tokens may be live.
    sqlx::query("update public.signing_key_upgrade set hs256_sessions_existed = true")
        .execute(&app.pool)
        .await
        .unwrap();
    // The instance read the keys when it started: it sees the marker at its next read.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let owner = app.register_owner("ivan", "Лавка").await;
    let upgraded_at = Instant::now();
    let old_token = |claims: &Value, secret: &[u8]| {
        let key = jsonwebtoken::EncodingKey::from_secret(secret);
        jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), claims, &key)
            .unwrap()
    };
    let claims = claims_of(&owner.token);
    // Verified once the instance has read the marker (a stale ring is read again in the
    // background, within a second or two).
    let signed_before = old_token(&claims, TEST_JWT_SECRET.as_bytes());
    eventually(Duration::from_secs(5), || async {
        app.get_as("/api/users/stores/", &signed_before).await.status == StatusCode::OK
    })
    .await;
    app.get_as("/api/users/stores/", &old_token(&claims, b"another-secret-another-secret-00"))
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");

    // One token lifetime and the leeway after the first key signed, no HS256 token passes.
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(upgraded_at.elapsed())).await;
    let signed_in = app.sign_in("ivan", PASSWORD).await;
    let current = signed_in["access"].as_str().unwrap().to_owned();
    app.get_as("/api/users/stores/", &current).await.json(StatusCode::OK);
    let late = old_token(&claims_of(&current), TEST_JWT_SECRET.as_bytes());
    app.get_as("/api/users/stores/", &late).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
}

#[tokio::test]
async fn private_keys_are_sealed_at_rest_and_never_published() {
    let app = TestApp::spawn().await;
    app.register_owner("ivan", "Лавка").await;
    let ring = app.key_ring().await;
    let key = &ring.keys[0];
    let forms = private_key_spellings(key);

    let rows: Vec<String> = sqlx::query_scalar("select row_to_json(k)::text from public.signing_keys k")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains("\"private_key_ciphertext\":\"v1:"), "{}", rows[0]);
    let jwks = app.get("/.well-known/jwks.json").await.json(StatusCode::OK).to_string();
    let discovery = app.get("/.well-known/openid-configuration").await.json(StatusCode::OK).to_string();
    for form in &forms {
        for (place, text) in [("the table", &rows[0]), ("the JWKS", &jwks), ("discovery", &discovery)] {
            assert!(!text.contains(form.as_str()), "the private key ({form}) is readable in {place}: {text}");
        }
    }
}

#[tokio::test]
async fn a_key_is_replaced_on_schedule_and_retired_once_its_tokens_have_expired() {
    // Instances read the keys every second here, and a new key signs 5 s after it appears.
    let app = TestApp::spawn_with(&[("JWKS_MAX_AGE", "4s")]).await;
    let owner = app.register_owner("ivan", "Лавка").await;
    let first_kid = header_of(&owner.token)["kid"].as_str().unwrap().to_owned();

    // The key is as old as the rotation period (30 days): the next refresh makes its successor.
    sqlx::query(
        "update public.signing_keys set created_at = now() - interval '30 days 1 minute',
                                        signs_from = now() - interval '30 days 1 minute'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    eventually(Duration::from_secs(5), || async { published_kids(&app.router).await.len() == 2 }).await;
    let next_kid: String = sqlx::query_scalar("select kid from public.signing_keys where kid <> $1")
        .bind(&first_kid)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let lead: f64 = sqlx::query_scalar(
        "select extract(epoch from signs_from - created_at)::float8 from public.signing_keys where kid = $1",
    )
    .bind(&next_kid)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((4.9..=5.1).contains(&lead), "published JWKS_MAX_AGE and one refresh ahead: {lead} s");
    app.get_as("/api/users/stores/", &owner.token).await.json(StatusCode::OK);

    // The successor has signed for longer than a token lives: the first key's tokens have all
    // expired, so it retires by itself and its private half is erased.
    sqlx::query("update public.signing_keys set signs_from = now() - interval '16 minutes' where kid = $1")
        .bind(&next_kid)
        .execute(&app.pool)
        .await
        .unwrap();
    eventually(Duration::from_secs(5), || async { published_kids(&app.router).await == [next_kid.clone()] })
        .await;
    let erased: bool = sqlx::query_scalar(
        "select retired_at is not null and private_key_ciphertext is null from public.signing_keys where kid = $1",
    )
    .bind(&first_kid)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(erased, "the retired key keeps no private half");
    app.get_as("/api/users/stores/", &owner.token).await.error(StatusCode::UNAUTHORIZED, "token_invalid");
}
