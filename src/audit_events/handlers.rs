//! HTTP handler for `/api/users/audit-events/`.

use axum::Json;

use crate::access::policy::{self, Action};
use crate::audit::AuditAction;
use crate::audit_events::forms::{AuditActionFilter, AuditEventOut, AuditEventPage};
use crate::audit_events::queries::{AuditEventRow, AuditFilter, list_events};
use crate::error::ApiResult;
use crate::http::openapi::{InstantFilter, ManagersListRefusals, PositiveIntegerFilter};
use crate::http::pagination::ListQuery;
use crate::i18n::Message;
use crate::tenant::TenantEcho;
use crate::tenant::conn::TenantConn;
use crate::validate::{DayEdge, Form};

/// The store's audit trail, newest first: every employee created, changed, deactivated,
/// removed or reset, with who did it and the before/after of each changed field.
/// Filters: `actor` (user id), `action`, `employee` (employee id), `date_from` and `date_to`
/// (inclusive; a date or an RFC 3339 date-time; dates are UTC days).
///
/// **Permissions**: the store's owner and managers.
#[utoipa::path(get, path = "/api/users/audit-events/", tag = "audit",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(
        ("actor" = inline(Option<PositiveIntegerFilter>), Query, description = "User id of whoever acted"),
        ("action" = inline(Option<AuditActionFilter>), Query, description = "One action"),
        ("employee" = inline(Option<PositiveIntegerFilter>), Query, description = "Employee id the event concerns"),
        ("date_from" = inline(Option<InstantFilter>), Query, description = "From this date (a UTC day) or RFC 3339 instant, inclusive"),
        ("date_to" = inline(Option<InstantFilter>), Query, description = "Up to this date (a UTC day) or RFC 3339 instant, inclusive"),
        ("page" = inline(Option<PositiveIntegerFilter>), Query, description = "Page number, from 1"),
        ("page_size" = inline(Option<PositiveIntegerFilter>), Query, description = "Events per page (default 20; more than 100 count as 100)"),
    ),
    responses(
        (status = 200, description = "A page of the store's audit events", body = AuditEventPage),
        ManagersListRefusals,
    ))]
pub async fn list_audit_events(mut tenant: TenantConn, query: ListQuery) -> ApiResult<Json<AuditEventPage>> {
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let mut form = Form::new();
    let page = query.page_request(&mut form);
    let filter = AuditFilter {
        actor_user_id: form.positive_integer("actor", query.get("actor")),
        action: query.get("action").and_then(|name| {
            let action = name.parse::<AuditAction>().ok();
            if action.is_none() {
                form.add("action", Message::ChoiceInvalid { choices: AuditAction::NAMES });
            }
            action
        }),
        employee_id: form.positive_integer("employee", query.get("employee")),
        from: form.instant("date_from", query.get("date_from"), DayEdge::Start),
        until: form.instant("date_to", query.get("date_to"), DayEdge::End),
    };
    form.finish(())?;

    let (rows, total) =
        list_events(&tenant.tables(), tenant.conn(), &filter, page.size, page.offset()).await?;
    let tenant_echo = TenantEcho::from(&tenant.store);
    tenant.commit().await?;
    Ok(Json(AuditEventPage {
        page: query.links(page, total)?,
        results: rows.into_iter().map(event_out).collect(),
        tenant: tenant_echo,
    }))
}

fn event_out(row: AuditEventRow) -> AuditEventOut {
    AuditEventOut {
        id: row.id,
        action: row.action,
        actor_id: row.actor_user_id,
        actor_username: row.actor_username,
        employee_id: row.employee_id,
        employee_username: row.employee_username,
        changes: row.changes.0,
        created_at: row.created_at,
    }
}
