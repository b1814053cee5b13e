//! Pagination links over a real socket: absolute only on `PUBLIC_URL` or an allowed `Host`,
//! so a forged `Host` cannot make the API hand out links to a foreign site.

use serde_json::Value;

use crate::helpers::{Owner, TestApp};

/// The `next` link of the first page of employees (page size 1), asked for with `host`.
async fn next_link(app: &TestApp, owner: &Owner, host: &str) -> Value {
    let addr = app.serve().await;
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/api/users/employees/?page_size=1"))
        .header("host", host)
        .bearer_auth(&owner.token)
        .header("x-tenant-key", owner.key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["next"].clone()
}

async fn store_with_two_employees(overrides: &[(&str, &str)]) -> (TestApp, Owner) {
    let app = TestApp::spawn_with(overrides).await;
    let owner = app.register_owner("ivan", "Лавка").await;
    app.add_employee(&owner, "kassir", "cashier").await;
    (app, owner)
}

#[tokio::test]
async fn only_a_trusted_host_gets_an_absolute_link() {
    let (app, owner) = store_with_two_employees(&[]).await;
    assert_eq!(next_link(&app, &owner, "evil.example").await, "/api/users/employees/?page_size=1&page=2");
    assert_eq!(
        next_link(&app, &owner, "localhost.evil.example:80").await,
        "/api/users/employees/?page_size=1&page=2"
    );
    assert_eq!(
        next_link(&app, &owner, "localhost:8080").await,
        "http://localhost:8080/api/users/employees/?page_size=1&page=2"
    );
    assert_eq!(
        next_link(&app, &owner, "[::1]").await,
        "http://[::1]/api/users/employees/?page_size=1&page=2"
    );
}

#[tokio::test]
async fn allowed_hosts_replace_the_loopback_default() {
    let (app, owner) = store_with_two_employees(&[("ALLOWED_HOSTS", ".pos.example")]).await;
    assert_eq!(
        next_link(&app, &owner, "tashkent.pos.example").await,
        "http://tashkent.pos.example/api/users/employees/?page_size=1&page=2"
    );
    assert_eq!(next_link(&app, &owner, "localhost").await, "/api/users/employees/?page_size=1&page=2");
}

#[tokio::test]
async fn public_url_makes_every_link_whatever_the_host_says() {
    let (app, owner) = store_with_two_employees(&[("PUBLIC_URL", "https://pos.example.com/kassa/")]).await;
    for host in ["evil.example", "localhost:8080"] {
        assert_eq!(
            next_link(&app, &owner, host).await,
            "https://pos.example.com/kassa/api/users/employees/?page_size=1&page=2",
            "{host}"
        );
    }
}
