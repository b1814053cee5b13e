//! Names are text, not control: no stored name, label, reason or subject may hold control
//! characters (newline and tab included), line or paragraph separators, or bidi controls.
//! Each kind of field is refused with 400 naming it, through the API, and nothing is
//! written; and log lines carry names as fields, never in their message.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, registration};

/// A forged log line, a right-to-left override, a line separator, a tab, an isolate, a
/// right-to-left mark: every kind of character the rule refuses.
const CONTROLS: [&str; 6] = [
    "Касса\nERROR forged",
    "\u{202E}gpj.exe",
    "Касса\u{2028}2",
    "Касса\t2",
    "Касса \u{2067}2\u{2069}",
    "Касса\u{200F}",
];

/// Checks a 400 `validation_error` that names every field of `fields`.
#[track_caller]
fn refused(response: &TestResponse, fields: &[&str]) {
    let body = response.error(StatusCode::BAD_REQUEST, "validation_error");
    for field in fields {
        assert!(body["errors"][field].is_array(), "{field} not named: {body}");
    }
}

#[tokio::test]
async fn a_device_name_that_forges_a_log_line_is_refused() {
    let (app, owner) = TestApp::with_owner("names_devices", "Лавка").await;
    let before = app.footprint().await;
    for name in CONTROLS {
        refused(&app.create_pairing_code(&owner, name).await, &["name"]);
    }
    assert_eq!(app.footprint().await, before, "a refused name wrote something");
    app.create_pairing_code(&owner, "Касса «Север» 2").await.json(StatusCode::CREATED);
}

#[tokio::test]
async fn registration_refuses_control_characters_in_every_name() {
    let app = TestApp::spawn().await;
    let before = app.footprint().await;
    for text in CONTROLS {
        let mut body = registration("names_owner", "Лавка");
        for field in
            ["first_name", "last_name", "store_name", "store_address", "store_description", "store_city"]
        {
            body[field] = json!(text);
        }
        refused(
            &app.register(&body).await,
            &["first_name", "last_name", "store_name", "store_address", "store_description", "store_city"],
        );
    }
    let mut body = registration("names\u{202E}owner", "Лавка");
    body["email"] = json!("names\nowner@example.uz");
    refused(&app.register(&body).await, &["username", "email"]);
    assert_eq!(app.footprint().await, before, "a refused registration wrote something");
    app.register(&registration("names_owner", "Лавка")).await.json(StatusCode::CREATED);
}

#[tokio::test]
async fn control_characters_in_employee_texts_are_refused() {
    let (app, owner) = TestApp::with_owner("names_owner", "Лавка").await;
    let employee = app.add_employee(&owner, "names_cashier", "cashier").await;
    let path = format!("/api/users/employees/{}/", employee["id"]);
    let before = app.footprint().await;
    for text in CONTROLS {
        let body = json!({
            "username": "names_new", "first_name": text, "last_name": text, "position": text,
            "role": "cashier", "password": "Till-Secret-2026",
        });
        let created =
            app.scoped(Method::POST, "/api/users/employees/", &owner.token, &owner.key(), Some(&body)).await;
        refused(&created, &["first_name", "last_name", "position"]);
        let changes = json!({"first_name": text, "last_name": text, "position": text});
        let changed = app.scoped(Method::PATCH, &path, &owner.token, &owner.key(), Some(&changes)).await;
        refused(&changed, &["first_name", "last_name", "position"]);
    }
    assert_eq!(app.footprint().await, before, "a refused name wrote something");
}

#[tokio::test]
async fn control_characters_in_role_names_are_refused() {
    let (app, owner) = TestApp::with_owner("names_roles", "Лавка").await;
    let before = app.footprint().await;
    for text in CONTROLS {
        let body =
            json!({"code": "senior_cashier", "name": text, "rank": 20, "permissions": ["view_products"]});
        let created = app
            .scoped(Method::POST, "/api/users/store-roles/", &owner.token, &owner.key(), Some(&body))
            .await;
        refused(&created, &["name"]);
        let path = "/api/users/store-roles/cashier/";
        let rename = json!({"name": text});
        let changed = app.scoped(Method::PATCH, path, &owner.token, &owner.key(), Some(&rename)).await;
        refused(&changed, &["name"]);
    }
    assert_eq!(app.footprint().await, before, "a refused name wrote something");
}

#[tokio::test]
async fn control_characters_in_store_texts_are_refused() {
    let (app, owner) = TestApp::with_owner("names_stores", "Лавка").await;
    let path = format!("/api/users/stores/{}/", owner.store_id);
    let before = app.footprint().await;
    for text in CONTROLS {
        let body = json!({"name": text, "address": text, "description": text, "legal_name": text});
        let fields = ["name", "address", "description", "legal_name"];
        refused(&app.json(Method::POST, "/api/users/stores/", &body, Some(&owner.token)).await, &fields);
        refused(&app.json(Method::PATCH, &path, &body, Some(&owner.token)).await, &fields);
    }
    assert_eq!(app.footprint().await, before, "a refused name wrote something");
}

const MANAGER_PIN: &str = "735190";
const CASHIER_PIN: &str = "482915";

/// A request from the till `till` of the store `key`, signed in as `bearer`.
fn till_request(path: &str, till: &str, key: &str, bearer: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header("x-device-token", till)
        .header("x-tenant-key", key)
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn control_characters_in_an_approval_grant_nothing() {
    let (app, owner) = TestApp::with_owner("names_till", "Лавка").await;
    let [(manager, manager_row), (cashier, cashier_row)] =
        app.members(&owner, [("names_manager", "manager"), ("names_pos", "cashier")]).await;
    for (who, pin) in [(&manager, MANAGER_PIN), (&cashier, CASHIER_PIN)] {
        let set = app.set_pin(who, pin).await;
        assert_eq!(set.status, StatusCode::NO_CONTENT, "{:?}", set.body);
    }
    let till = app.paired_till(&manager, "Касса 1").await;
    let pin_login = json!({"employee_id": cashier_row["id"], "pin": CASHIER_PIN});
    let request = Request::post("/api/users/auth/pin-login/")
        .header("x-device-token", till.as_str())
        .header("x-tenant-key", owner.key())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(pin_login.to_string()))
        .unwrap();
    let session = app.send(request).await.json(StatusCode::OK)["access"].as_str().unwrap().to_owned();

    let before = app.footprint().await;
    for text in CONTROLS {
        let asked = json!({
            "permission": "manage_sales", "approver_employee_id": manager_row["id"], "pin": MANAGER_PIN,
            "reason": text, "subject": text,
        });
        let response =
            app.send(till_request("/api/users/approvals/", &till, &owner.key(), &session, &asked)).await;
        refused(&response, &["reason", "subject"]);
    }
    assert_eq!(app.footprint().await, before, "a refused reason wrote something");
}

/// Log lines written on this thread, as JSON, while it is held.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    /// Starts capturing this thread's log lines (the test's current-thread runtime runs the
    /// handlers here); until the guard drops.
    fn start(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }
}

#[tokio::test]
async fn a_device_name_is_logged_as_a_field_never_in_the_message() {
    let (app, owner) = TestApp::with_owner("names_logged", "Лавка").await;
    let log = CapturedLog::default();
    let guard = log.start();
    let name = "Касса «Север» 7";
    app.create_pairing_code(&owner, name).await.json(StatusCode::CREATED);
    refused(&app.create_pairing_code(&owner, "Касса\nERROR forged").await, &["name"]);
    drop(guard);

    let lines = log.lines();
    let made = lines
        .iter()
        .find(|line| line["device.name"] == name)
        .unwrap_or_else(|| panic!("no line carries the name as a field: {lines:?}"));
    assert!(made["message"].as_str().is_some_and(|message| !message.is_empty()), "{made}");
    for line in &lines {
        let message = line["message"].as_str().unwrap_or_default();
        assert!(!message.contains(name) && !message.contains("forged"), "spliced into a message: {line}");
    }
}
