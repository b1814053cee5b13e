//! Answers given before the request body was read reach the client, over a real socket and
//! the production accept loop (`kassa::cli::server::serve`): an upload over the size limit
//! gets its 413 (not a reset or a broken pipe), however often it is tried, and a kept-alive
//! connection refused early serves the next request.

use std::net::SocketAddr;
use std::time::Duration;

use kassa::cli::server::{ServerLimits, serve};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::TestApp;

/// Longest any one exchange of these tests may take before it counts as hung.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);

/// `app` served by the production accept loop on 127.0.0.1, until the test ends.
async fn start(app: &TestApp) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServerLimits { header_read_timeout: Duration::from_secs(10), max_connections: 100 };
    tokio::spawn(serve(listener, app.router.clone(), limits, std::future::pending()));
    addr
}

/// A JSON-looking body of `len` bytes.
fn upload(len: usize) -> Vec<u8> {
    let mut body = b"{\"username\":\"".to_vec();
    body.resize(len - 2, b'x');
    body.extend_from_slice(b"\"}");
    body
}

/// Posts `body` to the sign-in route; the answer's status, its `Connection` header and its
/// JSON body, or what went wrong instead.
async fn post_upload(
    client: &reqwest::Client,
    addr: SocketAddr,
    body: Vec<u8>,
) -> Result<(StatusCode, Option<String>, Value), String> {
    let sent = client
        .post(format!("http://{addr}/api/users/auth/login/"))
        .header("content-type", "application/json")
        .body(body)
        .send();
    let response = tokio::time::timeout(EXCHANGE_TIMEOUT, sent).await.map_err(|_| "no answer".to_owned())?;
    let response = response.map_err(|error| format!("{error:?}"))?;
    let status = response.status();
    let connection = response.headers().get("connection").map(|v| v.to_str().unwrap().to_owned());
    let body = response.json::<Value>().await.map_err(|error| format!("body: {error:?}"))?;
    Ok((status, connection, body))
}

/// A client that sends its whole request before it reads the answer, as most do (curl,
/// Python's `http.client`): `head` and `body` written on a fresh connection, the body a
/// moment after the head as over a real network, then the response read; or what went
/// wrong instead.
async fn send_then_read(addr: SocketAddr, head: &str, body: &[u8]) -> Result<(String, String), String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.write_all(head.as_bytes()).await.map_err(|e| format!("writing the head: {e}"))?;
    tokio::time::sleep(Duration::from_millis(5)).await;
    stream.write_all(body).await.map_err(|e| format!("writing the body: {e}"))?;
    read_response(&mut stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_oversized_uploads_in_a_row_each_receive_their_413() {
    let app = TestApp::spawn().await;
    let addr = start(&app).await;
    let body = upload(1024 * 1024);
    let head = format!(
        "POST /api/users/auth/login/ HTTP/1.1\r\nHost: kassa\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );

    let mut failures = Vec::new();
    for attempt in 0..200 {
        match send_then_read(addr, &head, &body).await {
            Ok((head, json))
                if head.starts_with("HTTP/1.1 413") && json.contains("\"payload_too_large\"") => {}
            other => failures.push(format!("upload {attempt}: {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{} of 200 uploads got no 413: {failures:#?}", failures.len());

    // A client that reads while it sends (and reuses its connection) gets the 413 too.
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let (status, _, json) = post_upload(&client, addr, body.clone()).await.unwrap();
        assert_eq!(
            (status, json["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
        );
    }
}

/// Reads one HTTP/1.1 response with a `Content-Length` from `stream`: its head and body, or
/// what went wrong instead.
async fn read_response(stream: &mut TcpStream) -> Result<(String, String), String> {
    let read = async {
        let mut received = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&received[..end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().unwrap())
                    })
                    .expect("a content-length");
                if received.len() >= end + 4 + length {
                    let body = String::from_utf8_lossy(&received[end + 4..end + 4 + length]).into_owned();
                    return Ok((head, body));
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) => return Err(format!("closed after {:?}", String::from_utf8_lossy(&received))),
                Ok(n) => received.extend_from_slice(&chunk[..n]),
                Err(error) => return Err(format!("{error} after {:?}", String::from_utf8_lossy(&received))),
            }
        }
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| Err("no response in time".to_owned()))
}

#[tokio::test]
async fn a_body_refused_before_it_is_read_leaves_the_kept_alive_connection_serving() {
    let app = TestApp::spawn().await;
    let addr = start(&app).await;

    for attempt in 0..5 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // 60 KB (under the size limit) to a route that needs a token it was not given: the
        // 401 is decided from the head alone, while most of the body is still on its way.
        let body = upload(60_000);
        let head = format!(
            "POST /api/users/auth/change-password/ HTTP/1.1\r\nHost: kassa\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&body[..1_000]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        stream.write_all(&body[1_000..]).await.unwrap();
        let (head, refused) = read_response(&mut stream).await.unwrap();
        assert!(head.starts_with("HTTP/1.1 401"), "attempt {attempt}: {head}\n{refused}");
        assert!(refused.contains("\"status\":\"error\""), "{refused}");
        assert!(!head.to_ascii_lowercase().contains("connection: close"), "{head}");

        // The same connection answers the next request.
        let next = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: kassa\r\n\r\n").await;
        assert!(next.is_ok(), "attempt {attempt}: {next:?}");
        let (head, _) = read_response(&mut stream).await.unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "attempt {attempt}: {head}");
    }
}
