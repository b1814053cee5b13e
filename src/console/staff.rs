//! The console's staff actions: add an employee, deactivate, activate, reset a password,
//! clear a PIN, remove. Each one calls the very handler the API routes to, with the body
//! the API would get, so the rules (ranks, validation, audit, sessions ended) are the same
//! code; the console only turns the outcome into a page.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::access::OWNER_RANK;
use crate::console::pages::{
    SignedInView, api_body, form_expired_at, refusal_at, render, scope_or_refusal, see_other,
};
use crate::console::session::{ConsoleUser, csrf_matches};
use crate::console::texts::{Texts, texts};
use crate::employees::handlers as api;
use crate::error::{ApiError, ApiResult};
use crate::http::json::ApiJson;
use crate::http::path::ApiPath;
use crate::i18n::current_lang;
use crate::state::AppState;

/// A role the add form offers.
pub struct RoleChoice {
    pub code: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "console/new_employee.html")]
struct NewEmployeePage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    store_key: String,
    store_name: String,
    roles: Vec<RoleChoice>,
    csrf: String,
}

#[derive(Template)]
#[template(path = "console/credentials.html")]
struct CredentialsPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    store_key: String,
    store_name: String,
    heading: &'static str,
    username: String,
    password: String,
}

/// The page that shows a password once: after adding an employee, after a reset.
struct Shown {
    heading: fn(&Texts) -> &'static str,
    username: String,
    password: String,
}

fn show_once(
    status: StatusCode,
    user: &ConsoleUser,
    (store_key, store_name): (String, String),
    shown: Shown,
) -> Response {
    let t = texts(current_lang());
    let page = CredentialsPage {
        t,
        signed_in: Some(SignedInView::from(user)),
        store_key,
        store_name,
        heading: (shown.heading)(t),
        username: shown.username,
        password: shown.password,
    };
    render(status, &page)
}

/// The add-an-employee form.
pub async fn new_employee_form(
    State(app): State<AppState>,
    user: ConsoleUser,
    Path(store_key): Path<String>,
) -> Response {
    let scope = match scope_or_refusal(&app, &user, &store_key).await {
        Ok(scope) => scope,
        Err(page) => return page,
    };
    let signed_in = Some(SignedInView::from(&user));
    let store_name = scope.store.name.clone();
    let tenant = match scope.begin().await {
        Ok(tenant) => tenant,
        Err(error) => return refusal_at(&error, signed_in, "/console/stores/".to_owned()),
    };
    let lang = current_lang();
    // The roles the API would let this member give: strictly below their own rank.
    let rank = tenant.member.role.rank;
    let roles = tenant
        .roles
        .by_rank()
        .into_iter()
        .filter(|role| role.rank < rank && role.rank < OWNER_RANK)
        .map(|role| RoleChoice { name: role.display(lang), code: role.code.clone() })
        .collect();
    let _ = tenant.rollback().await;
    let page =
        NewEmployeePage { t: texts(lang), signed_in, store_key, store_name, roles, csrf: user.csrf.clone() };
    render(StatusCode::OK, &page)
}

/// The add form's fields.
#[derive(Deserialize)]
pub struct NewEmployeeForm {
    csrf: Option<String>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    role: Option<String>,
    phone: Option<String>,
    position: Option<String>,
}

/// Adds the employee through the API's handler; the generated password is shown once.
pub async fn create_employee(
    State(app): State<AppState>,
    user: ConsoleUser,
    Path(store_key): Path<String>,
    form: Result<Form<NewEmployeeForm>, FormRejection>,
) -> Response {
    let back_to = format!("/console/s/{store_key}/staff/new/");
    let form = match form {
        Ok(Form(form)) if csrf_matches(&user, form.csrf.as_deref()) => form,
        _ => return form_expired_at(&user, back_to),
    };
    let scope = match scope_or_refusal(&app, &user, &store_key).await {
        Ok(scope) => scope,
        Err(page) => return page,
    };
    let store_name = scope.store.name.clone();
    let body = json!({
        "username": form.username, "first_name": form.first_name, "last_name": form.last_name,
        "role": form.role, "phone": form.phone, "position": form.position,
    });
    let created = async { api::create_employee(State(app), scope, ApiJson(api_body(body)?)).await }.await;
    match created {
        Ok(created) => match ((created.0).1).0.data.credentials {
            Some(credentials) => {
                let shown = Shown {
                    heading: |t| t.employee_added,
                    username: credentials.username,
                    password: credentials.password,
                };
                show_once(StatusCode::CREATED, &user, (store_key, store_name), shown)
            }
            // A cashier without an account: nothing to hand over.
            None => see_other(&format!("/console/s/{store_key}/staff/")),
        },
        Err(error) => refusal_at(&error, Some(SignedInView::from(&user)), back_to),
    }
}

#[derive(Template)]
#[template(path = "console/edit_employee.html")]
struct EditEmployeePage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    store_key: String,
    store_name: String,
    csrf: String,
    id: i64,
    username: String,
    first_name: String,
    last_name: String,
    phone: String,
    position: String,
    roles: Vec<(RoleChoice, bool)>,
}

/// The edit form of employee `id`: profile fields and role.
pub async fn edit_employee_form(
    State(app): State<AppState>,
    user: ConsoleUser,
    Path((store_key, id)): Path<(String, i64)>,
) -> Response {
    let scope = match scope_or_refusal(&app, &user, &store_key).await {
        Ok(scope) => scope,
        Err(page) => return page,
    };
    let signed_in = Some(SignedInView::from(&user));
    let store_name = scope.store.name.clone();
    let roles = match scope.begin().await {
        Ok(tenant) => {
            let roles = tenant.roles.by_rank();
            let _ = tenant.rollback().await;
            roles
        }
        Err(error) => return refusal_at(&error, signed_in, "/console/stores/".to_owned()),
    };
    let employee = match api::get_employee(scope, ApiPath(id)).await {
        Ok(found) => found.0.employee,
        Err(error) => return refusal_at(&error, signed_in, format!("/console/s/{store_key}/staff/")),
    };
    let lang = current_lang();
    let roles = roles
        .into_iter()
        .filter(|role| role.rank < OWNER_RANK || role.code == employee.access.role.0)
        .map(|role| {
            let held = role.code == employee.access.role.0;
            (RoleChoice { name: role.display(lang), code: role.code.clone() }, held)
        })
        .collect();
    let page = EditEmployeePage {
        t: texts(lang),
        signed_in,
        store_key,
        store_name,
        csrf: user.csrf.clone(),
        id,
        username: employee.username.unwrap_or(employee.full_name),
        first_name: employee.first_name,
        last_name: employee.last_name,
        phone: employee.phone,
        position: employee.position,
        roles,
    };
    render(StatusCode::OK, &page)
}

/// The edit form's fields.
#[derive(Deserialize)]
pub struct EditEmployeeForm {
    csrf: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    role: Option<String>,
    phone: Option<String>,
    position: Option<String>,
}

/// Saves the edit form as the API's PATCH: each field the rules allow the caller to change.
pub async fn update_employee(
    State(app): State<AppState>,
    user: ConsoleUser,
    Path((store_key, id)): Path<(String, i64)>,
    form: Result<Form<EditEmployeeForm>, FormRejection>,
) -> Response {
    let back_to = format!("/console/s/{store_key}/staff/{id}/edit/");
    let form = match form {
        Ok(Form(form)) if csrf_matches(&user, form.csrf.as_deref()) => form,
        _ => return form_expired_at(&user, back_to),
    };
    let scope = match scope_or_refusal(&app, &user, &store_key).await {
        Ok(scope) => scope,
        Err(page) => return page,
    };
    let change = json!({
        "first_name": form.first_name, "last_name": form.last_name, "role": form.role,
        "phone": form.phone, "position": form.position,
    });
    let saved = async {
        let body = api_body(change)?;
        api::update_employee(scope.begin().await?, ApiPath(id), ApiJson(body)).await
    };
    match saved.await {
        Ok(_) => see_other(&format!("/console/s/{store_key}/staff/")),
        Err(error) => refusal_at(&error, Some(SignedInView::from(&user)), back_to),
    }
}

/// A row button's form: its CSRF token.
#[derive(Deserialize)]
pub struct ActionForm {
    csrf: Option<String>,
}

/// One of the row buttons of the staff page, on employee `id`.
pub async fn staff_action(
    State(app): State<AppState>,
    user: ConsoleUser,
    Path((store_key, id, action)): Path<(String, i64, String)>,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let back_to = format!("/console/s/{store_key}/staff/");
    let sent = form.ok().and_then(|Form(form)| form.csrf);
    if !csrf_matches(&user, sent.as_deref()) {
        return form_expired_at(&user, back_to);
    }
    let scope = match scope_or_refusal(&app, &user, &store_key).await {
        Ok(scope) => scope,
        Err(page) => return page,
    };
    let store_name = scope.store.name.clone();
    let done: ApiResult<()> = match action.as_str() {
        "deactivate" | "activate" => {
            async {
                let body = api_body(json!({"is_active": action == "activate"}))?;
                api::update_employee(scope.begin().await?, ApiPath(id), ApiJson(body)).await.map(|_| ())
            }
            .await
        }
        "remove" => async { api::remove_employee(scope.begin().await?, ApiPath(id)).await.map(|_| ()) }.await,
        "clear-pin" => async { api::clear_pin(scope.begin().await?, ApiPath(id)).await.map(|_| ()) }.await,
        "reset-password" => {
            let body = api_body(json!({}));
            let reset =
                async { api::reset_employee_password(State(app), scope, ApiPath(id), ApiJson(body?)).await }
                    .await;
            return match reset {
                Ok(reset) => {
                    let data = (reset.0).0.data;
                    let shown = Shown {
                        heading: |t| t.password_reset,
                        username: data.username,
                        password: data.new_password,
                    };
                    show_once(StatusCode::OK, &user, (store_key, store_name), shown)
                }
                Err(error) => refusal_at(&error, Some(SignedInView::from(&user)), back_to),
            };
        }
        _ => Err(ApiError::NotFound),
    };
    match done {
        Ok(()) => see_other(&back_to),
        Err(error) => refusal_at(&error, Some(SignedInView::from(&user)), back_to),
    }
}
