//! One log line per request, inside a span that carries the request id.
//!
//! The line has method, route, status and `duration_ms`; a 500 or 503 adds the hidden cause
//! that [`crate::error::ApiError`] kept out of the body. Headers, bodies and query strings
//! are never logged: they carry passwords, tokens and tenant keys.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::error::{ErrorCause, ThrottleKind};
use crate::http::metrics::METRICS;
use crate::http::request_id::RequestId;

/// Longest raw path written to the log (unmatched paths are caller-controlled).
const MAX_LOGGED_PATH: usize = 200;

/// Middleware: runs the request inside its span and logs its outcome once.
pub async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = match req.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_owned(),
        None => req.uri().path().chars().take(MAX_LOGGED_PATH).collect(),
    };
    let request_id = req.extensions().get::<RequestId>().map(|id| id.as_str().to_owned()).unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        request_id = %request_id,
        store.slug = tracing::field::Empty,
        user.id = tracing::field::Empty,
    );
    let template = req.extensions().get::<MatchedPath>().map(|matched| matched.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    let status = response.status().as_u16();
    let throttled = response.extensions().get::<ThrottleKind>().copied();
    METRICS.observe_request((method.as_str(), template.as_deref()), (status, throttled), elapsed);
    let _entered = span.enter();
    match response.extensions().get::<ErrorCause>() {
        Some(ErrorCause(cause)) => {
            tracing::error!(status, duration_ms, error = %format!("{cause:#}"), "request failed");
        }
        None if status >= 500 => tracing::warn!(status, duration_ms, "request answered with a server error"),
        None => tracing::info!(status, duration_ms, "request answered"),
    }
    response
}
