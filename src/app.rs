//! The application: its shared state, its routes, and the one place middleware is ordered.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, Method, StatusCode, Uri, header};
use axum::middleware::{from_fn, from_fn_with_state, map_request};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use sqlx::migrate::Migration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::password::PasswordHasher;
use crate::auth::tokens::AccessTokens;
use crate::config::{Config, CorsOrigins};
use crate::db::Db;
use crate::db::migrate::TENANT_MIGRATIONS;
use crate::error::ApiError;
use crate::http::{envelope, health, openapi, request_id, request_log};
use crate::tenant::cache::StoreCache;
use crate::{audit, auth, employees, roles, stores, tenant};

/// Request bodies larger than this are refused with 413 (SPEC §7).
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What every handler can reach. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The pool, behind the circuit that answers 503 at once while the database is down.
    pub db: Db,
    /// argon2id off the async workers, bounded.
    pub hasher: PasswordHasher,
    /// Signs and verifies access tokens with `JWT_SECRET`.
    pub tokens: Arc<AccessTokens>,
    /// The tenant migrations new stores get (tests substitute broken ones).
    pub tenant_migrations: Arc<[Migration]>,
    /// `X-Tenant-Key` → store, cached for a few seconds.
    pub stores: Arc<StoreCache>,
}

impl AppState {
    /// The state for `config` on `db`, with the migrations embedded in this binary.
    #[must_use]
    pub fn new(config: Arc<Config>, db: PgPool) -> Self {
        let tokens = Arc::new(AccessTokens::new(&config.jwt_secret, config.access_token_ttl));
        AppState {
            config,
            db: Db::new(db),
            hasher: PasswordHasher::for_this_machine(),
            tokens,
            tenant_migrations: TENANT_MIGRATIONS.migrations.iter().cloned().collect(),
            stores: Arc::new(StoreCache::default()),
        }
    }
}

/// Every route, with its OpenAPI description. Areas add their `router()` here.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .merge(auth::router())
        .merge(stores::router())
        .merge(employees::router())
        .merge(audit::router())
        .merge(roles::router())
}

/// The OpenAPI document of everything [`build_router`] serves.
#[must_use]
pub fn openapi_spec() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// The whole HTTP application: routes, Swagger UI, the JSON 404, and the middleware stack.
pub fn build_router(state: AppState) -> Router {
    let (routes, spec) = api_routes().split_for_parts();
    let routes = if state.config.swagger_enabled { routes.merge(openapi::swagger_ui(spec)) } else { routes };
    let config = Arc::clone(&state.config);
    // Inside the common stack, so tenant errors and the span's `store.slug` are covered too.
    let routes = routes.layer(from_fn_with_state(state.clone(), tenant::layer::resolve_tenant));
    let app = with_middleware(routes.fallback(not_found).with_state(state), &config);
    // Runs before routing (a layer on a router's fallback does), so `/api/…/me` finds `/api/…/me/`.
    Router::new().fallback_service(app).layer(map_request(append_api_trailing_slash))
}

/// The API's paths end in `/` (the Django contract); a trailing slash is optional for
/// callers (SPEC §6), so one is added where missing. Other paths (`/healthz`) are left alone.
async fn append_api_trailing_slash(mut req: Request) -> Request {
    let uri = req.uri();
    if uri.path().starts_with("/api/") && !uri.path().ends_with('/') {
        let path_and_query = match uri.query() {
            Some(query) => format!("{}/?{query}", uri.path()),
            None => format!("{}/", uri.path()),
        };
        let mut parts = uri.clone().into_parts();
        if let Ok(normalized) = path_and_query.parse() {
            parts.path_and_query = Some(normalized);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

/// Wraps `router` in the production middleware stack. Public so tests can put probe routes
/// (a slow one, a panicking one) behind exactly the layers real routes sit behind.
///
/// Each `layer` call wraps everything added before it, so the stack reads innermost first;
/// each layer sits where it is for the reason on its line.
pub fn with_middleware(router: Router, config: &Config) -> Router {
    let router = router
        // Innermost, right before the handlers that read bodies.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
        // Bounds every request; dropping the handler's future rolls back its transaction.
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, config.request_timeout))
        // A panicking handler becomes a 500 envelope; the connection and the server live on.
        .layer(CatchPanicLayer::custom(panic_response))
        // Picks the language and turns any bare error status below into the JSON envelope.
        .layer(from_fn_with_state(config.default_language, envelope::localized_envelopes))
        // Sees the final status of everything below, panics and timeouts included.
        .layer(from_fn(request_log::log_request));
    // Outside everything that can fail, so browsers can read our error bodies too.
    let router = match cors_layer(&config.cors_allowed_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    // Outermost, so every log line and every response (errors included) carries the id.
    router.layer(from_fn(request_id::assign_request_id))
}

/// CORS for browser clients (Swagger UI on another origin, web back-offices); none by default.
fn cors_layer(origins: &CorsOrigins) -> Option<CorsLayer> {
    let allow_origin = match origins {
        CorsOrigins::None => return None,
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(list.iter().cloned()),
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT_LANGUAGE,
                HeaderName::from_static("x-tenant-key"),
                HeaderName::from_static(request_id::X_REQUEST_ID),
            ])
            .expose_headers([HeaderName::from_static(request_id::X_REQUEST_ID), header::RETRY_AFTER])
            .max_age(Duration::from_secs(3600)),
    )
}

/// Unknown routes answer the JSON 404 envelope, not axum's empty body.
async fn not_found() -> ApiError {
    ApiError::NotFound
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    ApiError::internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
}
