//! HTTP handlers for `/api/users/employees/`: list, create, read, change, remove, reset,
//! give an account, clear a PIN, list the cashiers a till names.
//!
//! Every handler reaches the store's tables through the request's transaction or a store read and asks
//! [`policy`] before it reads or writes. Writes lock the employee's rows first, so two
//! managers changing one employee apply one after the other, each seeing the other's result.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::ExposeSecret;

use crate::access::policy::{self, Action};
use crate::audit::AuditAction;
use crate::audit::record;
use crate::credentials::queries::{self as account_queries, NewUser};
use crate::db::page::Counted;
use crate::employees::forms::{
    self, AccountGiven, AccountGivenResponse, CashierList, CreatedEmployee, EmployeeCreatedResponse,
    EmployeePage, NewAccountRequest, OneEmployeeRefusals, PasswordResetResponse, ResetCredentials,
    SetupCodeResponse,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::no_store::NoStore;
use crate::http::openapi::{
    BodyRejections, BooleanFilter, ManagersListRefusals, NewStaffRefusals, PositiveIntegerFilter, RoleFilter,
    StoreRefusals,
};
use crate::http::pagination::ListQuery;
use crate::http::path::ApiPath;
use crate::i18n::{Message, current_lang};
use crate::staff::forms::PasswordReset;
use crate::staff::operations::{
    add_staff_member, change_employee, clear_pin_of, insert_account, set_password, staff_member, target_of,
};
use crate::staff::queries::{
    self, CASHIERS_SQL, CashierRow, STAFF_MEMBER_SQL, StaffMember, StaffPage, StaffRow,
};
use crate::staff::{
    CashierOut, CreateEmployeeRequest, Credentials, EmployeeOut, EmployeeResponse, ResetPasswordRequest,
    UpdateEmployeeRequest,
};
use crate::staff::{accounts, history};
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
        ManagersListRefusals,
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
    pub roles: std::sync::Arc<crate::access::directory::StoreRoles>,
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
    let read =
        scope.read::<Counted<StaffRow>>(StaffPage::SELECT_SQL, |statement| staff.bind(statement)).await?;
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
/// (`Cache-Control: no-store`); with `"setup": "code"` there is no password in the answer,
/// but a set-up code in `setup`, with which the employee chooses their own.
///
/// **Permissions**: the owner (any role but `owner`); managers (cashiers and stockkeepers).
#[utoipa::path(post, path = "/api/users/employees/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])), request_body = CreateEmployeeRequest,
    responses(
        (status = 201, description = "Created; the password is in `credentials` (or the set-up code in `setup`) this once", body = EmployeeCreatedResponse),
        NewStaffRefusals,
        BodyRejections,
    ))]
pub async fn create_employee(
    State(app): State<AppState>,
    scope: StoreScope,
    ApiJson(body): ApiJson<CreateEmployeeRequest>,
) -> ApiResult<NoStore<(StatusCode, Json<EmployeeCreatedResponse>)>> {
    let added = add_staff_member(&app, &scope, body).await?;
    let lang = current_lang();
    let message = if added.is_existing_user { Message::EmployeeLinked } else { Message::EmployeeCreated };
    let body = EmployeeCreatedResponse {
        status: "success",
        message: message.text(lang).into_owned(),
        data: CreatedEmployee {
            credentials: added.credentials(),
            setup: added.setup,
            is_existing_user: added.is_existing_user,
            employee: EmployeeOut::new(added.member, added.store_id, lang),
        },
        tenant: added.tenant,
    };
    Ok(NoStore((StatusCode::CREATED, Json(body))))
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
    let read = scope.read::<StaffRow>(STAFF_MEMBER_SQL, |statement| statement.bind(id)).await?;
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
/// **Permissions**: per the role rules (docs/contract.md §5): the owner on everyone else, managers on
/// cashiers and stockkeepers, anyone on their own profile fields; never above one's role.
#[utoipa::path(put, path = "/api/users/employees/{id}/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    request_body = crate::employees::forms::ReplaceEmployeeRequest,
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
    change_employee(tenant, id, body, Replace::Everything).await.map(Json)
}

/// Changes the given fields: profile fields, `role`, `is_active` (false deactivates and
/// signs the employee out everywhere; true reactivates).
///
/// **Permissions**: per the role rules (docs/contract.md §5): the owner on everyone else, managers on
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
    change_employee(tenant, id, body, Replace::GivenFields).await.map(Json)
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

    queries::remove_staff_member(&tenant.tables(), tenant.conn(), store_id, id).await?;
    clear_pin_of(&mut tenant, id).await?;
    let ended = match current.employee.user_id {
        Some(user_id) => accounts::end_access_here(&mut tenant, user_id).await?,
        None => 0,
    };
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
        (status = 409, description = "no_account: the employee has no account to reset", body = ErrorBody),
        OneEmployeeRefusals,
        BodyRejections,
    ))]
pub async fn reset_employee_password(
    State(app): State<AppState>,
    scope: StoreScope,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ResetPasswordRequest>,
) -> ApiResult<NoStore<Json<PasswordResetResponse>>> {
    let policy = &app.config.password_policy;
    let done =
        set_password(&app, &scope, id, |username| PasswordReset::parse(body, policy, username)).await?;
    let body = PasswordResetResponse {
        status: "success",
        message: Message::EmployeePasswordReset.text(current_lang()).into_owned(),
        data: ResetCredentials {
            username: done.username,
            new_password: done.reset.password.expose_secret().to_owned(),
        },
        tenant: done.tenant,
    };
    Ok(NoStore(Json(body)))
}

/// Issues a set-up code for an employee's account (docs/contract.md §16): with it they
/// choose a new password themselves (`POST /auth/setup/`), within 72 hours, once. Their
/// earlier code stops working; their password and sessions stay until the code is used,
/// which ends every other session. The way to let someone who lost their password back in
/// without anyone else knowing the new one. The code is in the answer this once
/// (`Cache-Control: no-store`).
///
/// **Permissions**: as for a password reset: the owner on everyone else, managers on
/// cashiers and stockkeepers; nobody on themselves; 403 `account_elsewhere` when they also
/// belong to a store where the caller does not outrank them.
#[utoipa::path(post, path = "/api/users/employees/{id}/setup-code/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    responses(
        (status = 201, description = "Issued; the code is in the body this once", body = SetupCodeResponse),
        (status = 409, description = "no_account: the employee has no account", body = ErrorBody),
        OneEmployeeRefusals,
    ))]
pub async fn issue_setup_code(
    scope: StoreScope,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<NoStore<(StatusCode, Json<SetupCodeResponse>)>> {
    let issued = crate::staff::operations::issue_setup_code(&scope, id).await?;
    let body = SetupCodeResponse { setup: issued.setup, tenant: issued.tenant };
    Ok(NoStore((StatusCode::CREATED, Json(body))))
}

/// Gives an employee without an account (a cashier the till names) an account of their own,
/// so they can sign in: a username, and a password (generated when absent) handed over
/// once (`Cache-Control: no-store`). Their profile, role and status stay; the account
/// becomes a member of this store alone.
///
/// **Permissions**: the owner on everyone else, managers on cashiers and stockkeepers.
#[utoipa::path(post, path = "/api/users/employees/{id}/account/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    request_body = NewAccountRequest,
    responses(
        (status = 201, description = "Created; the password is in `credentials` this once", body = AccountGivenResponse),
        (status = 409, description = "username_taken, or account_exists: the employee has an account", body = ErrorBody),
        OneEmployeeRefusals,
        BodyRejections,
    ))]
pub async fn give_account(
    State(app): State<AppState>,
    scope: StoreScope,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewAccountRequest>,
) -> ApiResult<NoStore<(StatusCode, Json<AccountGivenResponse>)>> {
    // Check rights and input on a short transaction, hash with no connection held, then
    // write after checking again (see add_staff_member).
    let mut tenant = scope.begin().await?;
    account_less_target(&mut tenant, id, false).await?;
    let account = forms::account_for_employee(body, &app.config.password_policy)?;
    if account_queries::username_exists(tenant.conn(), &account.username).await? {
        return Err(ApiError::UsernameTaken);
    }
    tenant.rollback().await?;
    let password_hash = app.hasher.hash(account.password.clone()).await.map_err(ApiError::internal)?;

    let mut tenant = scope.begin().await?;
    let target = account_less_target(&mut tenant, id, true).await?;
    let new_user = NewUser {
        username: &account.username,
        password_hash: &password_hash,
        first_name: &target.employee.first_name,
        last_name: &target.employee.last_name,
        email: &account.email,
        phone: &target.employee.phone,
    };
    let user = insert_account(&mut tenant, &new_user).await?;
    let store_id = tenant.store.id;
    let employee = queries::attach_account(&tenant.tables(), tenant.conn(), store_id, id, user.id).await?;
    let mut changes = crate::audit::Changes::default();
    changes.field("username", &None, &Some(&user.username));
    record::by_caller(&mut tenant, AuditAction::EmployeeUpdated, id, changes).await?;
    let tenant_echo = TenantEcho::from(&tenant.store);
    tenant.commit().await?;
    tracing::info!(
        store.id = store_id,
        employee.id = id,
        user.id = user.id,
        "employee {id} given an account"
    );

    let credentials = Credentials {
        username: user.username.clone(),
        password: account.password.expose_secret().to_owned(),
    };
    let member = StaffMember { employee, username: Some(user.username), email: Some(user.email), ..target };
    let body = AccountGivenResponse {
        status: "success",
        message: Message::AccountGiven.text(current_lang()).into_owned(),
        data: AccountGiven { employee: EmployeeOut::new(member, store_id, current_lang()), credentials },
        tenant: tenant_echo,
    };
    Ok(NoStore((StatusCode::CREATED, Json(body))))
}

/// Employee `id`, whom the caller may edit and who has no account yet (locked with `lock`).
async fn account_less_target(tenant: &mut TenantConn, id: i64, lock: bool) -> ApiResult<StaffMember> {
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let target = staff_member(tenant, id, lock).await?;
    policy::authorize(tenant.member.role.rank, Action::EditProfile, Some(target_of(tenant, &target)))?;
    match target.employee.user_id {
        Some(_) => Err(ApiError::AccountExists),
        None => Ok(target),
    }
}

/// The store's active cashiers and stockkeepers without an account, newest first (not
/// paginated: a store has a handful). Employees with an account sign in themselves and are
/// not listed.
///
/// **Permissions**: any active member of the store, a till's session included.
#[utoipa::path(get, path = "/api/users/employees/cashiers/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    responses(
        (status = 200, description = "The cashiers a till may name", body = CashierList),
        StoreRefusals,
    ))]
pub async fn list_cashiers(scope: StoreScope) -> ApiResult<Json<CashierList>> {
    let read = scope.read::<CashierRow>(CASHIERS_SQL, |statement| statement).await?;
    let data = read.rows.into_iter().map(CashierOut::from).collect();
    Ok(Json(CashierList { status: "success", data, tenant: TenantEcho::from(&read.store) }))
}

/// Clears an employee's PIN: they cannot sign in on a till until they set a new one.
///
/// **Permissions**: who manages the employee (docs/contract.md §10's ranks); not one's own (set a new
/// one instead).
#[utoipa::path(delete, path = "/api/users/employees/{id}/pin/", tag = "tills",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    responses(
        (status = 204, description = "Cleared (or there was none)"),
        OneEmployeeRefusals,
    ))]
pub async fn clear_pin(mut tenant: TenantConn, ApiPath(id): ApiPath<i64>) -> ApiResult<StatusCode> {
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let target = staff_member(&mut tenant, id, true).await?;
    policy::authorize(tenant.member.role.rank, Action::ClearPin, Some(target_of(&tenant, &target)))?;
    clear_pin_of(&mut tenant, id).await?;
    tenant.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
