//! HTTP handlers for `/api/users/employees/`: list, create, read, change, remove, reset.
//!
//! Every handler runs in the store's schema through the tenant transaction and asks
//! [`policy`] before it reads or writes. Writes lock the employee's rows first, so two
//! managers changing one employee apply one after the other, each seeing the other's result.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::ExposeSecret;

use crate::audit::AuditAction;
use crate::audit::record;
use crate::auth::queries::{self as account_queries, NewUser};
use crate::db::error::ResultExt;
use crate::db::page::Counted;
use crate::employees::accounts;
use crate::employees::forms::{self, NewStaffMember, PasswordReset};
use crate::employees::history;
use crate::employees::queries::{
    self, EmployeeState, NewEmployee, StaffMember, StaffPage, StaffRow, find_staff_member, staff_member_sql,
};
use crate::employees::{
    CreateEmployeeRequest, CreatedEmployee, Credentials, EmployeeCreatedResponse, EmployeeOut, EmployeePage,
    EmployeeResponse, OneEmployeeRefusals, PasswordResetResponse, ResetCredentials, ResetPasswordRequest,
    UpdateEmployeeRequest,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::{BodyRejections, BooleanFilter, PositiveIntegerFilter, RoleFilter};
use crate::http::pagination::ListQuery;
use crate::http::path::ApiPath;
use crate::i18n::{Message, current_lang};
use crate::roles::StoreRole;
use crate::roles::grants;
use crate::roles::policy::{self, Action, Target};
use crate::roles::queries::lock_role;
use crate::state::AppState;
use crate::tenant::TenantEcho;
use crate::tenant::conn::{StoreScope, TenantConn};
use crate::validate::{Form, Replace};

/// The store's staff, newest first, `page_size` (default 20, at most 100) per page. Filters:
/// `role`, `is_active` (`true`/`false`), and `search` (any part of the username, first or
/// last name, any letter case). Employees removed from the store are not listed.
///
/// **Permissions**: the store's owner and managers.
#[utoipa::path(get, path = "/api/users/employees/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(
        ("role" = inline(Option<RoleFilter>), Query, description = "Only this role"),
        ("is_active" = inline(Option<BooleanFilter>), Query, description = "Only active (true) or deactivated (false) employees"),
        ("search" = Option<String>, Query, max_length = 150, description = "Part of the username, first or last name"),
        ("page" = inline(Option<PositiveIntegerFilter>), Query, description = "Page number, from 1"),
        ("page_size" = inline(Option<PositiveIntegerFilter>), Query, description = "Employees per page (default 20; more than 100 count as 100)"),
    ),
    responses(
        (status = 200, description = "A page of the store's staff", body = EmployeePage),
        (status = 400, description = "validation_error (per query parameter) or missing_tenant_key", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key, inactive_tenant, not_a_member, permission_denied or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: a page past the last", body = ErrorBody),
    ))]
pub async fn list_employees(scope: StoreScope, query: ListQuery) -> ApiResult<Json<EmployeePage>> {
    staff_page(scope, &query).await.map(Json)
}

/// A page of the store's staff by the filters of `query`, for a caller who may view them:
/// the API's list and the console's staff page.
pub async fn staff_page(scope: StoreScope, query: &ListQuery) -> ApiResult<EmployeePage> {
    staff_listing(scope, query).await.map(|listing| listing.page)
}

/// [`staff_page`] with the store's roles it was read with (the console offers them as filters).
pub struct StaffListing {
    pub page: EmployeePage,
    pub roles: std::sync::Arc<crate::roles::directory::StoreRoles>,
}

/// See [`staff_page`].
pub async fn staff_listing(scope: StoreScope, query: &ListQuery) -> ApiResult<StaffListing> {
    let mut form = Form::new();
    let page = query.page_request(&mut form);
    let filter = forms::list_filter(query, &mut form);
    if let Err(invalid) = form.finish(()) {
        // Rights come first, as on every other route: a cashier's malformed query is 403.
        let tenant = scope.begin().await?;
        policy::authorize(tenant.member.role.rank, Action::View, None)?;
        return Err(invalid);
    }

    let staff = StaffPage { filter: &filter, limit: page.size, offset: page.offset() };
    let select = StaffPage::select_sql(&scope.store.schema);
    let read = scope.read::<Counted<StaffRow>>(&select, |statement| staff.bind(statement)).await?;
    policy::authorize(read.member.role.rank, Action::View, None)?;
    let (rows, total) = Counted::split(read.rows);
    let lang = current_lang();
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let member = row.with_role(&read.roles).map_err(ApiError::internal)?;
        results.push(EmployeeOut::new(member, read.store.id, lang));
    }
    let page =
        EmployeePage { page: query.links(page, total)?, results, tenant: TenantEcho::from(&read.store) };
    Ok(StaffListing { page, roles: read.roles })
}

/// Adds an employee: a new account (usernames are unique across kassa in any letter case),
/// its membership with the given role, and the employee profile, in one transaction. The
/// password is generated when absent and handed over once in `credentials`
/// (`Cache-Control: no-store`).
///
/// **Permissions**: the owner (any role but `owner`); managers (cashiers and stockkeepers).
#[utoipa::path(post, path = "/api/users/employees/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])), request_body = CreateEmployeeRequest,
    responses(
        (status = 201, description = "Created; the password is in `credentials` this once", body = EmployeeCreatedResponse),
        (status = 400, description = "validation_error, per field, or missing_tenant_key", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "permission_denied (also for a role beyond the caller's), invalid_tenant_key, inactive_tenant, not_a_member or password_change_required", body = ErrorBody),
        (status = 409, description = "username_taken", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn create_employee(
    State(app): State<AppState>,
    scope: StoreScope,
    ApiJson(body): ApiJson<CreateEmployeeRequest>,
) -> ApiResult<NoStore<(StatusCode, Json<EmployeeCreatedResponse>)>> {
    // Check first (rights, input, username) on a short transaction…
    let mut tenant = scope.begin().await?;
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let role = match NewStaffMember::wanted_role(&body) {
        Some(code) => lock_role(tenant.conn(), &code).await?,
        None => None,
    };
    let new = NewStaffMember::parse(body, &app.config.password_policy, role.is_some())?;
    let role = role.ok_or_else(|| ApiError::field("role", Message::RoleInvalid))?;
    policy::authorize(tenant.member.role.rank, Action::Create { rank: role.rank }, None)?;
    require_may_give(&tenant, &role)?;
    if account_queries::username_exists(tenant.conn(), &new.username).await? {
        return Err(ApiError::UsernameTaken);
    }
    tenant.rollback().await?;
    // …hash with no pooled connection held…
    let password_hash = app.hasher.hash(new.password.clone()).await.map_err(ApiError::internal)?;
    // …then write, checking the caller's rights and the role again: either may have
    // changed meanwhile (the role stays locked until commit).
    let mut tenant = scope.begin().await?;
    let role = store_role(&mut tenant, &new.role).await?;
    policy::authorize(tenant.member.role.rank, Action::Create { rank: role.rank }, None)?;
    require_may_give(&tenant, &role)?;
    let member = insert_staff_member(&mut tenant, &new, role, &password_hash).await?;
    let store_id = tenant.store.id;
    let tenant_echo = TenantEcho::from(&tenant.store);
    tenant.commit().await?;

    tracing::info!(
        store.id = store_id,
        employee.id = member.employee.id,
        "employee {} added as {}",
        member.employee.id,
        new.role
    );
    let body = EmployeeCreatedResponse {
        status: "success",
        message: Message::EmployeeCreated.text(current_lang()).into_owned(),
        data: CreatedEmployee {
            credentials: Credentials {
                username: member.username.clone(),
                password: new.password.expose_secret().to_owned(),
            },
            employee: EmployeeOut::new(member, store_id, current_lang()),
            is_existing_user: false,
        },
        tenant: tenant_echo,
    };
    Ok(NoStore((StatusCode::CREATED, Json(body))))
}

/// Writes the account, membership, employee row and audit event of `new`.
async fn insert_staff_member(
    tenant: &mut TenantConn,
    new: &NewStaffMember,
    role: StoreRole,
    password_hash: &str,
) -> ApiResult<StaffMember> {
    let store_id = tenant.store.id;
    let user = account_queries::insert_user(
        tenant.conn(),
        &NewUser {
            username: &new.username,
            password_hash,
            first_name: &new.first_name,
            last_name: &new.last_name,
            email: &new.email,
            phone: &new.phone,
        },
    )
    .await
    .on_any_constraint(account_queries::USERNAME_CONSTRAINTS, |_| ApiError::UsernameTaken)?;
    queries::insert_membership(tenant.conn(), user.id, store_id, &role.code).await?;
    let employee = queries::insert_employee(
        tenant.conn(),
        &NewEmployee {
            user_id: user.id,
            role: &role.code,
            first_name: &new.first_name,
            last_name: &new.last_name,
            phone: &new.phone,
            position: &new.position,
            hired_at: new.hired_at,
        },
    )
    .await?;
    let member = StaffMember { employee, role: Arc::new(role), username: user.username, email: user.email };
    record::by_caller(tenant, AuditAction::EmployeeCreated, member.employee.id, history::created(&member))
        .await?;
    Ok(member)
}

/// One employee of the store.
///
/// **Permissions**: the store's owner and managers.
#[utoipa::path(get, path = "/api/users/employees/{id}/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    responses(
        (status = 200, description = "The employee", body = EmployeeResponse),
        OneEmployeeRefusals,
    ))]
pub async fn get_employee(scope: StoreScope, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<EmployeeResponse>> {
    let select = staff_member_sql(&scope.store.schema);
    let read = scope.read::<StaffRow>(&select, |statement| statement.bind(id)).await?;
    policy::authorize(read.member.role.rank, Action::View, None)?;
    let row = read.rows.into_iter().next().ok_or(ApiError::NotFound)?;
    let member = row.with_role(&read.roles).map_err(ApiError::internal)?;
    Ok(Json(EmployeeResponse {
        employee: EmployeeOut::new(member, read.store.id, current_lang()),
        tenant: TenantEcho::from(&read.store),
    }))
}

/// Replaces an employee's profile: `first_name` and `role` are required, `last_name`,
/// `phone` and `position` left out become empty; `is_active` and `hired_at` are kept when
/// left out. Deactivating signs the employee out everywhere.
///
/// **Permissions**: per the role rules (SPEC §5): the owner on everyone else, managers on
/// cashiers and stockkeepers, anyone on their own profile fields; never above one's role.
#[utoipa::path(put, path = "/api/users/employees/{id}/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    request_body = crate::employees::ReplaceEmployeeRequest,
    responses(
        (status = 200, description = "The employee as changed", body = EmployeeResponse),
        OneEmployeeRefusals,
        BodyRejections,
    ))]
pub async fn replace_employee(
    tenant: TenantConn,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateEmployeeRequest>,
) -> ApiResult<Json<EmployeeResponse>> {
    change_employee(tenant, id, body, Replace::Everything).await
}

/// Changes the given fields: profile fields, `role`, `is_active` (false deactivates and
/// signs the employee out everywhere; true reactivates).
///
/// **Permissions**: per the role rules (SPEC §5): the owner on everyone else, managers on
/// cashiers and stockkeepers, anyone on their own profile fields; never above one's role.
#[utoipa::path(patch, path = "/api/users/employees/{id}/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    request_body = UpdateEmployeeRequest,
    responses(
        (status = 200, description = "The employee as changed", body = EmployeeResponse),
        OneEmployeeRefusals,
        BodyRejections,
    ))]
pub async fn update_employee(
    tenant: TenantConn,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateEmployeeRequest>,
) -> ApiResult<Json<EmployeeResponse>> {
    change_employee(tenant, id, body, Replace::GivenFields).await
}

/// Takes an employee off the store's staff: their membership ends, and with it their access
/// to this store (the sessions opened on its tills end; every session, when they work in no
/// other store); the employee row stays, inactive, for the history that refers to it. The
/// account remains, and so does its access to other stores.
///
/// **Permissions**: the owner on everyone else, managers on cashiers and stockkeepers.
#[utoipa::path(delete, path = "/api/users/employees/{id}/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    responses(
        (status = 204, description = "Removed from the store"),
        OneEmployeeRefusals,
    ))]
pub async fn remove_employee(mut tenant: TenantConn, ApiPath(id): ApiPath<i64>) -> ApiResult<StatusCode> {
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let store_id = tenant.store.id;
    let current = staff_member(&mut tenant, id, true).await?;
    policy::authorize(tenant.member.role.rank, Action::Remove, Some(target_of(&tenant, &current)))?;

    queries::remove_staff_member(tenant.conn(), store_id, id).await?;
    clear_pin_of(&mut tenant, id).await?;
    let ended = accounts::end_access_here(&mut tenant, current.employee.user_id).await?;
    let changes = history::removed(&current.employee);
    record::by_caller(&mut tenant, AuditAction::EmployeeRemoved, id, changes).await?;
    tenant.commit().await?;
    tracing::info!(store.id = store_id, employee.id = id, sessions.revoked = ended, "employee {id} removed");
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a new password for an employee (generated when `new_password` is absent) and signs
/// them out everywhere. The password is in the response once (`Cache-Control: no-store`).
///
/// **Permissions**: the owner on everyone else, managers on cashiers and stockkeepers;
/// nobody on themselves (change-password is for that). The password is the account's in
/// every store: 403 `account_elsewhere` when they also belong to a store where the caller
/// does not outrank them.
#[utoipa::path(post, path = "/api/users/employees/{id}/reset-password/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Reset; the new password is in the body this once", body = PasswordResetResponse),
        OneEmployeeRefusals,
        BodyRejections,
    ))]
pub async fn reset_employee_password(
    State(app): State<AppState>,
    scope: StoreScope,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ResetPasswordRequest>,
) -> ApiResult<NoStore<Json<PasswordResetResponse>>> {
    let store_id = scope.store.id;
    // Check rights and input on a short transaction, hash with no connection held, then
    // write after checking again (see create_employee).
    let mut tenant = scope.begin().await?;
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let target = staff_member(&mut tenant, id, false).await?;
    policy::authorize(tenant.member.role.rank, Action::ResetPassword, Some(target_of(&tenant, &target)))?;
    accounts::require_reach_over_account(&mut tenant, target.employee.user_id).await?;
    // The shared staff account's password changes by rotation alone, which keeps the copy
    // its owner reads back in step with it.
    if account_queries::is_shared_staff_account(tenant.conn(), target.employee.user_id).await? {
        return Err(ApiError::PermissionDenied);
    }
    let reset = PasswordReset::parse(body, &app.config.password_policy, &target.username)?;
    tenant.rollback().await?;
    let password_hash = app.hasher.hash(reset.password.clone()).await.map_err(ApiError::internal)?;

    let mut tenant = scope.begin().await?;
    let target = staff_member(&mut tenant, id, true).await?;
    policy::authorize(tenant.member.role.rank, Action::ResetPassword, Some(target_of(&tenant, &target)))?;
    let user_id = target.employee.user_id;
    accounts::require_reach_over_account(&mut tenant, user_id).await?;
    let account = account_queries::find_user(tenant.conn(), user_id).await?.ok_or(ApiError::NotFound)?;
    account_queries::update_password_hash(tenant.conn(), user_id, &password_hash, reset.must_change).await?;
    let ended = account_queries::revoke_user_sessions(tenant.conn(), user_id, None).await?;
    let changes = history::password_reset(account.must_change_password, reset.must_change);
    record::by_caller(&mut tenant, AuditAction::EmployeePasswordReset, id, changes).await?;
    clear_pin_of(&mut tenant, id).await?;
    let tenant_echo = TenantEcho::from(&tenant.store);
    tenant.commit().await?;

    tracing::info!(
        store.id = store_id,
        employee.id = id,
        sessions.revoked = ended,
        "employee {id}'s password reset"
    );
    let body = PasswordResetResponse {
        status: "success",
        message: Message::EmployeePasswordReset.text(current_lang()).into_owned(),
        data: ResetCredentials {
            username: target.username,
            new_password: reset.password.expose_secret().to_owned(),
        },
        tenant: tenant_echo,
    };
    Ok(NoStore(Json(body)))
}

async fn change_employee(
    mut tenant: TenantConn,
    id: i64,
    body: UpdateEmployeeRequest,
    replace: Replace,
) -> ApiResult<Json<EmployeeResponse>> {
    let actor = tenant.member.role.rank;
    policy::authorize(actor, Action::View, None)?;
    let store_id = tenant.store.id;
    let current = staff_member(&mut tenant, id, true).await?;
    let target = target_of(&tenant, &current);
    policy::authorize(actor, Action::EditProfile, Some(target))?;
    let before = EmployeeState::from(&current.employee);
    let after = forms::parse_changes(body, &current, &before, store_id, replace)?;
    // Every consequence of the body is authorized, not just the presence of fields: a PUT
    // that repeats the current role changes nothing and needs no right to change it.
    let role = match after.role != before.role {
        true => {
            let role = store_role(&mut tenant, &after.role).await?;
            policy::authorize(actor, Action::ChangeRole { to: role.rank }, Some(target))?;
            require_may_give(&tenant, &role)?;
            Arc::new(role)
        }
        false => current.role.clone(),
    };
    if after.is_active != before.is_active {
        let action = if after.is_active { Action::Activate } else { Action::Deactivate };
        policy::authorize(actor, action, Some(target))?;
    }
    if after == before {
        return respond_with(tenant, current).await;
    }

    let row = queries::update_staff_member(tenant.conn(), store_id, id, &after).await?;
    if !after.is_active && before.is_active {
        clear_pin_of(&mut tenant, id).await?;
        let ended = accounts::end_access_here(&mut tenant, row.user_id).await?;
        tracing::info!(
            store.id = store_id,
            employee.id = id,
            sessions.revoked = ended,
            "employee {id} deactivated"
        );
    }
    for (action, changes) in history::changed(&before, &after) {
        record::by_caller(&mut tenant, action, id, changes).await?;
    }
    let member = StaffMember { employee: row, role, ..current };
    respond_with(tenant, member).await
}

/// 403 `permission_denied` unless the caller may give `role`: nobody grants a permission
/// they do not hold (`roles::grants`).
fn require_may_give(tenant: &TenantConn, role: &StoreRole) -> ApiResult<()> {
    match grants::may_give(&tenant.member.role, role) {
        true => Ok(()),
        false => Err(ApiError::PermissionDenied),
    }
}

/// The policy's view of `member` as the target of the caller's action.
pub fn target_of(tenant: &TenantConn, member: &StaffMember) -> Target {
    Target { rank: member.role.rank, is_self: member.employee.user_id == tenant.member.user_id }
}

/// Employee `id` of the store with their role as the store defines it, locked with `lock`
/// (see [`find_staff_member`]); 404 when not on the staff.
pub async fn staff_member(tenant: &mut TenantConn, id: i64, lock: bool) -> ApiResult<StaffMember> {
    let store_id = tenant.store.id;
    let row = find_staff_member(tenant.conn(), store_id, id, lock).await?.ok_or(ApiError::NotFound)?;
    row.with_role(&tenant.roles).map_err(ApiError::internal)
}

/// Clears employee `id`'s PIN, if any, with its audit event (a password reset, a
/// deactivation or a removal ends the PIN too), and ends the sessions it opened.
pub async fn clear_pin_of(tenant: &mut TenantConn, id: i64) -> ApiResult<()> {
    if queries::clear_pin(tenant.conn(), id).await? {
        let store_id = tenant.store.id;
        queries::revoke_pin_sessions(tenant.conn(), store_id, id).await?;
        record::by_caller(tenant, AuditAction::PinCleared, id, history::pin_changed(true, false)).await?;
    }
    Ok(())
}

/// Role `code` as the store defines it, locked until the transaction ends so that it is not
/// deleted or re-ranked while being given (`roles::queries`); a code the store does not
/// have is a validation error on `role` (SPEC §10).
async fn store_role(tenant: &mut TenantConn, code: &str) -> ApiResult<StoreRole> {
    lock_role(tenant.conn(), code).await?.ok_or_else(|| ApiError::field("role", Message::RoleInvalid))
}

/// Commits and answers with `member` and the tenant echo.
async fn respond_with(tenant: TenantConn, member: StaffMember) -> ApiResult<Json<EmployeeResponse>> {
    let store_id = tenant.store.id;
    let tenant_echo = TenantEcho::from(&tenant.store);
    tenant.commit().await?;
    Ok(Json(EmployeeResponse {
        employee: EmployeeOut::new(member, store_id, current_lang()),
        tenant: tenant_echo,
    }))
}
