//! The permission catalogue: the permission strings kassa knows, each described in Russian
//! and English. `GET /permissions/` serves it; the console ticks its boxes from it.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

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
