//! Hostile headers, bodies and query strings against the real application: each is a 4xx
//! in the docs/contract.md §7 envelope (wherever the application gets to answer at all), and the
//! database is left exactly as it was: same schemas, same rows in every table.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use kassa::middleware::BODY_LIMIT_BYTES;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Footprint, Owner, TestApp, registration};

/// A store with an owner and a cashier, and the owner's second store: something for every
/// write route to hit, and for a hostile request to damage.
struct Arena {
    app: TestApp,
    owner: Owner,
    cashier_id: i64,
    /// The owner's second store, which the store update routes aim at.
    other_store_id: i64,
    /// The database before anything hostile arrived.
    footprint: Footprint,
}

async fn arena() -> Arena {
    let (app, owner) = TestApp::with_owner("ivan", "Лавка").await;
    let cashier = app.add_employee(&owner, "kassir", "cashier").await;
    let other = app
        .json(Method::POST, "/api/users/stores/", &json!({"name": "Вторая лавка"}), Some(&owner.token))
        .await
        .json(StatusCode::CREATED);
    let footprint = app.footprint().await;
    Arena {
        cashier_id: cashier["id"].as_i64().unwrap(),
        other_store_id: other["data"]["store"]["id"].as_i64().unwrap(),
        owner,
        app,
        footprint,
    }
}

impl Arena {
    /// Sends `request` and checks that it is refused with `status` and `code` in the
    /// envelope and that the database is untouched; returns the envelope.
    async fn refused(&self, what: &str, request: Request<Body>, status: StatusCode, code: &str) -> Value {
        let response = self.app.send(request).await;
        assert_eq!(response.status, status, "{what}: {}", String::from_utf8_lossy(&response.body));
        let body = response.error(status, code);
        self.assert_untouched(what).await;
        body
    }

    /// Like [`Arena::refused`] with 400 `validation_error`; also checks that `errors` names
    /// `field`.
    async fn invalid(&self, what: &str, request: Request<Body>, field: &str) -> Value {
        let body = self.refused(what, request, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(body["errors"][field][0].is_string(), "{what}: expected an error on {field}: {body}");
        body
    }

    /// Checks that the database still has the footprint it had before the test's requests.
    async fn assert_untouched(&self, what: &str) {
        let now = self.app.footprint().await;
        let before = &self.footprint;
        let changed: Vec<&String> = now
            .tables
            .keys()
            .chain(before.tables.keys())
            .filter(|table| now.tables.get(*table) != before.tables.get(*table))
            .collect();
        assert!(now.schemas == before.schemas, "{what}: schemas changed to {:?}", now.schemas);
        assert!(changed.is_empty(), "{what}: these tables changed: {changed:?}");
    }

    /// A request signed in as the owner, in the owner's first store.
    fn scoped(&self, method: Method, uri: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.owner.token))
            .header("x-tenant-key", self.owner.key())
    }
}

/// One write route and a body it accepts, which each test spoils in its own way.
struct WriteRoute {
    name: &'static str,
    method: Method,
    path: String,
    token: Option<String>,
    tenant_key: Option<String>,
    body: Value,
}

impl WriteRoute {
    /// The route with `body` declared as `content_type` (no `Content-Type` when `None`).
    fn request(&self, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
        let mut request = Request::builder().method(self.method.clone()).uri(&self.path);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(key) = &self.tenant_key {
            request = request.header("x-tenant-key", key.as_str());
        }
        request.body(body.into()).unwrap()
    }

    /// The route with `body` as JSON.
    fn json(&self, body: impl Into<Body>) -> Request<Body> {
        self.request(Some("application/json"), body)
    }

    /// The base body's members as (name, JSON text) pairs, in order.
    fn members(&self) -> Vec<(String, String)> {
        let object = self.body.as_object().unwrap();
        object.iter().map(|(name, value)| (name.clone(), value.to_string())).collect()
    }

    /// The base body as JSON text with `field` set to the raw JSON text `raw`.
    fn with_raw(&self, field: &str, raw: &str) -> String {
        let mut members: Vec<_> = self.members().into_iter().filter(|(name, _)| name != field).collect();
        members.push((field.to_owned(), raw.to_owned()));
        object_text(&members)
    }

    /// The names of the base body's string fields.
    fn string_fields(&self) -> Vec<String> {
        let object = self.body.as_object().unwrap();
        object.iter().filter(|(_, value)| value.is_string()).map(|(name, _)| name.clone()).collect()
    }
}

/// `{"name":raw,…}`, members written as given (so names may repeat).
fn object_text(members: &[(String, String)]) -> String {
    let members: Vec<String> =
        members.iter().map(|(name, raw)| format!("{}:{raw}", Value::from(name.as_str()))).collect();
    format!("{{{}}}", members.join(","))
}

/// Every route that takes a JSON body, each with a body it accepts.
fn write_routes(arena: &Arena) -> Vec<WriteRoute> {
    let token = Some(arena.owner.token.clone());
    let key = Some(arena.owner.key());
    let employee = format!("/api/users/employees/{}/", arena.cashier_id);
    let store = format!("/api/users/stores/{}/", arena.other_store_id);
    let route = |name, method, path: &str, signed_in: bool, in_store: bool, body| WriteRoute {
        name,
        method,
        path: path.to_owned(),
        token: if signed_in { token.clone() } else { None },
        tenant_key: if in_store { key.clone() } else { None },
        body,
    };
    vec![
        route(
            "register",
            Method::POST,
            "/api/users/auth/register/",
            false,
            false,
            registration("petr", "Магазин Петра"),
        ),
        route(
            "login",
            Method::POST,
            "/api/users/auth/login/",
            false,
            false,
            json!({"username": "ivan", "password": "Kassa-Strong-2026"}),
        ),
        route(
            "refresh",
            Method::POST,
            "/api/users/auth/token/refresh/",
            false,
            false,
            json!({"refresh": arena.owner.data["tokens"]["refresh"]}),
        ),
        route(
            "change password",
            Method::POST,
            "/api/users/auth/change-password/",
            true,
            false,
            json!({"old_password": "Kassa-Strong-2026", "new_password": "Another-Strong-2027"}),
        ),
        route(
            "store create",
            Method::POST,
            "/api/users/stores/",
            true,
            false,
            json!({"name": "Третья лавка", "address": "Самарканд", "phone": "+998901112244"}),
        ),
        route(
            "store replace",
            Method::PUT,
            &store,
            true,
            false,
            json!({"name": "Лавка 2", "city": "Бухара"}),
        ),
        route("store update", Method::PATCH, &store, true, false, json!({"description": "Новая витрина"})),
        route(
            "employee create",
            Method::POST,
            "/api/users/employees/",
            true,
            true,
            json!({"username": "sklad", "first_name": "Олег", "role": "stockkeeper", "position": "Склад"}),
        ),
        route(
            "employee replace",
            Method::PUT,
            &employee,
            true,
            true,
            json!({"first_name": "Анна", "last_name": "Каримова", "role": "cashier", "position": "Кассир"}),
        ),
        route("employee update", Method::PATCH, &employee, true, true, json!({"position": "Старший кассир"})),
        route(
            "employee password reset",
            Method::POST,
            &format!("{employee}reset-password/"),
            true,
            true,
            json!({"new_password": "Fresh-Till-2027", "must_change_password": true}),
        ),
    ]
}

#[tokio::test]
async fn the_base_bodies_are_accepted_with_a_visible_footprint() {
    // Every other test sends these bodies spoiled. Here they pass unspoiled, so a refusal
    // elsewhere is the spoiling's doing, and each write shows up in the footprint.
    let arena = arena().await;
    for route in write_routes(&arena) {
        let before = arena.app.footprint().await;
        let response = arena.app.send(route.json(route.body.to_string())).await;
        let text = String::from_utf8_lossy(&response.body);
        assert!(response.status.is_success(), "{}: {} {text}", route.name, response.status);
        // A successful sign-in writes nothing (it clears a throttle row only if one exists).
        if route.name != "login" {
            assert!(arena.app.footprint().await != before, "{}: the footprint missed a write", route.name);
        }
    }
}

// ---- X-Tenant-Key ----

/// Keys a client can put in a header: quotes, semicolons, SQL, unicode, bytes that are not
/// UTF-8, a tab, 10 KiB, and the valid key with hostile tails.
fn hostile_tenant_keys(valid: &str) -> Vec<Vec<u8>> {
    vec![
        b"lavka' or '1'='1".to_vec(),
        b"\"tenant_lavka\"".to_vec(),
        format!("{valid}'").into_bytes(),
        format!("{valid};").into_bytes(),
        format!("{valid}; drop schema tenant_lavka cascade; --").into_bytes(),
        b"x'); delete from public.users; --".to_vec(),
        b"tenant_lavka\".employees; --".to_vec(),
        b"$1".to_vec(),
        format!("{valid}\tx").into_bytes(),
        "ключ_магазина".as_bytes().to_vec(),
        format!("{valid}\u{200b}").into_bytes(),
        vec![0xff, 0xfe, b'a'],
        vec![b'a'; 10 * 1024],
        valid.to_uppercase().into_bytes(),
        b"%00".to_vec(),
        b"\\u0000".to_vec(),
    ]
}

#[tokio::test]
async fn hostile_tenant_keys_in_process_are_refused_harmlessly() {
    let arena = arena().await;
    let routes = write_routes(&arena);
    let create = routes.iter().find(|route| route.name == "employee create").unwrap();

    for key in hostile_tenant_keys(&arena.owner.key()) {
        let shown = String::from_utf8_lossy(&key);
        let header = HeaderValue::from_bytes(&key).unwrap();
        // On a read, and on a write whose token and body are fine: only the key is wrong.
        let mut me = Request::get("/api/users/auth/me/")
            .header(header::AUTHORIZATION, format!("Bearer {}", arena.owner.token))
            .body(Body::empty())
            .unwrap();
        me.headers_mut().insert("x-tenant-key", header.clone());
        let what = format!("me with key {shown:?}");
        arena.refused(&what, me, StatusCode::FORBIDDEN, "invalid_tenant_key").await;

        let mut write = create.json(create.body.to_string());
        write.headers_mut().insert("x-tenant-key", header);
        let what = format!("employee create with key {shown:?}");
        arena.refused(&what, write, StatusCode::FORBIDDEN, "invalid_tenant_key").await;
    }
}

#[tokio::test]
async fn hostile_tenant_keys_over_a_real_connection_are_refused_harmlessly() {
    let arena = arena().await;
    let addr = arena.app.serve().await;
    let client = reqwest::Client::new();

    for key in hostile_tenant_keys(&arena.owner.key()) {
        let shown = String::from_utf8_lossy(&key);
        let response = client
            .post(format!("http://{addr}/api/users/employees/"))
            .bearer_auth(&arena.owner.token)
            .header("x-tenant-key", reqwest::header::HeaderValue::from_bytes(&key).unwrap())
            .json(&json!({"username": "sklad", "first_name": "Олег", "role": "stockkeeper"}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{shown:?}: {body}");
        assert_eq!(body["status"], "error", "{shown:?}: {body}");
        assert_eq!(body["code"], "invalid_tenant_key", "{shown:?}: {body}");
        arena.assert_untouched(&format!("key {shown:?}")).await;
    }
}

#[tokio::test]
async fn a_nul_or_a_line_break_in_a_header_never_reaches_the_app() {
    let arena = arena().await;
    let valid = arena.owner.key();

    // No client library builds such a header, in-process or over the wire.
    for bad in [format!("{valid}\0"), "\0".to_owned(), format!("{valid}\r\nx-evil: 1"), "a\nb".to_owned()] {
        assert!(HeaderValue::from_bytes(bad.as_bytes()).is_err(), "{bad:?}");
        assert!(reqwest::header::HeaderValue::from_bytes(bad.as_bytes()).is_err(), "{bad:?}");
    }

    // Written raw onto a socket, hyper refuses the request before the application sees it:
    // a bare 400 (no application ran, so no envelope) and a closed connection.
    let addr = arena.app.serve().await;
    let body = r#"{"username":"sklad","first_name":"Олег","role":"stockkeeper"}"#;
    let token = &arena.owner.token;
    for key in [format!("{valid}\0"), "\0".to_owned(), format!("{valid}\0'; drop schema tenant_lavka; --")] {
        let request = format!(
            "POST /api/users/employees/ HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\nx-tenant-key: {key}\r\n\r\n{body}",
            body.len()
        );
        let answer = raw_exchange(addr, request.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{key:?} → {answer:?}");
        arena.assert_untouched(&format!("raw key {key:?}")).await;
    }

    // So is a bare carriage return inside a value.
    let request = format!(
        "GET /api/users/auth/me/ HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         x-tenant-key: {valid}\rx\r\n\r\n"
    );
    let answer = raw_exchange(addr, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer:?}");

    // The same connection's listener still serves well-formed requests.
    let me = reqwest::Client::new()
        .get(format!("http://{addr}/api/users/auth/me/"))
        .bearer_auth(token)
        .header("x-tenant-key", &valid)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}

/// Writes `request` onto a fresh connection and reads until the server closes it.
async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    // Hyper closes the connection after a parse error; a reset ends the answer as well.
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&answer).into_owned()
}

// ---- Bodies ----

#[tokio::test]
async fn bodies_past_the_limit_are_413_on_every_write_route() {
    let arena = arena().await;
    let (status, code) = (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    for route in write_routes(&arena) {
        let text = route.with_raw("padding", &Value::from("x".repeat(BODY_LIMIT_BYTES)).to_string());

        // Declared with Content-Length: refused before the body is read.
        let mut declared = route.json(text.clone());
        declared.headers_mut().insert(header::CONTENT_LENGTH, text.len().into());
        let what = format!("{}: {} bytes, declared", route.name, text.len());
        arena.refused(&what, declared, status, code).await;

        // Streamed without a length: refused once the limit is crossed.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            text.as_bytes().chunks(4096).map(|chunk| Ok(chunk.to_vec())).collect();
        let streamed = route.json(Body::from_stream(futures_util::stream::iter(chunks)));
        let what = format!("{}: {} bytes, streamed", route.name, text.len());
        arena.refused(&what, streamed, status, code).await;

        // A megabyte of whitespace in front of a valid body is just as large.
        let padded = route.json(format!("{}{}", " ".repeat(1 << 20), route.body));
        arena.refused(&format!("{}: a megabyte of whitespace", route.name), padded, status, code).await;
    }
}

#[tokio::test]
async fn a_body_past_the_limit_over_a_real_connection_is_a_413_envelope() {
    let arena = arena().await;
    let addr = arena.app.serve().await;
    let mut body = registration("petr", "Магазин Петра");
    body["store_description"] = json!("x".repeat(2 * BODY_LIMIT_BYTES));

    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/users/auth/register/"))
        .json(&body)
        .send()
        .await;
    let response = response.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let envelope: Value = response.json().await.unwrap();
    assert_eq!(
        (envelope["status"].as_str(), envelope["code"].as_str()),
        (Some("error"), Some("payload_too_large"))
    );
    arena.assert_untouched("a 128 KiB registration").await;
}

#[tokio::test]
async fn deeply_nested_bodies_are_400_on_every_write_route() {
    let arena = arena().await;
    // 10,000 levels fit in the body limit; serde_json gives up at 128 with an error.
    let arrays = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));

    for route in write_routes(&arena) {
        for (shape, nested) in [("arrays", &arrays), ("objects", &objects)] {
            let what = format!("{}: a body of {shape} 10,000 deep", route.name);
            arena.invalid(&what, route.json(nested.clone()), "non_field_errors").await;

            // In a known field, and in one the endpoint ignores.
            let fields = route.members().into_iter().map(|(name, _)| name).chain(["ignored".to_owned()]);
            for field in fields {
                let what = format!("{}: {field} holds {shape} 10,000 deep", route.name);
                let request = route.json(route.with_raw(&field, nested));
                arena.invalid(&what, request, "non_field_errors").await;
            }
        }
    }
}

#[tokio::test]
async fn nesting_at_the_parsers_limit_is_refused_as_a_value_without_harm() {
    // Fields typed as any JSON value (the immutable `slug` of a store, `user` and `store`
    // of an employee) take what they are given: 127 levels in all is the deepest serde_json
    // parses, and the value is then refused as a change to an immutable field.
    let arena = arena().await;
    let deep = |leaf: &str| format!("{}{leaf}{}", "[".repeat(126), "]".repeat(126));
    let cases = [("store replace", "slug"), ("store update", "slug"), ("employee update", "user")];
    let cases = cases.into_iter().chain([("employee replace", "store")]);

    for (name, field) in cases {
        let routes = write_routes(&arena);
        let route = routes.iter().find(|route| route.name == name).unwrap();
        for leaf in ["1", "\"x\"", "null"] {
            let what = format!("{name}: {field} nested 126 deep around {leaf}");
            arena.invalid(&what, route.json(route.with_raw(field, &deep(leaf))), field).await;
        }
        // One level more is past the parser's limit.
        let deeper = format!("[{}]", deep("1"));
        let what = format!("{name}: {field} nested 127 deep");
        arena.invalid(&what, route.json(route.with_raw(field, &deeper)), "non_field_errors").await;
    }
}

#[tokio::test]
async fn duplicate_keys_are_400_naming_the_field() {
    let arena = arena().await;

    for route in write_routes(&arena) {
        for (field, raw) in route.members() {
            // Repeated with the same value, and with a harmless one after a valid one.
            for second in [raw.clone(), "\"другое\"".to_owned()] {
                let mut members = route.members();
                members.push((field.clone(), second.clone()));
                let what = format!("{}: {field} given twice ({raw}, {second})", route.name);
                arena.invalid(&what, route.json(object_text(&members)), &field).await;
            }
        }
    }
}

#[tokio::test]
async fn bodies_not_declared_as_json_are_415_on_every_write_route() {
    let arena = arena().await;
    let content_types = [
        None,
        Some(""),
        Some("text/plain"),
        Some("text/json"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=kassa"),
        Some("application/xml"),
        Some("application/jsonx"),
        Some("application/json, text/plain"),
        Some("application/octet-stream"),
        Some("json"),
        Some("*/*"),
    ];

    for route in write_routes(&arena) {
        for content_type in content_types {
            let what = format!("{}: declared as {content_type:?}", route.name);
            let request = route.request(content_type, route.body.to_string());
            arena.refused(&what, request, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
        }
    }
}

#[tokio::test]
async fn bodies_that_are_not_utf8_are_400_on_every_write_route() {
    let arena = arena().await;
    let spoilers: [(&str, &[u8]); 6] = [
        ("a byte that is never UTF-8", b"\xff"),
        ("a truncated sequence", b"\xd0"),
        ("an overlong slash", b"\xc0\xaf"),
        ("an encoded surrogate", b"\xed\xa0\x80"),
        ("Latin-1", b"caf\xe9"),
        ("a continuation byte alone", b"\x80x"),
    ];

    for route in write_routes(&arena) {
        for (kind, bytes) in spoilers {
            // In each string field, and in a field the endpoint ignores.
            for field in route.string_fields().into_iter().chain(["ignored".to_owned()]) {
                let mut text = route.with_raw(&field, "\"@@\"").into_bytes();
                let at = text.windows(2).position(|w| w == b"@@").unwrap();
                text.splice(at..at + 2, bytes.iter().copied());
                let what = format!("{}: {kind} in {field}", route.name);
                arena.invalid(&what, route.json(text), "non_field_errors").await;
            }
        }

        // UTF-16, with and without a byte order mark; UTF-8 behind a byte order mark.
        let utf16: Vec<u8> = route.body.to_string().encode_utf16().flat_map(u16::to_le_bytes).collect();
        let with_bom = [&[0xff, 0xfe][..], &utf16].concat();
        let utf8_bom = [&[0xef, 0xbb, 0xbf][..], route.body.to_string().as_bytes()].concat();
        for (kind, body) in [("UTF-16", utf16), ("UTF-16 with BOM", with_bom), ("UTF-8 with BOM", utf8_bom)] {
            let what = format!("{}: {kind}", route.name);
            arena.invalid(&what, route.json(body), "non_field_errors").await;
        }

        // A lone surrogate escape names no character at all.
        if let Some(field) = route.string_fields().first() {
            let what = format!("{}: a lone surrogate in {field}", route.name);
            arena
                .invalid(&what, route.json(route.with_raw(field, r#""a\ud800b""#)), "non_field_errors")
                .await;
        }
    }
}

#[tokio::test]
async fn nul_characters_in_json_strings_are_400_naming_the_field() {
    let arena = arena().await;

    for route in write_routes(&arena) {
        for field in route.string_fields() {
            let original = route.body[&field].as_str().unwrap().to_owned();
            let (head, tail) = original.split_at(original.char_indices().nth(1).map_or(0, |(i, _)| i));
            for value in [format!("{head}\0{tail}"), format!("{original}\0"), "\0".to_owned()] {
                let what = format!("{}: {field} = {value:?}", route.name);
                let text = route.with_raw(&field, &Value::from(value.as_str()).to_string());
                assert!(text.contains("\\u0000"), "{text}");
                arena.invalid(&what, route.json(text), &field).await;
            }
        }

        // Anywhere in the body: in a field the endpoint ignores, deep inside one, in a name.
        for (raw, field) in [(r#""\u0000""#, "ignored"), (r#"{"a":["b","c\u0000"]}"#, "ignored.a[1]")] {
            let what = format!("{}: ignored = {raw}", route.name);
            arena.invalid(&what, route.json(route.with_raw("ignored", raw)), field).await;
        }
        let named = route.with_raw("ig\0nored", "1");
        assert!(named.contains("\\u0000"), "{named}");
        let what = format!("{}: a NUL in a name", route.name);
        arena.invalid(&what, route.json(named), "non_field_errors").await;

        // A raw NUL byte (not an escape) is not JSON at all, inside a string or between tokens.
        let mut in_string = route.with_raw("ignored", "\"@\"").into_bytes();
        let at = in_string.iter().position(|b| *b == b'@').unwrap();
        in_string[at] = 0;
        let what = format!("{}: a raw NUL byte in a string", route.name);
        arena.invalid(&what, route.json(in_string), "non_field_errors").await;
        let between = format!("{{\0{}", &route.body.to_string()[1..]);
        let what = format!("{}: a raw NUL byte between tokens", route.name);
        arena.invalid(&what, route.json(between), "non_field_errors").await;
    }
}

#[tokio::test]
async fn an_escaped_backslash_before_u0000_is_plain_text_not_a_nul() {
    // `"\\u0000"` is a backslash followed by "u0000": harmless text, stored as sent.
    let arena = arena().await;
    let routes = write_routes(&arena);
    let update = routes.iter().find(|route| route.name == "employee update").unwrap();

    let body = arena.app.send(update.json(r#"{"position":"Кассир \\u0000"}"#)).await.json(StatusCode::OK);
    assert_eq!(body["position"], "Кассир \\u0000");
}

#[tokio::test]
async fn bad_numbers_in_bodies_are_400_naming_the_field() {
    let arena = arena().await;
    let routes = write_routes(&arena);
    let route = |name: &str| routes.iter().find(|route| route.name == name).unwrap();
    let huge = ["99999999999999999999", "9223372036854775808", "-9223372036854775809", "1e400", "-1e400"];
    let odd = ["-1", "0", "1.5", "1e3", "\"1\"", "true", "null", "[1]", "{\"id\":1}"];

    // Ids of the account and store an employee belongs to: accepted only unchanged.
    for field in ["user", "store"] {
        for raw in huge.iter().chain(&odd).filter(|raw| **raw != "null") {
            for name in ["employee update", "employee replace"] {
                let what = format!("{name}: {field} = {raw}");
                arena
                    .invalid(&what, route(name).json(route(name).with_raw(field, raw)), blamed(field, raw))
                    .await;
            }
        }
    }
    // Numbers (and other non-strings) where text is expected.
    for name in ["register", "login", "store create", "store update", "employee create", "employee update"] {
        let field = route(name).string_fields()[0].clone();
        for raw in huge.iter().chain(&["-1", "1.5", "true", "[\"a\"]", "{\"a\":\"b\"}"]) {
            let what = format!("{name}: {field} = {raw}");
            arena
                .invalid(&what, route(name).json(route(name).with_raw(&field, raw)), blamed(&field, raw))
                .await;
        }
    }
    // Numbers where a flag or a date is expected.
    let flags = [("employee update", "is_active"), ("employee password reset", "must_change_password")];
    for (name, field) in
        flags.into_iter().chain([("employee update", "hired_at"), ("employee create", "hired_at")])
    {
        for raw in
            huge.iter().chain(&["1", "0", "-1", "1.5", "\"yes\"", "\"2026-13-45\"", "\"+999999-01-01\""])
        {
            let what = format!("{name}: {field} = {raw}");
            arena
                .invalid(&what, route(name).json(route(name).with_raw(field, raw)), blamed(field, raw))
                .await;
        }
    }
}

/// Where the 400 for `raw` in `field` points: a number beyond even `f64` is malformed JSON
/// to serde_json (a syntax error, placed by line and column in the body as a whole); any
/// other wrong value names its field.
fn blamed<'a>(field: &'a str, raw: &str) -> &'a str {
    if raw.ends_with("e400") { "non_field_errors" } else { field }
}

// ---- Paths and query strings ----

/// Ids no row has, or that are not ids: past i64, negative, fractional, not numbers.
const HOSTILE_IDS: [&str; 12] = [
    "99999999999999999999",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-1",
    "0",
    "1.5",
    "1e3",
    "%00",
    "1%00",
    "%27%3B%20drop%20table%20users%3B",
    "%D0%B8%D0%B4",
];

#[tokio::test]
async fn hostile_ids_in_paths_are_refused_harmlessly() {
    let arena = arena().await;
    let token = arena.owner.token.clone();

    for id in HOSTILE_IDS {
        let employee = format!("/api/users/employees/{id}/");
        let store = format!("/api/users/stores/{id}/");
        let user = format!("/api/users/users/{id}/");
        let change = json!({"position": "x"}).to_string();
        let requests = [
            arena.scoped(Method::GET, &user).body(Body::empty()),
            arena
                .scoped(Method::PATCH, &format!("{user}update-employee/"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(change.clone())),
            arena
                .scoped(Method::POST, &format!("{user}change-password/"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"new_password":"Hostile-Guess-2026"}"#)),
            arena.scoped(Method::GET, &employee).body(Body::empty()),
            arena
                .scoped(Method::PATCH, &employee)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(change.clone())),
            arena.scoped(Method::DELETE, &employee).body(Body::empty()),
            arena
                .scoped(Method::POST, &format!("{employee}reset-password/"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}")),
            arena
                .scoped(Method::PATCH, &store)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"name":"x"}"#)),
            arena.scoped(Method::DELETE, &store).body(Body::empty()),
            Request::delete(format!("/api/users/auth/sessions/{id}/"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty()),
        ];
        for request in requests {
            let request = request.unwrap();
            let what = format!("{} {}", request.method(), request.uri());
            let response = arena.app.send(request).await;
            assert!(
                response.status.is_client_error(),
                "{what}: {} {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            );
            let body = response.json(response.status);
            assert_eq!(body["status"], "error", "{what}: {body}");
            assert!(body["code"].as_str().is_some_and(|code| !code.is_empty()), "{what}: {body}");
            arena.assert_untouched(&what).await;
        }
    }
}

/// One list request with a spoiled query string, and the parameter it spoils.
struct QueryCase {
    path: &'static str,
    query: String,
    field: &'static str,
}

fn query_case(path: &'static str, field: &'static str, value: &str) -> QueryCase {
    QueryCase { path, query: format!("{field}={value}"), field }
}

#[tokio::test]
async fn bad_query_parameters_are_400_naming_the_parameter() {
    let arena = arena().await;
    let employees = "/api/users/employees/";
    let audit = "/api/users/audit-events/";
    let mut cases = Vec::new();
    for value in ["%00", "a%00", "%00a", "ivan%00", "%00%00%00", &format!("{}%00", "a".repeat(100))] {
        cases.push(query_case(employees, "search", value));
        cases.push(query_case(employees, "role", value));
        cases.push(query_case(employees, "is_active", value));
        cases.push(query_case(audit, "action", value));
        cases.push(query_case(audit, "date_from", value));
    }
    for value in HOSTILE_IDS.into_iter().chain(["1%20or%201=1", "0x10", "1_000", "%EF%BC%91"]) {
        for field in ["page", "page_size"] {
            cases.push(query_case(employees, field, value));
            cases.push(query_case(audit, field, value));
        }
        cases.push(query_case(audit, "actor", value));
        cases.push(query_case(audit, "employee", value));
    }
    // Also when the spoiled parameter comes last of several, or repeats a good one.
    cases.push(QueryCase {
        path: employees,
        query: "search=ivan&role=cashier&search=%00".to_owned(),
        field: "search",
    });
    cases.push(QueryCase { path: employees, query: "page=1&page=-1".to_owned(), field: "page" });

    for case in cases {
        let uri = format!("{}?{}", case.path, case.query);
        let request = arena.scoped(Method::GET, &uri).body(Body::empty()).unwrap();
        arena.invalid(&uri, request, case.field).await;
    }
}

#[tokio::test]
async fn odd_but_harmless_search_text_is_searched_for_literally() {
    // Not hostile to the database: sloppy percent-encoding decodes leniently (as browsers
    // and Django do), and LIKE wildcards match themselves.
    let arena = arena().await;
    for query in ["%", "%zz", "%FF%FE", "%25", "_", "%5C", "'", "%27%3B--", "%E2%80%8B", "%F0%9F%92%A9"] {
        let uri = format!("/api/users/employees/?search={query}");
        let request = arena.scoped(Method::GET, &uri).body(Body::empty()).unwrap();
        let body = arena.app.send(request).await.json(StatusCode::OK);
        // `_` finds the store's shared staff account (`<slug>_staff`) and nobody else.
        let expected = if query == "_" { 1 } else { 0 };
        assert_eq!(body["count"], expected, "{uri}: {body}");
        arena.assert_untouched(&uri).await;
    }
}

#[tokio::test]
async fn text_the_database_refuses_is_a_400_not_a_500() {
    // The backstop behind the extractors: should a NUL reach PostgreSQL by some path no
    // guard covers, the client gets a validation error, not an internal one.
    let app = TestApp::spawn().await;
    let nul_in_text = sqlx::query("select $1::text").bind("a\0b").fetch_one(&app.pool).await.unwrap_err();
    let nul_from_jsonb = sqlx::query("select ($1::jsonb) ->> 'a'")
        .bind(r#"{"a": "b\u0000c"}"#)
        .fetch_one(&app.pool)
        .await
        .unwrap_err();

    for (sqlstate, error) in [("22021", nul_in_text), ("22P05", nul_from_jsonb)] {
        let code = error.as_database_error().and_then(|db| db.code()).map(|code| code.into_owned());
        assert_eq!(code.as_deref(), Some(sqlstate), "{error}");
        let error = kassa::error::ApiError::from(error);
        assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{error:?}");
        assert_eq!(error.code(), "validation_error");
    }
}
