//! Roles and their permissions (SPEC §5), with localized display names.
//!
//! The permission lists are the contract the POS apps already switch on: they are data here,
//! one table, and every other module asks this one.

pub mod policy;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};
use utoipa::ToSchema;

use crate::db::inline::Inline;
use crate::i18n::Lang;

/// A member's role in one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Manager,
    Cashier,
    Stockkeeper,
}

impl Role {
    /// Every role, highest first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Manager, Role::Cashier, Role::Stockkeeper];

    /// The value stored in the database and sent on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Cashier => "cashier",
            Role::Stockkeeper => "stockkeeper",
        }
    }

    /// The permissions of SPEC §5, in the order the apps receive them today.
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
        }
    }

    /// The role's place in the store, 1 the highest. The one table of who manages whom:
    /// a role manages exactly the roles ranked below it, so equals (cashier, stockkeeper)
    /// never manage each other and nobody manages an owner.
    #[must_use]
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 1,
            Role::Manager => 2,
            Role::Cashier | Role::Stockkeeper => 3,
        }
    }

    /// Whether this role manages (and may assign) `other`: see [`Role::rank`].
    #[must_use]
    pub fn manages(self, other: Role) -> bool {
        self.rank() < other.rank()
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
            (Role::Owner, Lang::En) => "Owner",
            (Role::Manager, Lang::En) => "Manager",
            (Role::Cashier, Lang::En) => "Cashier",
            (Role::Stockkeeper, Lang::En) => "Stockkeeper",
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

/// Roles are stored as their names in `text` columns.
impl Type<Postgres> for Role {
    fn type_info() -> PgTypeInfo {
        <&str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <&str as Type<Postgres>>::compatible(ty)
    }
}

/// A stored name that is not one of the roles is an error (a 500 naming it), never a guess:
/// reading an unknown role as some default would grant or withhold rights silently.
impl<'r> Decode<'r, Postgres> for Role {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(<&str as Decode<Postgres>>::decode(value)?.parse::<Role>()?)
    }
}

impl Encode<'_, Postgres> for Role {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode(self.as_str(), buf)
    }
}

impl Inline for Role {
    /// One of four fixed lowercase words.
    fn inline(&self) -> String {
        format!("'{}'", self.as_str())
    }
}

/// A role as the apps receive it wherever one appears: its name, its display name in the
/// caller's language and its permissions. Flattened into stores, employees and `me`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleView {
    pub role: Role,
    #[schema(example = "Владелец")]
    pub role_display: &'static str,
    pub permissions: Vec<&'static str>,
}

impl RoleView {
    /// `role` described in `lang`.
    #[must_use]
    pub fn new(role: Role, lang: Lang) -> Self {
        RoleView { role, role_display: role.display(lang), permissions: role.permissions().to_vec() }
    }
}

/// A role in the catalogue: what the apps see everywhere, plus its place in the store and
/// the roles it manages (creates, edits, deactivates, resets, assigns), as the permission
/// checks apply them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleCatalogEntry {
    #[serde(flatten)]
    pub view: RoleView,
    /// 1 the highest; roles of one rank are peers.
    #[schema(example = 1, minimum = 1)]
    pub rank: u8,
    /// The roles a member with this role manages: exactly those ranked below it.
    pub manages: Vec<Role>,
}

/// `{status, data: [role]}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleListResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: Vec<RoleCatalogEntry>,
}

/// `/api/users/roles/`. Needs no state, so it mounts on any router.
pub fn router<S: Clone + Send + Sync + 'static>() -> utoipa_axum::router::OpenApiRouter<S> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(list_roles))
}

/// The role catalogue: each role with its permissions, its name in the language of
/// `Accept-Language` (SPEC §5), its rank and the roles it manages.
///
/// **Permissions**: none (public).
#[utoipa::path(get, path = "/api/users/roles/", tag = "roles",
    responses((status = 200, description = "Every role, highest first", body = RoleListResponse)))]
pub async fn list_roles() -> axum::Json<RoleListResponse> {
    let lang = crate::i18n::current_lang();
    let data = Role::ALL
        .into_iter()
        .map(|role| RoleCatalogEntry {
            view: RoleView::new(role, lang),
            rank: role.rank(),
            manages: role.managed_roles(),
        })
        .collect();
    axum::Json(RoleListResponse { status: "success", data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("staff".parse::<Role>().is_err());
        assert!("Owner".parse::<Role>().is_err());
    }

    #[test]
    fn owners_manage_everyone_else_managers_the_floor_and_peers_nobody() {
        assert_eq!(Role::Owner.managed_roles(), [Role::Manager, Role::Cashier, Role::Stockkeeper]);
        assert_eq!(Role::Manager.managed_roles(), [Role::Cashier, Role::Stockkeeper]);
        assert!(Role::Cashier.managed_roles().is_empty());
        assert!(Role::Stockkeeper.managed_roles().is_empty());
        assert!(Role::ALL.iter().all(|role| !role.manages(Role::Owner) && !role.manages(*role)));
    }

    #[test]
    fn roles_inline_as_their_names() {
        assert_eq!(Role::Stockkeeper.inline(), "'stockkeeper'");
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
