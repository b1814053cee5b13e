//! `GET /permissions/`.

use crate::access::catalog::PERMISSIONS;
use crate::i18n::{Lang, current_lang};
use crate::permissions::forms::{PermissionEntry, PermissionListResponse};

/// The permission strings kassa knows, described in the language of `Accept-Language`.
/// A store's roles may also carry other strings its apps switch on.
///
/// **Permissions**: none (public).
#[utoipa::path(get, path = "/api/users/permissions/", tag = "roles",
    responses((status = 200, description = "Every known permission", body = PermissionListResponse)))]
pub async fn list_permissions() -> axum::Json<PermissionListResponse> {
    let lang = current_lang();
    let data = PERMISSIONS
        .iter()
        .map(|&(code, ru, en)| PermissionEntry { code, description: if lang == Lang::Ru { ru } else { en } })
        .collect();
    axum::Json(PermissionListResponse { status: "success", data })
}
