//! The one place middleware is ordered: the stack every request passes, outermost last.

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, Method, StatusCode, Uri, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::{Config, CorsOrigins};
use crate::error::ApiError;
use crate::http::{drain, envelope, request_id, request_log};

/// Request bodies larger than this are refused with 413 (docs/contract.md §7).
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The API's paths end in `/` (the Django contract); a trailing slash is optional for
/// callers (docs/contract.md §6), so one is added where missing. Other paths (`/healthz`) are left alone.
pub async fn append_api_trailing_slash(mut req: Request) -> Request {
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
        // Outside everything that can answer before the body is read (the size limit, a
        // refused token, a timeout, a panic), so the client reads that answer, not a reset.
        .layer(from_fn(drain::drain_unread_body))
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

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    ApiError::internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
}
