//! Two-step sign-in in the console (docs/contract.md §16): the second page of the sign-in,
//! and the user's own page to set up an authenticator app (a QR code drawn on the server,
//! the secret to type in, the recovery codes shown once) or turn it off. Each calls the
//! API's own functions, so the throttles, replay refusal and audit are the same.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::forms::{SecondStepRequest, parse_second_step};
use crate::auth::handlers::second_step::sign_in_second_step;
use crate::console::action::{Fields, step_up_headers};
use crate::console::pages::{
    SignedInView, form_expired_at, qr_svg, refusal_at, render, second_step_page, see_other,
    signed_in_response,
};
use crate::console::session::{ConsoleUser, SIGN_IN_COOKIE, cookie, csrf_matches};
use crate::console::texts::{Texts, texts};
use crate::credentials::extractor::AuthUser;
use crate::credentials::second_factor;
use crate::db::Session;
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::i18n::current_lang;
use crate::state::AppState;
use crate::two_factor::forms::DisableProof;
use crate::two_factor::handlers::{confirm_totp_code, start_totp, turn_totp_off};

const PAGE: &str = "/console/two-factor/";

#[derive(Template)]
#[template(path = "console/two_factor.html")]
struct TwoFactorPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    csrf: String,
    is_on: bool,
    enrolment_only: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/totp_enrol.html")]
struct EnrolPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    csrf: String,
    secret: String,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "console/recovery_codes.html")]
struct RecoveryCodesPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    codes: Vec<String>,
}

/// The second page's fields.
#[derive(Deserialize)]
pub struct SecondStepForm {
    challenge: Option<String>,
    code: Option<String>,
    csrf: Option<String>,
}

/// Answers the sign-in's challenge, as `POST /auth/login/2fa/` does: six digits are the
/// app's code, anything longer a recovery code.
pub async fn sign_in_second_step_form(
    State(app): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    form: Result<Form<SecondStepForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return see_other("/console/sign-in/");
    };
    let (csrf, challenge) = (form.csrf.unwrap_or_default(), form.challenge.unwrap_or_default());
    if cookie(&headers, SIGN_IN_COOKIE) != Some(csrf.as_str()) || csrf.is_empty() {
        return see_other("/console/sign-in/");
    }
    let code = form.code.unwrap_or_default().trim().to_owned();
    let is_app_code = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let body = match is_app_code {
        true => {
            SecondStepRequest { challenge: Some(challenge.clone()), code: Some(code), recovery_code: None }
        }
        false => {
            SecondStepRequest { challenge: Some(challenge.clone()), code: None, recovery_code: Some(code) }
        }
    };
    let signed_in = match parse_second_step(body) {
        Ok((challenge, proof)) => sign_in_second_step(&app, &client, &challenge, proof).await,
        Err(invalid) => Err(invalid),
    };
    match signed_in {
        Ok(signed_in) => signed_in_response(&app, &headers, &signed_in),
        Err(error) => second_step_page(error.status(), csrf, challenge, Some(error.describe())),
    }
}

/// The user's two-step page: on or off, and what they can do about it.
pub async fn page(State(app): State<AppState>, user: ConsoleUser) -> Response {
    two_factor_page(&app, &user, StatusCode::OK, None).await
}

async fn two_factor_page(
    app: &AppState,
    user: &ConsoleUser,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let is_on = async {
        let mut conn = Session::open(&app.db).await?;
        let is_on = second_factor::totp_is_on(&mut conn, user.session.user_id).await?;
        conn.finish().await?;
        Ok::<_, ApiError>(is_on)
    };
    let is_on = match is_on.await {
        Ok(is_on) => is_on,
        Err(error) => return refusal_at(&error, Some(SignedInView::from(user)), "/console/".to_owned()),
    };
    let page = TwoFactorPage {
        t: texts(current_lang()),
        signed_in: Some(SignedInView::from(user)),
        csrf: user.csrf.clone(),
        is_on,
        enrolment_only: user.session.enrolment_only,
        error,
    };
    render(status, &page)
}

/// Starts enrolling an authenticator: the page with its QR code and secret, shown this once.
pub async fn enrol(State(app): State<AppState>, user: ConsoleUser, body: axum::body::Bytes) -> Response {
    let fields = Fields::parse(&body);
    if !csrf_matches(&user, fields.get("csrf")) {
        return form_expired_at(&user, PAGE.to_owned());
    }
    let enrolment = match start_totp(&app, user.session.user_id, &user.session.username).await {
        Ok(enrolment) => enrolment,
        Err(error) => return refusal_at(&error, Some(SignedInView::from(&user)), PAGE.to_owned()),
    };
    let page = EnrolPage {
        t: texts(current_lang()),
        signed_in: Some(SignedInView::from(&user)),
        csrf: user.csrf.clone(),
        qr_svg: qr_svg(&enrolment.otpauth_uri).unwrap_or_default(),
        secret: enrolment.secret,
    };
    render(StatusCode::OK, &page)
}

/// Confirms the enrolment with the app's code: the recovery codes, shown this once. A wrong
/// code sends the user back to start again (the secret is never shown twice).
pub async fn confirm(State(app): State<AppState>, user: ConsoleUser, body: axum::body::Bytes) -> Response {
    let fields = Fields::parse(&body);
    if !csrf_matches(&user, fields.get("csrf")) {
        return form_expired_at(&user, PAGE.to_owned());
    }
    let code = fields.get("code").unwrap_or_default().trim().to_owned();
    match confirm_totp_code(&app, user.session.user_id, &code).await {
        Ok(codes) => {
            let page = RecoveryCodesPage {
                t: texts(current_lang()),
                signed_in: Some(SignedInView::from(&user)),
                codes,
            };
            render(StatusCode::OK, &page)
        }
        Err(error) => two_factor_page(&app, &user, error.status(), Some(error.describe())).await,
    }
}

/// Turns two-step sign-in off with the password and a fresh code, as `DELETE
/// /auth/2fa/totp/` does; the user's other sessions end.
pub async fn turn_off(
    State(app): State<AppState>,
    client: ClientInfo,
    user: ConsoleUser,
    body: axum::body::Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !csrf_matches(&user, fields.get("csrf")) {
        return form_expired_at(&user, PAGE.to_owned());
    }
    let password = SecretString::from(fields.get("password").unwrap_or_default().to_owned());
    let caller = AuthUser {
        user_id: user.session.user_id,
        session_id: user.session.session_id,
        username: user.session.username.clone(),
        must_change_password: false,
        bound_store_id: None,
    };
    let headers = step_up_headers(&fields);
    match turn_totp_off(&app, &caller, &client, &headers, DisableProof::Password(password)).await {
        Ok(()) => see_other(PAGE),
        Err(error) => two_factor_page(&app, &user, error.status(), Some(error.describe())).await,
    }
}
