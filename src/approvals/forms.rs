//! The request and response types of `/approvals/`, and their parsing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{PermissionCode, is_permission};
use crate::error::{ApiError, ApiResult};
use crate::i18n::Message;
use crate::tills::pin_check::TypedPin;

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
pub struct Asked {
    pub permission: String,
    pub reason: Option<String>,
    pub subject: Option<String>,
}

pub fn parse_request(body: ApprovalRequest) -> ApiResult<(Asked, TypedPin)> {
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
pub fn parse_redeem(body: RedeemRequest) -> ApiResult<(String, String)> {
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
