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

use crate::approvals::forms::{
    ApprovalGranted, ApprovalPerson, ApprovalRedeemed, ApprovalRequest, RedeemRequest, parse_redeem,
    parse_request,
};
use crate::approvals::queries::{self, Grant, Requester, insert_approval, use_approval};
use crate::audit::queries::NewAuditEvent;
use crate::audit::record;
use crate::audit::{AuditAction, Changes};
use crate::credentials::tokens::OpaqueToken;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::{BodyRejections, MemberRefusals};
use crate::staff::queries::find_employee_by_user;
use crate::state::AppState;
use crate::tenant::conn::{StoreScope, TenantConn};
use crate::tills::device_auth::TillDevice;
use crate::tills::pin_check::{PinMember, check_pin};

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
    crate::audit::queries::record(tables, &mut tx, granted_event(&grant, till.device.id)).await?;
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
        MemberRefusals,
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

async fn requester_on_till(scope: &StoreScope, till: &TillDevice) -> ApiResult<Requester> {
    let mut tenant = scope.begin().await?;
    let session_id = tenant.member.session_id;
    let on_this_till = queries::session_on_till(tenant.conn(), session_id, till.device.id).await?;
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
