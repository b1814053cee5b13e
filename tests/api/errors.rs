//! Every error path of the foundation answers with the docs/contract.md §7 envelope, in the caller's
//! language, through the production middleware stack.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use kassa::error::ApiError;
use kassa::http::json::ApiJson;
use kassa::middleware::{BODY_LIMIT_BYTES, with_middleware};
use serde::{Deserialize, Serialize};

use crate::helpers::{TestApp, TestResponse, post_body, send, test_config};

#[derive(Debug, Deserialize, Serialize)]
struct Probe {
    name: String,
    count: u32,
}

/// Probe routes behind exactly the production middleware stack.
fn probe_app(overrides: &[(&str, &str)]) -> Router {
    let routes = Router::new()
        .route("/echo", post(|ApiJson(probe): ApiJson<Probe>| async move { Json(probe) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            }),
        )
        .route("/panic", get(panicking_handler))
        .route("/private", get(|| async { ApiError::NotAuthenticated }))
        .route(
            "/throttled",
            get(|| async {
                ApiError::TooManyAttempts { retry_after_secs: 42, kind: kassa::error::ThrottleKind::Login }
            }),
        )
        .route("/db-down", get(|| async { ApiError::from(sqlx::Error::PoolTimedOut) }))
        .route("/db-bug", get(|| async { ApiError::from(sqlx::Error::RowNotFound) }));
    with_middleware(routes, &test_config(overrides))
}

async fn panicking_handler() -> &'static str {
    let secret = std::hint::black_box("internal-detail-42");
    panic!("{secret}");
}

async fn echo(app: &Router, content_type: &str, body: impl Into<Body>) -> TestResponse {
    send(app, post_body("/echo", content_type, body)).await
}

#[tokio::test]
async fn unknown_routes_answer_a_json_404() {
    let app = TestApp::spawn().await;

    app.get("/api/users/nope/").await.error(StatusCode::NOT_FOUND, "not_found");
    let response = app.send(post_body("/nothing/here", "application/json", "{}")).await;
    response.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_wrong_method_answers_a_json_405_that_names_the_allowed_ones() {
    let app = TestApp::spawn().await;

    let response = app.send(Request::delete("/healthz").body(Body::empty()).unwrap()).await;
    response.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert!(response.header("allow").is_some_and(|allow| allow.contains("GET")));
}

#[tokio::test]
async fn a_valid_json_body_reaches_the_handler() {
    let app = probe_app(&[]);

    let body = echo(&app, "application/json; charset=utf-8", r#"{"name":"Касса","count":3}"#)
        .await
        .json(StatusCode::OK);
    assert_eq!(body, serde_json::json!({"name": "Касса", "count": 3}));
}

#[tokio::test]
async fn malformed_json_is_a_validation_error_on_the_body() {
    let app = probe_app(&[]);

    for broken in [r#"{"name":"a","#, "not json", r#"{"name":"a","count":1}}"#, ""] {
        let body =
            echo(&app, "application/json", broken).await.error(StatusCode::BAD_REQUEST, "validation_error");
        assert!(body["errors"]["non_field_errors"][0].is_string(), "{broken:?} → {body}");
    }
}

#[tokio::test]
async fn wrong_fields_are_reported_by_name() {
    let app = probe_app(&[]);

    let missing = echo(&app, "application/json", r#"{"name":"a"}"#)
        .await
        .error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(missing["errors"]["count"][0], "Обязательное поле.");

    let mistyped = echo(&app, "application/json", r#"{"name":"a","count":"three"}"#).await;
    let mistyped = mistyped.error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(mistyped["errors"]["count"][0], "Некорректное значение.");

    let out_of_range = echo(&app, "application/json", r#"{"name":"a","count":1e400}"#).await;
    out_of_range.error(StatusCode::BAD_REQUEST, "validation_error");

    let not_an_object =
        echo(&app, "application/json", "[]").await.error(StatusCode::BAD_REQUEST, "validation_error");
    assert!(not_an_object["errors"]["non_field_errors"].is_array());
}

#[tokio::test]
async fn deeply_nested_json_is_refused_without_harm() {
    let app = probe_app(&[]);

    let nested = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let body =
        echo(&app, "application/json", nested).await.error(StatusCode::BAD_REQUEST, "validation_error");

    assert!(body["errors"]["non_field_errors"].is_array(), "the body as a whole is named: {body}");
    // Without harm: the next body is read as ever.
    let next = echo(&app, "application/json", r#"{"name":"Касса","count":3}"#).await.json(StatusCode::OK);
    assert_eq!(next["name"], "Касса");
}

#[tokio::test]
async fn a_body_not_declared_as_json_is_refused_with_415() {
    let app = probe_app(&[]);

    let body = r#"{"name":"a","count":1}"#;
    echo(&app, "text/plain", body).await.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    echo(&app, "application/x-www-form-urlencoded", "name=a")
        .await
        .error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let undeclared = send(&app, Request::post("/echo").body(Body::from(body)).unwrap()).await;
    undeclared.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_with_413_whether_declared_or_streamed() {
    let app = probe_app(&[]);
    let name = "x".repeat(BODY_LIMIT_BYTES);
    let oversized = format!(r#"{{"name":"{name}","count":1}}"#);

    // Declared: refused from Content-Length before the body is read.
    let declared = Request::post("/echo")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, oversized.len())
        .body(Body::from(oversized.clone()))
        .unwrap();
    send(&app, declared).await.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    // Streamed without a length: refused once the limit is crossed.
    let streamed = Request::post("/echo")
        .header(header::CONTENT_TYPE, "application/json")
        .body(chunked(oversized.into_bytes()))
        .unwrap();
    send(&app, streamed).await.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    // Just under the limit is fine.
    let fitting = format!(r#"{{"name":"{}","count":1}}"#, "y".repeat(BODY_LIMIT_BYTES - 100));
    echo(&app, "application/json", fitting).await.json(StatusCode::OK);
}

/// The body as a stream of 1 KiB chunks, so no length is known up front.
fn chunked(bytes: Vec<u8>) -> Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = bytes.chunks(1024).map(|c| Ok(c.to_vec())).collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn a_request_past_the_timeout_answers_503_promptly() {
    let app = probe_app(&[("REQUEST_TIMEOUT", "200ms")]);

    let started = Instant::now();
    let response = send(&app, Request::get("/slow").body(Body::empty()).unwrap()).await;
    response.error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_panicking_handler_answers_a_generic_500() {
    let app = probe_app(&[]);

    let response = send(&app, Request::get("/panic").body(Body::empty()).unwrap()).await;
    let body = response.error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    assert!(!body.to_string().contains("internal-detail-42"), "panic text leaked: {body}");

    let next = echo(&app, "application/json", r#"{"name":"a","count":1}"#).await;
    assert_eq!(next.status, StatusCode::OK);
}

#[tokio::test]
async fn database_errors_answer_without_internals() {
    let app = probe_app(&[]);

    let down = send(&app, Request::get("/db-down").body(Body::empty()).unwrap()).await;
    down.error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    let bug = send(&app, Request::get("/db-bug").body(Body::empty()).unwrap()).await;
    let body = bug.error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    assert!(!body.to_string().to_lowercase().contains("row"), "{body}");
}

#[tokio::test]
async fn refusals_tell_the_client_what_to_do_next() {
    let app = probe_app(&[]);

    let unauthenticated = send(&app, Request::get("/private").body(Body::empty()).unwrap()).await;
    unauthenticated.error(StatusCode::UNAUTHORIZED, "not_authenticated");
    assert_eq!(unauthenticated.header("www-authenticate"), Some("Bearer realm=\"api\""));

    let throttled = send(&app, Request::get("/throttled").body(Body::empty()).unwrap()).await;
    throttled.error(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert_eq!(throttled.header("retry-after"), Some("42"));
}

#[tokio::test]
async fn messages_follow_accept_language_then_the_default_language() {
    let russian_default = probe_app(&[]);
    let english_default = probe_app(&[("DEFAULT_LANGUAGE", "en")]);
    let missing_count = || post_body("/echo", "application/json", r#"{"name":"a"}"#);

    let ru = send(&russian_default, missing_count()).await.error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(ru["errors"]["count"][0], "Обязательное поле.");

    let mut asks_english = missing_count();
    asks_english.headers_mut().insert(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9".parse().unwrap());
    let en = send(&russian_default, asks_english).await.error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(en["errors"]["count"][0], "This field is required.");

    let by_default =
        send(&english_default, missing_count()).await.error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(by_default["errors"]["count"][0], "This field is required.");

    let mut asks_russian = Request::get("/nowhere").body(Body::empty()).unwrap();
    asks_russian.headers_mut().insert(header::ACCEPT_LANGUAGE, "ru".parse().unwrap());
    let not_found = send(&english_default, asks_russian).await.error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(not_found["message"], "Не найдено.");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let addr = app.serve().await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/healthz");

    let minted = client.get(&url).send().await.unwrap();
    let id = minted.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");

    let kept = client.get(&url).header("x-request-id", "pos-till-7.req-0042").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "pos-till-7.req-0042");

    for hostile in ["has spaces in it", &"a".repeat(129), "quote\"d"] {
        let replaced = client.get(&url).header("x-request-id", hostile).send().await.unwrap();
        let id = replaced.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{hostile:?} was kept as {id:?}");
    }

    let error = client.get(format!("http://{addr}/missing")).send().await.unwrap();
    assert_eq!(error.status(), StatusCode::NOT_FOUND);
    assert!(error.headers().contains_key("x-request-id"));
}
