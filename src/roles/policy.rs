//! Who may do what to whom in a store's staff (SPEC §5), as one pure function.
//!
//! The rules, in the order they are checked:
//! - Only owners and managers manage staff; cashiers and stockkeepers may not even list it.
//! - Owners and managers may list and view everyone.
//! - Each role manages the roles ranked below it ([`Role::rank`], the table `/roles/` shows
//!   too): the owner every role but `owner`, a manager only cashiers and stockkeepers. The roles one may manage are exactly the roles one may
//!   assign, so nobody creates a second owner or raises anyone to or above their own role.
//! - Anyone who manages staff may edit their own profile fields (names, phone, position),
//!   never their own role or status: nobody deactivates, removes, demotes or resets
//!   themselves (their own password changes through change-password, which asks for the
//!   current one).
//! - The owner's row is the owner's alone, and only its profile fields.
//!
//! A request that does several things (a PATCH of role and status) asks for each of them;
//! every write asks for [`Action::EditProfile`] first, so touching a row at all needs rights
//! over it.

use crate::error::ApiError;
use crate::roles::Role;

/// Something a member of staff does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// List or read employees.
    View,
    /// Add an employee with this role.
    Create {
        role: Role,
    },
    /// Change names, phone, position, hiring date.
    EditProfile,
    /// Give the employee another role.
    ChangeRole {
        to: Role,
    },
    Deactivate,
    Activate,
    /// Remove from the store (the employee row stays, inactive, for history).
    Remove,
    ResetPassword,
}

/// The employee an action is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub role: Role,
    /// The actor's own row.
    pub is_self: bool,
}

/// Allows `action` by a member with `actor` role on `target` (none for list and create), or
/// answers 403 `permission_denied`.
pub fn authorize(actor: Role, action: Action, target: Option<Target>) -> Result<(), ApiError> {
    if is_allowed(actor, action, target) { Ok(()) } else { Err(ApiError::PermissionDenied) }
}

fn is_allowed(actor: Role, action: Action, target: Option<Target>) -> bool {
    let manages = |role: Role| actor.manages(role);
    if actor.managed_roles().is_empty() {
        return false;
    }
    match (action, target) {
        (Action::View, _) => true,
        (Action::Create { role }, None) => manages(role),
        (Action::EditProfile, Some(target)) => target.is_self || manages(target.role),
        (Action::ChangeRole { to }, Some(target)) => !target.is_self && manages(target.role) && manages(to),
        (Action::Deactivate | Action::Activate | Action::Remove | Action::ResetPassword, Some(target)) => {
            !target.is_self && manages(target.role)
        }
        // An action that needs a target without one, or create with one: a caller's bug.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn other(role: Role) -> Option<Target> {
        Some(Target { role, is_self: false })
    }

    #[test]
    fn only_owners_and_managers_see_the_staff() {
        for role in Role::ALL {
            let expected = matches!(role, Role::Owner | Role::Manager);
            assert_eq!(authorize(role, Action::View, None).is_ok(), expected, "{role}");
        }
    }

    #[test]
    fn nobody_makes_an_owner_or_their_own_equal() {
        for actor in Role::ALL {
            assert!(authorize(actor, Action::Create { role: Role::Owner }, None).is_err());
            assert!(authorize(actor, Action::ChangeRole { to: Role::Owner }, other(Role::Cashier)).is_err());
        }
        assert!(authorize(Role::Manager, Action::Create { role: Role::Manager }, None).is_err());
        assert!(authorize(Role::Owner, Action::Create { role: Role::Manager }, None).is_ok());
    }

    #[test]
    fn nobody_changes_their_own_role_or_status() {
        for actor in [Role::Owner, Role::Manager] {
            let me = Some(Target { role: actor, is_self: true });
            assert!(authorize(actor, Action::EditProfile, me).is_ok());
            for action in [Action::Deactivate, Action::Remove, Action::ResetPassword, Action::Activate] {
                assert!(authorize(actor, action, me).is_err(), "{actor} {action:?}");
            }
            assert!(authorize(actor, Action::ChangeRole { to: Role::Cashier }, me).is_err());
        }
    }

    #[test]
    fn actions_without_their_target_are_refused() {
        assert!(authorize(Role::Owner, Action::Remove, None).is_err());
        assert!(
            authorize(Role::Owner, Action::Create { role: Role::Cashier }, other(Role::Cashier)).is_err()
        );
    }
}
