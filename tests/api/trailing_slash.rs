//! The trailing slash of an API path is optional (docs/contract.md §6), on every route the
//! OpenAPI document lists.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{EMPLOYEE_PASSWORD, Owner, TestApp, TestResponse};

/// One operation of the served OpenAPI document.
struct Operation {
    method: Method,
    /// As documented, `{id}`-style parameters included.
    path: String,
    /// The statuses the document says it answers.
    documented: Vec<StatusCode>,
}

/// Every operation of the document [`kassa::router::openapi_spec`] builds, the one the
/// application serves.
fn documented_operations() -> Vec<Operation> {
    let spec = serde_json::to_value(kassa::router::openapi_spec()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation.get("responses").and_then(Value::as_object) else { continue };
            operations.push(Operation {
                method: method.to_uppercase().parse().unwrap(),
                path: path.clone(),
                documented: responses.keys().map(|code| code.parse().unwrap()).collect(),
            });
        }
    }
    operations
}

/// When to try `operation`: reads first, then writes, then removals, and last what ends
/// the owner's sign-in or their store, so that every operation finds what it names.
fn turn(operation: &Operation) -> u8 {
    let ends_the_owners_access = operation.path.starts_with("/api/users/auth/logout")
        || operation.path == "/api/users/auth/sessions/{id}/"
        || (operation.method == Method::DELETE && operation.path == "/api/users/stores/{id}/");
    match operation.method {
        _ if ends_the_owners_access => 3,
        Method::GET => 0,
        Method::DELETE => 2,
        _ => 1,
    }
}

/// A store with something behind every path parameter: the owner, an employee with an
/// account and a PIN, a paired till and a second session of the owner's.
struct Furnished {
    owner: Owner,
    employee_id: Value,
    user_id: Value,
    device_id: Value,
    session_id: Value,
}

async fn furnished(app: &TestApp) -> Furnished {
    let owner = app.register_owner("slash_owner", "Лавка").await;
    let (cashier, employee) = app.member(&owner, "slash_cashier", "cashier").await;
    assert_eq!(app.set_pin(&cashier, "482137").await.status, StatusCode::NO_CONTENT);
    let employee_login = app.sign_in("slash_cashier", EMPLOYEE_PASSWORD).await;
    app.paired_till(&owner, "Касса 1").await;
    let devices = app.scoped(Method::GET, "/api/users/devices/", &owner.token, &owner.key(), None).await;
    let device_id = devices.json(StatusCode::OK)["results"][0]["id"].clone();
    // A second session, so that ending one by id leaves the owner signed in elsewhere.
    app.sign_in("slash_owner", "Kassa-Strong-2026").await;
    let sessions = app.get_as("/api/users/auth/sessions/", &owner.token).await.json(StatusCode::OK);
    let other_session = sessions["data"].as_array().unwrap().iter().find(|s| s["current"] == false).unwrap();
    Furnished {
        employee_id: employee["id"].clone(),
        user_id: employee_login["user"]["id"].clone(),
        device_id,
        session_id: other_session["id"].clone(),
        owner,
    }
}

impl Furnished {
    /// The documented path with its parameters filled from this store.
    fn path(&self, documented: &str) -> String {
        let id = if documented.starts_with("/api/users/employees/") {
            &self.employee_id
        } else if documented.starts_with("/api/users/users/") {
            &self.user_id
        } else if documented.starts_with("/api/users/devices/") {
            &self.device_id
        } else if documented.starts_with("/api/users/auth/sessions/") {
            &self.session_id
        } else {
            &json!(self.owner.store_id)
        };
        let id = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
        documented.replace("{id}", &id).replace("{code}", "cashier")
    }
}

/// `operation` as the owner, with their store's key and, where a body may go, an empty
/// JSON object: enough for every handler to answer from its own rules.
async fn call(app: &TestApp, store: &Furnished, operation: &Operation, path: &str) -> TestResponse {
    let mut request = Request::builder()
        .method(operation.method.clone())
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", store.owner.token))
        .header("x-tenant-key", store.owner.key());
    let body = if [Method::GET, Method::DELETE].contains(&operation.method) {
        Body::empty()
    } else {
        request = request.header(header::CONTENT_TYPE, "application/json");
        Body::from("{}")
    };
    app.send(request.body(body).unwrap()).await
}

/// The body with what differs between two equally furnished databases (secrets, keys,
/// timestamps, request ids) blanked.
fn comparable(response: &TestResponse) -> Value {
    fn blank(value: &mut Value) {
        match value {
            Value::Object(fields) => {
                for (name, field) in fields.iter_mut() {
                    // Session ids are UUIDs; the numbered ids agree between the two databases.
                    // A TOTP secret is drawn anew each time (docs/contract.md §16).
                    let volatile =
                        ["access", "refresh", "tenant_key", "request_id", "id", "secret", "otpauth_uri"]
                            .contains(&name.as_str())
                            || name.contains("password")
                            || name.contains("token")
                            || (name == "code" && field.as_str().is_some_and(is_a_typed_code))
                            || field.as_str().is_some_and(is_a_timestamp);
                    if volatile && field.is_string() {
                        *field = Value::Null;
                    } else {
                        blank(field);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(blank),
            _ => {}
        }
    }
    /// A random code handed over (a set-up code, `XXXX-XXXX`), not an error's code.
    fn is_a_typed_code(text: &str) -> bool {
        text.len() == 9 && text.as_bytes()[4] == b'-'
    }
    fn is_a_timestamp(text: &str) -> bool {
        chrono::DateTime::parse_from_rfc3339(text).is_ok()
    }
    let mut body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    blank(&mut body);
    body
}

/// Two applications furnished alike: one is called with each documented path, the other
/// with the same path less its trailing slash, operation by operation. Each pair must get
/// the same answer, and it must be one the operation documents (a 404 would mean the
/// route was missed).
#[tokio::test]
async fn every_documented_route_answers_alike_without_its_trailing_slash() {
    let (with_slash, without_slash) = (TestApp::spawn().await, TestApp::spawn().await);
    let (store_a, store_b) = (furnished(&with_slash).await, furnished(&without_slash).await);
    let mut operations: Vec<Operation> =
        documented_operations().into_iter().filter(|operation| operation.path.ends_with('/')).collect();
    // Within a turn, longer paths first: a PIN goes before the employee who holds it.
    operations.sort_by_key(|operation| (turn(operation), std::cmp::Reverse(operation.path.len())));
    assert!(operations.len() >= 55, "only {} operations end in a slash", operations.len());

    for operation in &operations {
        let path = store_a.path(&operation.path);
        let answer = call(&with_slash, &store_a, operation, &path).await;
        let unslashed = store_b.path(&operation.path);
        let unslashed_answer =
            call(&without_slash, &store_b, operation, unslashed.trim_end_matches('/')).await;

        let route = format!("{} {path}", operation.method);
        assert_ne!(answer.status, StatusCode::NOT_FOUND, "{route}: {:?}", comparable(&answer));
        assert!(operation.documented.contains(&answer.status), "{route} answered {}", answer.status);
        assert_eq!(unslashed_answer.status, answer.status, "{route} without its slash");
        assert_eq!(comparable(&unslashed_answer), comparable(&answer), "{route} without its slash");
    }
}

/// The query survives the slash being added.
#[tokio::test]
async fn a_query_is_kept_when_the_slash_is_added() {
    let (app, owner) = TestApp::with_owner("slash_owner", "Лавка").await;
    app.add_employee(&owner, "slash_cashier", "cashier").await;
    app.add_employee(&owner, "slash_manager", "manager").await;

    let all = app.scoped(Method::GET, "/api/users/employees", &owner.token, &owner.key(), None).await;
    let managers =
        app.scoped(Method::GET, "/api/users/employees?role=manager", &owner.token, &owner.key(), None).await;

    let all = all.json(StatusCode::OK)["results"].as_array().unwrap().len();
    let managers = managers.json(StatusCode::OK)["results"].as_array().unwrap().clone();
    assert!(all > managers.len(), "the filter was dropped: {all} employees, {} managers", managers.len());
    assert!(managers.iter().all(|employee| employee["role"] == "manager"), "{managers:?}");
}
