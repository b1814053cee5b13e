//! Answers given before the request body was read reach the client.
//!
//! A 413 for a body over the limit, a 401 before a handler reads its JSON, a 404, a timeout:
//! each is produced while the client may still be sending its body. hyper then gives up on
//! the connection with those bytes unread, and the kernel answers bytes that arrive at a
//! closed socket with a reset, which can destroy the answer in the client's buffers before
//! the client reads it (the client sees "connection reset" or "broken pipe" instead of the
//! 413), and a kept-alive connection dies under the client's next request.
//!
//! So the rest of the body is read and thrown away before the answer goes out, up to
//! [`DRAIN_LIMIT_BYTES`] and [`DRAIN_TIMEOUT`]: the connection then stays usable. A body
//! beyond those bounds is not waited for: the answer says `Connection: close`, and the accept
//! loop (`cli::server`) is asked through [`CloseGracefully`] to close the connection
//! gracefully (its write side first, then discarding what still arrives for a moment).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::header::{CONNECTION, EXPECT};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};

/// Most bytes of an unread body read (and discarded) so that its answer can be given on a
/// connection that stays open: a few uploads' worth, over the 64 KiB any route accepts.
pub const DRAIN_LIMIT_BYTES: u64 = 4 * 1024 * 1024;

/// Longest wait for the rest of an unread body before answering without it.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Set by the accept loop on every request of a connection; [`drain_unread_body`] calls
/// [`CloseGracefully::request`] when it answers with body bytes still unread, and the loop
/// then closes that connection gracefully instead of at once.
#[derive(Debug, Clone, Default)]
pub struct CloseGracefully(Arc<AtomicBool>);

impl CloseGracefully {
    /// Asks for a graceful close of the connection once its answer is written.
    pub fn request(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CloseGracefully::request`] was called for this connection.
    #[must_use]
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Middleware: runs the request, then reads what is left of its body before the answer
/// goes out (see the module documentation).
pub async fn drain_unread_body(request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let awaits_continue = expects_continue(request.headers());
    let graceful = request.extensions().get::<CloseGracefully>().cloned();
    let (parts, body) = request.into_parts();
    let shared = SharedBody::new(body);
    let mut response = next.run(Request::from_parts(parts, Body::new(shared.clone()))).await;
    if !shared.drain(awaits_continue).await {
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        if let Some(graceful) = graceful {
            graceful.request();
        }
    }
    response
}

/// `Expect: 100-continue`: the client sends its body only once the server asks for it.
fn expects_continue(headers: &HeaderMap) -> bool {
    headers.get(EXPECT).is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// The request body, shared between the handler (which may read some of it, or drop it
/// unread) and the middleware (which reads the rest afterwards).
#[derive(Clone)]
struct SharedBody(Arc<Mutex<Shared>>);

struct Shared {
    body: Body,
    /// Whether anyone asked for a frame: until then, a client waiting for `100 Continue`
    /// has not been told to send anything.
    polled: bool,
}

impl SharedBody {
    fn new(body: Body) -> Self {
        Self(Arc::new(Mutex::new(Shared { body, polled: false })))
    }

    /// Never contended (one request, one task); a poisoned lock still holds a usable body.
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the rest of the body within the bounds; true when it was read to its end.
    /// A client still waiting for `100 Continue` is not asked for its body now.
    async fn drain(&self, awaits_continue: bool) -> bool {
        let mut body = {
            let mut shared = self.lock();
            if shared.body.is_end_stream() {
                return true;
            }
            if awaits_continue && !shared.polled {
                return false;
            }
            std::mem::take(&mut shared.body)
        };
        // A declared length past the bound is not worth waiting for.
        if body.size_hint().lower() > DRAIN_LIMIT_BYTES {
            return false;
        }
        let read_to_end = async {
            let mut read = 0u64;
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else { return false };
                read += frame.data_ref().map_or(0, |data| data.len() as u64);
                if read > DRAIN_LIMIT_BYTES {
                    return false;
                }
            }
            true
        };
        tokio::time::timeout(DRAIN_TIMEOUT, read_to_end).await.unwrap_or(false)
    }
}

impl HttpBody for SharedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut shared = self.lock();
        shared.polled = true;
        Pin::new(&mut shared.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.lock().body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.lock().body.size_hint()
    }
}
