//! The console's staff actions: add an employee, deactivate, activate, reset a password,
//! clear a PIN, remove. Each one calls the very handler the API routes to, with the body
//! the API would get, so the rules (ranks, validation, audit, sessions ended) are the same
//! code; the console only turns the outcome into a page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::access::OWNER_RANK;
use crate::console::action::{CsrfForm, StoreAction, StorePage};
use crate::console::pages::{SignedInView, api_body, qr_svg, refusal_at, render, see_other};
use crate::console::session::ConsoleUser;
use crate::console::texts::{Texts, texts};
use crate::employees::handlers as api;
use crate::employees::handlers::staff_listing;
use crate::error::{ApiError, ApiResult};
use crate::http::json::ApiJson;
use crate::http::pagination::ListQuery;
use crate::http::path::ApiPath;
use crate::i18n::current_lang;
use crate::staff::SetupCodeOut;

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

#[derive(Template)]
#[template(path = "console/setup_code.html")]
struct SetupCodePage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    store_key: String,
    store_name: String,
    username: String,
    code: String,
    /// The code as a QR code, inline SVG markup; empty if it could not be drawn.
    qr_svg: String,
    expires_at: String,
}

/// The page that shows a set-up code once (docs/contract.md §16), to read out or print.
fn show_setup_code(
    status: StatusCode,
    user: &ConsoleUser,
    (store_key, store_name): (String, String),
    username: String,
    setup: SetupCodeOut,
) -> Response {
    let page = SetupCodePage {
        t: texts(current_lang()),
        signed_in: Some(SignedInView::from(user)),
        store_key,
        store_name,
        username,
        qr_svg: qr_svg(&setup.code).unwrap_or_default(),
        code: setup.code,
        expires_at: setup.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    };
    render(status, &page)
}

/// The add-an-employee form.
pub async fn new_employee_form(StorePage { user, path: store_key, scope, .. }: StorePage) -> Response {
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
    /// `code` when the box for a set-up code instead of a password is ticked.
    setup: Option<String>,
}

impl CsrfForm for NewEmployeeForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// Adds the employee through the API's handler; the generated password is shown once.
pub async fn create_employee(posted: StoreAction<String, NewEmployeeForm>) -> Result<Response, Response> {
    let back_to = posted.page("staff/new");
    let (form, scope) = posted.open(&back_to).await?;
    let (app, user, store_key) = (posted.app.clone(), &posted.user, posted.path.clone());
    let store_name = scope.store.name.clone();
    let body = json!({
        "username": form.username, "first_name": form.first_name, "last_name": form.last_name,
        "role": form.role, "phone": form.phone, "position": form.position, "setup": form.setup,
    });
    let created = async { api::create_employee(State(app), scope, ApiJson(api_body(body)?)).await }.await;
    let data = ((created.map_err(|error| posted.refused(&error, back_to))?.0).1).0.data;
    if let Some(setup) = data.setup {
        let username = data.employee.username.unwrap_or_default();
        return Ok(show_setup_code(StatusCode::CREATED, user, (store_key, store_name), username, setup));
    }
    Ok(match data.credentials {
        Some(credentials) => {
            let shown = Shown {
                heading: |t| t.employee_added,
                username: credentials.username,
                password: credentials.password,
            };
            show_once(StatusCode::CREATED, user, (store_key, store_name), shown)
        }
        // A cashier without an account: nothing to hand over.
        None => see_other(&format!("/console/s/{store_key}/staff/")),
    })
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
    StorePage { user, path: (store_key, id), scope, .. }: StorePage<(String, i64)>,
) -> Response {
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

impl CsrfForm for EditEmployeeForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// Saves the edit form as the API's PATCH: each field the rules allow the caller to change.
pub async fn update_employee(
    posted: StoreAction<(String, i64), EditEmployeeForm>,
) -> Result<Response, Response> {
    let id = posted.path.1;
    let back_to = posted.page(&format!("staff/{id}/edit"));
    let (form, scope) = posted.open(&back_to).await?;
    let change = json!({
        "first_name": form.first_name, "last_name": form.last_name, "role": form.role,
        "phone": form.phone, "position": form.position,
    });
    let saved = async {
        let body = api_body(change)?;
        api::update_employee(scope.begin().await?, ApiPath(id), ApiJson(body)).await
    };
    let _saved = saved.await.map_err(|error| posted.refused(&error, back_to))?;
    Ok(see_other(&posted.page("staff")))
}

/// A row button's form: its CSRF token.
#[derive(Deserialize)]
pub struct ActionForm {
    csrf: Option<String>,
}

impl CsrfForm for ActionForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// One of the row buttons of the staff page, on employee `id`.
pub async fn staff_action(
    posted: StoreAction<(String, i64, String), ActionForm>,
) -> Result<Response, Response> {
    let back_to = posted.page("staff");
    let (_, scope) = posted.open(&back_to).await?;
    let (app, user, (store_key, id, action)) = (posted.app.clone(), &posted.user, posted.path.clone());
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
        "setup-code" => {
            let username = async { api::get_employee(scope.clone(), ApiPath(id)).await }.await;
            let username =
                username.map_err(|error| posted.refused(&error, back_to.clone()))?.0.employee.username;
            let issued = api::issue_setup_code(scope, ApiPath(id)).await;
            let setup = ((issued.map_err(|error| posted.refused(&error, back_to))?.0).1).0.setup;
            let shown = (store_key, store_name);
            return Ok(show_setup_code(
                StatusCode::CREATED,
                user,
                shown,
                username.unwrap_or_default(),
                setup,
            ));
        }
        "reset-password" => {
            let body = api_body(json!({}));
            let reset =
                async { api::reset_employee_password(State(app), scope, ApiPath(id), ApiJson(body?)).await }
                    .await;
            let data = (reset.map_err(|error| posted.refused(&error, back_to))?.0).0.data;
            let shown =
                Shown { heading: |t| t.password_reset, username: data.username, password: data.new_password };
            return Ok(show_once(StatusCode::OK, user, (store_key, store_name), shown));
        }
        _ => Err(ApiError::NotFound),
    };
    done.map_err(|error| posted.refused(&error, back_to.clone()))?;
    Ok(see_other(&back_to))
}

/// A role offered as a filter.
pub struct RoleOption {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

/// A line of the staff table.
pub struct StaffLine {
    pub id: i64,
    pub full_name: String,
    pub username: String,
    pub role: String,
    pub position: String,
    pub phone: String,
    pub is_active: bool,
}

#[derive(Template)]
#[template(path = "console/staff.html")]
struct StaffPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    store_key: String,
    store_name: String,
    csrf: String,
    search: String,
    status: String,
    roles: Vec<RoleOption>,
    rows: Vec<StaffLine>,
    count: i64,
    previous: Option<String>,
    next: Option<String>,
}

/// The store's staff: search, role and status filters, pages; the API list's rules (rank 50
/// and up).
pub async fn list(StorePage { user, path: tenant_key, scope, .. }: StorePage, query: ListQuery) -> Response {
    let signed_in = Some(SignedInView::from(&user));
    let store_name = scope.store.name.clone();
    let listing = match staff_listing(scope, &query).await {
        Ok(listing) => listing,
        Err(error) => return refusal_at(&error, signed_in, "/console/stores/".to_owned()),
    };
    let lang = current_lang();
    let role_filter = query.get("role").unwrap_or_default().to_owned();
    let roles = listing
        .roles
        .by_rank()
        .into_iter()
        .map(|role| RoleOption {
            selected: role.code == role_filter,
            name: role.display(lang),
            code: role.code.clone(),
        })
        .collect();
    let rows = listing
        .page
        .results
        .into_iter()
        .map(|e| StaffLine {
            id: e.id,
            full_name: e.full_name,
            username: e.username.unwrap_or_default(),
            role: e.access.role_display,
            position: e.position,
            phone: e.phone,
            is_active: e.is_active,
        })
        .collect();
    let page = StaffPage {
        t: texts(lang),
        signed_in,
        store_key: tenant_key,
        store_name,
        csrf: user.csrf.clone(),
        search: query.get("search").unwrap_or_default().to_owned(),
        status: query.get("is_active").unwrap_or_default().to_owned(),
        roles,
        rows,
        count: listing.page.page.count,
        previous: listing.page.page.previous,
        next: listing.page.page.next,
    };
    render(StatusCode::OK, &page)
}
