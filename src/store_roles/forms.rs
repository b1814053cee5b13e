//! The request and response types of `/store-roles/`, and its input validated field by
//! field (docs/contract.md §10): a new custom role, and the changes to one. What passes is a
//! [`StoreRole`] ready to store.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::queries::RoleRow;
use crate::access::{OWNER_RANK, PermissionCode, RoleCode, StoreRole, grants, is_permission, is_role_code};
use crate::error::ApiResult;
use crate::http::openapi::{NOT_AUTHENTICATED, refusal_set};
use crate::i18n::{Lang, Message};
use crate::tenant::TenantEcho;
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

/// A role of the store as its list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreRoleOut {
    pub code: RoleCode,
    /// Its own name, or a built-in role's localized one until renamed.
    #[schema(example = "Старший кассир")]
    pub name: String,
    /// 100 the owner; from 50 up a role manages the ranks strictly below it.
    #[schema(example = 20, minimum = 1, maximum = 100)]
    pub rank: i16,
    #[schema(example = json!(["view_products", "create_sales", "refund_sales"]))]
    pub permissions: Vec<String>,
    /// One of the four roles every store starts with: not deletable, rank fixed.
    pub built_in: bool,
    /// Members holding it (deactivated ones included, removed ones not).
    pub member_count: i64,
    /// The store's roles whose holders may give this one: ranked above it, holding every
    /// one of its permissions (a permission a built-in role is shipped with counts as held
    /// for giving it). Adding a permission managers lack to the cashier role, say, leaves
    /// only the owner here.
    pub given_by: Vec<RoleCode>,
}

impl StoreRoleOut {
    /// `row` described in `lang`, given by those of `roles` (the store's) who may.
    #[must_use]
    pub fn new(row: RoleRow, roles: &[&StoreRole], lang: Lang) -> Self {
        let given_by = roles
            .iter()
            .filter(|giver| grants::may_give(giver, &row.role))
            .map(|giver| RoleCode(giver.code.clone()))
            .collect();
        StoreRoleOut {
            name: row.role.display(lang),
            code: RoleCode(row.role.code),
            rank: row.role.rank,
            permissions: row.role.permissions,
            built_in: row.built_in,
            member_count: row.member_count,
            given_by,
        }
    }
}

/// `{status, data: [role], tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreRoleListResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: Vec<StoreRoleOut>,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `{status, data: role, tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreRoleResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: StoreRoleOut,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `POST /store-roles/`: a custom role.
#[derive(Deserialize, ToSchema)]
pub struct CreateStoreRoleRequest {
    /// Unique in the store (the built-in codes are taken), never changes.
    #[schema(value_type = RoleCode, required = true, nullable = false, example = "senior_cashier")]
    pub code: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, max_length = 64, example = "Старший кассир")]
    pub name: Option<String>,
    /// 1 to 99: from 50 up the role manages staff ranked below it.
    #[schema(required = true, nullable = false, minimum = 1, maximum = 99, example = 20)]
    pub rank: Option<i64>,
    /// Distinct strings `[a-z][a-z0-9_]{1,63}`, at most 64: those of `GET /permissions/`
    /// and any others the store's apps switch on. None when absent.
    #[schema(value_type = Option<Vec<PermissionCode>>, max_items = 64,
             example = json!(["view_products", "create_sales", "refund_sales"]))]
    pub permissions: Option<Vec<String>>,
}

/// `PATCH /store-roles/{code}/`: the fields given change. The owner role does not change;
/// a built-in role's rank does not either.
#[derive(Deserialize, ToSchema)]
pub struct UpdateStoreRoleRequest {
    #[schema(nullable = false, min_length = 1, max_length = 64, example = "Кассир-консультант")]
    pub name: Option<String>,
    /// Custom roles only: 1 to 99.
    #[schema(nullable = false, minimum = 1, maximum = 99)]
    pub rank: Option<i64>,
    #[schema(value_type = Option<Vec<PermissionCode>>, nullable = false, max_items = 64)]
    pub permissions: Option<Vec<String>>,
}

refusal_set!(
    /// The refusals of every route on one role (`/store-roles/{code}/`), described once.
    OneRoleRefusals:
    400 => "validation_error, per field, or missing_tenant_key",
    401 => NOT_AUTHENTICATED,
    403 => "permission_denied (only the owner writes roles; the owner role, built-in ranks and built-in roles' existence are fixed), invalid_tenant_key, inactive_tenant, not_a_member or password_change_required",
    404 => "not_found: no such role in this store",
);
