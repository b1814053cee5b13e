//! Throttles see networks, not addresses: per-address throttles count an IPv6 client by its
//! /64 (one subscriber is routinely handed a whole /64), an IPv4 client (IPv4-mapped IPv6
//! too) by its address. Over a real socket behind a trusted proxy, as in production.

use std::net::SocketAddr;

use crate::helpers::{TestApp, login_via_proxy};

const PASSWORD: &str = "Kassa-Strong-2026";

/// A sign-in as `ivan` from the client `client`, as the trusted proxy names it: the status.
async fn login_from(addr: SocketAddr, client: &str, password: &str) -> u16 {
    login_via_proxy(addr, "ivan", password, client).await.status().as_u16()
}

#[tokio::test]
async fn the_login_throttle_counts_an_ipv6_64_as_one_address() {
    let app = TestApp::spawn_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "3"),
        ("LOGIN_ACCOUNT_LIMIT_PER_15_MINUTES", "100"),
    ])
    .await;
    app.register_owner("ivan", "Лавка").await;
    let addr = app.serve().await;

    for _ in 0..3 {
        assert_eq!(login_from(addr, "2001:db8:1:2::a", "wrong").await, 401);
    }
    // Another address of the same /64 is the same client: its budget is spent, right password or not.
    assert_eq!(login_from(addr, "2001:db8:1:2::b", "wrong").await, 429);
    assert_eq!(login_from(addr, "2001:db8:1:2:ffff:ffff:ffff:fffe", PASSWORD).await, 429);
    // The next /64 is another client.
    assert_eq!(login_from(addr, "2001:db8:1:3::a", "wrong").await, 401);
    assert_eq!(login_from(addr, "2001:db8:1:3::a", PASSWORD).await, 200);

    // IPv4 stays per address, and an IPv4-mapped IPv6 address is that IPv4 address.
    for _ in 0..3 {
        assert_eq!(login_from(addr, "198.51.100.1", "wrong").await, 401);
    }
    assert_eq!(login_from(addr, "::ffff:198.51.100.1", "wrong").await, 429);
    assert_eq!(login_from(addr, "198.51.100.2", "wrong").await, 401);
}
