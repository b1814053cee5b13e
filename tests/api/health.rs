//! Probes, Swagger UI and the OpenAPI document, as an operator and a developer meet them.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use kassa::db::pool;
use kassa::router::build_router;
use kassa::state::AppState;
use sha2::Digest as _;
use sqlx::postgres::PgConnectOptions;

use crate::helpers::{TestApp, send, test_config};

#[tokio::test]
async fn the_health_probes_answer_ok_while_the_database_is_up() {
    let app = TestApp::spawn().await;

    assert_eq!(app.get("/healthz").await.json(StatusCode::OK)["status"], "ok");
    assert_eq!(app.get("/readyz").await.json(StatusCode::OK)["status"], "ok");
}

#[tokio::test]
async fn each_test_app_runs_on_a_database_of_its_own() {
    let (first, second) = (TestApp::spawn().await, TestApp::spawn().await);

    let name: String =
        sqlx::query_scalar("select current_database()::text").fetch_one(&first.pool).await.unwrap();

    assert_eq!(name, first.db.name);
    assert_ne!(first.db.name, second.db.name);
}

#[tokio::test]
async fn readyz_answers_503_quickly_when_the_database_is_unreachable() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = test_config(&[("DATABASE_ACQUIRE_TIMEOUT", "500ms")]);
    let dead = PgConnectOptions::new().host("127.0.0.1").port(port).username("kassa").database("kassa");
    let router = build_router(AppState::new(config.clone().into(), pool::lazy_pool(&config, dead)));

    let started = Instant::now();
    let response =
        send(&router, axum::http::Request::get("/readyz").body(axum::body::Body::empty()).unwrap()).await;
    let body = response.error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(!body.to_string().contains("refused"), "no driver text leaks: {body}");

    // Liveness does not depend on the database.
    let live =
        send(&router, axum::http::Request::get("/healthz").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(live.status, StatusCode::OK);
}

#[tokio::test]
async fn swagger_ui_is_served_from_vendored_assets() {
    let app = TestApp::spawn().await;

    let page = app.get("/swagger/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&page.body).contains("swagger-ui"));
    let initializer = app.get("/swagger/swagger-initializer.js").await;
    assert_eq!(initializer.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&initializer.body).contains("/api-docs/openapi.json"));
}

#[tokio::test]
async fn the_openapi_document_declares_both_security_schemes() {
    let app = TestApp::spawn().await;

    let spec = app.get("/api-docs/openapi.json").await.json(StatusCode::OK);
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["tenantKey"]["type"], "apiKey");
    assert_eq!(schemes["tenantKey"]["in"], "header");
    assert_eq!(schemes["tenantKey"]["name"], "X-Tenant-Key");
    assert!(spec["paths"]["/healthz"]["get"].is_object());
    assert!(spec["paths"]["/readyz"]["get"].is_object());
}

#[tokio::test]
async fn swagger_can_be_turned_off_for_production() {
    let app = TestApp::spawn_with(&[("SWAGGER_ENABLED", "false")]).await;

    app.get("/swagger/").await.error(StatusCode::NOT_FOUND, "not_found");
    app.get("/redoc/").await.error(StatusCode::NOT_FOUND, "not_found");
    app.get("/api-docs/openapi.json").await.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn redoc_reads_the_same_document_with_its_script_from_kassa_itself() {
    let app = TestApp::spawn().await;
    let page = app.get("/redoc/").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8_lossy(&page.body).into_owned();
    assert!(html.contains(r#"<redoc spec-url="/api-docs/openapi.json">"#), "{html}");
    assert!(html.contains(r#"<script src="/redoc/redoc.standalone.js">"#), "{html}");
    assert!(!html.contains("http://") && !html.contains("https://"), "the page names another host: {html}");
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"), "{policy}");
    let script = app.get("/redoc/redoc.standalone.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.header("content-type").unwrap_or_default().starts_with("text/javascript"));
    let served = String::from_utf8_lossy(&script.body);
    assert!(!served.contains("https://cdn."), "the served script still loads from a CDN");
    // The bundle compiled in is the one pinned, byte for byte.
    let bundle = kassa::http::docs_ui::PINNED_REDOC_SCRIPT.as_bytes();
    let digest: String = sha2::Sha256::digest(bundle).iter().map(|byte| format!("{byte:02x}")).collect();
    assert!(include_str!("../../assets/redoc/README.md").contains(&digest), "not the pinned bundle");
    assert_eq!(served.len(), bundle.len() - "https://cdn.redoc.ly/redoc/logo-mini.svg".len());
}

#[tokio::test]
async fn the_committed_openapi_document_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
        .expect("openapi/openapi.json is committed");
    let current = kassa::http::openapi::to_pretty_json(&kassa::router::openapi_spec());
    assert!(
        committed == current,
        "openapi/openapi.json is stale: run `cargo run -q -- openapi > openapi/openapi.json`"
    );
}
