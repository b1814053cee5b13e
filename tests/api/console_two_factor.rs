//! Two-step sign-in in the store console (docs/contract.md §16): the second page of the
//! sign-in, setting up an authenticator from the user's own page, and a store's policy
//! keeping an unenrolled member to that page. Codes are computed by `totp-lite`.

use axum::http::StatusCode;
use serde_json::json;

use crate::console::{Browser, csrf_of, sign_in, text};
use crate::helpers::{EMPLOYEE_PASSWORD, TestApp, away_from_step_edge, code_at, owner_with_totp};

const OWNER_PASSWORD: &str = "Kassa-Strong-2026";

/// The text of the element with `id` on `page`.
fn element_text(page: &str, id: &str) -> String {
    let start = format!("id=\"{id}\">");
    let at = page.find(&start).unwrap_or_else(|| panic!("no #{id} on the page: {page}")) + start.len();
    page[at..].split('<').next().unwrap().trim().to_owned()
}

/// Sets up an authenticator from the console page: the secret shown, and the recovery
/// codes page's text. Confirms with the previous step's code.
async fn enrol_in_the_console(app: &TestApp, browser: &mut Browser) -> (String, String) {
    let page = browser.get(app, "/console/two-factor/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", text(&page));
    let csrf = csrf_of(&text(&page));
    let enrolment = browser.post(app, "/console/two-factor/enrol/", &[("csrf", &csrf)]).await;
    assert_eq!(enrolment.status, StatusCode::OK, "{}", text(&enrolment));
    assert_eq!(enrolment.header("cache-control"), Some("no-store"));
    let page = text(&enrolment);
    assert!(page.contains("id=\"totp-qr\"><svg xmlns=\"http://www.w3.org/2000/svg\""), "{page}");
    let secret = element_text(&page, "totp-secret");
    away_from_step_edge().await;
    let confirmed = browser
        .post(app, "/console/two-factor/confirm/", &[("csrf", &csrf), ("code", &code_at(&secret, -1))])
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", text(&confirmed));
    assert_eq!(confirmed.header("cache-control"), Some("no-store"));
    (secret, text(&confirmed))
}

#[tokio::test]
async fn an_owner_sets_up_an_app_in_the_console_and_signs_in_with_a_code() {
    let (app, _owner) = TestApp::with_owner("console_totp", "Лавка").await;
    let mut browser = Browser::default();
    sign_in(&app, &mut browser, "console_totp", OWNER_PASSWORD).await;
    let (secret, codes_page) = enrol_in_the_console(&app, &mut browser).await;
    assert_eq!(codes_page.matches("<li class=\"secret\">").count(), 10, "{codes_page}");
    // Shown once: the two-step page shows neither the secret nor a code again.
    let page = text(&browser.get(&app, "/console/two-factor/").await);
    assert!(!page.contains(&secret) && !page.contains("totp-secret"), "{page}");

    let mut other = Browser::default();
    let first = sign_in(&app, &mut other, "console_totp", OWNER_PASSWORD).await;
    assert_eq!(first.status, StatusCode::OK, "{}", text(&first));
    let page = text(&first);
    assert!(page.contains("action=\"/console/sign-in/2fa/\""), "{page}");
    assert!(!other.has("kassa_console"), "a session before the second step");
    let challenge =
        page.split("name=\"challenge\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let csrf = csrf_of(&page);
    let wrong = other
        .post(
            &app,
            "/console/sign-in/2fa/",
            &[("csrf", &csrf), ("challenge", &challenge), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", text(&wrong));
    let signed_in = other
        .post(
            &app,
            "/console/sign-in/2fa/",
            &[("csrf", &csrf), ("challenge", &challenge), ("code", &code_at(&secret, 0))],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", text(&signed_in));
    assert_eq!(signed_in.header("location"), Some("/console/stores/"));
    assert_eq!(other.get(&app, "/console/stores/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn turning_it_off_in_the_console_needs_the_password_and_a_fresh_code() {
    let (app, _owner) = TestApp::with_owner("console_off", "Лавка").await;
    let mut browser = Browser::default();
    sign_in(&app, &mut browser, "console_off", OWNER_PASSWORD).await;
    let (secret, _) = enrol_in_the_console(&app, &mut browser).await;
    let csrf = csrf_of(&text(&browser.get(&app, "/console/two-factor/").await));
    let no_code = browser
        .post(&app, "/console/two-factor/off/", &[("csrf", &csrf), ("password", OWNER_PASSWORD)])
        .await;
    assert_eq!(no_code.status, StatusCode::UNAUTHORIZED, "{}", text(&no_code));
    let fields = [("csrf", csrf.as_str()), ("password", OWNER_PASSWORD), ("totp_code", &code_at(&secret, 0))];
    let off = browser.post(&app, "/console/two-factor/off/", &fields).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", text(&off));
    app.login("console_off", OWNER_PASSWORD).await.json(StatusCode::OK);
}

#[tokio::test]
async fn an_enrolment_only_session_sees_its_two_step_page_and_no_store() {
    let app = TestApp::spawn().await;
    let (owner, secret, _) = owner_with_totp(&app, "console_policy").await;
    away_from_step_edge().await;
    app.set_two_factor_policy(&owner, json!(50), Some(&code_at(&secret, 0))).await.json(StatusCode::OK);
    app.add_employee(&owner, "console_policy_manager", "manager").await;

    let mut browser = Browser::default();
    sign_in(&app, &mut browser, "console_policy_manager", EMPLOYEE_PASSWORD).await;
    let stores = browser.get(&app, "/console/stores/").await;
    assert_eq!(stores.status, StatusCode::SEE_OTHER);
    assert_eq!(stores.header("location"), Some("/console/two-factor/"));
    let staff_page = format!("/console/s/{}/staff/", owner.key());
    assert_eq!(browser.get(&app, &staff_page).await.status, StatusCode::FORBIDDEN);
    let page = text(&browser.get(&app, "/console/two-factor/").await);
    assert!(page.contains("id=\"enrolment-required\""), "{page}");

    // Confirming lifts it at once: the console reads the session on every page.
    enrol_in_the_console(&app, &mut browser).await;
    assert_eq!(browser.get(&app, &staff_page).await.status, StatusCode::OK);
}
