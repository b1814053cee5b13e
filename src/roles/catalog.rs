//! The public catalogues: `/roles/` (the built-in roles every store starts with) and
//! `/permissions/` (the permission strings kassa knows, described in the caller's language).

use serde::Serialize;
use utoipa::ToSchema;

use super::{Role, RoleView, StoreRole};
use crate::i18n::{Lang, current_lang};

/// The permissions kassa knows: those of the built-in roles (docs/contract.md §5), then those a till
/// asks a manager to approve. Stores may give their roles other strings besides these.
pub const PERMISSIONS: &[(&str, &str, &str)] = &[
    ("view_all", "Просмотр всех данных магазина", "View all of the store's data"),
    ("create_all", "Создание любых записей", "Create any record"),
    ("update_all", "Изменение любых записей", "Change any record"),
    ("delete_all", "Удаление любых записей", "Delete any record"),
    ("manage_employees", "Управление сотрудниками", "Manage employees"),
    ("manage_store", "Управление магазином и его настройками", "Manage the store and its settings"),
    ("view_analytics", "Просмотр отчётов и аналитики", "View reports and analytics"),
    ("manage_products", "Управление товарами", "Manage products"),
    ("manage_sales", "Управление продажами", "Manage sales"),
    ("manage_customers", "Управление покупателями", "Manage customers"),
    ("view_products", "Просмотр товаров", "View products"),
    ("create_sales", "Проведение продаж", "Ring up sales"),
    ("view_customers", "Просмотр покупателей", "View customers"),
    ("create_customers", "Добавление покупателей", "Add customers"),
    ("create_products", "Добавление товаров", "Add products"),
    ("update_products", "Изменение товаров", "Change products"),
    ("manage_inventory", "Учёт остатков и приёмка", "Stock counts and receiving"),
    ("refund_sales", "Возвраты", "Refund sales"),
    ("void_sales", "Отмена чеков", "Void sales"),
    ("apply_discounts", "Скидки вручную", "Apply manual discounts"),
    ("open_cash_drawer", "Открытие денежного ящика без продажи", "Open the cash drawer without a sale"),
];

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

/// `/api/users/roles/` and `/api/users/permissions/`. Need no state, so they mount on any
/// router.
pub fn router<S: Clone + Send + Sync + 'static>() -> utoipa_axum::router::OpenApiRouter<S> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list_roles))
        .routes(utoipa_axum::routes!(list_permissions))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_describes_every_permission_of_the_built_in_roles_once() {
        let known: Vec<&str> = PERMISSIONS.iter().map(|(code, _, _)| *code).collect();
        for role in Role::ALL {
            for permission in role.permissions() {
                assert!(known.contains(permission), "{role} {permission}");
            }
        }
        let mut distinct = known.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), known.len());
    }
}
