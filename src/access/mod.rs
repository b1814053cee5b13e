//! Access: who may do what. The four built-in roles every store starts with
//! (docs/contract.md §5) and each store's own definitions of its roles (docs/contract.md §10),
//! with localized names, the permission catalogue, ranks, grants and the policy; and the
//! store-role SQL. The routes that show them are the `roles`, `permissions` and
//! `store_roles` features.
//!
//! A store's role lives in its schema (`roles`: code, name, rank, permissions); members
//! hold its code. Everything that reports a role reads that row in the same statement as
//! the member ([`StoreRole`] is its columns), so a change applies from the next request.
//! Who manages whom follows the rank alone ([`StoreRole::manages`], `policy`).

pub mod catalog;
pub mod directory;
pub mod grants;
pub mod policy;
pub mod queries;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::i18n::Lang;

/// The rank from which a role manages staff (docs/contract.md §10): the built-in manager's.
pub const MANAGING_RANK: i16 = 50;
/// The highest rank, the owner's; custom roles rank from 1 to one below it.
pub const OWNER_RANK: i16 = 100;

/// One of the five built-in roles: what every store starts with, by code. `Staff` is the
/// role of the store's shared staff account.
// That account is made and kept by `registry::staff_account`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Manager,
    Cashier,
    Stockkeeper,
    Staff,
}

impl Role {
    /// Every role, highest first.
    pub const ALL: [Role; 5] = [Role::Owner, Role::Manager, Role::Cashier, Role::Stockkeeper, Role::Staff];

    /// The value stored in the database and sent on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Cashier => "cashier",
            Role::Stockkeeper => "stockkeeper",
            Role::Staff => "staff",
        }
    }

    /// The permissions of docs/contract.md §5, in the order the apps receive them today: what a store
    /// starts with (tenant migration 0003 holds the same lists).
    #[must_use]
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            Role::Owner => &[
                "view_all",
                "create_all",
                "update_all",
                "delete_all",
                "manage_employees",
                "manage_store",
                "view_analytics",
                "manage_products",
                "manage_sales",
                "manage_customers",
            ],
            Role::Manager => &[
                "view_all",
                "create_all",
                "update_all",
                "manage_products",
                "manage_sales",
                "manage_customers",
                "view_analytics",
            ],
            Role::Cashier => &["view_products", "create_sales", "view_customers", "create_customers"],
            Role::Stockkeeper => {
                &["view_products", "create_products", "update_products", "manage_inventory", "view_analytics"]
            }
            // What the apps expect the shared account to do today (tenant migration 0006).
            Role::Staff => &[
                "view_products",
                "create_sales",
                "view_customers",
                "create_customers",
                "update_products",
                "manage_inventory",
            ],
        }
    }

    /// The role's fixed rank (docs/contract.md §10): owner 100, manager 50, cashier and stockkeeper 10.
    #[must_use]
    pub fn rank(self) -> i16 {
        match self {
            Role::Owner => OWNER_RANK,
            Role::Manager => MANAGING_RANK,
            Role::Cashier | Role::Stockkeeper | Role::Staff => 10,
        }
    }

    /// Whether this role, unedited, manages (and may assign) `other`: see [`manages_rank`].
    #[must_use]
    pub fn manages(self, other: Role) -> bool {
        manages_rank(self.rank(), other.rank())
    }

    /// The roles this one manages, highest first.
    #[must_use]
    pub fn managed_roles(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|other| self.manages(*other)).collect()
    }

    /// The role's name for people, in `lang`.
    #[must_use]
    pub fn display(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Role::Owner, Lang::Ru) => "Владелец",
            (Role::Manager, Lang::Ru) => "Менеджер",
            (Role::Cashier, Lang::Ru) => "Кассир",
            (Role::Stockkeeper, Lang::Ru) => "Складчик",
            (Role::Staff, Lang::Ru) => "Общий аккаунт сотрудников",
            (Role::Owner, Lang::En) => "Owner",
            (Role::Manager, Lang::En) => "Manager",
            (Role::Cashier, Lang::En) => "Cashier",
            (Role::Stockkeeper, Lang::En) => "Stockkeeper",
            (Role::Staff, Lang::En) => "Shared staff account",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of the four.
#[derive(Debug, thiserror::Error)]
#[error("unknown role `{0}`")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.as_str() == value).ok_or_else(|| UnknownRole(value.to_owned()))
    }
}

/// Whether a member of rank `actor` manages members of rank `other` and may assign roles of
/// that rank (docs/contract.md §10): from [`MANAGING_RANK`] up, strictly lower ranks only. So peers
/// never manage each other and nobody manages the owner.
#[must_use]
pub fn manages_rank(actor: i16, other: i16) -> bool {
    actor >= MANAGING_RANK && other < actor
}

/// A role as one store defines it, read beside whoever holds it: the columns `role` (the
/// code), `role_name`, `role_rank` and `role_permissions` of a query that joins the
/// store's `roles` on the member's code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, sqlx::FromRow)]
pub struct StoreRole {
    #[sqlx(rename = "role")]
    pub code: String,
    /// `None`: a built-in role never renamed, which shows its localized name.
    #[sqlx(rename = "role_name")]
    pub name: Option<String>,
    #[sqlx(rename = "role_rank")]
    pub rank: i16,
    #[sqlx(rename = "role_permissions")]
    pub permissions: Vec<String>,
}

impl StoreRole {
    /// The role's name for people in `lang`: its own, else a built-in's localized one.
    #[must_use]
    pub fn display(&self, lang: Lang) -> String {
        match (&self.name, self.code.parse::<Role>()) {
            (Some(name), _) => name.clone(),
            (None, Ok(built_in)) => built_in.display(lang).to_owned(),
            (None, Err(_)) => self.code.clone(),
        }
    }

    /// Whether this is the store's owner role.
    #[must_use]
    pub fn is_owner(&self) -> bool {
        self.code == Role::Owner.as_str()
    }

    /// Whether a holder manages anyone at all (may list and view the staff).
    #[must_use]
    pub fn manages_staff(&self) -> bool {
        self.rank >= MANAGING_RANK
    }

    /// A built-in role as every store starts with it.
    #[must_use]
    pub fn preset(role: Role) -> StoreRole {
        StoreRole {
            code: role.as_str().to_owned(),
            name: None,
            rank: role.rank(),
            permissions: role.permissions().iter().map(|&p| p.to_owned()).collect(),
        }
    }
}

/// A role's code on the wire: `[a-z][a-z0-9_]{1,31}` (docs/contract.md §10). A string, never an enum,
/// in the OpenAPI document: a client generated from it must accept a store's own roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RoleCode(pub String);

/// The pattern of a role code.
pub const ROLE_CODE_PATTERN: &str = "^[a-z][a-z0-9_]{1,31}$";

impl PartialSchema for RoleCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(ROLE_CODE_PATTERN))
            .description(Some(
                "A role of the store: one of the built-in `owner`, `manager`, `cashier`, `stockkeeper`, \
                 or a code the store defined (`GET /api/users/store-roles/`).",
            ))
            .examples(Role::ALL.map(|role| serde_json::Value::from(role.as_str())))
            .into()
    }
}

impl ToSchema for RoleCode {}

/// A permission string on the wire: `[a-z][a-z0-9_]{1,63}` (docs/contract.md §10).
pub struct PermissionCode;

impl PartialSchema for PermissionCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[a-z][a-z0-9_]{1,63}$"))
            .examples(["view_products", "refund_sales"].map(serde_json::Value::from))
            .into()
    }
}

impl ToSchema for PermissionCode {}

/// Whether `code` is a well-formed role code (not whether the store has it).
#[must_use]
pub fn is_role_code(code: &str) -> bool {
    is_lowercase_identifier(code, 32)
}

/// Whether `permission` is a well-formed permission string (`[a-z][a-z0-9_]{1,63}`).
#[must_use]
pub fn is_permission(permission: &str) -> bool {
    is_lowercase_identifier(permission, 64)
}

/// `[a-z][a-z0-9_]*`, 2 to `max_len` characters: the shape of role codes and permissions.
fn is_lowercase_identifier(text: &str, max_len: usize) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && (2..=max_len).contains(&text.len())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A role as the apps receive it wherever one appears: its code, its name in the caller's
/// language and its permissions, as the store defines it. Flattened into stores, employees
/// and `me`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleView {
    pub role: RoleCode,
    #[schema(example = "Владелец")]
    pub role_display: String,
    #[schema(example = json!(["view_products", "create_sales"]))]
    pub permissions: Vec<String>,
}

impl RoleView {
    /// `role` described in `lang`.
    #[must_use]
    pub fn new(role: &StoreRole, lang: Lang) -> Self {
        RoleView {
            role_display: role.display(lang),
            role: RoleCode(role.code.clone()),
            permissions: role.permissions.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("boss".parse::<Role>().is_err());
        assert!("Owner".parse::<Role>().is_err());
    }

    #[test]
    fn owners_manage_everyone_else_managers_the_floor_and_peers_nobody() {
        assert_eq!(
            Role::Owner.managed_roles(),
            [Role::Manager, Role::Cashier, Role::Stockkeeper, Role::Staff]
        );
        assert_eq!(Role::Manager.managed_roles(), [Role::Cashier, Role::Stockkeeper, Role::Staff]);
        assert!(Role::Cashier.managed_roles().is_empty());
        assert!(Role::Stockkeeper.managed_roles().is_empty());
        assert!(Role::ALL.iter().all(|role| !role.manages(Role::Owner) && !role.manages(*role)));
    }

    #[test]
    fn role_codes_follow_their_pattern() {
        for good in ["owner", "senior_cashier", "a1", "shift_2"] {
            assert!(is_role_code(good), "{good}");
        }
        for bad in ["", "a", "1a", "_a", "Owner", "senior-cashier", "кассир", &"a".repeat(33)] {
            assert!(!is_role_code(bad), "{bad}");
        }
        assert!(is_role_code(&"a".repeat(32)));
    }

    #[test]
    fn a_renamed_role_shows_its_name_an_unrenamed_built_in_its_localized_one() {
        let mut cashier = StoreRole::preset(Role::Cashier);
        assert_eq!(cashier.display(Lang::En), "Cashier");
        assert_eq!(cashier.display(Lang::Ru), "Кассир");
        cashier.name = Some("Till".to_owned());
        assert_eq!(cashier.display(Lang::Ru), "Till");
    }

    #[test]
    fn rank_fifty_and_up_manages_strictly_lower_ranks() {
        assert!(manages_rank(60, 50) && manages_rank(50, 40) && manages_rank(100, 99));
        assert!(!manages_rank(50, 50) && !manages_rank(40, 10) && !manages_rank(99, 100));
    }

    #[test]
    fn only_the_owner_manages_employees_and_the_store() {
        for role in Role::ALL {
            let manages = role.permissions().contains(&"manage_employees");
            assert_eq!(manages, role == Role::Owner, "{role}");
            assert_eq!(role.permissions().contains(&"manage_store"), role == Role::Owner, "{role}");
        }
    }
}
