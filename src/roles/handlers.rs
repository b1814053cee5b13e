//! `GET /roles/`.

use crate::access::{Role, RoleView, StoreRole};
use crate::i18n::current_lang;
use crate::roles::forms::{RoleCatalogEntry, RoleListResponse};

/// The built-in roles every store starts with: each with its permissions, its name in the
/// language of `Accept-Language` (docs/contract.md §5), its rank and the roles it manages. A store's
/// own roles, as it edited them, are at `GET /api/users/store-roles/`.
///
/// **Permissions**: none (public).
#[utoipa::path(get, path = "/api/users/roles/", tag = "roles",
    responses((status = 200, description = "Every built-in role, highest first", body = RoleListResponse)))]
pub async fn list_roles() -> axum::Json<RoleListResponse> {
    let lang = current_lang();
    let data = Role::ALL
        .into_iter()
        .map(|role| RoleCatalogEntry {
            view: RoleView::new(&StoreRole::preset(role), lang),
            rank: role.rank(),
            manages: role.managed_roles(),
        })
        .collect();
    axum::Json(RoleListResponse { status: "success", data })
}
