//! The store console over HTTP (docs/contract.md §12): the sign-in form and its cookie, CSRF, who gets
//! in, and that a console session is an ordinary session both ways.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::helpers::{EMPLOYEE_PASSWORD, Owner, TestApp, TestResponse, registration};

/// A browser's cookie jar, as far as these tests need one.
#[derive(Default)]
pub struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    /// Keeps what `response` sets (a `Max-Age=0` cookie is forgotten).
    fn keep(&mut self, response: &TestResponse) {
        for set in response.headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(kept, _)| kept != name);
            if !attributes.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    pub async fn get(&mut self, app: &TestApp, path: &str) -> TestResponse {
        let request = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::HOST, "127.0.0.1:8080");
        let response = app.send(request.body(Body::empty()).unwrap()).await;
        self.keep(&response);
        response
    }

    pub async fn post(&mut self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let response = app.send(request).await;
        self.keep(&response);
        response
    }

    pub fn has(&self, name: &str) -> bool {
        self.cookies.iter().any(|(kept, _)| kept == name)
    }
}

pub fn text(response: &TestResponse) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

/// The value of the hidden `csrf` field of the page.
pub fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form with a CSRF token")
        + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_owned()
}

/// Opens the sign-in form and signs in as `username`.
pub async fn sign_in(app: &TestApp, browser: &mut Browser, username: &str, password: &str) -> TestResponse {
    let form = browser.get(app, "/console/sign-in/").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = csrf_of(&text(&form));
    browser
        .post(app, "/console/sign-in/", &[("username", username), ("password", password), ("csrf", &csrf)])
        .await
}

#[tokio::test]
async fn an_owner_signs_in_to_the_console_with_a_strict_cookie() {
    let (app, owner) = TestApp::with_owner("console_owner", "Лавка").await;
    app.add_employee(&owner, "console_cashier", "cashier").await;
    let mut browser = Browser::default();

    // Signed out, every page leads to the form, which is served with the console's headers.
    let home = browser.get(&app, "/console/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.header("location"), Some("/console/sign-in/"));
    let form = browser.get(&app, "/console/sign-in/").await;
    let csp = form.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(form.header("cache-control"), Some("no-store"));
    assert!(text(&form).contains("name=\"username\"") && text(&form).contains("name=\"password\""));
    assert!(!text(&form).contains("<script"), "no script at all");

    let signed_in = sign_in(&app, &mut browser, "console_owner", "Kassa-Strong-2026").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", text(&signed_in));
    let set = signed_in.header("set-cookie").unwrap();
    assert!(set.starts_with("kassa_console="), "{set}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(flag), "{flag}: {set}");
    }
    assert!(!set.contains("Secure"), "loopback is plain HTTP: {set}");

    // The store picker, then the staff page with its filters.
    let stores = browser.get(&app, "/console/stores/").await;
    assert_eq!(stores.status, StatusCode::OK);
    let page = text(&stores);
    let key = owner.key();
    assert!(page.contains(&format!("/console/s/{key}/staff/")), "{page}");
    let staff = browser.get(&app, &format!("/console/s/{key}/staff/")).await;
    assert_eq!(staff.status, StatusCode::OK, "{}", text(&staff));
    let page = text(&staff);
    assert!(page.contains("<td>console_cashier</td>") && page.contains("<td>console_owner</td>"), "{page}");
    let cashiers = browser.get(&app, &format!("/console/s/{key}/staff/?role=cashier")).await;
    assert!(!text(&cashiers).contains("<td>console_owner</td>"), "{}", text(&cashiers));
    assert!(text(&cashiers).contains("console_cashier"));
    let english = browser.get(&app, &format!("/console/s/{key}/staff/?lang=en")).await;
    assert!(text(&english).contains("Staff") && text(&english).contains("lang=\"en\""));
    assert!(browser.has("kassa_lang"));

    // The session is an ordinary one: the API lists it.
    let sessions = app.get_as("/api/users/auth/sessions/", &owner.token).await.json(StatusCode::OK);
    assert_eq!(sessions["data"].as_array().unwrap().len(), 2, "{sessions}");
}

#[tokio::test]
async fn console_sign_in_off_loopback_is_secure_and_throttled() {
    let app = TestApp::spawn_with(&[("LOGIN_RATE_LIMIT_PER_MINUTE", "2")]).await;
    app.register(&registration("console_secure", "Лавка")).await.json(StatusCode::CREATED);

    // Off loopback the cookie is Secure.
    let form = app
        .send(
            Request::get("/console/sign-in/")
                .header(header::HOST, "shop.example.com")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let csrf = csrf_of(&text(&form));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("username", "console_secure"),
            ("password", "Kassa-Strong-2026"),
            ("csrf", csrf.as_str()),
        ])
        .finish();
    let request = Request::post("/console/sign-in/")
        .header(header::HOST, "shop.example.com")
        .header(header::COOKIE, format!("kassa_sign_in={csrf}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let signed_in = app.send(request).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert!(signed_in.header("set-cookie").unwrap().contains("; Secure"));

    // A wrong password is explained on the form, in the page's language; past the limit, 429.
    let mut browser = Browser::default();
    let wrong = sign_in(&app, &mut browser, "console_secure", "wrong-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(text(&wrong).contains("role=\"alert\""), "{}", text(&wrong));
    assert!(!browser.has("kassa_console"));
    sign_in(&app, &mut browser, "console_secure", "wrong-password").await;
    let throttled = sign_in(&app, &mut browser, "console_secure", "wrong-password").await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.header("retry-after").is_some());
}

#[tokio::test]
async fn forms_without_their_csrf_token_change_nothing() {
    let (app, owner) = TestApp::with_owner("console_csrf", "Лавка").await;
    let mut browser = Browser::default();

    // The sign-in form's own token, from its cookie: a post without it signs nobody in.
    browser.get(&app, "/console/sign-in/").await;
    let forged = browser
        .post(
            &app,
            "/console/sign-in/",
            &[("username", "console_csrf"), ("password", "Kassa-Strong-2026"), ("csrf", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!browser.has("kassa_console"));

    sign_in(&app, &mut browser, "console_csrf", "Kassa-Strong-2026").await;
    let stores = browser.get(&app, "/console/stores/").await;
    let csrf = csrf_of(&text(&stores));
    // Signing out without the token (or with another) is refused; the session lives on.
    for sent in [vec![], vec![("csrf", "not-the-token")]] {
        let refused = browser.post(&app, "/console/sign-out/", &sent).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(browser.get(&app, "/console/stores/").await.status, StatusCode::OK);
    let live = app.get_as("/api/users/auth/sessions/", &owner.token).await.json(StatusCode::OK);
    assert_eq!(live["data"].as_array().unwrap().len(), 2);

    // With it, the session ends: the API no longer lists it and the console asks to sign in.
    let out = browser.post(&app, "/console/sign-out/", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let live = app.get_as("/api/users/auth/sessions/", &owner.token).await.json(StatusCode::OK);
    assert_eq!(live["data"].as_array().unwrap().len(), 1);
    assert_eq!(browser.get(&app, "/console/stores/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_console_admits_no_cashier_nor_an_ended_session() {
    let (app, owner) = TestApp::with_owner("console_boss", "Лавка").await;
    let (_, _) = app.member(&owner, "console_till", "cashier").await;

    let mut cashier = Browser::default();
    sign_in(&app, &mut cashier, "console_till", EMPLOYEE_PASSWORD).await;
    let stores = cashier.get(&app, "/console/stores/").await;
    assert_eq!(stores.status, StatusCode::FORBIDDEN);
    assert!(text(&stores).contains("role=\"alert\""));
    let staff = cashier.get(&app, &format!("/console/s/{}/staff/", owner.key())).await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN);
    assert!(!text(&staff).contains("console_boss"), "{}", text(&staff));
    // A store key that does not exist is refused the same way the API refuses it.
    let unknown = cashier.get(&app, "/console/s/no-such-store/staff/").await;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN);
    let hostile = cashier.get(&app, "/console/s/x'%3B%20drop%20table%20stores%3B%20--/staff/").await;
    assert_eq!(hostile.status, StatusCode::FORBIDDEN);
    assert!(text(&hostile).contains("role=\"alert\""));

    // The owner signs in on the console, then signs out everywhere through the API.
    let mut browser = Browser::default();
    sign_in(&app, &mut browser, "console_boss", "Kassa-Strong-2026").await;
    assert_eq!(browser.get(&app, "/console/stores/").await.status, StatusCode::OK);
    let out = app.json(Method::POST, "/api/users/auth/logout-all/", &json!({}), Some(&owner.token)).await;
    out.json(StatusCode::OK);
    let after = browser.get(&app, "/console/stores/").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.header("location"), Some("/console/sign-in/"));
}

#[tokio::test]
async fn console_enabled_false_serves_no_console() {
    let app = TestApp::spawn_with(&[("CONSOLE_ENABLED", "false")]).await;
    for path in ["/console/", "/console/sign-in/", "/console/stores/"] {
        app.get(path).await.error(StatusCode::NOT_FOUND, "not_found");
    }
    let sign_in = Request::post("/console/sign-in/")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("username=ivan&password=Kassa-Strong-2026"))
        .unwrap();
    let refused = app.send(sign_in).await;
    refused.error(StatusCode::NOT_FOUND, "not_found");
    assert!(refused.header("set-cookie").is_none(), "no console session without a console");
    // The API is served as ever.
    app.register_owner("ivan", "Лавка").await;
}

/// The value shown in the page's `id="password"` element.
fn shown_password(page: &str) -> String {
    let at = page.find("id=\"password\">").expect("a password on the page") + "id=\"password\">".len();
    page[at..].split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_owner_runs_an_employees_account_from_the_console() {
    let (app, owner, key, mut browser) = owner_in_the_console("console_runner").await;

    let form = browser.get(&app, &format!("/console/s/{key}/staff/new/")).await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = csrf_of(&text(&form));
    assert!(text(&form).contains("value=\"manager\"") && !text(&form).contains("value=\"owner\""));
    let added = browser
        .post(
            &app,
            &format!("/console/s/{key}/staff/new/"),
            &[("csrf", &csrf), ("username", "console_new"), ("first_name", "Анна"), ("role", "cashier")],
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", text(&added));
    assert_eq!(added.header("cache-control"), Some("no-store"));
    let password = shown_password(&text(&added));
    let signed_in = app.sign_in("console_new", &password).await;
    assert_eq!(signed_in["user"]["username"], "console_new");

    // The row's buttons: reset the password (shown once again), deactivate, activate, remove.
    let staff = text(&browser.get(&app, &format!("/console/s/{key}/staff/")).await);
    let id = staff
        .split(&format!("/console/s/{key}/staff/"))
        .filter_map(|rest| rest.split('/').next()?.parse::<i64>().ok())
        .max()
        .unwrap();
    let act = |action: &'static str| format!("/console/s/{key}/staff/{id}/{action}/");
    let reset = browser.post(&app, &act("reset-password"), &[("csrf", &csrf)]).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", text(&reset));
    let new_password = shown_password(&text(&reset));
    assert_ne!(new_password, password);
    app.sign_in("console_new", &new_password).await;

    let off = browser.post(&app, &act("deactivate"), &[("csrf", &csrf)]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", text(&off));
    let inactive = browser.get(&app, &format!("/console/s/{key}/staff/?is_active=false")).await;
    assert!(text(&inactive).contains("<td>console_new</td>"), "{}", text(&inactive));
    // Deactivated in this store: the account signs in, but no longer works here.
    assert_eq!(app.sign_in("console_new", &new_password).await["available_stores"], json!([]));
    assert_eq!(browser.post(&app, &act("activate"), &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.post(&app, &act("clear-pin"), &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    // Without the token, nothing happens.
    assert_eq!(browser.post(&app, &act("remove"), &[]).await.status, StatusCode::FORBIDDEN);
    assert!(
        text(&browser.get(&app, &format!("/console/s/{key}/staff/")).await).contains("<td>console_new</td>")
    );
    assert_eq!(browser.post(&app, &act("remove"), &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    let audit = app.audit_events(&owner, "?action=employee.removed").await.json(StatusCode::OK);
    assert_eq!(audit["count"], 1, "{audit}");
}

#[tokio::test]
async fn a_manager_is_told_why_they_cannot_act_on_a_manager() {
    let (app, owner) = TestApp::with_owner("console_top", "Лавка").await;
    app.member(&owner, "console_mgr", "manager").await;
    let (_, peer) = app.member(&owner, "console_peer", "manager").await;
    let key = owner.key();
    let mut browser = Browser::default();
    sign_in(&app, &mut browser, "console_mgr", EMPLOYEE_PASSWORD).await;
    let staff = browser.get(&app, &format!("/console/s/{key}/staff/")).await;
    assert_eq!(staff.status, StatusCode::OK);
    let csrf = csrf_of(&text(&staff));

    let refused = browser
        .post(&app, &format!("/console/s/{key}/staff/{}/deactivate/", peer["id"]), &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(text(&refused).contains("role=\"alert\""), "{}", text(&refused));
    let still = app
        .scoped(Method::GET, &format!("/api/users/employees/{}/", peer["id"]), &owner.token, &key, None)
        .await;
    assert_eq!(still.json(StatusCode::OK)["is_active"], true);
    // A manager is offered only the roles below their own.
    let form = text(&browser.get(&app, &format!("/console/s/{key}/staff/new/")).await);
    assert!(form.contains("value=\"cashier\"") && !form.contains("value=\"manager\""), "{form}");
}

/// An owner signed in to the console of their store (English pages), with the CSRF token
/// of its forms.
struct Console {
    owner: Owner,
    key: String,
    browser: Browser,
    csrf: String,
}

impl Console {
    /// Posts the form `fields` to `path` with the console's CSRF token, as the page's form does.
    async fn post(&mut self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let csrf = [("csrf", self.csrf.as_str())];
        let fields: Vec<(&str, &str)> = csrf.iter().chain(fields).copied().collect();
        self.browser.post(app, path, &fields).await
    }
}

/// The set-up code a console page shows.
fn shown_setup_code(page: &str) -> String {
    let at = page.find("id=\"setup-code\">").expect("a set-up code on the page") + "id=\"setup-code\">".len();
    page[at..].split('<').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_owner_prints_set_up_codes_from_the_console_and_no_password() {
    let (app, _owner, key, mut browser) = owner_in_the_console("console_setup").await;
    let form = browser.get(&app, &format!("/console/s/{key}/staff/new/")).await;
    let csrf = csrf_of(&text(&form));
    assert!(text(&form).contains("name=\"setup\" value=\"code\""), "{}", text(&form));
    let fields = [
        ("csrf", csrf.as_str()),
        ("username", "console_coded"),
        ("first_name", "Анна"),
        ("role", "cashier"),
        ("setup", "code"),
    ];
    let added = browser.post(&app, &format!("/console/s/{key}/staff/new/"), &fields).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", text(&added));
    assert_eq!(added.header("cache-control"), Some("no-store"));
    assert!(!text(&added).contains("id=\"password\""), "{}", text(&added));
    // Its QR code, drawn on the server as inline SVG.
    assert!(
        text(&added).contains("id=\"setup-qr\"><svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{}",
        text(&added)
    );
    let first = shown_setup_code(&text(&added));

    // The row's button prints a new code; the first one dies.
    let staff = text(&browser.get(&app, &format!("/console/s/{key}/staff/")).await);
    let id = staff
        .split(&format!("/console/s/{key}/staff/"))
        .filter_map(|rest| rest.split('/').next()?.parse::<i64>().ok())
        .max()
        .unwrap();
    let again =
        browser.post(&app, &format!("/console/s/{key}/staff/{id}/setup-code/"), &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", text(&again));
    assert!(text(&again).contains("console_coded"), "{}", text(&again));
    let second = shown_setup_code(&text(&again));
    let chosen = "Vybrannyi-Parol-9";
    let old = app.complete_setup(&json!({"code": first, "new_password": chosen})).await;
    old.error(StatusCode::BAD_REQUEST, "invalid_setup_code");
    app.complete_setup(&json!({"code": second, "new_password": chosen})).await.json(StatusCode::OK);
    app.sign_in("console_coded", chosen).await;
}

/// A fresh app where owner `username` registered a store and signed in to the console: the app,
/// the owner, the store's key, and the owner's browser.
async fn owner_in_the_console(username: &str) -> (TestApp, Owner, String, Browser) {
    let (app, owner) = TestApp::with_owner(username, "Лавка").await;
    let key = owner.key();
    let mut browser = Browser::default();
    sign_in(&app, &mut browser, username, "Kassa-Strong-2026").await;
    (app, owner, key, browser)
}

async fn console_of(app: &TestApp, username: &str) -> Console {
    let owner = app.register_owner(username, "Лавка").await;
    let key = owner.key();
    let mut browser = Browser::default();
    sign_in(app, &mut browser, username, "Kassa-Strong-2026").await;
    let devices = browser.get(app, &format!("/console/s/{key}/devices/")).await;
    assert_eq!(devices.status, StatusCode::OK);
    let csrf = csrf_of(&text(&devices));
    Console { owner, key, browser, csrf }
}

/// A pairing code made in the console pairs a till through the API; the console revokes it.
async fn pair_and_revoke_a_till(app: &TestApp, console: &mut Console) {
    // A pairing code, shown large, pairs a till through the API; the list shows it; revoke.
    let made = console
        .post(app, &format!("/console/s/{}/devices/pairing-code/", console.key), &[("name", "Касса 7")])
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", text(&made));
    let page = text(&made);
    let at = page.find("id=\"pairing-code\">").unwrap() + "id=\"pairing-code\">".len();
    let code = page[at..].split('<').next().unwrap().to_owned();
    assert_eq!(code.len(), 9, "{code}");
    let paired = app.json(Method::POST, "/api/users/devices/pair/", &json!({"code": code}), None).await;
    let device_id = paired.json(StatusCode::CREATED)["device"]["id"].as_i64().unwrap();
    assert!(
        text(&console.browser.get(app, &format!("/console/s/{}/devices/", console.key)).await)
            .contains("Касса 7")
    );
    let revoked =
        console.post(app, &format!("/console/s/{}/devices/{device_id}/revoke/", console.key), &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let listed = app
        .scoped(Method::GET, "/api/users/devices/", &console.owner.token, &console.key, None)
        .await
        .json(StatusCode::OK);
    assert_eq!(listed["results"][0]["is_active"], false);
}

/// A role created and edited in the console, and a refused delete of a built-in role.
async fn create_and_edit_a_role(app: &TestApp, console: &mut Console) {
    // Roles: a new one with a catalogue permission and one of the store's own; an edit; a
    // refused delete of a built-in role is explained.
    let roles = format!("/console/s/{}/roles/", console.key);
    let created = console
        .post(
            app,
            &format!("{roles}create/"),
            &[
                ("code", "senior"),
                ("name", "Старший кассир"),
                ("rank", "40"),
                ("permissions", "refund_sales"),
                ("others", "open_shift"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", text(&created));
    let edited = console
        .post(
            app,
            &format!("{roles}edit/"),
            &[("code", "senior"), ("name", "Senior"), ("rank", "45"), ("permissions", "void_sales")],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", text(&edited));
    let api_roles = app
        .scoped(Method::GET, "/api/users/store-roles/", &console.owner.token, &console.key, None)
        .await
        .json(StatusCode::OK);
    let senior =
        api_roles["data"].as_array().unwrap().iter().find(|role| role["code"] == "senior").unwrap().clone();
    assert_eq!(senior["name"], "Senior");
    assert_eq!(senior["rank"], 45);
    assert_eq!(senior["permissions"], json!(["void_sales"]));
    let refused = console.post(app, &format!("{roles}delete/"), &[("code", "cashier")]).await;
    assert!(refused.status.is_client_error());
    assert!(text(&refused).contains("role=\"alert\""));
    assert!(text(&console.browser.get(app, &roles).await).contains("value=\"senior\""));
}

#[tokio::test]
async fn a_till_paired_with_a_console_code_is_revoked_from_the_console() {
    let app = TestApp::spawn_with(&[("DEFAULT_LANGUAGE", "en")]).await;
    let mut console = console_of(&app, "console_full").await;

    pair_and_revoke_a_till(&app, &mut console).await;
}

#[tokio::test]
async fn the_console_writes_a_stores_roles() {
    let app = TestApp::spawn_with(&[("DEFAULT_LANGUAGE", "en")]).await;
    let mut console = console_of(&app, "console_full").await;

    create_and_edit_a_role(&app, &mut console).await;
}

#[tokio::test]
async fn the_console_audit_page_shows_the_console_actions_by_action() {
    let app = TestApp::spawn_with(&[("DEFAULT_LANGUAGE", "en")]).await;
    let mut console = console_of(&app, "console_full").await;
    pair_and_revoke_a_till(&app, &mut console).await;
    create_and_edit_a_role(&app, &mut console).await;

    // The audit trail shows each of those, filtered by action.
    let audit =
        console.browser.get(&app, &format!("/console/s/{}/audit/?action=role.updated", console.key)).await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(
        text(&audit).contains("<td>role.updated</td>") && !text(&audit).contains("<td>role.created</td>")
    );
    let all = text(&console.browser.get(&app, &format!("/console/s/{}/audit/", console.key)).await);
    for action in ["device.paired", "device.revoked", "role.created"] {
        assert!(all.contains(&format!("<td>{action}</td>")), "{action}");
    }
}

#[tokio::test]
async fn an_api_session_is_ended_from_the_console() {
    let app = TestApp::spawn_with(&[("DEFAULT_LANGUAGE", "en")]).await;
    let mut console = console_of(&app, "console_full").await;

    // Sessions: the API's session is listed beside this one, and ended from here.
    let sessions = text(&console.browser.get(&app, "/console/sessions/").await);
    assert_eq!(sessions.matches("/revoke/\"").count(), 2, "{sessions}");
    let api_session =
        app.get_as("/api/users/auth/sessions/", &console.owner.token).await.json(StatusCode::OK)["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|session| session["current"] == true)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let ended = console.post(&app, &format!("/console/sessions/{api_session}/revoke/"), &[]).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    app.get_as("/api/users/auth/sessions/", &console.owner.token)
        .await
        .error(StatusCode::UNAUTHORIZED, "token_invalid");
}

#[tokio::test]
async fn saving_a_built_in_role_keeps_its_name_in_every_language() {
    let (app, owner, key, mut browser) = owner_in_the_console("console_words").await;
    let page = text(&browser.get(&app, &format!("/console/s/{key}/roles/")).await);
    let csrf = csrf_of(&page);
    // The form as a browser sends it: the name box left as shown (empty, with a placeholder).
    let saved = browser
        .post(
            &app,
            &format!("/console/s/{key}/roles/edit/"),
            &[("csrf", &csrf), ("code", "cashier"), ("name", ""), ("permissions", "view_products")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", text(&saved));
    let request = Request::get("/api/users/store-roles/")
        .header(header::AUTHORIZATION, format!("Bearer {}", owner.token))
        .header("x-tenant-key", key.as_str())
        .header(header::ACCEPT_LANGUAGE, "en")
        .body(Body::empty())
        .unwrap();
    let roles = app.send(request).await.json(StatusCode::OK);
    let cashier =
        roles["data"].as_array().unwrap().iter().find(|role| role["code"] == "cashier").unwrap().clone();
    assert_eq!(cashier["name"], "Cashier", "{cashier}");
    assert_eq!(cashier["permissions"], json!(["view_products"]));
}

#[tokio::test]
async fn an_employee_is_edited_from_the_console_by_the_api_rules() {
    let (app, owner) = TestApp::with_owner("console_editor", "Лавка").await;
    let (_, cashier) = app.member(&owner, "console_edited", "cashier").await;
    let key = owner.key();
    let mut browser = Browser::default();
    sign_in(&app, &mut browser, "console_editor", "Kassa-Strong-2026").await;
    let path = format!("/console/s/{key}/staff/{}/edit/", cashier["id"]);
    let form = browser.get(&app, &path).await;
    assert_eq!(form.status, StatusCode::OK, "{}", text(&form));
    let csrf = csrf_of(&text(&form));
    assert!(text(&form).contains("value=\"cashier\" selected"), "{}", text(&form));

    let saved = browser
        .post(
            &app,
            &path,
            &[
                ("csrf", &csrf),
                ("first_name", "Пётр"),
                ("last_name", "Иванов"),
                ("role", "manager"),
                ("position", "Старший"),
                ("phone", "+998901112233"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", text(&saved));
    let read = app
        .scoped(Method::GET, &format!("/api/users/employees/{}/", cashier["id"]), &owner.token, &key, None)
        .await;
    let read = read.json(StatusCode::OK);
    assert_eq!(
        (read["first_name"].as_str(), read["role"].as_str(), read["position"].as_str()),
        (Some("Пётр"), Some("manager"), Some("Старший"))
    );
    // A refused change (the owner's role is not given) is explained and changes nothing.
    let refused =
        browser.post(&app, &path, &[("csrf", &csrf), ("first_name", "Другой"), ("role", "owner")]).await;
    assert!(refused.status.is_client_error(), "{}", refused.status);
    assert!(text(&refused).contains("role=\"alert\""));
    let again = app
        .scoped(Method::GET, &format!("/api/users/employees/{}/", cashier["id"]), &owner.token, &key, None)
        .await;
    assert_eq!(again.json(StatusCode::OK)["first_name"], "Пётр");
}

#[tokio::test]
async fn the_owner_runs_the_shared_staff_account_from_the_console() {
    let (app, owner) = TestApp::with_owner("console_shared", "Общая").await;
    let key = owner.key();
    let staff = owner.data["staff_credentials"].clone();
    let (username, password) = (staff["username"].as_str().unwrap(), staff["password"].as_str().unwrap());
    let mut browser = Browser::default();
    sign_in(&app, &mut browser, "console_shared", "Kassa-Strong-2026").await;
    let page_path = format!("/console/s/{key}/staff-account/");
    let act = |action: &str| format!("/console/s/{key}/staff-account/{action}/");

    let page = browser.get(&app, &page_path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let page = text(&page);
    assert!(page.contains(username) && !page.contains(password), "{page}");
    let csrf = csrf_of(&page);

    assert_eq!(browser.post(&app, &act("reveal"), &[]).await.status, StatusCode::FORBIDDEN);
    let revealed = browser.post(&app, &act("reveal"), &[("csrf", &csrf)]).await;
    assert_eq!(revealed.status, StatusCode::OK);
    assert_eq!(revealed.header("cache-control"), Some("no-store"));
    assert!(text(&revealed).contains(password), "{}", text(&revealed));
    let audit = app.audit_events(&owner, "?action=staff_account.password_viewed").await.json(StatusCode::OK);
    assert_eq!(audit["count"], 1, "{audit}");

    let rotated = text(&browser.post(&app, &act("rotate"), &[("csrf", &csrf)]).await);
    let at = rotated.find("id=\"staff-password\">").expect("the new password shown")
        + "id=\"staff-password\">".len();
    let new_password = rotated[at..].split('<').next().unwrap();
    assert_ne!(new_password, password);
    app.sign_in(username, new_password).await;

    let off = browser.post(&app, &act("switch"), &[("csrf", &csrf), ("is_active", "false")]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", text(&off));
    let login = json!({"username": username, "password": new_password});
    app.json(Method::POST, "/api/users/auth/login/", &login, None)
        .await
        .error(StatusCode::UNAUTHORIZED, "authentication_failed");
    browser.post(&app, &act("switch"), &[("csrf", &csrf), ("is_active", "true")]).await;
    app.sign_in(username, new_password).await;

    // A manager runs the console, not the shared account.
    app.member(&owner, "console_shared_mgr", "manager").await;
    let mut manager = Browser::default();
    sign_in(&app, &mut manager, "console_shared_mgr", EMPLOYEE_PASSWORD).await;
    assert_eq!(manager.get(&app, &page_path).await.status, StatusCode::FORBIDDEN);
}
