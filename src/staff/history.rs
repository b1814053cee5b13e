//! What the audit trail says about an employee change: which events, and the before and
//! after of which fields. Writing them is [`crate::audit::record`]; passwords never appear.

use crate::audit::{AuditAction, Changes};
use crate::staff::queries::{EmployeeRow, EmployeeState, StaffMember};

/// The fields a new employee starts with: the username, the role, the profile fields that
/// are not empty, and the hiring date.
#[must_use]
pub fn created(member: &StaffMember) -> Changes {
    let employee = &member.employee;
    let mut changes = Changes::default();
    if let Some(username) = &member.username {
        changes.created("username", username);
    }
    changes.created("role", employee.role.as_str());
    let email = member.email.as_deref().unwrap_or_default();
    let sex = employee.sex.as_deref().unwrap_or_default();
    for (field, value) in [
        ("first_name", employee.first_name.as_str()),
        ("last_name", &employee.last_name),
        ("email", email),
        ("phone", &employee.phone),
        ("position", &employee.position),
        ("sex", sex),
    ] {
        if !value.is_empty() {
            changes.created(field, value);
        }
    }
    changes.created("hired_at", &employee.hired_at);
    changes
}

/// The events describing `before` → `after`: role and status changes get events of their
/// own (they are what an owner looks for), the profile fields share one.
#[must_use]
pub fn changed(before: &EmployeeState, after: &EmployeeState) -> Vec<(AuditAction, Changes)> {
    let mut events = Vec::new();
    if before.role != after.role {
        let mut changes = Changes::default();
        changes.field("role", before.role.as_str(), after.role.as_str());
        events.push((AuditAction::EmployeeRoleChanged, changes));
    }
    if before.is_active != after.is_active {
        let mut changes = Changes::default();
        changes.field("is_active", &before.is_active, &after.is_active);
        let action =
            if after.is_active { AuditAction::EmployeeActivated } else { AuditAction::EmployeeDeactivated };
        events.push((action, changes));
    }
    let mut profile = Changes::default();
    profile.field("first_name", &before.first_name, &after.first_name);
    profile.field("last_name", &before.last_name, &after.last_name);
    profile.field("phone", &before.phone, &after.phone);
    profile.field("position", &before.position, &after.position);
    profile.field("sex", &before.sex, &after.sex);
    profile.field("hired_at", &before.hired_at, &after.hired_at);
    if !profile.is_empty() {
        events.push((AuditAction::EmployeeUpdated, profile));
    }
    events
}

/// Taking `employee` off the staff: their row stays, inactive.
#[must_use]
pub fn removed(employee: &EmployeeRow) -> Changes {
    let mut changes = Changes::default();
    changes.field("is_active", &employee.is_active, &false);
    changes
}

/// A password reset: the password itself is never recorded, only whether the employee
/// must choose a new one (`must_change_password` before and after).
#[must_use]
pub fn password_reset(must_change_before: bool, must_change_after: bool) -> Changes {
    let mut changes = Changes::default();
    changes.field("must_change_password", &must_change_before, &must_change_after);
    changes
}

/// A PIN set or cleared: only whether the employee has one (`has_pin`) before and after,
/// never the PIN (a new PIN over an old one is `true` → `true`).
#[must_use]
pub fn pin_changed(had_pin: bool, has_pin: bool) -> Changes {
    let mut changes = Changes::default();
    changes.recorded("has_pin", &had_pin, &has_pin);
    changes
}
