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

/// A free port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
#[ignore = "needs Debian's prometheus package (prometheus, promtool): .ci/interop runs it"]
async fn a_real_prometheus_scrapes_the_metrics_and_promtool_finds_them_clean() {
    let server = crate::logging::LoggingServer::start().await;
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let answer = client.get(format!("{}/api/users/permissions/", server.base)).send().await.unwrap();
        assert_eq!(answer.status(), 200);
    }
    let text = client.get(&server.metrics).send().await.unwrap().text().await.unwrap();
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus)");
    std::io::Write::write_all(promtool.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success() && checked.stdout.is_empty() && checked.stderr.is_empty(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let target = server.metrics.trim_start_matches("http://").trim_end_matches("/metrics").to_owned();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: kassa\n    static_configs:\n      - targets: ['{target}']\n"),
    )
    .unwrap();
    let web = format!("127.0.0.1:{}", free_port());
    let mut prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address={web}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus (apt-get install prometheus)");
    let query = format!(
        "http://{web}/api/v1/query?query=kassa_http_request_duration_seconds_count%7Broute%3D%22%2Fapi%2Fusers%2Fpermissions%2F%22%7D"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let scraped = loop {
        let answer = client.get(&query).send().await;
        if let Ok(answer) = answer {
            let body: serde_json::Value = answer.json().await.unwrap_or_default();
            if let Some(value) = body["data"]["result"][0]["value"][1].as_str() {
                break value.to_owned();
            }
        }
        assert!(std::time::Instant::now() < deadline, "Prometheus never scraped kassa");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    assert_eq!(scraped, "5", "Prometheus read the count of the requests made");
    server.stop().await;
}

/// The codes Python's `pyotp` computes for `secret` two steps either side of the time given
/// (Unix seconds), and whether it reads kassa's `otpauth://` URI as the same authenticator.
const PYOTP_CODES: &str = r#"
import json, sys, pyotp
secret, uri, now = sys.argv[1], sys.argv[2], int(sys.argv[3])
totp = pyotp.TOTP(secret)
parsed = pyotp.parse_uri(uri)
print(json.dumps({
    "codes": {str(step): totp.at(now + step * 30) for step in (-2, -1, 0, 1, 2)},
    "uri_same": parsed.secret == secret and parsed.digits == 6 and parsed.interval == 30
                and parsed.digest().name == "sha1" and parsed.issuer == "kassa",
}))
"#;

#[tokio::test]
#[ignore = "needs Python with pyotp: .ci/interop runs it"]
async fn pyotp_codes_sign_in_within_one_step_and_never_twice() {
    let app = TestApp::spawn().await;
    let owner = app.register_owner("pyotp_owner", "Лавка").await;
    crate::helpers::away_from_step_edge().await;
    let enrolled = app.enrol_totp(&owner.token).await.json(StatusCode::CREATED);
    let (secret, uri) = (enrolled["secret"].as_str().unwrap(), enrolled["otpauth_uri"].as_str().unwrap());
    let now = chrono::Utc::now().timestamp().to_string();
    let args = ["-c", PYOTP_CODES, secret, uri, &now].map(str::to_owned);
    let output = tokio::task::spawn_blocking(move || python().args(args).output().unwrap()).await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let computed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(computed["uri_same"], true, "pyotp reads the otpauth URI as another authenticator");
    let code = |step: &str| computed["codes"][step].as_str().unwrap().to_owned();

    app.confirm_totp(&owner.token, &code("-1")).await.json(StatusCode::OK);
    let challenge = || async {
        let refused = app.login_as_client("pyotp_owner", "Kassa-Strong-2026", "pos/1").await;
        refused.error(StatusCode::UNAUTHORIZED, "two_factor_required")["challenge"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let answer = |challenge: String, code: String| {
        let app = &app;
        async move {
            app.login_second_step(&serde_json::json!({"challenge": challenge, "code": code}), "pos/1").await
        }
    };
    let first = challenge().await;
    for refused in ["-2", "2"] {
        answer(first.clone(), code(refused)).await.error(StatusCode::UNAUTHORIZED, "authentication_failed");
    }
    answer(first, code("1")).await.json(StatusCode::OK);
    // Replayed, or an earlier step than the last one accepted: refused on a fresh challenge.
    for replayed in ["1", "0"] {
        answer(challenge().await, code(replayed))
            .await
            .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    }
}
