//! The response types of `/permissions/`.

use serde::Serialize;
use utoipa::ToSchema;

/// A permission string and what it lets a holder do.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionEntry {
    #[schema(example = "manage_employees")]
    pub code: &'static str,
    #[schema(example = "Управление сотрудниками")]
    pub description: &'static str,
}

/// `{status, data: [permission]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionListResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: Vec<PermissionEntry>,
}
