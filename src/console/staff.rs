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
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::console::pages::{SignedInView, refusal, render, see_other, store_scope};
use crate::console::session::{ConsoleUser, csrf_matches};
use crate::console::texts::{Texts, texts};
use crate::employees::handlers as api;
use crate::error::ApiError;
use crate::http::json::ApiJson;
use crate::http::path::ApiPath;
use crate::i18n::current_lang;
use crate::roles::OWNER_RANK;
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

/// The add-an-employee form.
pub async fn new_employee_form(
    State(app): State<AppState>,
    user: ConsoleUser,
    Path(store_key): Path<String>,
) -> Response {
    let signed_in = Some(SignedInView::from(&user));
    let scope = match store_scope(&app, &user, &store_key).await {
        Ok(scope) => scope,
        Err(error) => return refusal(&error, signed_in, "/console/stores/"),
    };
    let store_name = scope.store.name.clone();
    let tenant = match scope.begin().await {
        Ok(tenant) => tenant,
        Err(error) => return refusal(&error, signed_in, "/console/stores/"),
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
    let signed_in = Some(SignedInView::from(&user));
    let back_to = format!("/console/s/{store_key}/staff/new/");
    let Ok(Form(form)) = form else { return form_expired(&user, &back_to) };
    if !csrf_matches(&user, form.csrf.as_deref()) {
        return form_expired(&user, &back_to);
    }
    let scope = match store_scope(&app, &user, &store_key).await {
        Ok(scope) => scope,
        Err(error) => return refusal(&error, signed_in, "/console/stores/"),
    };
    let store_name = scope.store.name.clone();
    let body = json!({
        "username": form.username, "first_name": form.first_name, "last_name": form.last_name,
        "role": form.role, "phone": form.phone, "position": form.position,
    });
    let created = match api_body(body) {
        Ok(body) => api::create_employee(State(app), scope, ApiJson(body)).await,
        Err(error) => Err(error),
    };
    match created {
        Ok(created) => {
            let credentials = ((created.0).1).0.data.credentials;
            let page = CredentialsPage {
                t: texts(current_lang()),
                signed_in,
                store_key,
                store_name,
                heading: texts(current_lang()).employee_added,
                username: credentials.username,
                password: credentials.password,
            };
            render(StatusCode::CREATED, &page)
        }
        Err(error) => refusal_to(&error, signed_in, back_to),
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
    let signed_in = Some(SignedInView::from(&user));
    let scope = match store_scope(&app, &user, &store_key).await {
        Ok(scope) => scope,
        Err(error) => return refusal(&error, signed_in, "/console/stores/"),
    };
    let store_name = scope.store.name.clone();
    let roles = match scope.begin().await {
        Ok(tenant) => {
            let roles = tenant.roles.by_rank();
            let _ = tenant.rollback().await;
            roles
        }
        Err(error) => return refusal(&error, signed_in, "/console/stores/"),
    };
    let employee = match api::get_employee(scope, ApiPath(id)).await {
        Ok(found) => found.0.employee,
        Err(error) => return refusal_to(&error, signed_in, format!("/console/s/{store_key}/staff/")),
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
        username: employee.username,
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
    let signed_in = Some(SignedInView::from(&user));
    let back_to = format!("/console/s/{store_key}/staff/{id}/edit/");
    let Ok(Form(form)) = form else { return form_expired(&user, &back_to) };
    if !csrf_matches(&user, form.csrf.as_deref()) {
        return form_expired(&user, &back_to);
    }
    let scope = match store_scope(&app, &user, &store_key).await {
        Ok(scope) => scope,
        Err(error) => return refusal(&error, signed_in, "/console/stores/"),
    };
    let change = json!({
        "first_name": form.first_name, "last_name": form.last_name, "role": form.role,
        "phone": form.phone, "position": form.position,
    });
    let saved = match (api_body(change), scope.begin().await) {
        (Ok(body), Ok(tenant)) => api::update_employee(tenant, ApiPath(id), ApiJson(body)).await.map(|_| ()),
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    match saved {
        Ok(()) => see_other(&format!("/console/s/{store_key}/staff/")),
        Err(error) => refusal_to(&error, signed_in, back_to),
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
    let signed_in = Some(SignedInView::from(&user));
    let back_to = format!("/console/s/{store_key}/staff/");
    let sent = form.ok().and_then(|Form(form)| form.csrf);
    if !csrf_matches(&user, sent.as_deref()) {
        return form_expired(&user, &back_to);
    }
    let scope = match store_scope(&app, &user, &store_key).await {
        Ok(scope) => scope,
        Err(error) => return refusal(&error, signed_in, "/console/stores/"),
    };
    let store_name = scope.store.name.clone();
    let done = match action.as_str() {
        "deactivate" | "activate" => {
            let change = json!({"is_active": action == "activate"});
            match (api_body(change), scope.begin().await) {
                (Ok(body), Ok(tenant)) => {
                    api::update_employee(tenant, ApiPath(id), ApiJson(body)).await.map(|_| ())
                }
                (Err(error), _) | (_, Err(error)) => Err(error),
            }
        }
        "remove" => match scope.begin().await {
            Ok(tenant) => api::remove_employee(tenant, ApiPath(id)).await.map(|_| ()),
            Err(error) => Err(error),
        },
        "clear-pin" => match scope.begin().await {
            Ok(tenant) => crate::tills::pins::clear_pin(tenant, ApiPath(id)).await.map(|_| ()),
            Err(error) => Err(error),
        },
        "reset-password" => {
            let reset = match api_body(json!({})) {
                Ok(body) => api::reset_employee_password(State(app), scope, ApiPath(id), ApiJson(body)).await,
                Err(error) => Err(error),
            };
            return match reset {
                Ok(reset) => {
                    let data = (reset.0).0.data;
                    let page = CredentialsPage {
                        t: texts(current_lang()),
                        signed_in,
                        store_key,
                        store_name,
                        heading: texts(current_lang()).password_reset,
                        username: data.username,
                        password: data.new_password,
                    };
                    render(StatusCode::OK, &page)
                }
                Err(error) => refusal_to(&error, signed_in, back_to),
            };
        }
        _ => Err(ApiError::NotFound),
    };
    match done {
        Ok(()) => see_other(&back_to),
        Err(error) => refusal_to(&error, signed_in, back_to),
    }
}

/// `value` as the API's request body type, as `ApiJson` would read it.
fn api_body<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|_| ApiError::Validation(Default::default()))
}

fn refusal_to(error: &ApiError, signed_in: Option<SignedInView>, back_to: String) -> Response {
    crate::console::pages::refusal_at(error, signed_in, back_to)
}

fn form_expired(user: &ConsoleUser, back_to: &str) -> Response {
    crate::console::pages::form_expired_at(user, back_to.to_owned())
}
