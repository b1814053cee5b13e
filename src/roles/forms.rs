//! The response types of `/roles/`.

use serde::Serialize;
use utoipa::ToSchema;

use crate::access::{Role, RoleView};

/// A role in the catalogue: what the apps see everywhere, plus its rank and the roles it
/// manages (creates, edits, deactivates, resets, assigns) as the permission checks apply
/// them to a store that has not edited its roles.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleCatalogEntry {
    #[serde(flatten)]
    pub view: RoleView,
    /// Owner 100, manager 50, cashier and stockkeeper 10: from 50 up a role manages the
    /// roles ranked strictly below it.
    #[schema(example = 100, minimum = 1, maximum = 100)]
    pub rank: i16,
    /// The roles a member with this role manages: exactly those ranked below it.
    pub manages: Vec<Role>,
}

/// `{status, data: [role]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleListResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: Vec<RoleCatalogEntry>,
}
