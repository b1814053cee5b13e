//! The store console (docs/contract.md §12): web pages where owners and managers run their store,
//! rendered on the server from templates compiled into the binary (`templates/console/`),
//! with one stylesheet and no script. Every page works without JavaScript.
//!
//! So far: sign-in with a cookie session that is an ordinary kassa session ([`session`]),
//! the store picker (stores where the user ranks 50 or more), the staff list with its
//! filters and pages, sign-out; Russian and English with a switch.
//!
//! Every response carries a `Content-Security-Policy` that allows no inline script and no
//! other origin, and `Cache-Control: no-store` unless it says otherwise (the stylesheet).

pub mod action;
pub mod pages;
pub mod session;
pub mod staff;
pub mod staff_account;
pub mod store_pages;
pub mod texts;
pub mod two_factor;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, SET_COOKIE, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, header::X_CONTENT_TYPE_OPTIONS};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post};

use crate::config::Config;
use crate::console::session::{LANG_COOKIE, cookie, lang_cookie};
use crate::i18n::{Lang, current_lang, with_lang};
use crate::state::AppState;

/// What the console's pages may load: their own stylesheet, nothing inline, nothing else.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `/console/…`, to merge beside the API; `config` decides how its cookies are set.
pub fn router(config: Arc<Config>) -> Router<AppState> {
    Router::new()
        .route("/console", get(pages::home))
        .route("/console/", get(pages::home))
        .route("/console/sign-in/", get(pages::sign_in_form).post(pages::sign_in))
        .route("/console/sign-in/2fa/", post(two_factor::sign_in_second_step_form))
        .route("/console/sign-out/", post(pages::sign_out))
        .route("/console/two-factor/", get(two_factor::page))
        .route("/console/two-factor/enrol/", post(two_factor::enrol))
        .route("/console/two-factor/confirm/", post(two_factor::confirm))
        .route("/console/two-factor/off/", post(two_factor::turn_off))
        .route("/console/stores/", get(pages::stores))
        .route("/console/s/{tenant_key}/staff/", get(staff::list))
        .route(
            "/console/s/{tenant_key}/staff/new/",
            get(staff::new_employee_form).post(staff::create_employee),
        )
        .route(
            "/console/s/{tenant_key}/staff/{id}/edit/",
            get(staff::edit_employee_form).post(staff::update_employee),
        )
        .route("/console/s/{tenant_key}/staff/{id}/{action}/", post(staff::staff_action))
        .route("/console/s/{tenant_key}/devices/", get(store_pages::devices))
        .route("/console/s/{tenant_key}/devices/pairing-code/", post(store_pages::create_pairing_code))
        .route("/console/s/{tenant_key}/devices/{id}/revoke/", post(store_pages::revoke_device))
        .route("/console/s/{tenant_key}/roles/", get(store_pages::roles))
        .route("/console/s/{tenant_key}/roles/{action}/", post(store_pages::change_role))
        .route("/console/s/{tenant_key}/audit/", get(store_pages::audit))
        .route("/console/s/{tenant_key}/staff-account/", get(staff_account::page))
        .route("/console/s/{tenant_key}/staff-account/{action}/", post(staff_account::act))
        .route("/console/sessions/", get(store_pages::sessions))
        .route("/console/sessions/{id}/revoke/", post(store_pages::revoke_session))
        .route("/console/assets/console.css", get(pages::stylesheet))
        .layer(from_fn_with_state(config, console_headers))
}

/// The page's language (a `?lang=` switch, kept in a cookie; else the cookie; else
/// `Accept-Language`) and the console's security headers.
async fn console_headers(State(config): State<Arc<Config>>, request: Request, next: Next) -> Response {
    let switched = request
        .uri()
        .query()
        .and_then(|query| form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == "lang"))
        .and_then(|(_, value)| value.parse::<Lang>().ok());
    let kept = cookie(request.headers(), LANG_COOKIE).and_then(|value| value.parse::<Lang>().ok());
    let lang = switched.or(kept).unwrap_or_else(current_lang);
    let remember = switched.map(|lang| lang_cookie(&config, request.headers(), lang_tag(lang)));
    let mut response = with_lang(lang, next.run(request)).await;
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(cookie) = remember {
        headers.append(SET_COOKIE, cookie);
    }
    response
}

fn lang_tag(lang: Lang) -> &'static str {
    match lang {
        Lang::Ru => "ru",
        Lang::En => "en",
    }
}
