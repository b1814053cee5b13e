//! Who may do what to whom in a store's staff (docs/contract.md §5, §10), as one pure function of ranks.
//!
//! Ranks come from the store's own roles (`roles`), read in the request's statement: the
//! owner 100, a manager 50, cashiers and stockkeepers 10 unless the store edited them.
//! The rules, in the order they are checked:
//! - Only ranks from 50 up manage staff; below, a member may not even list it.
//! - Those may list and view everyone.
//! - Each manages the members ranked strictly below it ([`manages_rank`]): the owner every
//!   role but `owner`, a manager (50) cashiers and stockkeepers and custom roles below 50.
//!   The ranks one may manage are exactly the ranks one may assign, so nobody creates a
//!   second owner or raises anyone to or above their own rank.
//! - Anyone who manages staff may edit their own profile fields (names, phone, position),
//!   never their own role or status: nobody deactivates, removes, demotes or resets
//!   themselves (their own password changes through change-password, which asks for the
//!   current one).
//! - The owner's row is the owner's alone, and only its profile fields.
//!
//! A request that does several things (a PATCH of role and status) asks for each of them;
//! every write asks for [`Action::EditProfile`] first, so touching a row at all needs rights
//! over it.

use crate::access::manages_rank;
use crate::error::ApiError;

/// Something a member of staff does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// List or read employees.
    View,
    /// Add an employee with a role of this rank.
    Create {
        rank: i16,
    },
    /// Change names, phone, position, hiring date.
    EditProfile,
    /// Give the employee another role, of this rank.
    ChangeRole {
        to: i16,
    },
    Deactivate,
    Activate,
    /// Remove from the store (the employee row stays, inactive, for history).
    Remove,
    ResetPassword,
    /// Clear the employee's PIN for the store's tills.
    ClearPin,
}

/// The employee an action is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The rank of the role the employee holds.
    pub rank: i16,
    /// The actor's own row.
    pub is_self: bool,
}

/// Allows `action` by a member whose role has rank `actor` on `target` (none for list and
/// create), or answers 403 `permission_denied`.
pub fn authorize(actor: i16, action: Action, target: Option<Target>) -> Result<(), ApiError> {
    if is_allowed(actor, action, target) { Ok(()) } else { Err(ApiError::PermissionDenied) }
}

fn is_allowed(actor: i16, action: Action, target: Option<Target>) -> bool {
    let manages = |rank: i16| manages_rank(actor, rank);
    if actor < crate::access::MANAGING_RANK {
        return false;
    }
    match (action, target) {
        (Action::View, _) => true,
        (Action::Create { rank }, None) => manages(rank),
        (Action::EditProfile, Some(target)) => target.is_self || manages(target.rank),
        (Action::ChangeRole { to }, Some(target)) => !target.is_self && manages(target.rank) && manages(to),
        (
            Action::Deactivate | Action::Activate | Action::Remove | Action::ResetPassword | Action::ClearPin,
            Some(target),
        ) => !target.is_self && manages(target.rank),
        // An action that needs a target without one, or create with one: a caller's bug.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    fn other(role: Role) -> Option<Target> {
        Some(Target { rank: role.rank(), is_self: false })
    }

    #[test]
    fn only_owners_and_managers_see_the_staff() {
        for role in Role::ALL {
            let expected = matches!(role, Role::Owner | Role::Manager);
            assert_eq!(authorize(role.rank(), Action::View, None).is_ok(), expected, "{role}");
        }
    }

    #[test]
    fn nobody_makes_an_owner_or_their_own_equal() {
        for actor in Role::ALL {
            assert!(authorize(actor.rank(), Action::Create { rank: Role::Owner.rank() }, None).is_err());
            assert!(
                authorize(actor.rank(), Action::ChangeRole { to: Role::Owner.rank() }, other(Role::Cashier))
                    .is_err()
            );
        }
        assert!(
            authorize(Role::Manager.rank(), Action::Create { rank: Role::Manager.rank() }, None).is_err()
        );
        assert!(authorize(Role::Owner.rank(), Action::Create { rank: Role::Manager.rank() }, None).is_ok());
    }

    #[test]
    fn nobody_changes_their_own_role_or_status() {
        for actor in [Role::Owner, Role::Manager] {
            let me = Some(Target { rank: actor.rank(), is_self: true });
            assert!(authorize(actor.rank(), Action::EditProfile, me).is_ok());
            for action in [
                Action::Deactivate,
                Action::Remove,
                Action::ResetPassword,
                Action::Activate,
                Action::ClearPin,
            ] {
                assert!(authorize(actor.rank(), action, me).is_err(), "{actor} {action:?}");
            }
            assert!(authorize(actor.rank(), Action::ChangeRole { to: Role::Cashier.rank() }, me).is_err());
        }
    }

    #[test]
    fn actions_without_their_target_are_refused() {
        assert!(authorize(Role::Owner.rank(), Action::Remove, None).is_err());
        assert!(
            authorize(
                Role::Owner.rank(),
                Action::Create { rank: Role::Cashier.rank() },
                other(Role::Cashier)
            )
            .is_err()
        );
    }

    #[test]
    fn custom_ranks_manage_by_rank_alone() {
        let supervisor = 60;
        assert!(authorize(supervisor, Action::Remove, other(Role::Manager)).is_ok());
        assert!(authorize(supervisor, Action::ChangeRole { to: 40 }, other(Role::Manager)).is_ok());
        assert!(authorize(supervisor, Action::Create { rank: 60 }, None).is_err());
        let senior_cashier = 40;
        assert!(authorize(senior_cashier, Action::View, None).is_err());
        assert!(authorize(senior_cashier, Action::EditProfile, other(Role::Cashier)).is_err());
        assert!(authorize(Role::Manager.rank(), Action::Create { rank: 40 }, None).is_ok());
        assert!(authorize(Role::Manager.rank(), Action::Create { rank: 60 }, None).is_err());
    }
}
