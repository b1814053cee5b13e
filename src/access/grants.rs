//! Nobody grants what they do not hold: which roles a member may give (create someone
//! with, or change someone to).
//!
//! A role may be given by a member whose own role ranks above it ([`super::manages_rank`])
//! and holds every one of its permissions. Broad permissions hold narrow ones:
//! `view_all`, `create_all`, `update_all` and `delete_all` hold every `view_…`, `create_…`,
//! `update_…` and `delete_…`; `manage_x` holds `view_x`, `create_x`, `update_x` and
//! `delete_x`. The owner holds every permission. A permission a built-in role is shipped
//! with counts as held for giving that role, so managers keep hiring cashiers and
//! stockkeepers (whose `manage_inventory` they lack) until the owner adds something to
//! those roles that managers do not hold. A manager can therefore never mint an approver
//! for a permission they could not approve themselves.

use crate::access::{OWNER_RANK, Role, StoreRole, manages_rank};

/// The verbs whose `_all` form holds every permission with that verb, and that `manage_x`
/// holds for `x`.
const VERBS: [&str; 4] = ["view", "create", "update", "delete"];

/// Whether a member whose role lists `held` holds `permission`.
#[must_use]
pub fn holds(held: &[String], permission: &str) -> bool {
    held.iter().any(|held| implies(held, permission))
}

/// Whether the permission `held` holds `wanted`.
fn implies(held: &str, wanted: &str) -> bool {
    if held == wanted {
        return true;
    }
    if let Some(verb) = held.strip_suffix("_all").filter(|verb| VERBS.contains(verb)) {
        return wanted.strip_prefix(verb).is_some_and(|rest| rest.starts_with('_'));
    }
    if let Some(object) = held.strip_prefix("manage_") {
        return VERBS
            .iter()
            .any(|verb| wanted.strip_prefix(verb).and_then(|rest| rest.strip_prefix('_')) == Some(object));
    }
    false
}

/// Whether a member holding `giver` may give `role`.
#[must_use]
pub fn may_give(giver: &StoreRole, role: &StoreRole) -> bool {
    manages_rank(giver.rank, role.rank) && missing_permissions(giver, role).next().is_none()
}

/// The permissions of `role` that stop `giver` from giving it (the rank aside).
pub fn missing_permissions<'a>(giver: &'a StoreRole, role: &'a StoreRole) -> impl Iterator<Item = &'a str> {
    let shipped = role.code.parse::<Role>().map(Role::permissions).unwrap_or_default();
    role.permissions
        .iter()
        .map(String::as_str)
        .filter(move |permission| giver.rank < OWNER_RANK && !holds(&giver.permissions, permission))
        .filter(move |permission| !shipped.contains(permission))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(code: &str, rank: i16, permissions: &[&str]) -> StoreRole {
        StoreRole {
            code: code.to_owned(),
            name: None,
            rank,
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn built_in(role_: Role) -> StoreRole {
        role(role_.as_str(), role_.rank(), role_.permissions())
    }

    #[test]
    fn broad_permissions_hold_narrow_ones() {
        let held =
            |list: &[&str], wanted| holds(&list.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>(), wanted);
        assert!(held(&["view_all"], "view_products"));
        assert!(held(&["delete_all"], "delete_sales"));
        assert!(!held(&["view_all"], "create_sales"));
        assert!(!held(&["view_all"], "viewer_x"));
        assert!(held(&["manage_sales"], "create_sales"));
        assert!(held(&["manage_sales"], "delete_sales"));
        assert!(!held(&["manage_sales"], "refund_sales"));
        assert!(!held(&["manage_sales"], "create_salesman"));
        assert!(held(&["refund_sales"], "refund_sales"));
        assert!(!held(&["all"], "view_all"));
    }

    #[test]
    fn managers_hire_the_built_in_roles_as_shipped() {
        let manager = built_in(Role::Manager);
        assert!(may_give(&manager, &built_in(Role::Cashier)));
        assert!(may_give(&manager, &built_in(Role::Stockkeeper)));
        assert!(!may_give(&manager, &built_in(Role::Manager)));
        assert!(!may_give(&manager, &built_in(Role::Owner)));
    }

    #[test]
    fn nobody_gives_a_permission_they_lack() {
        let manager = built_in(Role::Manager);
        let mut cashier = built_in(Role::Cashier);
        cashier.permissions.push("refund_sales".to_owned());
        assert!(!may_give(&manager, &cashier));
        assert_eq!(missing_permissions(&manager, &cashier).collect::<Vec<_>>(), ["refund_sales"]);
        for lacked in ["delete_all", "manage_store", "refund_sales", "manage_inventory"] {
            let custom = role("supervisor", 40, &["view_all", lacked]);
            assert!(!may_give(&manager, &custom), "{lacked}");
        }
        assert!(may_give(
            &manager,
            &role("senior_cashier", 20, &["view_products", "create_sales", "manage_products"])
        ));
    }

    #[test]
    fn the_owner_holds_every_permission() {
        let owner = built_in(Role::Owner);
        assert!(may_give(&owner, &role("auditor", 60, &["refund_sales", "anything_else"])));
        assert!(!may_give(&owner, &built_in(Role::Owner)));
    }
}
