//! `NoStore`: a response that carries a secret (a generated password, a token pair) and
//! that no cache may keep: `Cache-Control: no-store` (RFC 9111 §5.2.2.5; RFC 6749 §5.1 asks
//! the same of token responses). Plaintext passwords appear in exactly one response, this one.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// `inner`, answered with `Cache-Control: no-store`.
#[derive(Debug, Clone, Copy)]
pub struct NoStore<T>(pub T);

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
