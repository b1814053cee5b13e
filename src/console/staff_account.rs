//! The console's page for the store's shared staff account: who it is and whether it may
//! sign in; the owner reveals its password (audited), rotates it, or switches it off and
//! on. Each action calls the API's own handler, so the same rules hold; console pages are
//! never cached.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::console::action::{StoreAction, StorePage, step_up_headers};
use crate::console::pages::{SignedInView, refusal_at, render, see_other};
use crate::console::session::ConsoleUser;
use crate::console::texts::{Texts, texts};
use crate::error::ApiError;
use crate::http::json::ApiJson;
use crate::i18n::current_lang;
use crate::registry::staff_account::StaffCredentials;
use crate::stores::forms::StaffAccountChange;
use crate::stores::handlers::staff_account::{
    get_staff_credentials, rotate_staff_password, staff_account_overview, update_staff_account,
};

#[derive(Template)]
#[template(path = "console/staff_account.html")]
struct StaffAccountPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    store_key: String,
    store_name: String,
    csrf: String,
    username: String,
    full_name: String,
    is_active: bool,
    /// Whether the password was asked for (shown, or said to be unreadable).
    revealed: bool,
    rotated: bool,
    password: Option<String>,
}

/// What the page shows besides the account: after a reveal or a rotation, the password.
#[derive(Clone, Copy)]
enum Shown {
    Overview,
    Revealed,
    Rotated,
}

fn page_of(
    user: &ConsoleUser,
    key: String,
    store_name: String,
    account: StaffCredentials,
    shown: Shown,
) -> Response {
    let page = StaffAccountPage {
        t: texts(current_lang()),
        signed_in: Some(SignedInView::from(user)),
        store_key: key,
        store_name,
        csrf: user.csrf.clone(),
        username: account.username,
        full_name: account.full_name,
        is_active: account.is_active,
        revealed: !matches!(shown, Shown::Overview),
        rotated: matches!(shown, Shown::Rotated),
        password: account.password,
    };
    render(StatusCode::OK, &page)
}

/// The staff account of the store, without its password.
pub async fn page(StorePage { user, path: key, scope, .. }: StorePage) -> Response {
    let store_name = scope.store.name.clone();
    match async { staff_account_overview(scope.begin().await?).await }.await {
        Ok(account) => page_of(&user, key, store_name, account, Shown::Overview),
        Err(error) => refusal_at(&error, Some(SignedInView::from(&user)), format!("/console/s/{key}/staff/")),
    }
}

/// `reveal`, `rotate` or `switch` (with `is_active`), each behind the form's CSRF token.
pub async fn act(posted: StoreAction<(String, String)>) -> Result<Response, Response> {
    let back_to = posted.page("staff-account");
    let (fields, scope) = posted.open(&back_to).await?;
    let (app, user, (key, action)) = (posted.app.clone(), &posted.user, posted.path.clone());
    let store_name = scope.store.name.clone();
    let refused = |error: &ApiError| posted.refused(error, back_to.clone());
    Ok(match action.as_str() {
        "reveal" => {
            match async { get_staff_credentials(State(app.clone()), scope.begin().await?).await }.await {
                Ok(read) => page_of(user, key, store_name, ((read.0).0).data.credentials, Shown::Revealed),
                Err(error) => refused(&error),
            }
        }
        "rotate" => match rotate_staff_password(State(app.clone()), step_up_headers(fields), scope).await {
            Ok(rotated) => page_of(user, key, store_name, ((rotated.0).0).data.credentials, Shown::Rotated),
            Err(error) => refused(&error),
        },
        "switch" => {
            let is_active = match fields.get("is_active") {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            };
            let change = StaffAccountChange { is_active };
            match async { update_staff_account(scope.begin().await?, ApiJson(change)).await }.await {
                Ok(_) => see_other(&back_to),
                Err(error) => refused(&error),
            }
        }
        _ => refused(&ApiError::NotFound),
    })
}
