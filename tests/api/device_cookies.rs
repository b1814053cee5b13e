//! The console's cookies over HTTP: a stranger who spends the account's sign-in cap from many
//! addresses locks the API and unknown browsers out, but not the owner's browser, which
//! signed in before and carries a signed device cookie with an allowance of its own; and
//! with `PUBLIC_URL` on https every console cookie is `Secure`, whatever `Host` a proxy sends.

use std::net::SocketAddr;

use futures_util::future::join_all;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, HOST, LOCATION, SET_COOKIE};

use crate::helpers::{TestApp, login_via_proxy};

const PASSWORD: &str = "Kassa-Strong-2026";
/// The account's cap in these tests: 25 addresses × 6 tries make 150 attempts, far past it.
const ACCOUNT_LIMIT: usize = 5;

/// A browser behind the trusted proxy, at client address `ip`, with a cookie jar.
struct Browser {
    addr: SocketAddr,
    ip: String,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
    /// Every `Set-Cookie` the browser was sent, as sent.
    set_cookies: Vec<String>,
}

impl Browser {
    fn new(addr: SocketAddr, ip: &str) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { addr, ip: ip.to_owned(), client, cookies: Vec::new(), set_cookies: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    fn has(&self, name: &str) -> bool {
        self.cookies.iter().any(|(kept, _)| kept == name)
    }

    /// Closes the browser with its session cookie gone, the others kept.
    fn forget_session(&mut self) {
        self.cookies.retain(|(kept, _)| kept != "kassa_console");
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap().to_owned();
            let (pair, attributes) = set.split_once(';').unwrap_or((&set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(kept, _)| kept != name);
            if !attributes.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
            self.set_cookies.push(set.clone());
        }
    }

    /// `request` with this browser's address, cookies and `Host`.
    async fn send(&mut self, request: reqwest::RequestBuilder, host: Option<&str>) -> (StatusCode, String) {
        let mut request = request.header("x-forwarded-for", &self.ip).header(COOKIE, self.cookie_header());
        if let Some(host) = host {
            request = request.header(HOST, host);
        }
        let response = request.send().await.unwrap();
        self.keep(&response);
        let status = response.status();
        let location = response.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        (status, location.unwrap_or(text))
    }

    /// Opens the sign-in form and submits it: the status, and the redirect's target or the page.
    async fn sign_in(&mut self, username: &str, password: &str) -> (StatusCode, String) {
        self.sign_in_via(username, password, None).await
    }

    async fn sign_in_via(
        &mut self,
        username: &str,
        password: &str,
        host: Option<&str>,
    ) -> (StatusCode, String) {
        let url = format!("http://{}/console/sign-in/", self.addr);
        let (status, form) = self.send(self.client.get(&url), host).await;
        assert_eq!(status, StatusCode::OK, "{form}");
        let csrf = csrf_of(&form);
        let fields = [("username", username), ("password", password), ("csrf", csrf.as_str())];
        self.send(self.client.post(&url).form(&fields), host).await
    }
}

/// The value of the page's hidden `csrf` field.
fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("a form with a CSRF token") + marker.len();
    page[at..].split('"').next().unwrap().to_owned()
}

/// `POST /auth/login/` through the trusted proxy for client `ip`.
async fn api_login(addr: SocketAddr, username: &str, password: &str, ip: &str) -> StatusCode {
    login_via_proxy(addr, username, password, ip).await.status()
}

async fn proxied_app() -> (TestApp, SocketAddr) {
    let account_limit = ACCOUNT_LIMIT.to_string();
    let app = TestApp::spawn_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "6"),
        ("LOGIN_ACCOUNT_LIMIT_PER_15_MINUTES", &account_limit),
    ])
    .await;
    let addr = app.serve().await;
    (app, addr)
}

/// 150 wrong passwords at `username` from 25 addresses at once, 6 each (the per-address
/// limit): how many were checked (401) and how many refused (429).
async fn flood_the_account_cap(addr: SocketAddr, username: &str) -> (usize, usize) {
    let guesses = (0..150).map(|n| {
        let ip = format!("198.51.100.{}", n % 25 + 1);
        let username = username.to_owned();
        async move { api_login(addr, &username, &format!("Guess-{n}-wrong"), &ip).await }
    });
    let statuses = join_all(guesses).await;
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    (count(StatusCode::UNAUTHORIZED), count(StatusCode::TOO_MANY_REQUESTS))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_spending_the_accounts_cap_does_not_lock_the_owners_browser_out() {
    let (app, addr) = proxied_app().await;
    app.register_owner("ivan", "Лавка").await;

    // The owner's browser signed in before: it carries a device cookie, which outlives
    // signing out.
    let mut owners = Browser::new(addr, "203.0.113.10");
    let (status, to) = owners.sign_in("ivan", PASSWORD).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/console/stores/"), "{to}");
    let device = owners.set_cookies.iter().find(|set| set.starts_with("kassa_device=")).unwrap().clone();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=15552000"] {
        assert!(device.contains(attribute), "{attribute}: {device}");
    }
    let stores = format!("http://{addr}/console/stores/");
    let (status, page) = owners.send(owners.client.get(&stores), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = csrf_of(&page);
    let sign_out = owners.client.post(format!("http://{addr}/console/sign-out/")).form(&[("csrf", csrf)]);
    assert_eq!(owners.send(sign_out, None).await.0, StatusCode::SEE_OTHER);
    assert!(!owners.has("kassa_console") && owners.has("kassa_device"));

    // A stranger floods the account's cap from 25 addresses.
    let (checked, refused) = flood_the_account_cap(addr, "ivan").await;
    assert_eq!((checked, refused), (ACCOUNT_LIMIT, 150 - ACCOUNT_LIMIT));

    // The API answers 429 with the right password, from a fresh address…
    assert_eq!(api_login(addr, "ivan", PASSWORD, "203.0.113.77").await, StatusCode::TOO_MANY_REQUESTS);
    // …and so does the console to a browser it does not know, even the owner's address.
    for ip in ["203.0.113.78", "203.0.113.10"] {
        let mut unknown = Browser::new(addr, ip);
        let (status, page) = unknown.sign_in("ivan", PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
        assert!(!unknown.has("kassa_console"));
    }
    // A device cookie for another username does not help either.
    app.register_owner("olga", "Дукон").await;
    let mut olgas = Browser::new(addr, "203.0.113.20");
    assert_eq!(olgas.sign_in("olga", PASSWORD).await.0, StatusCode::SEE_OTHER);
    olgas.forget_session();
    assert_eq!(olgas.sign_in("ivan", PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);

    // The owner's browser signs in, in any letter case, and reaches the stores.
    let (status, to) = owners.sign_in("IVAN", PASSWORD).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/console/stores/"), "{to}");
    assert!(owners.has("kassa_console"));
    let (status, page) = owners.send(owners.client.get(&stores), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Лавка"), "{page}");
    // The API stays shut to everyone else.
    assert_eq!(api_login(addr, "ivan", PASSWORD, "203.0.113.79").await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_cookie_has_an_allowance_of_its_own_counted_once_for_parallel_tries() {
    let (app, addr) = proxied_app().await;
    app.register_owner("ivan", "Лавка").await;
    let mut owners = Browser::new(addr, "203.0.113.10");
    assert_eq!(owners.sign_in("ivan", PASSWORD).await.0, StatusCode::SEE_OTHER);
    flood_the_account_cap(addr, "ivan").await;

    // Someone holding the cookie tries 30 passwords at once from 30 addresses: the cookie's
    // allowance of 10 failures admits exactly 10 checks; past it the cookie counts as absent
    // and the account's spent cap refuses the rest.
    let device = owners.cookies.iter().find(|(name, _)| name == "kassa_device").unwrap().1.clone();
    let tries = (0..30).map(|n| {
        let mut browser = Browser::new(addr, &format!("192.0.2.{}", n + 1));
        browser.cookies.push(("kassa_device".to_owned(), device.clone()));
        async move { browser.sign_in("ivan", &format!("Guess-{n}-wrong")).await.0 }
    });
    let statuses = join_all(tries).await;
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(
        (count(StatusCode::UNAUTHORIZED), count(StatusCode::TOO_MANY_REQUESTS)),
        (10, 20),
        "{statuses:?}"
    );
    // The cookie is spent for its window: even the right password is refused with it…
    owners.forget_session();
    assert_eq!(owners.sign_in("ivan", PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert!(!owners.has("kassa_console"));

    // …until its window ends, and the owner is back in.
    sqlx::query("update public.login_device_throttle set window_started_at = now() - interval '15 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(owners.sign_in("ivan", PASSWORD).await.0, StatusCode::SEE_OTHER);
    assert!(owners.has("kassa_console"));
}

#[tokio::test]
async fn with_an_https_public_url_every_console_cookie_is_secure_whatever_the_host() {
    let app =
        TestApp::spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1"), ("PUBLIC_URL", "https://pos.example.com")])
            .await;
    app.register_owner("ivan", "Лавка").await;
    let addr = app.serve().await;

    // The proxy forwards the Host it was reached on: loopback.
    let mut browser = Browser::new(addr, "203.0.113.10");
    let (status, _) = browser.sign_in_via("ivan", PASSWORD, Some("127.0.0.1:8080")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let english = browser.client.get(format!("http://{addr}/console/stores/?lang=en"));
    assert_eq!(browser.send(english, Some("127.0.0.1")).await.0, StatusCode::OK);

    for name in ["kassa_sign_in", "kassa_console", "kassa_device", "kassa_lang"] {
        let set = browser.set_cookies.iter().find(|set| set.starts_with(&format!("{name}="))).unwrap();
        assert!(set.contains("; Secure"), "{set}");
    }
}
