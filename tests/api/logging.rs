//! Logs: one line per request with its id, and never a secret. Checked on the real binary's
//! JSON output: a process of its own has one global subscriber, as in production.

use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::helpers::{RemoteOwner, TEST_JWT_SECRET, TestDb, json_answer, register_over_http};

/// The real binary on its own database, logging JSON at debug level (sqlx included).
pub(crate) struct LoggingServer {
    process: std::process::Child,
    pub(crate) base: String,
    /// Its `/metrics`, on a port of its own.
    pub(crate) metrics: String,
    /// Its working directory, kept until it stops.
    _dir: tempfile::TempDir,
    /// Its own database, dropped after it.
    db: TestDb,
}

impl LoggingServer {
    /// Its database's URL, for the commands a test runs beside it.
    pub(crate) fn database_url(&self) -> String {
        self.db.url()
    }

    /// Starts it on a fresh database and waits until it answers.
    pub(crate) async fn start() -> LoggingServer {
        let db = TestDb::create().await;
        let dir = tempfile::tempdir().unwrap();
        let free_port = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (port, metrics_port) = (free_port(), free_port());
        let process = std::process::Command::new(env!("CARGO_BIN_EXE_kassa"))
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", db.url())
            .env("JWT_SECRET", TEST_JWT_SECRET)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "kassa=debug,tower_http=debug,sqlx=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.get(format!("{base}/healthz")).send().await.is_err() {
            assert!(Instant::now() < deadline, "kassa never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
        LoggingServer { process, base, metrics, _dir: dir, db }
    }

    /// Starts it, and registers `username` with a store `store_name` over HTTP: the
    /// server, the client that registered, and the owner.
    pub(crate) async fn with_owner(
        username: &str,
        store_name: &str,
    ) -> (LoggingServer, reqwest::Client, RemoteOwner) {
        let (server, client) = (LoggingServer::start().await, reqwest::Client::new());
        let owner =
            register_over_http(&client, &format!("{}/api/users", server.base), username, store_name).await;
        (server, client, owner)
    }

    /// Stops it (SIGTERM) and returns everything it wrote, stdout then stderr.
    pub(crate) async fn stop(self) -> String {
        let process = self.process;
        let pid = nix::unistd::Pid::from_raw(process.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let output = tokio::task::spawn_blocking(move || process.wait_with_output()).await.unwrap().unwrap();
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    }
}

#[tokio::test]
async fn requests_are_logged_without_credentials() {
    let server = LoggingServer::start().await;
    let (base, client) = (server.base.clone(), reqwest::Client::new());

    let secrets =
        ["eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig", "shop_1a2b3c4d", "Pa55word-very-secret", "query-secret"];
    let response = client
        .post(format!("{base}/api/users/auth/login/?token={}", secrets[3]))
        .header("authorization", format!("Bearer {}", secrets[0]))
        .header("x-tenant-key", secrets[1])
        .header("x-request-id", "trace-me-123")
        .json(&serde_json::json!({"username": "ivan", "password": secrets[2]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "a failed sign-in: the password was checked");

    let logs = server.stop().await;
    let request_line = logs
        .lines()
        .find(|line| line.contains("trace-me-123") && line.contains("\"status\":401"))
        .unwrap_or_else(|| panic!("no request line with the id and the status: {logs}"));
    assert!(request_line.contains("duration_ms"), "{request_line}");
    for secret in secrets {
        assert!(!logs.contains(secret), "{secret} reached the log: {logs}");
    }
}

#[tokio::test]
async fn a_pin_never_reaches_the_log() {
    let (server, client, owner) = LoggingServer::with_owner("pin_logger", "Лог").await;
    let (base, token, key) = (server.base.clone(), owner.token, owner.key);
    // A PIN that is set, and one refused as too common.
    for (pin, status) in [("730519", 204), ("147258", 400)] {
        let response = client
            .put(format!("{base}/api/users/auth/pin/"))
            .bearer_auth(&token)
            .header("x-tenant-key", &key)
            .json(&serde_json::json!({ "pin": pin }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{pin}");
    }

    let logs = server.stop().await;
    assert!(logs.contains("set a PIN"), "the change itself is logged: {logs}");
    for pin in ["730519", "147258"] {
        assert!(!logs.contains(pin), "{pin} reached the log: {logs}");
    }
}

#[tokio::test]
async fn a_shared_staff_password_never_reaches_the_log() {
    let (server, client, owner) = LoggingServer::with_owner("staff_logger", "Журнал").await;
    let (base, token, key) = (server.base.clone(), owner.token, owner.key);
    let staff = &owner.data["staff_credentials"];
    let first = staff["password"].as_str().unwrap().to_owned();
    let rotate = format!("{base}/api/users/stores/staff-credentials/rotate/");
    let rotated = json_answer(client.post(rotate).bearer_auth(&token).header("x-tenant-key", &key)).await;
    let second = rotated["data"]["password"].as_str().unwrap().to_owned();
    let signed_in = client
        .post(format!("{base}/api/users/auth/login/"))
        .json(&serde_json::json!({"username": staff["username"], "password": second}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let read = client
        .get(format!("{base}/api/users/stores/staff-credentials/"))
        .bearer_auth(&token)
        .header("x-tenant-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);

    let logs = server.stop().await;
    assert!(logs.contains("rotated the shared staff account's password"), "the change is logged: {logs}");
    for password in [&first, &second] {
        assert!(!logs.contains(password.as_str()), "{password} reached the log: {logs}");
    }
}

#[tokio::test]
async fn signing_keys_never_reach_the_log() {
    let server = LoggingServer::start().await;
    let (base, client) = (server.base.clone(), reqwest::Client::new());
    register_over_http(&client, &format!("{base}/api/users"), "key_logger", "Ключи").await;
    let jwks = client.get(format!("{base}/.well-known/jwks.json")).send().await.unwrap();
    assert_eq!(jwks.status(), 200);
    let dir = tempfile::tempdir().unwrap();
    let listed = crate::helpers::kassa(dir.path())
        .args(["keys", "list"])
        .env("DATABASE_URL", server.database_url())
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .env("RUST_LOG", "kassa=debug,sqlx=debug")
        .output()
        .unwrap();
    assert!(listed.status.success());
    let mut conn = sqlx::PgConnection::connect(&server.database_url()).await.unwrap();
    let ring = crate::helpers::key_ring_in(&mut conn).await;

    let logs = server.stop().await;
    let command =
        format!("{}{}", String::from_utf8_lossy(&listed.stdout), String::from_utf8_lossy(&listed.stderr));
    assert!(logs.contains("signing key created"), "the key's creation is logged: {logs}");
    for spelling in crate::helpers::private_key_spellings(&ring.keys[0]) {
        assert!(!logs.contains(&spelling), "the private key reached the server's log: {logs}");
        assert!(!command.contains(&spelling), "the private key reached `kassa keys list`: {command}");
    }
}
