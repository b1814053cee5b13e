//! `X-Forwarded-For` behind a trusted proxy, over a real socket: the recorded client is the
//! right-most hop the proxy vouches for, and an unreadable hop there makes it the proxy,
//! never an address further left that the client wrote.

use reqwest::header::HeaderValue;
use serde_json::json;

use crate::helpers::TestApp;

const PASSWORD: &str = "Kassa-Strong-2026";

/// Signs `ivan` in through `addr` with these `X-Forwarded-For` lines; returns the address
/// the new session recorded.
async fn recorded_ip(app: &TestApp, addr: std::net::SocketAddr, lines: &[&[u8]]) -> String {
    let mut request = reqwest::Client::new()
        .post(format!("http://{addr}/api/users/auth/login/"))
        .json(&json!({"username": "ivan", "password": PASSWORD}));
    for line in lines {
        request = request.header("x-forwarded-for", HeaderValue::from_bytes(line).unwrap());
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    sqlx::query_scalar("select host(ip) from public.sessions order by created_at desc limit 1")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_client_is_what_the_trusted_proxy_vouches_for_or_the_proxy_itself() {
    let app =
        TestApp::spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1"), ("LOGIN_RATE_LIMIT_PER_MINUTE", "100")])
            .await;
    app.register_owner("ivan", "Лавка").await;
    let addr = app.serve().await;

    assert_eq!(recorded_ip(&app, addr, &[b"198.51.100.1, 203.0.113.7"]).await, "203.0.113.7");
    assert_eq!(recorded_ip(&app, addr, &[b"198.51.100.1", b"2001:db8::1"]).await, "2001:db8::1");

    let unreadable: [&[&[u8]]; 6] = [
        &[b"198.51.100.1, 203.0.113.7:4711"],
        &[b"198.51.100.1, [2001:db8::1]:443"],
        &[b"198.51.100.1, \xc3\xa9"],
        &[b"198.51.100.1, unknown"],
        &[b"198.51.100.1,"],
        &[b"198.51.100.1", b"203.0.113.7:4711"],
    ];
    for lines in unreadable {
        let shown: Vec<_> = lines.iter().map(|line| String::from_utf8_lossy(line)).collect();
        assert_eq!(recorded_ip(&app, addr, lines).await, "127.0.0.1", "{shown:?}");
    }

    // Junk the client wrote left of the hop the proxy added is not read.
    assert_eq!(recorded_ip(&app, addr, &[b"\xc3\xa9, 1.2.3.4:80, 203.0.113.7"]).await, "203.0.113.7");
}
