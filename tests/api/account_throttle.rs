//! The per-account cap on sign-in attempts: many addresses together get no more password
//! checks at one account than `LOGIN_ACCOUNT_LIMIT_PER_15_MINUTES`, and other accounts and
//! the owner's successful sign-ins are not affected.

use std::net::SocketAddr;

use reqwest::StatusCode;

use crate::helpers::{TestApp, login_via_proxy};

const PASSWORD: &str = "Kassa-Strong-2026";

async fn proxied_app(account_limit: &str) -> (TestApp, SocketAddr) {
    let app = TestApp::spawn_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "3"),
        ("LOGIN_ACCOUNT_LIMIT_PER_15_MINUTES", account_limit),
    ])
    .await;
    let addr = app.serve().await;
    (app, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_addresses_together_get_only_the_accounts_cap_of_password_checks() {
    let (app, addr) = proxied_app("7").await;
    app.register_owner("ivan", "Лавка").await;
    app.register_owner("olga", "Дукон").await;

    // 40 guesses from 40 addresses, each well under the per-IP limit of 3.
    let guesses = (0..40).map(|i| {
        tokio::spawn(async move {
            let ip = format!("198.51.100.{}", i + 1);
            login_via_proxy(addr, "Ivan", &format!("Guess-{i}-wrong"), &ip).await
        })
    });
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap().status());
    }
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, throttled), (7, 33), "{statuses:?}");

    // The account is shut for its window, from a fresh address and with the right password…
    let blocked = login_via_proxy(addr, "ivan", PASSWORD, "203.0.113.50").await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = blocked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = blocked.json().await.unwrap();
    assert_eq!(body["code"], "too_many_attempts", "{body}");

    // …while another account, from one of the flooding addresses, is not.
    assert_eq!(login_via_proxy(addr, "olga", "Wrong-Password-1", "198.51.100.1").await.status(), 401);
    assert_eq!(login_via_proxy(addr, "olga", PASSWORD, "198.51.100.1").await.status(), 200);

    // The window passes: the account opens again.
    sqlx::query("update public.login_account_throttle set window_started_at = now() - interval '15 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(login_via_proxy(addr, "ivan", PASSWORD, "203.0.113.50").await.status(), 200);
}

#[tokio::test]
async fn the_owners_successes_do_not_use_up_the_cap_nor_clear_the_failures() {
    let (app, addr) = proxied_app("3").await;
    app.register_owner("ivan", "Лавка").await;

    for n in 0..5 {
        let ok = login_via_proxy(addr, "ivan", PASSWORD, &format!("203.0.113.{}", n + 1)).await;
        assert_eq!(ok.status(), 200, "sign-in {n}");
    }
    for n in 0..2 {
        let wrong = login_via_proxy(addr, "ivan", "Wrong-Password-1", &format!("198.51.100.{}", n + 1)).await;
        assert_eq!(wrong.status(), 401);
    }
    // One attempt left: the owner's success takes it and gives it back, the failures stay.
    assert_eq!(login_via_proxy(addr, "ivan", PASSWORD, "203.0.113.1").await.status(), 200);
    assert_eq!(login_via_proxy(addr, "ivan", "Wrong-Password-1", "198.51.100.9").await.status(), 401);
    assert_eq!(login_via_proxy(addr, "ivan", PASSWORD, "203.0.113.1").await.status(), 429);
}
