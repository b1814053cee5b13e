//! The HTTP server's accept loop: hyper's HTTP/1 behind two bounds, so that clients which
//! open connections and never finish a request cannot hold them, nor the process's file
//! descriptors, for ever.
//!
//! - A connection whose request head has not fully arrived within `header_read_timeout`
//!   of opening, or of its previous response (an idle keep-alive connection), is closed.
//!   `axum::serve` runs hyper without a timer, which disables that timeout.
//! - At most `max_connections` connections are held at once. At the bound the loop stops
//!   accepting until one closes: waiting clients queue in the kernel's listen backlog
//!   rather than being accepted and dropped, and the process keeps descriptors for its
//!   database connections and for the next client once a slot frees.
//! - A connection the application answered while its client was still sending a body too
//!   large to read ([`CloseGracefully`]) is closed gracefully: its write side first, then
//!   what the client still sends is read and discarded for a moment. Closed at once, the
//!   kernel would answer those bytes with a reset that can destroy the answer unread.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Sleep;
use tower::ServiceExt;

use crate::config::Config;
use crate::http::drain::CloseGracefully;

/// File descriptors kept free of client connections: the database pool, the embedded
/// cluster's pipes, log files, and headroom for the runtime.
pub const RESERVED_DESCRIPTORS: u64 = 256;

/// How long the loop first waits after a failed accept (EMFILE, ENOBUFS, …); it doubles
/// up to [`MAX_ACCEPT_BACKOFF`] while accepts keep failing, so the loop never spins.
const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// At most one "connection bound reached" warning this often, however often it is hit.
const SATURATION_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// A graceful close waits this long at most for the client to stop sending and close…
const LINGER_TIMEOUT: Duration = Duration::from_secs(2);
/// …and reads (and discards) at most this much of what it still sends.
const LINGER_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

/// The bounds the server holds its clients to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Longest wait for a complete request head, on a new or an idle keep-alive connection.
    pub header_read_timeout: Duration,
    /// Most connections held at once.
    pub max_connections: usize,
}

impl ServerLimits {
    /// `HEADER_READ_TIMEOUT` and `MAX_CONNECTIONS`, the latter lowered to fit the process's
    /// descriptor limit (RLIMIT_NOFILE) with [`RESERVED_DESCRIPTORS`] to spare.
    #[must_use]
    pub fn from_config(config: &Config) -> Self {
        let max_connections = connection_bound(config.max_connections, descriptor_limit());
        if max_connections < config.max_connections {
            tracing::warn!(
                configured = config.max_connections,
                max_connections,
                "MAX_CONNECTIONS lowered to {max_connections}: the open-files limit (ulimit -n) keeps \
                 {RESERVED_DESCRIPTORS} descriptors for everything else; raise it to serve more"
            );
        }
        Self { header_read_timeout: config.header_read_timeout, max_connections }
    }
}

/// `configured`, or fewer when the descriptor limit `nofile` leaves less room beside the
/// reserve; never below 1, so a tiny limit still serves (slowly) instead of not at all.
#[must_use]
pub fn connection_bound(configured: usize, nofile: Option<u64>) -> usize {
    let room = nofile.map_or(u64::MAX, |limit| limit.saturating_sub(RESERVED_DESCRIPTORS));
    configured.min(usize::try_from(room).unwrap_or(usize::MAX)).max(1)
}

/// The soft RLIMIT_NOFILE of this process; `None` when unlimited or unknown.
fn descriptor_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct it is given, which lives on this stack frame.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) };
    (status == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, lets the
/// requests in flight finish (idle connections close at once, unfinished heads within the
/// header timeout) and returns when every connection is closed. Handlers see the peer as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    // A bound of 0 would never accept anyone.
    let limits = ServerLimits { max_connections: limits.max_connections.max(1), ..limits };
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    let mut accept = Acceptor::new(listener);
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = accept.slot(&permits) => permit,
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = accept.next() => accepted,
        };
        let connection = serve_connection(stream, peer, router.clone(), limits, stopping.clone(), permit);
        tokio::spawn(connection);
    }
    // New clients are refused from here on instead of waiting in the backlog.
    drop(accept);
    let _ = stop.send(());
    // Each connection holds a permit until it closes: all of them back means all closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// The listener, with what the loop remembers between accepts.
struct Acceptor {
    listener: TcpListener,
    backoff: Duration,
    last_saturation_warning: Option<Instant>,
}

impl Acceptor {
    fn new(listener: TcpListener) -> Self {
        Self { listener, backoff: MIN_ACCEPT_BACKOFF, last_saturation_warning: None }
    }

    /// A free connection slot, waiting (without accepting) while all are taken.
    async fn slot(&mut self, permits: &Arc<Semaphore>) -> OwnedSemaphorePermit {
        if let Ok(permit) = Arc::clone(permits).try_acquire_owned() {
            return permit;
        }
        if self.last_saturation_warning.is_none_or(|at| at.elapsed() >= SATURATION_WARNING_INTERVAL) {
            self.last_saturation_warning = Some(Instant::now());
            tracing::warn!(
                "connection bound reached (MAX_CONNECTIONS): not accepting until a connection closes"
            );
        }
        Arc::clone(permits).acquire_owned().await.expect("the connection semaphore is never closed")
    }

    /// The next client. Failed accepts are logged and retried after a growing pause: with
    /// the descriptors exhausted (EMFILE) accept fails at once, and retrying at once spins.
    async fn next(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok(accepted) => {
                    self.backoff = MIN_ACCEPT_BACKOFF;
                    return accepted;
                }
                // The client left before it was accepted: nothing is wrong here.
                Err(error) if is_client_error(&error) => tracing::debug!(%error, "accept: client gone"),
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?self.backoff, "cannot accept a connection");
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(MAX_ACCEPT_BACKOFF);
                }
            }
        }
    }
}

fn is_client_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset)
}

/// One client connection, until it closes; `_permit` frees its slot then.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ServerLimits,
    mut stopping: watch::Receiver<()>,
    _permit: OwnedSemaphorePermit,
) {
    let close_gracefully = CloseGracefully::default();
    let stream = ClientStream { stream, close_gracefully: close_gracefully.clone(), lingering: None };
    let service = router.map_request(move |mut request: axum::http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(close_gracefully.clone());
        request
    });
    let mut builder = http1::Builder::new();
    // The timer is what makes hyper enforce header_read_timeout at all. With it, hyper also
    // restarts the timeout after each response, which closes idle keep-alive connections.
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let mut connection =
        pin!(builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
    let mut draining = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    // Timeouts and clients that hang up are routine, not worth a warning.
                    tracing::debug!(%peer, %error, "connection ended");
                }
                return;
            }
            _ = stopping.changed(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A client's socket, closed gracefully when the application asked for it: hyper closes a
/// connection by shutting its write side down, and here that waits, after the shutdown,
/// until the client closes its side or [`LINGER_TIMEOUT`] or [`LINGER_LIMIT_BYTES`] is
/// reached, discarding what it still sends.
struct ClientStream {
    stream: TcpStream,
    close_gracefully: CloseGracefully,
    /// Set once the write side is shut down and the close lingers.
    lingering: Option<Lingering>,
}

struct Lingering {
    deadline: Pin<Box<Sleep>>,
    discarded: u64,
}

impl Lingering {
    fn start() -> Self {
        Self { deadline: Box::pin(tokio::time::sleep(LINGER_TIMEOUT)), discarded: 0 }
    }

    /// Reads and discards until the client closes, gives up, or a bound is reached.
    fn poll_discard(&mut self, stream: &mut TcpStream, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut scratch = [0u8; 8 * 1024];
        loop {
            if self.discarded >= LINGER_LIMIT_BYTES || self.deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut *stream).poll_read(cx, &mut buf) {
                // The end of the client's stream, or an error: nothing left to protect.
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => self.discarded += buf.filled().len() as u64,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.lingering.is_none() {
            ready!(Pin::new(&mut this.stream).poll_shutdown(cx))?;
            if !this.close_gracefully.requested() {
                return Poll::Ready(Ok(()));
            }
            this.lingering = Some(Lingering::start());
        }
        match &mut this.lingering {
            Some(lingering) => lingering.poll_discard(&mut this.stream, cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_bound_leaves_descriptors_for_everything_else() {
        assert_eq!(connection_bound(10_000, Some(20_000)), 10_000);
        assert_eq!(connection_bound(10_000, Some(1_024)), 1_024 - 256);
        assert_eq!(connection_bound(10_000, None), 10_000, "unlimited");
        assert_eq!(connection_bound(10_000, Some(100)), 1, "a tiny limit still serves");
    }
}
