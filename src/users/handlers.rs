//! HTTP handlers for `/api/users/users/`: list, read, change the employee row, change the
//! account's profile, set the password, and the 405s of the methods the apps must not use.
//!
//! `{id}` is the account's id. Reads show the store's active members with an account;
//! writes reach any member on the store's staff (a deactivated one too, so that they can be
//! reactivated), under the same rules as the employee API.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::ExposeSecret;

use crate::access::directory::StoreRoles;
use crate::access::policy::{self, Action, Target};
use crate::audit::record;
use crate::audit::{AuditAction, Changes};
use crate::credentials::queries::{USERNAME_CONSTRAINTS, username_used_besides};
use crate::db::error::ResultExt;
use crate::db::page::Counted;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::{
    BodyRejections, MemberRefusals, NewStaffRefusals, PositiveIntegerFilter, StoreKeyRefusals, StoreRefusals,
    TokenRefusals,
};
use crate::http::pagination::ListQuery;
use crate::http::path::ApiPath;
use crate::i18n::{Message, current_lang};
use crate::staff::accounts::require_reach_over_account;
use crate::staff::operations::{add_staff_member, change_employee, set_password};
use crate::staff::{CreateEmployeeRequest, EmployeeOut, UpdateEmployeeRequest};
use crate::state::AppState;
use crate::tenant::TenantEcho;
use crate::tenant::conn::{StoreScope, TenantConn};
use crate::users::forms;
use crate::users::forms::{
    CreatedUser, MethodRefusal, PasswordChangedUser, SetUserPasswordRequest, UpdateProfileRequest,
    UpdateUserEmployeeRequest, UpdatedEmployee, UserCreatedResponse, UserEmployeeUpdatedResponse, UserOut,
    UserPageResponse, UserPasswordChangedResponse, UserProfileUpdatedResponse, UserResponse,
};
use crate::users::queries::{self, AccountProfile, LISTED_USER_SQL, StoreUserRow, UserPage, find_store_user};
use crate::validate::{Form, Replace};

/// The store's active members who have an account, by username unless `ordering` says
/// otherwise, 20 per page (`page_size` up to 100). Filters: `name` (any part of the first
/// or last name or the username), `search` (the same, and the email), any letter case.
///
/// **Permissions**: active members of the store, whatever their role.
#[utoipa::path(get, path = "/api/users/users/", tag = "users",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(
        ("name" = Option<String>, Query, max_length = 150, description = "Part of the first or last name or the username"),
        ("search" = Option<String>, Query, max_length = 150, description = "Part of the username, first or last name, or email"),
        ("ordering" = Option<String>, Query, pattern = r"^(?:-?(?:username|first_name|last_name|date_joined))?$", description = "`username` (the default, also when empty), `first_name`, `last_name` or `date_joined`; `-` before it for descending"),
        ("page" = inline(Option<PositiveIntegerFilter>), Query, description = "Page number, from 1"),
        ("page_size" = inline(Option<PositiveIntegerFilter>), Query, description = "Users per page (default 20; more than 100 count as 100)"),
    ),
    responses(
        (status = 200, description = "A page of the store's users", body = UserPageResponse),
        (status = 400, description = "validation_error (per query parameter) or missing_tenant_key", body = ErrorBody),
        MemberRefusals,
        (status = 404, description = "not_found: a page past the last", body = ErrorBody),
    ))]
pub async fn list_users(scope: StoreScope, query: ListQuery) -> ApiResult<Json<UserPageResponse>> {
    let mut form = Form::new();
    let page = query.page_request(&mut form);
    let filter = forms::list_filter(&query, &mut form);
    if let Err(invalid) = form.finish(()) {
        // Membership comes first, as on every other route: a stranger's malformed query is 403.
        scope.begin().await?.rollback().await?;
        return Err(invalid);
    }

    let users = UserPage { filter: &filter, limit: page.size, offset: page.offset() };
    let read =
        scope.read::<Counted<StoreUserRow>>(UserPage::SELECT_SQL, |statement| users.bind(statement)).await?;
    let (rows, total) = Counted::split(read.rows);
    let results = rows.into_iter().map(|row| user_out(row, &read.roles)).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(UserPageResponse {
        page: query.links(page, total)?,
        results,
        tenant: TenantEcho::from(&read.store),
    }))
}

/// One of the store's active members with an account.
///
/// **Permissions**: active members of the store, whatever their role.
#[utoipa::path(get, path = "/api/users/users/{id}/", tag = "users",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The user, with their place in this store", body = UserResponse),
        StoreRefusals,
        (status = 404, description = "not_found: no active member of this store has this id (or `id` is not a whole number in range)", body = ErrorBody),
    ))]
pub async fn get_user(scope: StoreScope, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<UserResponse>> {
    let read = scope.read::<StoreUserRow>(LISTED_USER_SQL, |statement| statement.bind(id)).await?;
    let row = read.rows.into_iter().next().ok_or(ApiError::NotFound)?;
    Ok(Json(UserResponse { user: user_out(row, &read.roles)?, tenant: TenantEcho::from(&read.store) }))
}

/// Not supported: employees change through `PATCH /api/users/users/{id}/update-employee/`,
/// which the answer's `hint` names.
#[utoipa::path(put, path = "/api/users/users/{id}/", tag = "users",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = String, Path, description = "The account's id (not looked up)")),
    responses(
        StoreKeyRefusals,
        (status = 405, description = "method_not_allowed, with the route to use in `hint`", body = MethodRefusal),
    ))]
pub async fn replace_user(_scope: StoreScope, ApiPath(id): ApiPath<String>) -> MethodRefusal {
    refer_to_update_employee(&id)
}

/// Not supported: employees change through `PATCH /api/users/users/{id}/update-employee/`,
/// which the answer's `hint` names.
#[utoipa::path(patch, path = "/api/users/users/{id}/", tag = "users",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = String, Path, description = "The account's id (not looked up)")),
    responses(
        StoreKeyRefusals,
        (status = 405, description = "method_not_allowed, with the route to use in `hint`", body = MethodRefusal),
    ))]
pub async fn patch_user(_scope: StoreScope, ApiPath(id): ApiPath<String>) -> MethodRefusal {
    refer_to_update_employee(&id)
}

/// Not supported: employees are removed through `DELETE /api/users/employees/{id}/`.
#[utoipa::path(delete, path = "/api/users/users/{id}/", tag = "users",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = String, Path, description = "The account's id (not looked up)")),
    responses(
        StoreKeyRefusals,
        (status = 405, description = "method_not_allowed, naming the route to use", body = MethodRefusal),
    ))]
pub async fn delete_user(_scope: StoreScope) -> MethodRefusal {
    MethodRefusal::new(&Message::UsersRemoveThroughEmployees, None)
}

/// Changes the user's place in this store: `role`, `phone`, `position`, `is_active`
/// (`false` deactivates and ends their access to this store; `true` reactivates). The same
/// change, validation and audit as `PATCH /api/users/employees/{id}/`; other fields are
/// ignored.
///
/// **Permissions**: the role rules of the employee API: the owner on everyone else,
/// managers on cashiers and stockkeepers; nobody changes their own role or status, gives a
/// role at or above their own, or one with a permission they lack.
#[utoipa::path(patch, path = "/api/users/users/{id}/update-employee/", tag = "users",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    request_body = UpdateUserEmployeeRequest,
    responses(
        (status = 200, description = "The employee as changed", body = UserEmployeeUpdatedResponse),
        (status = 400, description = "validation_error, per field, or missing_tenant_key", body = ErrorBody),
        TokenRefusals,
        (status = 403, description = "permission_denied, invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: nobody on this store's staff has this account id (or `id` is not a whole number in range)", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn update_user_employee(
    mut tenant: TenantConn,
    ApiPath(user_id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateUserEmployeeRequest>,
) -> ApiResult<Json<UserEmployeeUpdatedResponse>> {
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let id = employee_id_of(&mut tenant, user_id).await?;
    let changes = UpdateEmployeeRequest {
        role: body.role,
        phone: body.phone,
        position: body.position,
        is_active: body.is_active,
        sex: body.sex,
        first_name: None,
        last_name: None,
        hired_at: None,
        username: None,
        email: None,
        user: None,
        store: None,
    };
    let changed = change_employee(tenant, id, changes, Replace::GivenFields).await?;
    Ok(Json(UserEmployeeUpdatedResponse {
        status: "success",
        message: Message::UserEmployeeUpdated.text(current_lang()).into_owned(),
        data: UpdatedEmployee { employee: changed.employee },
        tenant: changed.tenant,
    }))
}

/// Changes the account's `username`, `first_name`, `last_name` or `email` (the fields
/// given). They belong to the account, so the change shows in every store; the names are
/// also copied to the person's employee profile in this store. A username stays unique in
/// any letter case and look-alike form (409 `username_taken`); every change is audited.
///
/// **Permissions**: the account's holder; or someone who outranks them in this store and
/// in every other store they belong to (403 `account_elsewhere` otherwise). Not with a
/// till's or the staff account's session.
#[utoipa::path(patch, path = "/api/users/users/{id}/update-profile/", tag = "users",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, description = "The user as changed", body = UserProfileUpdatedResponse),
        (status = 400, description = "validation_error, per field, or missing_tenant_key", body = ErrorBody),
        TokenRefusals,
        (status = 403, description = "permission_denied (also a till's session), account_elsewhere, invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: nobody on this store's staff has this account id (or `id` is not a whole number in range)", body = ErrorBody),
        (status = 409, description = "username_taken: another account has this username, in any letter case or look-alike form", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn update_user_profile(
    mut tenant: TenantConn,
    ApiPath(user_id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateProfileRequest>,
) -> ApiResult<Json<UserProfileUpdatedResponse>> {
    let is_self = user_id == tenant.member.user_id;
    if !is_self {
        policy::authorize(tenant.member.role.rank, Action::View, None)?;
    }
    let store_id = tenant.store.id;
    let current = find_store_user(&tenant.tables(), tenant.conn(), store_id, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !is_self {
        let rank = tenant.roles.resolve(&current.role).map_err(ApiError::internal)?.rank;
        policy::authorize(tenant.member.role.rank, Action::EditProfile, Some(Target { rank, is_self }))?;
        require_reach_over_account(&mut tenant, user_id).await?;
    }
    // A store's shared staff account keeps the name its store gave it: the owner's
    // credential pages and the apps find it by that name.
    if crate::credentials::queries::is_shared_staff_account(tenant.conn(), user_id).await? {
        return Err(ApiError::PermissionDenied);
    }
    let before = AccountProfile::from(&current);
    let after = forms::profile_changes(body, &before)?;
    if after != before {
        write_profile(&mut tenant, &current, &after).await?;
    }

    let row = find_store_user(&tenant.tables(), tenant.conn(), store_id, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let user = user_out(row, &tenant.roles)?;
    let tenant_echo = TenantEcho::from(&tenant.store);
    tenant.commit().await?;
    Ok(Json(UserProfileUpdatedResponse {
        status: "success",
        message: Message::UserProfileUpdated.text(current_lang()).into_owned(),
        data: user,
        tenant: tenant_echo,
    }))
}

/// Writes `after` to `current`'s account, copies the names to their employee row here, and
/// records the change.
async fn write_profile(
    tenant: &mut TenantConn,
    current: &StoreUserRow,
    after: &AccountProfile,
) -> ApiResult<()> {
    let before = AccountProfile::from(current);
    if after.username != before.username
        && username_used_besides(tenant.conn(), &after.username, Some(current.id)).await?
    {
        return Err(ApiError::UsernameTaken);
    }
    queries::update_account_profile(tenant.conn(), current.id, after)
        .await
        .on_any_constraint(USERNAME_CONSTRAINTS, |_| ApiError::UsernameTaken)?;
    if (&after.first_name, &after.last_name) != (&before.first_name, &before.last_name) {
        queries::copy_names_to_employee(
            &tenant.tables(),
            tenant.conn(),
            current.employee_id,
            &after.first_name,
            &after.last_name,
        )
        .await?;
    }
    let changes = profile_changes(&before, after);
    record::by_caller(tenant, AuditAction::AccountUpdated, current.employee_id, changes).await?;
    tracing::info!(
        store.id = tenant.store.id,
        user.id = current.id,
        username.changed = after.username != before.username,
        "an account's profile changed"
    );
    Ok(())
}

/// The audit trail's record of a profile change: the before and after of each field.
fn profile_changes(before: &AccountProfile, after: &AccountProfile) -> Changes {
    let mut changes = Changes::default();
    changes.field("username", &before.username, &after.username);
    changes.field("first_name", &before.first_name, &after.first_name);
    changes.field("last_name", &before.last_name, &after.last_name);
    changes.field("email", &before.email, &after.email);
    changes
}

/// Sets a new password for the account and ends every one of its sessions (and its PIN
/// here). The password follows the password policy; the answer does not repeat it, and is
/// sent with `Cache-Control: no-store`.
///
/// **Permissions**: the owner on everyone else, managers on cashiers and stockkeepers;
/// nobody on themselves (their own password changes through `auth/change-password/`). The
/// password is the account's in every store: 403 `account_elsewhere` when they also belong
/// to a store where the caller does not outrank them.
#[utoipa::path(post, path = "/api/users/users/{id}/change-password/", tag = "users",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    request_body = SetUserPasswordRequest,
    responses(
        (status = 200, description = "Changed; every session of the account ended", body = UserPasswordChangedResponse),
        (status = 400, description = "validation_error (`new_password` missing or refused by the password policy) or missing_tenant_key", body = ErrorBody),
        TokenRefusals,
        (status = 403, description = "permission_denied, account_elsewhere, invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: nobody on this store's staff has this account id (or `id` is not a whole number in range)", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn change_user_password(
    State(app): State<AppState>,
    scope: StoreScope,
    ApiPath(user_id): ApiPath<i64>,
    ApiJson(body): ApiJson<SetUserPasswordRequest>,
) -> ApiResult<NoStore<Json<UserPasswordChangedResponse>>> {
    let mut tenant = scope.begin().await?;
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let id = employee_id_of(&mut tenant, user_id).await?;
    tenant.rollback().await?;

    let policy = &app.config.password_policy;
    let done = set_password(&app, &scope, id, |username| forms::new_password(body, policy, username)).await?;
    let username = done.username;
    Ok(NoStore(Json(UserPasswordChangedResponse {
        status: "success",
        message: Message::UserPasswordChanged { username: username.clone() }
            .text(current_lang())
            .into_owned(),
        data: PasswordChangedUser { user_id, username },
        tenant: done.tenant,
    })))
}

/// `row` as the apps receive it, with its role as the store defines it.
fn user_out(row: StoreUserRow, roles: &StoreRoles) -> ApiResult<UserOut> {
    let role = roles.resolve(&row.role).map_err(ApiError::internal)?;
    Ok(UserOut::new(row, &role))
}

/// The employee id, in this store, of account `user_id`; 404 when they are not on its staff.
async fn employee_id_of(tenant: &mut TenantConn, user_id: i64) -> ApiResult<i64> {
    let store_id = tenant.store.id;
    let row = find_store_user(&tenant.tables(), tenant.conn(), store_id, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(row.employee_id)
}

/// The 405 of PUT and PATCH, whose hint names the route for the id the path gave.
fn refer_to_update_employee(id: &str) -> MethodRefusal {
    MethodRefusal::new(
        &Message::UsersChangeThroughUpdateEmployee,
        Some(&Message::UsersTryUpdateEmployee { id: shown_id(id) }),
    )
}

/// Longest path id repeated in a hint.
const MAX_SHOWN_ID_CHARS: usize = 32;

/// `id` as a hint may repeat it: as given when it is short text, else the placeholder.
fn shown_id(id: &str) -> String {
    let fits = !id.is_empty()
        && id.chars().count() <= MAX_SHOWN_ID_CHARS
        && !crate::validate::text::holds_control(id)
        && !id.contains(['\0', '/']);
    if fits { id.to_owned() } else { "{id}".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_repeats_short_plain_ids_only() {
        let too_long = "9".repeat(40);
        for (id, shown) in
            [("5", "5"), ("abc", "abc"), (&too_long, "{id}"), ("a\u{202E}b", "{id}"), ("", "{id}")]
        {
            assert_eq!(shown_id(id), shown, "{id:?}");
        }
    }
}

/// Adds an employee, as `POST /employees/` does (the same body, rules and permissions: a
/// cashier may go without an account), answered in the shape the users API's apps read:
/// `data.employee`, `data.username` and `data.initial_password` (handed over once,
/// `Cache-Control: no-store`).
///
/// **Permissions**: the owner (any role but `owner`); managers (cashiers and stockkeepers).
#[utoipa::path(post, path = "/api/users/users/", tag = "users",
    security(("bearerAuth" = [], "tenantKey" = [])), request_body = CreateEmployeeRequest,
    responses(
        (status = 201, description = "Created; the password is in `initial_password` this once", body = UserCreatedResponse),
        NewStaffRefusals,
        BodyRejections,
    ))]
pub async fn create_user(
    State(app): State<AppState>,
    scope: StoreScope,
    ApiJson(body): ApiJson<CreateEmployeeRequest>,
) -> ApiResult<NoStore<(StatusCode, Json<UserCreatedResponse>)>> {
    let added = add_staff_member(&app, &scope, body).await?;
    let lang = current_lang();
    let initial_password = added.password.as_ref().map(|password| password.expose_secret().to_owned());
    let data = CreatedUser {
        username: added.member.username.clone(),
        initial_password,
        setup: added.setup,
        employee: EmployeeOut::new(added.member, added.store_id, lang),
    };
    let body = UserCreatedResponse {
        status: "success",
        message: Message::UserCreated.text(lang).into_owned(),
        data,
        tenant: added.tenant,
    };
    Ok(NoStore((StatusCode::CREATED, Json(body))))
}
