//! The store's audit trail: who changed which employee or role, what, and when.
//!
//! Events live in the store's own schema (`audit_events`), written in the same transaction
//! as the change they describe, so a change is never without its event or the other way
//! round. Each event keeps the before and after of the fields that changed; passwords never
//! appear, only the fact of a reset.

pub mod queries;
pub mod record;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

/// What happened. Stored and sent as the dotted name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum AuditAction {
    #[serde(rename = "employee.created")]
    EmployeeCreated,
    /// Profile fields changed (names, phone, position, hiring date).
    #[serde(rename = "employee.updated")]
    EmployeeUpdated,
    #[serde(rename = "employee.role_changed")]
    EmployeeRoleChanged,
    #[serde(rename = "employee.deactivated")]
    EmployeeDeactivated,
    #[serde(rename = "employee.activated")]
    EmployeeActivated,
    /// Taken off the staff (DELETE); the employee row stays for history.
    #[serde(rename = "employee.removed")]
    EmployeeRemoved,
    #[serde(rename = "employee.password_reset")]
    EmployeePasswordReset,
    /// The employee's account (username, email, names) changed; it shows in every store.
    #[serde(rename = "account.updated")]
    AccountUpdated,
    /// A store role was added (docs/contract.md §10); `changes` holds its code and fields.
    #[serde(rename = "role.created")]
    RoleCreated,
    #[serde(rename = "role.updated")]
    RoleUpdated,
    #[serde(rename = "role.deleted")]
    RoleDeleted,
    /// A member set their PIN for the store's tills (docs/contract.md §11); the PIN never appears.
    #[serde(rename = "pin.set")]
    PinSet,
    /// A PIN was cleared: by a manager, or with a password reset, deactivation or removal.
    #[serde(rename = "pin.cleared")]
    PinCleared,
    /// A till paired with a code (docs/contract.md §11); the actor is whoever made the code.
    #[serde(rename = "device.paired")]
    DevicePaired,
    #[serde(rename = "device.revoked")]
    DeviceRevoked,
    /// Too many wrong PINs for one employee in a day cleared their PIN (docs/contract.md §11).
    #[serde(rename = "pin.locked")]
    PinLocked,
    /// A manager approved one action on a till with their PIN; the actor is the approver.
    #[serde(rename = "approval.granted")]
    ApprovalGranted,
    /// An approval was used; the actor is whoever redeemed it.
    #[serde(rename = "approval.redeemed")]
    ApprovalRedeemed,
    /// The owner read the store's shared staff password back; it never appears in the event.
    #[serde(rename = "staff_account.password_viewed")]
    StaffPasswordViewed,
    /// The owner gave the shared staff account a new password; its sessions ended.
    #[serde(rename = "staff_account.password_rotated")]
    StaffPasswordRotated,
    /// The owner switched the shared staff account off; its sessions ended.
    #[serde(rename = "staff_account.deactivated")]
    StaffAccountDeactivated,
    #[serde(rename = "staff_account.activated")]
    StaffAccountActivated,
    /// A set-up code was issued for the employee's account (docs/contract.md §16); the code
    /// never appears, and an earlier one stopped working.
    #[serde(rename = "employee.setup_code_issued")]
    EmployeeSetupCodeIssued,
    /// The employee chose their password with a set-up code; the actor is the employee.
    #[serde(rename = "employee.setup_completed")]
    EmployeeSetupCompleted,
}

impl AuditAction {
    pub const ALL: [AuditAction; 24] = [
        AuditAction::EmployeeCreated,
        AuditAction::EmployeeUpdated,
        AuditAction::EmployeeRoleChanged,
        AuditAction::EmployeeDeactivated,
        AuditAction::EmployeeActivated,
        AuditAction::EmployeeRemoved,
        AuditAction::EmployeePasswordReset,
        AuditAction::AccountUpdated,
        AuditAction::RoleCreated,
        AuditAction::RoleUpdated,
        AuditAction::RoleDeleted,
        AuditAction::PinSet,
        AuditAction::PinCleared,
        AuditAction::DevicePaired,
        AuditAction::DeviceRevoked,
        AuditAction::PinLocked,
        AuditAction::ApprovalGranted,
        AuditAction::ApprovalRedeemed,
        AuditAction::StaffPasswordViewed,
        AuditAction::StaffPasswordRotated,
        AuditAction::StaffAccountDeactivated,
        AuditAction::StaffAccountActivated,
        AuditAction::EmployeeSetupCodeIssued,
        AuditAction::EmployeeSetupCompleted,
    ];

    /// Every name, for error messages.
    pub const NAMES: &'static [&'static str] = &[
        "employee.created",
        "employee.updated",
        "employee.role_changed",
        "employee.deactivated",
        "employee.activated",
        "employee.removed",
        "employee.password_reset",
        "account.updated",
        "role.created",
        "role.updated",
        "role.deleted",
        "pin.set",
        "pin.cleared",
        "device.paired",
        "device.revoked",
        "pin.locked",
        "approval.granted",
        "approval.redeemed",
        "staff_account.password_viewed",
        "staff_account.password_rotated",
        "staff_account.deactivated",
        "staff_account.activated",
        "employee.setup_code_issued",
        "employee.setup_completed",
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        let index = AuditAction::ALL.iter().position(|a| *a == self).unwrap_or_default();
        AuditAction::NAMES[index]
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let index = AuditAction::NAMES.iter().position(|n| *n == name).ok_or(())?;
        Ok(AuditAction::ALL[index])
    }
}

/// The fields an event changed, as `{"field": {"before": …, "after": …}}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes(Map<String, Value>);

impl Changes {
    /// Records `field` when `before` and `after` differ.
    pub fn field<T: Serialize + PartialEq + ?Sized>(&mut self, field: &str, before: &T, after: &T) {
        if before != after {
            self.0.insert(field.to_owned(), json!({ "before": before, "after": after }));
        }
    }

    /// Records `field` with its before and after even when they are equal (a PIN replaced
    /// by another is still an event worth its line).
    pub fn recorded<T: Serialize + ?Sized>(&mut self, field: &str, before: &T, after: &T) {
        self.0.insert(field.to_owned(), json!({ "before": before, "after": after }));
    }

    /// Records `field` as set on creation (no before).
    pub fn created<T: Serialize + ?Sized>(&mut self, field: &str, value: &T) {
        self.0.insert(field.to_owned(), json!({ "before": null, "after": value }));
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[must_use]
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_their_names() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(action));
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
        }
        assert!("employee.deleted".parse::<AuditAction>().is_err());
    }

    #[test]
    fn only_changed_fields_are_recorded() {
        let mut changes = Changes::default();
        changes.field("role", "cashier", "manager");
        changes.field("phone", "", "");
        assert_eq!(changes.into_value(), json!({"role": {"before": "cashier", "after": "manager"}}));
    }
}
