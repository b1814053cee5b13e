//! The role API's input, validated field by field (docs/contract.md §10): a new custom role, and the
//! changes to one. What passes is a [`StoreRole`] ready to store.

use crate::access::{OWNER_RANK, StoreRole, is_permission, is_role_code};
use crate::error::ApiResult;
use crate::i18n::Message;
use crate::store_roles::{CreateStoreRoleRequest, UpdateStoreRoleRequest};
use crate::validate::Form;

/// Longest role name, in characters.
pub const MAX_ROLE_NAME_CHARS: usize = 64;
/// Most permissions one role holds.
pub const MAX_PERMISSIONS: usize = 64;

/// A new custom role from `body`.
pub fn parse_new_role(body: CreateStoreRoleRequest) -> ApiResult<StoreRole> {
    let mut form = Form::new();
    let code = match body.code.map(|code| code.trim().to_owned()) {
        None => {
            form.add("code", Message::FieldRequired);
            String::new()
        }
        Some(code) if !is_role_code(&code) => {
            form.add("code", Message::RoleCodeInvalid);
            code
        }
        Some(code) => code,
    };
    let name = form.required("name", body.name, MAX_ROLE_NAME_CHARS);
    let rank = match body.rank {
        None => {
            form.add("rank", Message::FieldRequired);
            0
        }
        Some(rank) => custom_rank(&mut form, rank),
    };
    let permissions = permissions(&mut form, body.permissions.unwrap_or_default());
    form.finish(StoreRole { code, name: Some(name), rank, permissions })
}

/// `current` with the changes of `body`; which of them are allowed on which role is the
/// handler's question (it knows whether the role is built in).
pub fn parse_changes(body: UpdateStoreRoleRequest, current: &StoreRole) -> ApiResult<StoreRole> {
    let mut form = Form::new();
    let name = match body.name {
        Some(name) => Some(form.required("name", Some(name), MAX_ROLE_NAME_CHARS)),
        None => current.name.clone(),
    };
    let rank = body.rank.map_or(current.rank, |rank| custom_rank(&mut form, rank));
    let permissions =
        body.permissions.map_or_else(|| current.permissions.clone(), |list| permissions(&mut form, list));
    form.finish(StoreRole { code: current.code.clone(), name, rank, permissions })
}

/// A custom role's rank: 1 to 99 (100 is the owner's alone).
fn custom_rank(form: &mut Form, rank: i64) -> i16 {
    match i16::try_from(rank) {
        Ok(rank) if (1..OWNER_RANK).contains(&rank) => rank,
        _ => {
            form.add("rank", Message::RoleRankOutOfRange);
            0
        }
    }
}

/// A permission list: distinct strings `[a-z][a-z0-9_]{1,63}`, at most [`MAX_PERMISSIONS`];
/// kept in the order given.
fn permissions(form: &mut Form, list: Vec<String>) -> Vec<String> {
    if list.len() > MAX_PERMISSIONS {
        form.add("permissions", Message::TooManyPermissions { max: MAX_PERMISSIONS });
    }
    if !list.iter().all(|permission| is_permission(permission)) {
        form.add("permissions", Message::PermissionInvalid);
    }
    let mut seen = std::collections::HashSet::with_capacity(list.len());
    if !list.iter().all(|permission| seen.insert(permission.as_str())) {
        form.add("permissions", Message::PermissionRepeated);
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn fields(error: ApiError) -> Vec<String> {
        match error {
            ApiError::Validation(errors) => errors.into_keys().collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    fn request(code: &str, rank: i64, permissions: &[&str]) -> CreateStoreRoleRequest {
        CreateStoreRoleRequest {
            code: Some(code.to_owned()),
            name: Some("Senior cashier".to_owned()),
            rank: Some(rank),
            permissions: Some(permissions.iter().map(|p| (*p).to_owned()).collect()),
        }
    }

    #[test]
    fn a_well_formed_role_passes_as_given() {
        let role = parse_new_role(request("senior_cashier", 20, &["refund_sales", "view_products"])).unwrap();
        assert_eq!(role.code, "senior_cashier");
        assert_eq!(role.rank, 20);
        assert_eq!(role.permissions, ["refund_sales", "view_products"]);
    }

    #[test]
    fn each_broken_field_is_named() {
        for (body, field) in [
            (request("Senior", 20, &[]), "code"),
            (request("ok_code", 0, &[]), "rank"),
            (request("ok_code", 100, &[]), "rank"),
            (request("ok_code", 70_000, &[]), "rank"),
            (request("ok_code", 20, &["view", "view"]), "permissions"),
            (request("ok_code", 20, &["View"]), "permissions"),
        ] {
            assert_eq!(fields(parse_new_role(body).unwrap_err()), [field]);
        }
        let many: Vec<String> = (0..65).map(|n| format!("p{n}")).collect();
        let mut body = request("ok_code", 20, &[]);
        body.permissions = Some(many);
        assert_eq!(fields(parse_new_role(body).unwrap_err()), ["permissions"]);
    }
}
