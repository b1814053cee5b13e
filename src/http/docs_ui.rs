//! ReDoc at `/redoc/`, beside Swagger UI: the same OpenAPI document, read as reference
//! documentation. Its script is ReDoc's standalone bundle compiled into the binary
//! (`assets/redoc/`, pinned with its licence), so the page loads nothing from another host.

use std::sync::LazyLock;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::http::openapi::SPEC_PATH;

/// Where ReDoc is served.
pub const REDOC_PATH: &str = "/redoc/";
const SCRIPT_PATH: &str = "/redoc/redoc.standalone.js";

/// ReDoc's standalone bundle, version 2.5.2, as pinned (`assets/redoc/README.md`).
pub static PINNED_REDOC_SCRIPT: &str = include_str!("../../assets/redoc/redoc.standalone.js");

/// The one address on another host the bundle names: Redocly's logo beside the "API docs by
/// Redocly" link in the menu.
const REMOTE_LOGO: &str = "https://cdn.redoc.ly/redoc/logo-mini.svg";

/// The bundle as served: the logo's address emptied, so the page asks nothing of another
/// host (an image with an empty address loads nothing, and ReDoc hides it on the error it
/// raises; the link and its text stay).
static REDOC_SCRIPT: LazyLock<String> = LazyLock::new(|| PINNED_REDOC_SCRIPT.replace(REMOTE_LOGO, ""));

/// What the page may load: its own script and the document from this origin. ReDoc sets
/// styles inline and runs its search in a worker made from a blob.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; worker-src blob:; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `/redoc/` (and `/redoc`, redirected) with its script.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/redoc", get(|| async { Redirect::permanent(REDOC_PATH) }))
        .route(REDOC_PATH, get(page))
        .route(SCRIPT_PATH, get(script))
}

async fn page() -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>kassa API · ReDoc</title>\n</head>\n<body>\n\
         <redoc spec-url=\"{SPEC_PATH}\"></redoc>\n<script src=\"{SCRIPT_PATH}\"></script>\n</body>\n</html>\n"
    );
    ([(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY))], Html(html)).into_response()
}

async fn script() -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
        ],
        REDOC_SCRIPT.as_str(),
    )
        .into_response()
}
