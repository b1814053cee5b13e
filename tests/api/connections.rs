//! Clients that open connections and never finish a request (`GET /healthz HTTP/1.1\r\n`
//! and no blank line): the production accept loop (`kassa::cli::server::serve`) on a real
//! socket closes them after the header timeout, holds no more than its bound at once, and
//! answers `/healthz` on a fresh connection meanwhile.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use kassa::cli::server::{ServerLimits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::helpers::TestApp;

/// A request line with no end of head: the server waits for more, for ever unless bounded.
const HALF_OPEN: &[u8] = b"GET /healthz HTTP/1.1\r\n";
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// What a loaded machine may add to a deadline before a test calls it missed.
const SLACK: Duration = Duration::from_secs(3);

/// `router` served by the production loop on 127.0.0.1; dropping the sender stops it.
async fn start(router: Router, max_connections: usize) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServerLimits { header_read_timeout: HEADER_TIMEOUT, max_connections };
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, router, limits, async {
        let _ = stopped.await;
    }));
    (addr, stop, server)
}

/// The test process holds both ends of every connection: make room for `needed` descriptors.
fn ensure_descriptors(needed: u64) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read and write only the struct on this stack frame.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit), 0);
        if limit.rlim_cur < needed {
            limit.rlim_cur = needed.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit), 0);
        }
    }
    assert!(limit.rlim_cur >= needed, "ulimit -n is {}; this test needs {needed}", limit.rlim_cur);
}

async fn half_open(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(HALF_OPEN).await.unwrap();
    stream
}

/// `GET /healthz` on a fresh connection: the whole response, and how long it took. No
/// answer within a header timeout and the slack fails the test rather than hanging it.
async fn healthz(addr: SocketAddr) -> (String, Duration) {
    let started = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: kassa\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        String::from_utf8_lossy(&response).into_owned()
    };
    let response =
        tokio::time::timeout(HEADER_TIMEOUT + SLACK, exchange).await.expect("/healthz never answered");
    (response, started.elapsed())
}

/// True when the server closed `stream` (end of file or reset) before `deadline`.
async fn closed_by(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut sink = Vec::new();
    matches!(
        tokio::time::timeout_at(deadline.into(), stream.read_to_end(&mut sink)).await,
        Ok(Ok(_) | Err(_))
    )
}

#[tokio::test]
async fn silent_connections_are_closed_after_the_header_timeout() {
    const FLOOD: usize = 3_000;
    ensure_descriptors(2 * FLOOD as u64 + 1_024);
    let app = TestApp::spawn().await;
    let (addr, _stop, _server) = start(app.router.clone(), 10_000).await;

    // An idle keep-alive connection: one complete request, then nothing.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: kassa\r\n\r\n").await.unwrap();
    let mut first = [0u8; 512];
    let read = idle.read(&mut first).await.unwrap();
    assert!(first[..read].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&first[..read]));

    let mut flood = Vec::with_capacity(FLOOD);
    for n in 0..FLOOD {
        flood.push(half_open(addr).await);
        if n % 500 == 0 {
            let (response, took) = healthz(addr).await;
            assert!(response.starts_with("HTTP/1.1 200"), "after {n} half-open: {response}");
            assert!(took < SLACK, "after {n} half-open connections /healthz took {took:?}");
        }
    }
    let opened = Instant::now();
    let (response, _) = healthz(addr).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let deadline = opened + HEADER_TIMEOUT + SLACK;
    assert!(closed_by(&mut idle, deadline).await, "an idle keep-alive connection stayed open");
    let mut still_open = 0;
    for stream in &mut flood {
        if !closed_by(stream, deadline).await {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "{still_open} of {FLOOD} half-open connections outlived the header timeout");
}

#[tokio::test]
async fn at_the_connection_bound_new_clients_wait_for_a_slot() {
    const BOUND: usize = 100;
    ensure_descriptors(4 * BOUND as u64 + 1_024);
    let app = TestApp::spawn().await;
    let (addr, stop, server) = start(app.router.clone(), BOUND).await;

    let flooded = Instant::now();
    let mut flood = Vec::with_capacity(BOUND);
    for _ in 0..BOUND {
        flood.push(half_open(addr).await);
    }
    let (response, _) = healthz(addr).await;
    let waited = flooded.elapsed();

    // Served, not dropped: it queued until the first half-open connections timed out.
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        waited >= HEADER_TIMEOUT - Duration::from_millis(50),
        "answered after {waited:?}: no bound held it"
    );
    assert!(waited < HEADER_TIMEOUT + SLACK, "answered after {waited:?}");
    for stream in &mut flood {
        assert!(
            closed_by(stream, flooded + HEADER_TIMEOUT + SLACK).await,
            "a half-open connection stayed open"
        );
    }
    let (response, took) = healthz(addr).await;
    assert!(response.starts_with("HTTP/1.1 200") && took < HEADER_TIMEOUT, "{took:?}: {response}");

    // Graceful shutdown: the loop stops accepting and returns once its connections close.
    let lingering = half_open(addr).await;
    drop(stop);
    tokio::time::timeout(HEADER_TIMEOUT + SLACK, server).await.expect("serve returned").unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting after shutdown");
    drop(lingering);
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    let probe = Router::new()
        .route("/peer", get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }));
    let (addr, _stop, _server) = start(probe, 10).await;

    let mut stream = TcpStream::connect(addr).await.unwrap();
    let local = stream.local_addr().unwrap();
    stream.write_all(b"GET /peer HTTP/1.1\r\nHost: kassa\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();

    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(&local.to_string()), "{response}");
}
