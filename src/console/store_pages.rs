//! The console's other store pages: tills (a pairing code shown large, the list, revoke),
//! the store's roles (the owner edits them with the permission catalogue), the audit trail
//! with its filters; and the user's own sessions. Like the staff actions, each calls the
//! API's own handler.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::access::catalog::PERMISSIONS;
use crate::audit::AuditAction;
use crate::console::action::{Fields, Posted, StoreAction, StorePage, step_up_headers};
use crate::console::pages::{SignedInView, api_body, form_expired_at, refusal_at, render, see_other};
use crate::console::session::{ConsoleUser, csrf_matches, session_cookie};
use crate::console::texts::{Texts, texts};
use crate::credentials::queries;
use crate::db::Session;
use crate::error::{ApiError, ApiResult};
use crate::http::json::ApiJson;
use crate::http::pagination::ListQuery;
use crate::http::path::ApiPath;
use crate::i18n::{Lang, current_lang};
use crate::state::AppState;

// --- Tills ----------------------------------------------------------------------------------

/// A till as the list shows it.
pub struct DeviceLine {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub is_active: bool,
}

#[derive(Template)]
#[template(path = "console/devices.html")]
struct DevicesPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    store_key: String,
    store_name: String,
    csrf: String,
    devices: Vec<DeviceLine>,
}

#[derive(Template)]
#[template(path = "console/pairing_code.html")]
struct PairingCodePage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    store_key: String,
    store_name: String,
    code: String,
    name: String,
    expires_at: String,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The store's tills, with the form that makes a pairing code.
pub async fn devices(StorePage { user, path: key, scope, .. }: StorePage) -> Response {
    let signed_in = Some(SignedInView::from(&user));
    let store_name = scope.store.name.clone();
    let listed = async { crate::devices::handlers::list_devices(scope.begin().await?).await }.await;
    let devices = match listed {
        Ok(listed) => listed.0.results,
        Err(error) => return refusal_at(&error, signed_in, "/console/stores/".to_owned()),
    };
    let devices = devices
        .into_iter()
        .map(|device| DeviceLine {
            id: device.id,
            name: device.name,
            created_at: when(device.created_at),
            last_seen_at: device.last_seen_at.map(when).unwrap_or_default(),
            is_active: device.is_active,
        })
        .collect();
    let page = DevicesPage {
        t: texts(current_lang()),
        signed_in,
        store_key: key,
        store_name,
        csrf: user.csrf.clone(),
        devices,
    };
    render(StatusCode::OK, &page)
}

/// Makes a pairing code and shows it large, with its expiry.
pub async fn create_pairing_code(action: StoreAction) -> Result<Response, Response> {
    let back_to = action.page("devices");
    let (fields, scope) = action.open(&back_to).await?;
    let store_name = scope.store.name.clone();
    let made = async {
        let request = api_body(json!({"name": fields.get("name")}))?;
        crate::devices::handlers::create_pairing_code(scope.begin().await?, ApiJson(request)).await
    }
    .await;
    let made = ((made.map_err(|error| action.refused(&error, back_to))?.0).1).0;
    let page = PairingCodePage {
        t: texts(current_lang()),
        signed_in: action.signed_in(),
        store_key: action.key().to_owned(),
        store_name,
        code: made.code,
        name: made.name,
        expires_at: when(made.expires_at),
    };
    Ok(render(StatusCode::CREATED, &page))
}

/// Revokes a till.
pub async fn revoke_device(action: StoreAction<(String, i64)>) -> Result<Response, Response> {
    let back_to = action.page("devices");
    let (_, scope) = action.open(&back_to).await?;
    let id = action.path.1;
    let revoked =
        async { crate::devices::handlers::revoke_device(scope.begin().await?, ApiPath(id)).await }.await;
    revoked.map_err(|error| action.refused(&error, back_to.clone()))?;
    Ok(see_other(&back_to))
}

// --- Roles ----------------------------------------------------------------------------------

/// A permission of the catalogue, as a box to tick.
pub struct PermissionBox {
    pub code: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// A role with its form.
pub struct RoleLine {
    pub code: String,
    pub name: String,
    /// The store's own name for the role; empty while a built-in role keeps its localized one
    /// (so saving the form does not freeze today's language into the role).
    pub own_name: String,
    pub rank: i16,
    pub built_in: bool,
    pub is_owner: bool,
    pub member_count: i64,
    pub permissions: Vec<PermissionBox>,
    /// Permissions the role holds that kassa's catalogue does not describe.
    pub others: String,
}

#[derive(Template)]
#[template(path = "console/roles.html")]
struct RolesPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    store_key: String,
    store_name: String,
    csrf: String,
    roles: Vec<RoleLine>,
    catalogue: Vec<PermissionBox>,
}

fn permission_boxes(held: &[String], lang: Lang) -> Vec<PermissionBox> {
    PERMISSIONS
        .iter()
        .map(|(code, ru, en)| PermissionBox {
            code,
            label: if lang == Lang::En { en } else { ru },
            checked: held.iter().any(|permission| permission == code),
        })
        .collect()
}

/// The store's roles; the owner's forms edit them.
pub async fn roles(StorePage { user, path: key, scope, .. }: StorePage) -> Response {
    let signed_in = Some(SignedInView::from(&user));
    let store_name = scope.store.name.clone();
    let listed = match crate::store_roles::handlers::list_store_roles(scope).await {
        Ok(listed) => listed.0.data,
        Err(error) => return refusal_at(&error, signed_in, "/console/stores/".to_owned()),
    };
    let lang = current_lang();
    let roles = listed
        .into_iter()
        .map(|role| {
            let others = role
                .permissions
                .iter()
                .filter(|held| !PERMISSIONS.iter().any(|(code, _, _)| code == held))
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            let localized =
                role.code.0.parse::<crate::access::Role>().ok().map(|built_in| built_in.display(lang));
            let own_name = match localized {
                Some(localized) if role.built_in && role.name == localized => String::new(),
                _ => role.name.clone(),
            };
            RoleLine {
                own_name,
                is_owner: role.code.0 == "owner",
                permissions: permission_boxes(&role.permissions, lang),
                code: role.code.0,
                name: role.name,
                rank: role.rank,
                built_in: role.built_in,
                member_count: role.member_count,
                others,
            }
        })
        .collect();
    let page = RolesPage {
        t: texts(lang),
        signed_in,
        store_key: key,
        store_name,
        csrf: user.csrf.clone(),
        roles,
        catalogue: permission_boxes(&[], lang),
    };
    render(StatusCode::OK, &page)
}

/// The permissions a role form sends: the ticked boxes and the extra ones typed in.
fn posted_permissions(fields: &Fields) -> Vec<String> {
    let mut permissions = fields.all("permissions");
    permissions.extend(fields.get("others").unwrap_or_default().split_whitespace().map(str::to_owned));
    permissions
}

/// A rank field as the API reads it: a whole number, or absent when blank.
fn posted_rank(fields: &Fields) -> Value {
    match fields.get("rank").map(str::trim).filter(|rank| !rank.is_empty()) {
        Some(rank) => rank.parse::<i64>().map_or(json!(rank), |rank| json!(rank)),
        None => Value::Null,
    }
}

/// The body of a role's edit form as the API's PATCH reads it. A blank name keeps the
/// role's name (a built-in one stays localized); a blank rank keeps the rank.
fn role_changes(fields: &Fields) -> Value {
    let mut body = json!({"permissions": posted_permissions(fields)});
    if let Some(name) = fields.get("name").filter(|name| !name.trim().is_empty()) {
        body["name"] = json!(name);
    }
    let rank = posted_rank(fields);
    if !rank.is_null() {
        body["rank"] = rank;
    }
    body
}

/// Adds, changes (`edit`) or deletes (`delete`) a role, as the owner.
pub async fn change_role(posted: StoreAction<(String, String)>) -> Result<Response, Response> {
    let back_to = posted.page("roles");
    let (fields, scope) = posted.open(&back_to).await?;
    let action = &posted.path.1;
    let code = fields.get("code").unwrap_or_default().to_owned();
    let done: ApiResult<()> = async {
        use crate::store_roles::handlers as api;
        match action.as_str() {
            "create" => {
                let body = json!({
                    "code": code, "name": fields.get("name"), "rank": posted_rank(fields),
                    "permissions": posted_permissions(fields),
                });
                let body = api_body(body)?;
                api::create_store_role(scope.begin().await?, ApiJson(body)).await.map(|_| ())
            }
            "edit" => {
                let body = api_body(role_changes(fields))?;
                let headers = step_up_headers(fields);
                let app = State(posted.app.clone());
                api::update_store_role(app, headers, scope.begin().await?, ApiPath(code), ApiJson(body))
                    .await
                    .map(|_| ())
            }
            "delete" => api::delete_store_role(scope.begin().await?, ApiPath(code)).await.map(|_| ()),
            _ => Err(ApiError::NotFound),
        }
    }
    .await;
    done.map_err(|error| posted.refused(&error, back_to.clone()))?;
    Ok(see_other(&back_to))
}

// --- Audit ----------------------------------------------------------------------------------

/// An event as the trail shows it.
pub struct EventLine {
    pub at: String,
    pub action: String,
    pub actor: String,
    pub employee: String,
    pub changes: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    store_key: String,
    store_name: String,
    actions: Vec<(&'static str, bool)>,
    employee: String,
    date_from: String,
    date_to: String,
    count: i64,
    events: Vec<EventLine>,
    previous: Option<String>,
    next: Option<String>,
}

/// The store's audit trail with the API's filters (action, employee, dates) and pages.
pub async fn audit(StorePage { user, path: key, scope, .. }: StorePage, query: ListQuery) -> Response {
    let signed_in = Some(SignedInView::from(&user));
    let store_name = scope.store.name.clone();
    let listed =
        async { crate::audit_events::handlers::list_audit_events(scope.begin().await?, query.clone()).await }
            .await;
    let listed = match listed {
        Ok(listed) => listed.0,
        Err(error) => return refusal_at(&error, signed_in, format!("/console/s/{key}/audit/")),
    };
    let chosen = query.get("action").unwrap_or_default();
    let events = listed
        .results
        .into_iter()
        .map(|event| EventLine {
            at: when(event.created_at),
            action: event.action,
            actor: event.actor_username.unwrap_or_default(),
            employee: event.employee_username.unwrap_or_default(),
            changes: event.changes.to_string(),
        })
        .collect();
    let page = AuditPage {
        t: texts(current_lang()),
        signed_in,
        store_key: key,
        store_name,
        actions: AuditAction::NAMES.iter().map(|name| (*name, *name == chosen)).collect(),
        employee: query.get("employee").unwrap_or_default().to_owned(),
        date_from: query.get("date_from").unwrap_or_default().to_owned(),
        date_to: query.get("date_to").unwrap_or_default().to_owned(),
        count: listed.page.count,
        events,
        previous: listed.page.previous,
        next: listed.page.next,
    };
    render(StatusCode::OK, &page)
}

// --- The user's sessions --------------------------------------------------------------------

/// A session as the list shows it.
pub struct SessionLine {
    pub id: String,
    pub created_at: String,
    pub last_used_at: String,
    pub place: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "console/sessions.html")]
struct SessionsPage {
    t: &'static Texts,
    signed_in: Option<SignedInView>,
    csrf: String,
    sessions: Vec<SessionLine>,
}

/// The user's live sessions, this one marked, each with a button that ends it.
pub async fn sessions(State(app): State<AppState>, user: ConsoleUser) -> Response {
    let listed = async {
        let mut conn = Session::open(&app.db).await?;
        let rows = queries::list_live_sessions(&mut conn, user.session.user_id).await?;
        conn.finish().await?;
        Ok::<_, ApiError>(rows)
    };
    let rows = match listed.await {
        Ok(rows) => rows,
        Err(error) => return refusal_at(&error, Some(SignedInView::from(&user)), "/console/".to_owned()),
    };
    let sessions = rows
        .into_iter()
        .map(|row| SessionLine {
            current: row.id == user.session.session_id,
            id: row.id.to_string(),
            created_at: when(row.created_at),
            last_used_at: when(row.last_used_at),
            place: match row.device_name {
                Some(device) => device,
                None => format!("{} {}", row.ip.map(|ip| ip.to_string()).unwrap_or_default(), row.user_agent),
            },
        })
        .collect();
    let page = SessionsPage {
        t: texts(current_lang()),
        signed_in: Some(SignedInView::from(&user)),
        csrf: user.csrf.clone(),
        sessions,
    };
    render(StatusCode::OK, &page)
}

/// Ends one of the user's sessions (this one signs the console out).
pub async fn revoke_session(
    State(app): State<AppState>,
    headers: HeaderMap,
    user: ConsoleUser,
    Path(id): Path<uuid::Uuid>,
    body: axum::body::Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !csrf_matches(&user, fields.csrf()) {
        return form_expired_at(&user, "/console/sessions/".to_owned());
    }
    let revoked = async {
        let mut conn = Session::open(&app.db).await?;
        let revoked = queries::revoke_session(&mut conn, user.session.user_id, id).await?;
        conn.finish().await?;
        Ok::<_, ApiError>(revoked)
    };
    match revoked.await {
        Ok(true) if id == user.session.session_id => {
            let mut response = see_other("/console/sign-in/");
            response
                .headers_mut()
                .append(axum::http::header::SET_COOKIE, session_cookie(&app.config, &headers, "", 0));
            response
        }
        Ok(true) => see_other("/console/sessions/"),
        Ok(false) => {
            refusal_at(&ApiError::NotFound, Some(SignedInView::from(&user)), "/console/sessions/".to_owned())
        }
        Err(error) => refusal_at(&error, Some(SignedInView::from(&user)), "/console/sessions/".to_owned()),
    }
}
