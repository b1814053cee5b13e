//! The console's pages: each handler checks the cookie session, calls the same code as the
//! API, and renders a template; a refusal is shown in words on the page.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::auth::forms::Credentials;
use crate::auth::handlers::{PasswordSignIn, sign_in_with_password};
use crate::console::session::{
    ConsoleUser, KnownDevice, NoConsoleUser, SIGN_IN_COOKIE, cookie, csrf_matches, device_cookie,
    session_cookie, sign_in_cookie,
};
use crate::console::texts::{Texts, texts};
use crate::credentials::queries;
use crate::db::Session;
use crate::error::{ApiError, EnvelopeRendered};
use crate::http::client::ClientInfo;

use crate::access::MANAGING_RANK;
use crate::i18n::current_lang;
use crate::registry::queries::{StoreFilter, list_member_stores};
use crate::state::AppState;
use crate::tenant::conn::StoreScope;

/// Who the page header names, with the token of the sign-out form.
pub struct SignedInView {
    pub username: String,
    pub csrf: String,
}

impl From<&ConsoleUser> for SignedInView {
    fn from(user: &ConsoleUser) -> Self {
        SignedInView { username: user.session.username.clone(), csrf: user.csrf.clone() }
    }
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    csrf: String,
    username: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/second_step.html")]
struct SecondStepPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    csrf: String,
    challenge: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    message: String,
    back_to: String,
}

/// A store the user may run from the console.
pub struct StoreLink {
    pub key: String,
    pub name: String,
    pub role: String,
}

#[derive(Template)]
#[template(path = "console/stores.html")]
struct StoresPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    stores: Vec<StoreLink>,
}

/// Renders `page` as an HTML response with `status`; a refusal keeps its page (the API's
/// JSON envelope is for the API).
pub(super) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            response.extensions_mut().insert(EnvelopeRendered);
            response
        }
        Err(error) => ApiError::internal(error).into_response(),
    }
}

pub(super) fn see_other(to: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/console/")))],
    )
        .into_response()
}

/// `error` explained on a page, with its status.
pub(super) fn refusal(error: &ApiError, signed_in: Option<SignedInView>, back_to: &'static str) -> Response {
    refusal_at(error, signed_in, back_to.to_owned())
}

/// [`refusal`] with a link back to `back_to`.
pub(super) fn refusal_at(error: &ApiError, signed_in: Option<SignedInView>, back_to: String) -> Response {
    let page = MessagePage { t: texts(current_lang()), signed_in, message: error.describe(), back_to };
    render(error.status(), &page)
}

impl IntoResponse for NoConsoleUser {
    fn into_response(self) -> Response {
        match self {
            NoConsoleUser::SignedOut => see_other("/console/sign-in/"),
            NoConsoleUser::Failed(error) => refusal(&error, None, "/console/"),
        }
    }
}

/// `/console/`: the store picker, or the sign-in form.
pub async fn home(user: Result<ConsoleUser, NoConsoleUser>) -> Response {
    match user {
        Ok(_) => see_other("/console/stores/"),
        Err(not_signed_in) => not_signed_in.into_response(),
    }
}

/// The sign-in form, with a fresh CSRF token in a cookie of its own.
pub async fn sign_in_form(
    State(app): State<AppState>,
    headers: HeaderMap,
    user: Result<ConsoleUser, NoConsoleUser>,
) -> Response {
    if user.is_ok() {
        return see_other("/console/stores/");
    }
    sign_in_page(&app, &headers, StatusCode::OK, String::new(), None)
}

fn sign_in_page(
    app: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    username: String,
    error: Option<String>,
) -> Response {
    let csrf = crate::random::random_hex(16);
    let page = SignInPage { t: texts(current_lang()), signed_in: None, csrf: csrf.clone(), username, error };
    let mut response = render(status, &page);
    response.headers_mut().append(SET_COOKIE, sign_in_cookie(&app.config, headers, &csrf));
    response
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignInForm {
    username: Option<String>,
    password: Option<String>,
    csrf: Option<String>,
}

/// Signs in with a password, like `POST /auth/login/` (the same throttle), and keeps the
/// new session's refresh token in the console cookie. A browser that signed in as this
/// username before carries a device cookie and is held to that cookie's own allowance of
/// failures instead of the account's cap; each success gives it a fresh one.
pub async fn sign_in(
    State(app): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return sign_in_page(
            &app,
            &headers,
            StatusCode::BAD_REQUEST,
            String::new(),
            Some(ApiError::Validation(Default::default()).describe()),
        );
    };
    let expected = cookie(&headers, SIGN_IN_COOKIE);
    if expected.is_none() || expected != form.csrf.as_deref() {
        let message = texts(current_lang()).form_expired.to_owned();
        return sign_in_page(
            &app,
            &headers,
            StatusCode::FORBIDDEN,
            form.username.unwrap_or_default(),
            Some(message),
        );
    }
    let username = form.username.clone().unwrap_or_default();
    let body = crate::auth::forms::LoginRequest { username: form.username, password: form.password };
    let signed_in = match Credentials::parse(body) {
        Ok(credentials) => {
            let device = KnownDevice::presented(&app.config, &headers)
                .filter(|device| device.is_for(&credentials.username));
            sign_in_with_password(&app, &client, credentials, device.as_ref().map(|d| d.id.as_str())).await
        }
        Err(invalid) => Err(invalid),
    };
    match signed_in {
        Ok(signed_in) => signed_in_response(&app, &headers, &signed_in),
        Err(ApiError::TwoFactorRequired(Some(pending))) => {
            let csrf = form.csrf.unwrap_or_default();
            second_step_page(StatusCode::OK, csrf, pending.challenge, None)
        }
        Err(error) => sign_in_failed(&app, &headers, username, error),
    }
}

/// The sign-in form again, saying why `error` refused it (with `Retry-After` when throttled).
fn sign_in_failed(app: &AppState, headers: &HeaderMap, username: String, error: ApiError) -> Response {
    let mut response = sign_in_page(app, headers, error.status(), username, Some(error.describe()));
    if let ApiError::TooManyAttempts { retry_after_secs, kind } = error {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        // The page is the console's, not the envelope: the metrics still learn which throttle.
        response.extensions_mut().insert(kind);
    }
    response
}

/// A sign-in that opened a session (after the password, or its second step): the session's
/// refresh token in the console cookie, the browser marked as known, on to the stores.
pub(super) fn signed_in_response(
    app: &AppState,
    headers: &HeaderMap,
    signed_in: &PasswordSignIn,
) -> Response {
    let max_age = app.config.refresh_token_ttl.as_secs();
    let mut response = see_other("/console/stores/");
    let cookies = response.headers_mut();
    cookies.append(SET_COOKIE, session_cookie(&app.config, headers, &signed_in.tokens.refresh, max_age));
    // Signing cannot fail; were it to, the browser would merely stay unknown.
    if let Ok(device) = device_cookie(&app.config, headers, &signed_in.account.username) {
        cookies.append(SET_COOKIE, device);
    }
    response
}

/// The sign-in's second page: the code from the app (or a recovery code) for `challenge`,
/// under the sign-in form's own CSRF token.
pub(super) fn second_step_page(
    status: StatusCode,
    csrf: String,
    challenge: String,
    error: Option<String>,
) -> Response {
    let page = SecondStepPage { t: texts(current_lang()), signed_in: None, csrf, challenge, error };
    render(status, &page)
}

/// A form that changes something: its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// Ends the console's session (as `POST /auth/logout/` would) and forgets the cookie.
pub async fn sign_out(
    State(app): State<AppState>,
    headers: HeaderMap,
    user: ConsoleUser,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let sent = form.ok().and_then(|Form(form)| form.csrf);
    if !csrf_matches(&user, sent.as_deref()) {
        return form_expired(&user);
    }
    let revoked = async {
        let mut conn = Session::open(&app.db).await?;
        queries::revoke_session(&mut conn, user.session.user_id, user.session.session_id).await?;
        conn.finish().await?;
        Ok::<_, ApiError>(())
    };
    if let Err(error) = revoked.await {
        return refusal(&error, Some(SignedInView::from(&user)), "/console/");
    }
    let mut response = see_other("/console/sign-in/");
    response.headers_mut().append(SET_COOKIE, session_cookie(&app.config, &headers, "", 0));
    response
}

/// A state-changing form without its session's CSRF token: refused, nothing changed.
fn form_expired(user: &ConsoleUser) -> Response {
    form_expired_at(user, "/console/".to_owned())
}

/// [`form_expired`] with a link back to `back_to`.
pub(super) fn form_expired_at(user: &ConsoleUser, back_to: String) -> Response {
    let page = MessagePage {
        t: texts(current_lang()),
        signed_in: Some(SignedInView::from(user)),
        message: texts(current_lang()).form_expired.to_owned(),
        back_to,
    };
    render(StatusCode::FORBIDDEN, &page)
}

/// The stores where the user ranks 50 or more (owners and managers); others are told the
/// console is not for them.
pub async fn stores(State(app): State<AppState>, user: ConsoleUser) -> Response {
    if user.session.enrolment_only {
        return see_other("/console/two-factor/");
    }
    let listed = async {
        let mut conn = Session::open(&app.db).await?;
        let rows = list_member_stores(&mut conn, user.session.user_id, StoreFilter::ActiveOnly).await?;
        conn.finish().await?;
        Ok::<_, ApiError>(rows)
    };
    let rows = match listed.await {
        Ok(rows) => rows,
        Err(error) => return refusal(&error, Some(SignedInView::from(&user)), "/console/"),
    };
    let lang = current_lang();
    let stores: Vec<StoreLink> = rows
        .into_iter()
        .filter(|row| row.role.rank >= MANAGING_RANK)
        .map(|row| StoreLink {
            key: row.store.tenant_key,
            name: row.store.name,
            role: row.role.display(lang),
        })
        .collect();
    let status = if stores.is_empty() { StatusCode::FORBIDDEN } else { StatusCode::OK };
    render(status, &StoresPage { t: texts(lang), signed_in: Some(SignedInView::from(&user)), stores })
}

/// The scope of a store page, or the page that explains why there is none.
pub(super) async fn scope_or_refusal(
    app: &AppState,
    user: &ConsoleUser,
    tenant_key: &str,
) -> Result<StoreScope, Response> {
    store_scope(app, user, tenant_key)
        .await
        .map_err(|error| refusal(&error, Some(SignedInView::from(user)), "/console/stores/"))
}

/// A value the API reads as a request body (`ApiJson` would refuse what this refuses).
pub(super) fn api_body<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|_| ApiError::Validation(Default::default()))
}

/// The scope of `user`'s session in the store of `tenant_key`, checked as the API checks a
/// store key (unknown or deactivated stores are refused alike).
async fn store_scope(app: &AppState, user: &ConsoleUser, tenant_key: &str) -> Result<StoreScope, ApiError> {
    if user.session.enrolment_only {
        return Err(ApiError::TwoFactorEnrolmentRequired);
    }
    // As the tenant layer does: a key that cannot name a store never reaches the registry.
    if !crate::tenant::layer::is_well_formed(tenant_key) {
        return Err(ApiError::InvalidTenantKey);
    }
    let store = app.stores.resolve(&app.db, tenant_key).await?.ok_or(ApiError::InvalidTenantKey)?;
    if !store.is_active {
        return Err(ApiError::InactiveTenant);
    }
    Ok(StoreScope::for_session(
        store,
        (user.session.user_id, user.session.session_id),
        app.db.clone(),
        app.config.request_timeout,
        std::sync::Arc::clone(&app.roles),
    ))
}

/// `text` (a set-up code, an authenticator's `otpauth://` URI) as a QR code in inline SVG
/// markup, for a phone to scan: drawn here, so the page needs no script and the code goes to
/// no other service. `None` only if the encoder refuses it (far longer texts than these fit).
pub(super) fn qr_svg(text: &str) -> Option<String> {
    let qr = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = qr.render::<qrcode::render::svg::Color>().min_dimensions(192, 192).build();
    // Inline in HTML: the XML declaration belongs to stand-alone files only.
    Some(svg.trim_start_matches(r#"<?xml version="1.0" standalone="yes"?>"#).to_owned())
}

/// The stylesheet, from the binary.
pub async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        include_str!("console.css"),
    )
        .into_response()
}
