//! The outermost error guard: the caller's language, and JSON for every error.
//!
//! Negotiates `Accept-Language` once per request and runs the rest of the stack inside it
//! (see [`crate::i18n`]). Any error response that was not built from an `ApiError` (axum's
//! 405, tower-http's 413 and timeout, a route that answers a bare status) gets its body
//! replaced by the docs/contract.md §7 envelope, so no client ever parses a plain-text error.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{EnvelopeRendered, envelope_for_status};
use crate::i18n::{self, Lang};

/// Middleware: see the module docs. The state is `DEFAULT_LANGUAGE`.
pub async fn localized_envelopes(State(default_lang): State<Lang>, req: Request, next: Next) -> Response {
    let accept_language = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let lang = Lang::negotiate(accept_language, default_lang);
    i18n::with_lang(lang, async move {
        let response = next.run(req).await;
        let is_error = response.status().is_client_error() || response.status().is_server_error();
        if !is_error || response.extensions().get::<EnvelopeRendered>().is_some() {
            return response;
        }
        let (parts, _plain_body) = response.into_parts();
        let mut enveloped = envelope_for_status(parts.status);
        // Keep what the original said in headers (`Allow` on a 405, say), not its body framing.
        for (name, value) in &parts.headers {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                enveloped.headers_mut().append(name, value.clone());
            }
        }
        enveloped
    })
    .await
}
