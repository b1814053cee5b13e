//! HTTP handlers for `/api/users/employees/`: list, create, read, change, remove, reset.
//!
//! Every handler reaches the store's tables through the request's transaction or a store read and asks
//! [`policy`] before it reads or writes. Writes lock the employee's rows first, so two
//! managers changing one employee apply one after the other, each seeing the other's result.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::AuditAction;
use crate::audit::record;
use crate::auth::queries::{self as account_queries, NewUser};
use crate::db::error::ResultExt;
use crate::db::page::Counted;
use crate::employees::accounts;
use crate::employees::forms::{self, NewStaffMember, PasswordReset};
use crate::employees::history;
use crate::employees::queries::{
    self, EmployeeState, NewEmployee, STAFF_MEMBER_SQL, StaffMember, StaffPage, StaffRow, find_staff_member,
};
use crate::employees::{
    AccountGiven, AccountGivenResponse, CreateEmployeeRequest, CreatedEmployee, Credentials,
    EmployeeCreatedResponse, EmployeeOut, EmployeePage, EmployeeResponse, NewAccountRequest,
    OneEmployeeRefusals, PasswordResetResponse, ResetCredentials, ResetPasswordRequest, Sex,
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
    let added = add_staff_member(&app, &scope, body).await?;
    let lang = current_lang();
    let message = if added.is_existing_user { Message::EmployeeLinked } else { Message::EmployeeCreated };
    let body = EmployeeCreatedResponse {
        status: "success",
        message: message.text(lang).into_owned(),
        data: CreatedEmployee {
            credentials: added.credentials(),
            is_existing_user: added.is_existing_user,
            employee: EmployeeOut::new(added.member, added.store_id, lang),
        },
        tenant: added.tenant,
    };
    Ok(NoStore((StatusCode::CREATED, Json(body))))
}

/// A member of staff just added, with the password of their new account (none without one).
pub struct AddedStaffMember {
    pub member: StaffMember,
    pub password: Option<SecretString>,
    pub store_id: i64,
    pub tenant: TenantEcho,
    /// Whether an existing account was added to the store (no password to hand over).
    pub is_existing_user: bool,
}

impl AddedStaffMember {
    /// The sign-in details handed over once, when an account was made.
    #[must_use]
    pub fn credentials(&self) -> Option<Credentials> {
        let username = self.member.username.clone()?;
        let password = self.password.as_ref()?.expose_secret().to_owned();
        Some(Credentials { username, password })
    }
}

/// Adds the employee `body` describes, for `POST /employees/` and `POST /users/`: a new
/// account (usernames are unique across kassa in any letter case), its membership and the
/// employee profile, or a cashier's profile alone when the body names no username. One
/// transaction writes it all.
pub async fn add_staff_member(
    app: &AppState,
    scope: &StoreScope,
    body: CreateEmployeeRequest,
) -> ApiResult<AddedStaffMember> {
    // Check first (rights, input, username) on a short transaction…
    let mut tenant = scope.begin().await?;
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let role = match NewStaffMember::wanted_role(&body) {
        Some(code) => lock_role(&tenant.tables(), tenant.conn(), &code).await?,
        None => None,
    };
    let new = NewStaffMember::parse(body, &app.config.password_policy, role.is_some())?;
    let role = role.ok_or_else(|| ApiError::field("role", Message::RoleInvalid))?;
    policy::authorize(tenant.member.role.rank, Action::Create { rank: role.rank }, None)?;
    require_may_give(&tenant, &role)?;
    let (mut tenant, role, password_hash) = match &new.account {
        // Nothing to hash: write on this transaction, the role still locked.
        None => (tenant, role, None),
        Some(account) => {
            if let Some(existing) = queries::find_account_id(tenant.conn(), &account.username).await? {
                return add_existing_account(tenant, &new, role, existing, account.password_given).await;
            }
            if account_queries::username_exists(tenant.conn(), &account.username).await? {
                return Err(ApiError::UsernameTaken);
            }
            tenant.rollback().await?;
            // …hash with no pooled connection held…
            let hash = app.hasher.hash(account.password.clone()).await.map_err(ApiError::internal)?;
            // …then write, checking the caller's rights and the role again: either may have
            // changed meanwhile (the role stays locked until commit).
            let mut tenant = scope.begin().await?;
            let role = store_role(&mut tenant, &new.role).await?;
            policy::authorize(tenant.member.role.rank, Action::Create { rank: role.rank }, None)?;
            require_may_give(&tenant, &role)?;
            (tenant, role, Some(hash))
        }
    };
    let member = insert_staff_member(&mut tenant, &new, role, password_hash.as_deref()).await?;
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
    let password = new.account.map(|account| account.password);
    Ok(AddedStaffMember { member, password, store_id, tenant: tenant_echo, is_existing_user: false })
}

/// Adds the existing account `user_id` that `new` names to the store with `new`'s role and
/// profile, when the caller may ([`accounts::may_add_existing_account`]) and the body gave
/// no password (its password is its own); anything else is 409 `username_taken`, as for a
/// new account. The account's names, email and password stay as they are.
async fn add_existing_account(
    mut tenant: TenantConn,
    new: &NewStaffMember,
    role: StoreRole,
    user_id: i64,
    password_given: bool,
) -> ApiResult<AddedStaffMember> {
    if password_given || !accounts::may_add_existing_account(&mut tenant, user_id).await? {
        return Err(ApiError::UsernameTaken);
    }
    let account = account_queries::find_user(tenant.conn(), user_id).await?.ok_or(ApiError::UsernameTaken)?;
    let store_id = tenant.store.id;
    queries::insert_membership(tenant.conn(), user_id, store_id, &role.code).await?;
    let employee = queries::rejoin_employee(
        &tenant.tables(),
        tenant.conn(),
        &NewEmployee {
            user_id: Some(user_id),
            role: &role.code,
            first_name: &account.first_name,
            last_name: &account.last_name,
            phone: &new.phone,
            position: &new.position,
            sex: new.sex.map(Sex::as_str),
            hired_at: new.hired_at,
        },
    )
    .await?;
    let member = StaffMember {
        employee,
        role: Arc::new(role),
        username: Some(account.username),
        email: Some(account.email),
    };
    record::by_caller(
        &mut tenant,
        AuditAction::EmployeeCreated,
        member.employee.id,
        history::created(&member),
    )
    .await?;
    let tenant_echo = TenantEcho::from(&tenant.store);
    tenant.commit().await?;
    tracing::info!(
        store.id = store_id,
        employee.id = member.employee.id,
        "an existing account added as {}",
        new.role
    );
    Ok(AddedStaffMember { member, password: None, store_id, tenant: tenant_echo, is_existing_user: true })
}

/// Writes the account (when `new` has one, with `password_hash`), membership, employee row
/// and audit event of `new`.
async fn insert_staff_member(
    tenant: &mut TenantConn,
    new: &NewStaffMember,
    role: StoreRole,
    password_hash: Option<&str>,
) -> ApiResult<StaffMember> {
    let store_id = tenant.store.id;
    let user = match (&new.account, password_hash) {
        (Some(account), Some(password_hash)) => {
            let user = insert_account(
                tenant,
                &NewUser {
                    username: &account.username,
                    password_hash,
                    first_name: &new.first_name,
                    last_name: &new.last_name,
                    email: &account.email,
                    phone: &new.phone,
                },
            )
            .await?;
            queries::insert_membership(tenant.conn(), user.id, store_id, &role.code).await?;
            Some(user)
        }
        _ => None,
    };
    let employee = queries::insert_employee(
        &tenant.tables(),
        tenant.conn(),
        &NewEmployee {
            user_id: user.as_ref().map(|user| user.id),
            role: &role.code,
            first_name: &new.first_name,
            last_name: &new.last_name,
            phone: &new.phone,
            position: &new.position,
            sex: new.sex.map(Sex::as_str),
            hired_at: new.hired_at,
        },
    )
    .await?;
    let (username, email) = match user {
        Some(user) => (Some(user.username), Some(user.email)),
        None => (None, None),
    };
    let member = StaffMember { employee, role: Arc::new(role), username, email };
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

/// A password that [`set_password`] wrote.
pub struct PasswordSet {
    /// The employee whose account it is, as read before the write.
    pub target: StaffMember,
    /// Their account's username.
    pub username: String,
    pub reset: PasswordReset,
    pub tenant: TenantEcho,
}

/// Sets the password of employee `id`'s account to the one `parse` makes of the request
/// (given the account's username), for a caller who outranks them here and in every store
/// they belong to (nobody on themselves): every session of the account ends, and so does
/// their PIN here; the event is audited. The one way staff set someone else's password.
pub async fn set_password(
    app: &AppState,
    scope: &StoreScope,
    id: i64,
    parse: impl FnOnce(&str) -> ApiResult<PasswordReset>,
) -> ApiResult<PasswordSet> {
    let store_id = scope.store.id;
    // Check rights and input on a short transaction, hash with no connection held, then
    // write after checking again (see create_employee).
    let mut tenant = scope.begin().await?;
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let target = staff_member(&mut tenant, id, false).await?;
    policy::authorize(tenant.member.role.rank, Action::ResetPassword, Some(target_of(&tenant, &target)))?;
    let (Some(user_id), Some(username)) = (target.employee.user_id, target.username.as_deref()) else {
        return Err(ApiError::NoAccount);
    };
    accounts::require_reach_over_account(&mut tenant, user_id).await?;
    // The shared staff account's password changes by rotation alone, which keeps the copy
    // its owner reads back in step with it.
    if account_queries::is_shared_staff_account(tenant.conn(), user_id).await? {
        return Err(ApiError::PermissionDenied);
    }
    let reset = parse(username)?;
    tenant.rollback().await?;
    let password_hash = app.hasher.hash(reset.password.clone()).await.map_err(ApiError::internal)?;

    let mut tenant = scope.begin().await?;
    let target = staff_member(&mut tenant, id, true).await?;
    policy::authorize(tenant.member.role.rank, Action::ResetPassword, Some(target_of(&tenant, &target)))?;
    let (Some(user_id), Some(username)) = (target.employee.user_id, target.username.clone()) else {
        return Err(ApiError::NoAccount);
    };
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
    Ok(PasswordSet { target, username, reset, tenant: tenant_echo })
}

/// Applies `body` to employee `id` under the role rules (every consequence authorized, no
/// role given that the caller does not hold), with its audit events, and commits: the one
/// way an employee row changes, for the employee API and the users API alike.
pub async fn change_employee(
    mut tenant: TenantConn,
    id: i64,
    body: UpdateEmployeeRequest,
    replace: Replace,
) -> ApiResult<EmployeeResponse> {
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

    let row = queries::update_staff_member(&tenant.tables(), tenant.conn(), store_id, id, &after).await?;
    if !after.is_active && before.is_active {
        clear_pin_of(&mut tenant, id).await?;
        let ended = match row.user_id {
            Some(user_id) => accounts::end_access_here(&mut tenant, user_id).await?,
            None => 0,
        };
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
    Target { rank: member.role.rank, is_self: member.employee.user_id == Some(tenant.member.user_id) }
}

/// Employee `id` of the store with their role as the store defines it, locked with `lock`
/// (see [`find_staff_member`]); 404 when not on the staff.
pub async fn staff_member(tenant: &mut TenantConn, id: i64, lock: bool) -> ApiResult<StaffMember> {
    let store_id = tenant.store.id;
    let row = find_staff_member(&tenant.tables(), tenant.conn(), store_id, id, lock)
        .await?
        .ok_or(ApiError::NotFound)?;
    row.with_role(&tenant.roles).map_err(ApiError::internal)
}

/// Clears employee `id`'s PIN, if any, with its audit event (a password reset, a
/// deactivation or a removal ends the PIN too), and ends the sessions it opened.
pub async fn clear_pin_of(tenant: &mut TenantConn, id: i64) -> ApiResult<()> {
    if queries::clear_pin(&tenant.tables(), tenant.conn(), id).await? {
        let store_id = tenant.store.id;
        queries::revoke_pin_sessions(&tenant.tables(), tenant.conn(), store_id, id).await?;
        record::by_caller(tenant, AuditAction::PinCleared, id, history::pin_changed(true, false)).await?;
    }
    Ok(())
}

/// Role `code` as the store defines it, locked until the transaction ends so that it is not
/// deleted or re-ranked while being given (`roles::queries`); a code the store does not
/// have is a validation error on `role` (docs/contract.md §10).
async fn store_role(tenant: &mut TenantConn, code: &str) -> ApiResult<StoreRole> {
    lock_role(&tenant.tables(), tenant.conn(), code)
        .await?
        .ok_or_else(|| ApiError::field("role", Message::RoleInvalid))
}

/// Commits and answers with `member` and the tenant echo.
async fn respond_with(tenant: TenantConn, member: StaffMember) -> ApiResult<EmployeeResponse> {
    let store_id = tenant.store.id;
    let tenant_echo = TenantEcho::from(&tenant.store);
    tenant.commit().await?;
    Ok(EmployeeResponse { employee: EmployeeOut::new(member, store_id, current_lang()), tenant: tenant_echo })
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

/// Writes the account `new` for an employee; 409 `username_taken` when a concurrent request
/// took the name since it was checked.
async fn insert_account(tenant: &mut TenantConn, new: &NewUser<'_>) -> ApiResult<account_queries::UserRow> {
    account_queries::insert_user(tenant.conn(), new)
        .await
        .on_any_constraint(account_queries::USERNAME_CONSTRAINTS, |_| ApiError::UsernameTaken)
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
