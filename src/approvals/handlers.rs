//! A manager's approval of one action on a till (docs/contract.md §11): `POST /approvals/` with the
//! approver's PIN, `POST /approvals/redeem/` once.
//!
//! The approval lives in the store's own schema (`approvals`), so a token can only ever be
//! redeemed in the store that granted it; only its SHA-256 is kept. Redeeming is one
//! `update … where redeemed_at is null and expires_at > now()`: of two redeems at once, the
//! second waits on the row lock, re-reads it redeemed, and changes nothing.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;

use crate::access::{PermissionCode, is_permission};
use crate::audit::queries::{NewAuditEvent, record};
use crate::audit::record;
use crate::audit::{AuditAction, Changes};
use crate::credentials::tokens::OpaqueToken;
use crate::db::schema::StoreTables;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::BodyRejections;
use crate::i18n::Message;
use crate::staff::queries::find_employee_by_user;
use crate::state::AppState;
use crate::tenant::conn::{StoreScope, TenantConn};
use crate::tills::device_auth::TillDevice;
use crate::tills::pin_check::{PinMember, TypedPin, check_pin};

/// How long an approval may wait to be redeemed.
const APPROVAL_SECONDS: i32 = 60;
/// Longest `reason` and `subject`, in characters.
const MAX_NOTE_CHARS: usize = 200;

/// `POST /approvals/`.
#[derive(Deserialize, ToSchema)]
pub struct ApprovalRequest {
    /// The permission the action needs, which the approver must hold in this store.
    #[schema(value_type = PermissionCode, required = true, nullable = false, example = "refund_sales")]
    pub permission: Option<String>,
    /// The approver, from the till's roster.
    #[schema(required = true, nullable = false, example = 2)]
    pub approver_employee_id: Option<i64>,
    /// The approver's own PIN, typed on this till.
    #[schema(format = Password, required = true, nullable = false, example = "735190")]
    pub pin: Option<String>,
    /// Why, in the requester's words: shown on redemption and kept in the audit trail.
    #[schema(max_length = 200, example = "Покупатель вернул товар")]
    pub reason: Option<String>,
    /// What the action is about, as the till names it (a receipt number, say).
    #[schema(max_length = 200, example = "чек 0042")]
    pub subject: Option<String>,
}

/// A member named in an approval.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalPerson {
    pub employee_id: i64,
    pub full_name: String,
}

/// `201 {approval_token, expires_at, permission, approver}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalGranted {
    /// Redeemed once with `POST /approvals/redeem/`, within 60 seconds; shown only here.
    pub approval_token: String,
    pub expires_at: DateTime<Utc>,
    #[schema(value_type = PermissionCode)]
    pub permission: String,
    pub approver: ApprovalPerson,
}

/// `POST /approvals/redeem/`.
#[derive(Deserialize, ToSchema)]
pub struct RedeemRequest {
    /// As `POST /approvals/` handed it out.
    #[schema(required = true, nullable = false)]
    pub approval_token: Option<String>,
    /// The permission the redeeming action needs: an approval for another is refused.
    #[schema(value_type = PermissionCode, required = true, nullable = false, example = "refund_sales")]
    pub permission: Option<String>,
}

/// `200 {permission, subject, reason, requester, approver, granted_at}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalRedeemed {
    #[schema(value_type = PermissionCode)]
    pub permission: String,
    pub subject: Option<String>,
    pub reason: Option<String>,
    pub requester: ApprovalPerson,
    pub approver: ApprovalPerson,
    pub granted_at: DateTime<Utc>,
}

/// What the requester asked for, checked.
struct Asked {
    permission: String,
    reason: Option<String>,
    subject: Option<String>,
}

/// Approves one action on this till: the approver types their PIN here. The approval is
/// valid 60 seconds, redeemed once.
///
/// **Permissions**: a member signed in by PIN on this till (bearer, key and this till's
/// device token). The approver is an active member who holds `permission` in this store,
/// ranks above the requester, and is not the requester.
#[utoipa::path(post, path = "/api/users/approvals/", tag = "tills",
    security(("bearerAuth" = [], "tenantKey" = [], "deviceToken" = [])), request_body = ApprovalRequest,
    responses(
        (status = 201, description = "Approved: the token, shown this once", body = ApprovalGranted),
        (status = 400, description = "validation_error per field, or missing_tenant_key", body = ErrorBody),
        (status = 401, description = "invalid_pin, device_invalid, not_authenticated, token_invalid or token_expired", body = ErrorBody),
        (status = 403, description = "permission_denied (the approver may not approve this, or the session is not this till's), invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
        (status = 429, description = "too_many_attempts: PIN entry is locked on this till, with Retry-After", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn grant_approval(
    State(app): State<AppState>,
    scope: StoreScope,
    till: TillDevice,
    ApiJson(body): ApiJson<ApprovalRequest>,
) -> ApiResult<NoStore<(StatusCode, Json<ApprovalGranted>)>> {
    let (asked, approver_pin) = parse_request(body)?;
    let requester = requester_on_till(&scope, &till).await?;
    let (approver, mut tx) = check_pin(&app, &till, approver_pin).await?;
    if let Err(refused) = may_approve(&approver, &requester, &asked.permission) {
        // The PIN was right: the cleared failures are kept.
        tx.commit().await?;
        return Err(refused);
    }
    let token = OpaqueToken::generate();
    let token_hash = token.digest();
    let tables = &till.store.schema.tables();
    let grant = Grant { token_hash: &token_hash, asked: &asked, requester: &requester, approver: &approver };
    let expires_at = insert_approval(tables, &mut tx, &grant, till.device.id).await?;
    record(tables, &mut tx, granted_event(&grant, till.device.id)).await?;
    tx.commit().await?;
    tracing::info!(
        store.id = till.store.id,
        employee.id = requester.employee_id,
        approver.employee_id = approver.employee_id,
        permission = asked.permission.as_str(),
        "an approval granted"
    );
    let approver = ApprovalPerson { employee_id: approver.employee_id, full_name: approver.full_name };
    let body = ApprovalGranted {
        approval_token: token.expose().to_owned(),
        expires_at,
        permission: asked.permission,
        approver,
    };
    Ok(NoStore((StatusCode::CREATED, Json(body))))
}

/// Uses an approval, once: the action it was granted for may go ahead.
///
/// **Permissions**: any member of the store the approval was granted in.
#[utoipa::path(post, path = "/api/users/approvals/redeem/", tag = "tills",
    security(("bearerAuth" = [], "tenantKey" = [])), request_body = RedeemRequest,
    responses(
        (status = 200, description = "Redeemed: what was approved, by whom, for whom", body = ApprovalRedeemed),
        (status = 400, description = "validation_error per field, or missing_tenant_key", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
        (status = 409, description = "approval_invalid: used, expired, another store's, or for another permission", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn redeem_approval(
    mut tenant: TenantConn,
    ApiJson(body): ApiJson<RedeemRequest>,
) -> ApiResult<Json<ApprovalRedeemed>> {
    let (token, permission) = parse_redeem(body)?;
    let user_id = tenant.member.user_id;
    let used = use_approval(
        &tenant.tables(),
        tenant.conn(),
        &OpaqueToken::presented(token).digest(),
        &permission,
        user_id,
    )
    .await?
    .ok_or(ApiError::ApprovalInvalid)?;
    let mut changes = Changes::default();
    changes.created("permission", &used.permission);
    changes.created("approver_employee_id", &used.approver_employee_id);
    record::by_caller(&mut tenant, AuditAction::ApprovalRedeemed, used.requester_employee_id, changes)
        .await?;
    tenant.commit().await?;
    Ok(Json(ApprovalRedeemed {
        requester: ApprovalPerson {
            employee_id: used.requester_employee_id,
            full_name: crate::credentials::full_name(&used.requester_first_name, &used.requester_last_name),
        },
        approver: ApprovalPerson {
            employee_id: used.approver_employee_id,
            full_name: crate::credentials::full_name(&used.approver_first_name, &used.approver_last_name),
        },
        permission: used.permission,
        subject: used.subject,
        reason: used.reason,
        granted_at: used.created_at,
    }))
}

fn parse_request(body: ApprovalRequest) -> ApiResult<(Asked, TypedPin)> {
    let mut form = crate::validate::Form::new();
    let permission = permission_field(&mut form, body.permission);
    let reason = note(&mut form, "reason", body.reason);
    let subject = note(&mut form, "subject", body.subject);
    let typed = TypedPin::read(&mut form, "approver_employee_id", body.approver_employee_id, body.pin);
    match form.finish(typed)? {
        Some(typed) => Ok((Asked { permission, reason, subject }, typed)),
        None => Err(ApiError::internal(anyhow::anyhow!("a finished form missed a field"))),
    }
}

/// The token is taken as given: any string that is not one kassa handed out (blank, too
/// long, made up) is simply an approval that does not exist (409).
fn parse_redeem(body: RedeemRequest) -> ApiResult<(String, String)> {
    let mut form = crate::validate::Form::new();
    let permission = permission_field(&mut form, body.permission);
    if body.approval_token.is_none() {
        form.add("approval_token", Message::FieldRequired);
    }
    form.finish((body.approval_token.unwrap_or_default(), permission))
}

fn permission_field(form: &mut crate::validate::Form, permission: Option<String>) -> String {
    let permission = form.required("permission", permission, 64);
    if !permission.is_empty() && !is_permission(&permission) {
        form.add("permission", Message::FieldInvalid);
    }
    permission
}

/// An optional note: empty means none.
fn note(form: &mut crate::validate::Form, field: &str, value: Option<String>) -> Option<String> {
    let text = form.optional(field, value, MAX_NOTE_CHARS);
    (!text.is_empty()).then_some(text)
}

/// The member asking: signed in on this very till (a PIN session bound to it).
#[derive(Debug)]
struct Requester {
    employee_id: i64,
    user_id: i64,
    rank: i16,
}

async fn requester_on_till(scope: &StoreScope, till: &TillDevice) -> ApiResult<Requester> {
    let mut tenant = scope.begin().await?;
    let session_id = tenant.member.session_id;
    let on_this_till: Option<bool> = crate::db::query_scalar(
        "select device_id is not distinct from $2 from public.sessions where id = $1",
    )
    .bind(session_id)
    .bind(till.device.id)
    .fetch_optional(tenant.conn())
    .await?;
    if on_this_till != Some(true) {
        return Err(ApiError::PermissionDenied);
    }
    let user_id = tenant.member.user_id;
    let employee =
        find_employee_by_user(&tenant.tables(), tenant.conn(), user_id).await?.ok_or(ApiError::NotAMember)?;
    let rank = tenant.member.role.rank;
    tenant.rollback().await?;
    Ok(Requester { employee_id: employee.id, user_id, rank })
}

/// docs/contract.md §11: the approver holds the permission, ranks above the requester, and is someone else.
fn may_approve(approver: &PinMember, requester: &Requester, permission: &str) -> ApiResult<()> {
    let holds = approver.role.permissions.iter().any(|held| held == permission);
    let outranks = approver.role.rank > requester.rank;
    let someone_else = approver.user_id != requester.user_id;
    match holds && outranks && someone_else {
        true => Ok(()),
        false => Err(ApiError::PermissionDenied),
    }
}

/// An approval about to be stored.
struct Grant<'a> {
    token_hash: &'a [u8],
    asked: &'a Asked,
    requester: &'a Requester,
    approver: &'a PinMember,
}

async fn insert_approval(
    tables: &StoreTables,
    conn: &mut PgConnection,
    grant: &Grant<'_>,
    device_id: i64,
) -> sqlx::Result<DateTime<Utc>> {
    let sql = tables.sql(
        "insert into {approvals}
             (token_hash, permission, subject, reason, requester_employee_id, approver_employee_id, device_id, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))
         returning expires_at",
    );
    crate::db::query_scalar(sql)
        .bind(grant.token_hash)
        .bind(&grant.asked.permission)
        .bind(&grant.asked.subject)
        .bind(&grant.asked.reason)
        .bind(grant.requester.employee_id)
        .bind(grant.approver.employee_id)
        .bind(device_id)
        .bind(f64::from(APPROVAL_SECONDS))
        .fetch_one(conn)
        .await
}

/// `approval.granted`: the approver acted, for the requester.
fn granted_event(grant: &Grant<'_>, device_id: i64) -> NewAuditEvent {
    let mut changes = Changes::default();
    changes.created("permission", &grant.asked.permission);
    changes.created("approver_employee_id", &grant.approver.employee_id);
    changes.created("device_id", &device_id);
    if let Some(subject) = &grant.asked.subject {
        changes.created("subject", subject);
    }
    if let Some(reason) = &grant.asked.reason {
        changes.created("reason", reason);
    }
    NewAuditEvent {
        actor_user_id: Some(grant.approver.user_id),
        action: AuditAction::ApprovalGranted,
        employee_id: Some(grant.requester.employee_id),
        changes,
    }
}

/// An approval as it was redeemed, with the names of both people.
#[derive(sqlx::FromRow)]
struct UsedApproval {
    permission: String,
    subject: Option<String>,
    reason: Option<String>,
    requester_employee_id: i64,
    approver_employee_id: i64,
    created_at: DateTime<Utc>,
    requester_first_name: String,
    requester_last_name: String,
    approver_first_name: String,
    approver_last_name: String,
}

/// Marks the approval of `token_hash` redeemed by `user_id` if it is unused, unexpired and
/// for `permission`, in the store of `tables`.
async fn use_approval(
    tables: &StoreTables,
    conn: &mut PgConnection,
    token_hash: &[u8],
    permission: &str,
    user_id: i64,
) -> sqlx::Result<Option<UsedApproval>> {
    crate::db::query_as(tables.sql(
        "with used as (
             update {approvals} set redeemed_at = now(), redeemed_by = $3
             where token_hash = $1 and permission = $2 and redeemed_at is null and expires_at > now()
             returning permission, subject, reason, requester_employee_id, approver_employee_id, created_at
         )
         select used.*,
                coalesce(r.first_name, '') as requester_first_name, coalesce(r.last_name, '') as requester_last_name,
                coalesce(a.first_name, '') as approver_first_name, coalesce(a.last_name, '') as approver_last_name
         from used
         left join {employees} r on r.id = used.requester_employee_id
         left join {employees} a on a.id = used.approver_employee_id",
    ))
    .bind(token_hash)
    .bind(permission)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}
