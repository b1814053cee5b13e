//! HTTP handlers for `/api/users/employees/`: list, create, read, change, remove, reset.
//!
//! Every handler runs in the store's schema through the tenant transaction and asks
//! [`policy`] before it reads or writes. Writes lock the employee's rows first, so two
//! managers changing one employee apply one after the other, each seeing the other's result.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};

use crate::audit::queries::{NewAuditEvent, record};
use crate::audit::{AuditAction, Changes};
use crate::auth::generate::generate_password;
use crate::auth::queries::{self as account_queries, NewUser};
use crate::db::error::ResultExt;
use crate::employees::queries::{
    self, CountedStaffMember, EmployeeFilter, EmployeeState, NewEmployee, StaffMember, StaffPage,
    find_staff_member,
};
use crate::employees::{
    CreateEmployeeRequest, CreatedEmployee, Credentials, EmployeeCreatedResponse, EmployeeOut, EmployeePage,
    EmployeeResponse, PasswordResetResponse, ResetCredentials, ResetPasswordRequest, UpdateEmployeeRequest,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiJson;
use crate::http::openapi::{BodyRejections, BooleanFilter, PositiveIntegerFilter, RoleFilter};
use crate::http::pagination::ListQuery;
use crate::http::path::ApiPath;
use crate::i18n::{Message, current_lang};
use crate::roles::Role;
use crate::roles::policy::{self, Action, Target};
use crate::state::AppState;

use crate::tenant::TenantEcho;
use crate::tenant::cache::TenantStore;
use crate::tenant::conn::{StoreScope, TenantConn};
use crate::validate::{Form, MAX_NAME_CHARS, Replace};

/// Longest `search` text.
const MAX_SEARCH_CHARS: usize = 150;

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
    let mut form = Form::new();
    let page = query.page_request(&mut form);
    let filter = EmployeeFilter {
        role: query.get("role").and_then(|role| parse_role(&mut form, "role", role)),
        is_active: form.boolean("is_active", query.get("is_active")),
        search: query.get("search").map(str::trim).filter(|s| !s.is_empty()).map(|search| {
            if search.chars().count() > MAX_SEARCH_CHARS {
                form.add("search", Message::FieldTooLong { max: MAX_SEARCH_CHARS });
            }
            // `%00` decodes to NUL, which PostgreSQL refuses in text (SQLSTATE 22021).
            if search.contains('\0') {
                form.add("search", Message::FieldInvalid);
            }
            search.to_owned()
        }),
    };
    if let Err(invalid) = form.finish(()) {
        // Rights come first, as on every other route: a cashier's malformed query is 403.
        let tenant = scope.begin().await?;
        policy::authorize(tenant.member.role, Action::View, None)?;
        return Err(invalid);
    }

    let staff =
        StaffPage { store_id: scope.store.id, filter: &filter, limit: page.size, offset: page.offset() };
    let (store, members, total) = if staff.has_search() {
        search_staff(scope, &staff).await?
    } else {
        read_staff(scope, &staff).await?
    };
    let lang = current_lang();
    Ok(Json(EmployeePage {
        page: query.links(page, total)?,
        results: members.into_iter().map(|member| EmployeeOut::new(member, store.id, lang)).collect(),
        tenant: TenantEcho::from(&store),
    }))
}

/// A page without search text: one round trip ([`crate::tenant::read`]). Past the first
/// page the count travels along, since an empty page carries none.
async fn read_staff(
    scope: StoreScope,
    staff: &StaffPage<'_>,
) -> ApiResult<(TenantStore, Vec<StaffMember>, i64)> {
    let mut selects = vec![staff.select_sql()];
    if staff.offset > 0 {
        selects.push(staff.count_sql());
    }
    let mut read = scope.read(&selects).await?;
    policy::authorize(read.member.role, Action::View, None)?;
    let rows: Vec<CountedStaffMember> = read.rows()?;
    let total = match rows.first() {
        Some(row) => row.total,
        None if staff.offset > 0 => read.rows::<Total>()?.first().map_or(0, |count| count.total),
        None => 0,
    };
    Ok((read.store, rows.into_iter().map(|row| row.member).collect(), total))
}

/// A page matching search text, which travels as a bound parameter on a [`TenantConn`].
async fn search_staff(
    scope: StoreScope,
    staff: &StaffPage<'_>,
) -> ApiResult<(TenantStore, Vec<StaffMember>, i64)> {
    let mut tenant = scope.begin().await?;
    policy::authorize(tenant.member.role, Action::View, None)?;
    let (members, total) = staff.fetch(tenant.conn()).await?;
    let store = tenant.store.clone();
    tenant.commit().await?;
    Ok((store, members, total))
}

/// The row of [`StaffPage::count_sql`].
#[derive(sqlx::FromRow)]
struct Total {
    total: i64,
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
) -> ApiResult<Response> {
    // Check first (rights, input, username) on a short transaction…
    let mut tenant = scope.begin().await?;
    policy::authorize(tenant.member.role, Action::View, None)?;
    let new = NewEmployeeForm::parse(body, &app)?;
    policy::authorize(tenant.member.role, Action::Create { role: new.role }, None)?;
    if account_queries::username_exists(tenant.conn(), &new.username).await? {
        return Err(ApiError::UsernameTaken);
    }
    tenant.rollback().await?;
    // …hash with no pooled connection held…
    let password_hash = app.hasher.hash(new.password.clone()).await.map_err(ApiError::internal)?;
    // …then write, checking the caller's rights again: they may have changed meanwhile.
    let mut tenant = scope.begin().await?;
    policy::authorize(tenant.member.role, Action::Create { role: new.role }, None)?;
    let member = insert_staff_member(&mut tenant, &new, &password_hash).await?;
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
    Ok(no_store((StatusCode::CREATED, Json(body))))
}

/// A create request that passed validation.
struct NewEmployeeForm {
    username: String,
    password: SecretString,
    role: Role,
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    position: String,
    hired_at: Option<chrono::NaiveDate>,
}

impl NewEmployeeForm {
    fn parse(body: CreateEmployeeRequest, app: &AppState) -> ApiResult<Self> {
        let policy = &app.config.password_policy;
        let mut form = Form::new();
        let username = form.username("username", body.username);
        let first_name = form.required("first_name", body.first_name, MAX_NAME_CHARS);
        let role = match body.role.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()) {
            Some(role) => parse_role(&mut form, "role", &role),
            None => {
                form.add("role", Message::FieldRequired);
                None
            }
        };
        let last_name = form.optional("last_name", body.last_name, MAX_NAME_CHARS);
        let email = form.email("email", body.email);
        let phone = form.phone("phone", body.phone);
        let position = form.optional("position", body.position, MAX_NAME_CHARS);
        let password = match body.password {
            Some(given) => {
                SecretString::from(form.new_password("password", Some(given), policy, &[&username]))
            }
            None => generate_password(policy, &[&username]),
        };
        form.finish(())?;
        Ok(NewEmployeeForm {
            username,
            password,
            // Present: a missing or unknown role was reported above.
            role: role.unwrap_or(Role::Cashier),
            first_name,
            last_name,
            email,
            phone,
            position,
            hired_at: body.hired_at,
        })
    }
}

/// Writes the account, membership, employee row and audit event of `new`.
async fn insert_staff_member(
    tenant: &mut TenantConn,
    new: &NewEmployeeForm,
    password_hash: &str,
) -> ApiResult<StaffMember> {
    let (store_id, actor) = (tenant.store.id, tenant.member.user_id);
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
    .on_constraint("users_username_key", |_| ApiError::UsernameTaken)?;
    queries::insert_membership(tenant.conn(), user.id, store_id, new.role).await?;
    let employee = queries::insert_employee(
        tenant.conn(),
        &NewEmployee {
            user_id: user.id,
            role: new.role,
            first_name: &new.first_name,
            last_name: &new.last_name,
            phone: &new.phone,
            position: &new.position,
            hired_at: new.hired_at,
        },
    )
    .await?;
    let mut changes = Changes::default();
    changes.created("username", &user.username);
    changes.created("role", new.role.as_str());
    for (field, value) in [
        ("first_name", &employee.first_name),
        ("last_name", &employee.last_name),
        ("email", &user.email),
        ("phone", &employee.phone),
        ("position", &employee.position),
    ] {
        if !value.is_empty() {
            changes.created(field, value);
        }
    }
    changes.created("hired_at", &employee.hired_at);
    let event = NewAuditEvent {
        actor_user_id: Some(actor),
        action: AuditAction::EmployeeCreated,
        employee_id: Some(employee.id),
        changes,
    };
    record(tenant.conn(), event).await?;
    Ok(StaffMember { employee, username: user.username, email: user.email })
}

/// One employee of the store.
///
/// **Permissions**: the store's owner and managers.
#[utoipa::path(get, path = "/api/users/employees/{id}/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    responses(
        (status = 200, description = "The employee", body = EmployeeResponse),
        (status = 400, description = "validation_error, per field (`id` too, when it is not a whole number in range), or missing_tenant_key", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key, inactive_tenant, not_a_member, permission_denied or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: no such employee in this store", body = ErrorBody),
    ))]
pub async fn get_employee(
    mut tenant: TenantConn,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<EmployeeResponse>> {
    policy::authorize(tenant.member.role, Action::View, None)?;
    let store_id = tenant.store.id;
    let member = find_staff_member(tenant.conn(), store_id, id, false).await?.ok_or(ApiError::NotFound)?;
    respond_with(tenant, member).await
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
        (status = 400, description = "validation_error, per field (`id` too, when it is not a whole number in range), or missing_tenant_key", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key, inactive_tenant, not_a_member, permission_denied or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: no such employee in this store", body = ErrorBody),
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
        (status = 400, description = "validation_error, per field (`id` too, when it is not a whole number in range), or missing_tenant_key", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key, inactive_tenant, not_a_member, permission_denied or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: no such employee in this store", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn update_employee(
    tenant: TenantConn,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateEmployeeRequest>,
) -> ApiResult<Json<EmployeeResponse>> {
    change_employee(tenant, id, body, Replace::GivenFields).await
}

/// Takes an employee off the store's staff: their membership ends and they are signed out
/// everywhere; the employee row stays, inactive, for the history that refers to it. The
/// account remains (it may work in other stores).
///
/// **Permissions**: the owner on everyone else, managers on cashiers and stockkeepers.
#[utoipa::path(delete, path = "/api/users/employees/{id}/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    responses(
        (status = 204, description = "Removed from the store"),
        (status = 400, description = "validation_error, per field (`id` too, when it is not a whole number in range), or missing_tenant_key", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key, inactive_tenant, not_a_member, permission_denied or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: no such employee in this store", body = ErrorBody),
    ))]
pub async fn remove_employee(mut tenant: TenantConn, ApiPath(id): ApiPath<i64>) -> ApiResult<StatusCode> {
    policy::authorize(tenant.member.role, Action::View, None)?;
    let store_id = tenant.store.id;
    let current = find_staff_member(tenant.conn(), store_id, id, true).await?.ok_or(ApiError::NotFound)?;
    policy::authorize(tenant.member.role, Action::Remove, Some(target_of(&tenant, &current)))?;

    queries::remove_staff_member(tenant.conn(), store_id, id).await?;
    let ended = account_queries::revoke_user_sessions(tenant.conn(), current.employee.user_id, None).await?;
    let mut changes = Changes::default();
    changes.field("is_active", &current.employee.is_active, &false);
    audit(&mut tenant, AuditAction::EmployeeRemoved, id, changes).await?;
    tenant.commit().await?;
    tracing::info!(store.id = store_id, employee.id = id, sessions.revoked = ended, "employee {id} removed");
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a new password for an employee (generated when `new_password` is absent) and signs
/// them out everywhere. The password is in the response once (`Cache-Control: no-store`).
///
/// **Permissions**: the owner on everyone else, managers on cashiers and stockkeepers;
/// nobody on themselves (change-password is for that).
#[utoipa::path(post, path = "/api/users/employees/{id}/reset-password/", tag = "employees",
    security(("bearerAuth" = [], "tenantKey" = [])),
    params(("id" = i64, Path, description = "Employee id (numbered per store)")),
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Reset; the new password is in the body this once", body = PasswordResetResponse),
        (status = 400, description = "validation_error, per field (`id` too, when it is not a whole number in range), or missing_tenant_key", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key, inactive_tenant, not_a_member, permission_denied or password_change_required", body = ErrorBody),
        (status = 404, description = "not_found: no such employee in this store", body = ErrorBody),
        BodyRejections,
    ))]
pub async fn reset_employee_password(
    State(app): State<AppState>,
    scope: StoreScope,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ResetPasswordRequest>,
) -> ApiResult<Response> {
    let store_id = scope.store.id;
    // Check rights and input on a short transaction, hash with no connection held, then
    // write after checking again (see create_employee).
    let mut tenant = scope.begin().await?;
    policy::authorize(tenant.member.role, Action::View, None)?;
    let target = find_staff_member(tenant.conn(), store_id, id, false).await?.ok_or(ApiError::NotFound)?;
    policy::authorize(tenant.member.role, Action::ResetPassword, Some(target_of(&tenant, &target)))?;
    let password = match body.new_password {
        None => generate_password(&app.config.password_policy, &[&target.username]),
        Some(given) => {
            let mut form = Form::new();
            let policy = &app.config.password_policy;
            let given = form.new_password("new_password", Some(given), policy, &[&target.username]);
            form.finish(SecretString::from(given))?
        }
    };
    let must_change = body.must_change_password.unwrap_or(false);
    tenant.rollback().await?;
    let password_hash = app.hasher.hash(password.clone()).await.map_err(ApiError::internal)?;

    let mut tenant = scope.begin().await?;
    let target = find_staff_member(tenant.conn(), store_id, id, true).await?.ok_or(ApiError::NotFound)?;
    policy::authorize(tenant.member.role, Action::ResetPassword, Some(target_of(&tenant, &target)))?;
    let user_id = target.employee.user_id;
    let account = account_queries::find_user(tenant.conn(), user_id).await?.ok_or(ApiError::NotFound)?;
    account_queries::update_password_hash(tenant.conn(), user_id, &password_hash, must_change).await?;
    let ended = account_queries::revoke_user_sessions(tenant.conn(), user_id, None).await?;
    let mut changes = Changes::default();
    changes.field("must_change_password", &account.must_change_password, &must_change);
    audit(&mut tenant, AuditAction::EmployeePasswordReset, id, changes).await?;
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
            new_password: password.expose_secret().to_owned(),
        },
        tenant: tenant_echo,
    };
    Ok(no_store(Json(body)))
}

async fn change_employee(
    mut tenant: TenantConn,
    id: i64,
    body: UpdateEmployeeRequest,
    replace: Replace,
) -> ApiResult<Json<EmployeeResponse>> {
    let actor = tenant.member.role;
    policy::authorize(actor, Action::View, None)?;
    let store_id = tenant.store.id;
    let current = find_staff_member(tenant.conn(), store_id, id, true).await?.ok_or(ApiError::NotFound)?;
    let target = target_of(&tenant, &current);
    policy::authorize(actor, Action::EditProfile, Some(target))?;
    let before = EmployeeState::from(&current.employee);
    let after = parse_changes(body, &current, &before, store_id, replace)?;
    // Every consequence of the body is authorized, not just the presence of fields: a PUT
    // that repeats the current role changes nothing and needs no right to change it.
    if after.role != before.role {
        policy::authorize(actor, Action::ChangeRole { to: after.role }, Some(target))?;
    }
    if after.is_active != before.is_active {
        let action = if after.is_active { Action::Activate } else { Action::Deactivate };
        policy::authorize(actor, action, Some(target))?;
    }
    if after == before {
        return respond_with(tenant, current).await;
    }

    let row = queries::update_staff_member(tenant.conn(), store_id, id, &after).await?;
    if !after.is_active && before.is_active {
        let ended = account_queries::revoke_user_sessions(tenant.conn(), row.user_id, None).await?;
        tracing::info!(
            store.id = store_id,
            employee.id = id,
            sessions.revoked = ended,
            "employee {id} deactivated"
        );
    }
    for (action, changes) in audit_events_for(&before, &after) {
        audit(&mut tenant, action, id, changes).await?;
    }
    let member = StaffMember { employee: row, ..current };
    respond_with(tenant, member).await
}

/// The employee's state after applying `body` to `before`, every field validated.
fn parse_changes(
    body: UpdateEmployeeRequest,
    current: &StaffMember,
    before: &EmployeeState,
    store_id: i64,
    replace: Replace,
) -> ApiResult<EmployeeState> {
    let mut form = Form::new();
    let immutable = [
        ("username", body.username, serde_json::json!(current.username)),
        ("email", body.email, serde_json::json!(current.email)),
        ("user", body.user, serde_json::json!(current.employee.user_id)),
        ("store", body.store, serde_json::json!(store_id)),
    ];
    for (field, given, actual) in immutable {
        if given.is_some_and(|value| value != actual) {
            form.add(field, Message::FieldImmutable);
        }
    }
    let required = |form: &mut Form, field: &str, value: Option<String>, current: &str| match (replace, value)
    {
        (Replace::GivenFields, None) => current.to_owned(),
        (_, value) => form.required(field, value, MAX_NAME_CHARS),
    };
    let optional = |form: &mut Form, field: &str, value: Option<String>, current: &str| match (replace, value)
    {
        (Replace::GivenFields, None) => current.to_owned(),
        (_, value) => form.optional(field, value, MAX_NAME_CHARS),
    };
    let first_name = required(&mut form, "first_name", body.first_name, &before.first_name);
    let last_name = optional(&mut form, "last_name", body.last_name, &before.last_name);
    let position = optional(&mut form, "position", body.position, &before.position);
    let phone = match (replace, body.phone) {
        (Replace::GivenFields, None) => before.phone.clone(),
        (_, phone) => form.phone("phone", phone),
    };
    let role = match (replace, body.role.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty())) {
        (Replace::GivenFields, None) => Some(before.role),
        (Replace::Everything, None) => {
            form.add("role", Message::FieldRequired);
            None
        }
        (_, Some(role)) => parse_role(&mut form, "role", &role),
    };
    form.finish(())?;
    Ok(EmployeeState {
        role: role.unwrap_or(before.role),
        first_name,
        last_name,
        phone,
        position,
        is_active: body.is_active.unwrap_or(before.is_active),
        hired_at: body.hired_at.unwrap_or(before.hired_at),
    })
}

/// The audit events describing `before` → `after`: role and status changes get events of
/// their own (they are what an owner looks for), the profile fields share one.
fn audit_events_for(before: &EmployeeState, after: &EmployeeState) -> Vec<(AuditAction, Changes)> {
    let mut events = Vec::new();
    if before.role != after.role {
        let mut changes = Changes::default();
        changes.field("role", before.role.as_str(), after.role.as_str());
        events.push((AuditAction::EmployeeRoleChanged, changes));
    }
    if before.is_active != after.is_active {
        let mut changes = Changes::default();
        changes.field("is_active", &before.is_active, &after.is_active);
        let action =
            if after.is_active { AuditAction::EmployeeActivated } else { AuditAction::EmployeeDeactivated };
        events.push((action, changes));
    }
    let mut profile = Changes::default();
    profile.field("first_name", &before.first_name, &after.first_name);
    profile.field("last_name", &before.last_name, &after.last_name);
    profile.field("phone", &before.phone, &after.phone);
    profile.field("position", &before.position, &after.position);
    profile.field("hired_at", &before.hired_at, &after.hired_at);
    if !profile.is_empty() {
        events.push((AuditAction::EmployeeUpdated, profile));
    }
    events
}

/// `role` as one of the four roles; anything else is a validation error on `field`.
fn parse_role(form: &mut Form, field: &str, role: &str) -> Option<Role> {
    match role.parse::<Role>() {
        Ok(role) => Some(role),
        Err(_) => {
            form.add(field, Message::RoleInvalid);
            None
        }
    }
}

/// The policy's view of `member` as the target of the caller's action.
fn target_of(tenant: &TenantConn, member: &StaffMember) -> Target {
    Target { role: member.employee.role(), is_self: member.employee.user_id == tenant.member.user_id }
}

async fn audit(
    tenant: &mut TenantConn,
    action: AuditAction,
    employee_id: i64,
    changes: Changes,
) -> ApiResult<()> {
    let event = NewAuditEvent {
        actor_user_id: Some(tenant.member.user_id),
        action,
        employee_id: Some(employee_id),
        changes,
    };
    record(tenant.conn(), event).await.map_err(ApiError::from)
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

/// A response carrying a password: no cache may keep it (SPEC: plaintext passwords only
/// in the one response that hands them over).
fn no_store(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
