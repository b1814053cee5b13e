//! `x-request-id`: one id per request, taken from the caller when it is sane, else minted,
//! and returned on the response so a POS app's bug report can be matched to our log line.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The header that carries the id both ways.
pub const X_REQUEST_ID: &str = "x-request-id";

/// The id of the request being served, for logs.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    /// The id as text (ids are ASCII by construction).
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

/// Middleware: attaches a [`RequestId`] to the request and echoes it on the response.
pub async fn assign_request_id(mut req: Request, next: Next) -> Response {
    let id =
        req.headers().get(X_REQUEST_ID).filter(|value| is_acceptable(value)).cloned().unwrap_or_else(mint);
    req.headers_mut().insert(X_REQUEST_ID, id.clone());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    response.headers_mut().insert(X_REQUEST_ID, id);
    response
}

/// Caller ids are kept only when short and plain, so they cannot forge log content.
fn is_acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=128).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

fn mint() -> HeaderValue {
    HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid header value")
}
