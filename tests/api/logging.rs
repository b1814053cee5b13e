//! Logs: one line per request with its id, and never a secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tracing_subscriber::fmt::MakeWriter;

use crate::helpers::TestApp;

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn requests_are_logged_with_their_id_and_without_credentials() {
    let app = TestApp::spawn().await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .finish();
    // The test runs on one thread (current-thread runtime), so a thread default sees it all.
    let _guard = tracing::subscriber::set_default(subscriber);

    let secrets = ["Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig", "shop_1a2b3c4d", "Pa55word-very-secret"];
    let request = Request::post("/api/users/auth/login/?token=query-secret")
        .header(header::AUTHORIZATION, secrets[0])
        .header("x-tenant-key", secrets[1])
        .header("x-request-id", "trace-me-123")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(r#"{{"username":"ivan","password":"{}"}}"#, secrets[2])))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED, "a failed sign-in: the password was checked");
    app.get("/readyz").await;

    let logs = captured.text();
    assert!(logs.contains("trace-me-123"), "the request id is logged: {logs}");
    assert!(logs.contains("\"status\":401"), "the status is logged: {logs}");
    assert!(logs.contains("duration_ms"), "the duration is logged: {logs}");
    for secret in secrets.iter().chain(&["query-secret", "eyJhbGciOiJIUzI1NiJ9"]) {
        assert!(!logs.contains(secret), "{secret} reached the log: {logs}");
    }
}
