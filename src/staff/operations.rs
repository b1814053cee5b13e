//! What changes a member of staff, for `/employees/` and `/users/` alike: adding one,
//! changing one, setting their password, clearing their PIN. Each checks the caller's rights
//! ([`policy`]) before it reads or writes, and locks the employee's rows first, so two
//! managers changing one employee apply one after the other, each seeing the other's result.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::access::StoreRole;
use crate::access::grants;
use crate::access::policy::{self, Action, Target};
use crate::access::queries::lock_role;
use crate::audit::AuditAction;
use crate::audit::record;
use crate::credentials::queries::{self as account_queries, NewUser};
use crate::db::error::ResultExt;
use crate::error::{ApiError, ApiResult};
use crate::i18n::{Message, current_lang};
use crate::staff::accounts;
use crate::staff::forms::{self, NewStaffMember, PasswordReset};
use crate::staff::history;
use crate::staff::queries::{self, EmployeeState, NewEmployee, StaffMember, find_staff_member};
use crate::staff::setup_codes;
use crate::staff::{
    CreateEmployeeRequest, Credentials, EmployeeOut, EmployeeResponse, SetupCodeOut, Sex,
    UpdateEmployeeRequest,
};
use crate::state::AppState;
use crate::tenant::TenantEcho;
use crate::tenant::conn::{StoreScope, TenantConn};
use crate::validate::Replace;

/// A member of staff just added, with the password of their new account (none without one,
/// and none when they choose it with a set-up code).
pub struct AddedStaffMember {
    pub member: StaffMember,
    pub password: Option<SecretString>,
    /// The set-up code the body asked for instead of a password (docs/contract.md §16).
    pub setup: Option<SetupCodeOut>,
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
                // An existing account keeps its own password: neither a new one nor a
                // set-up code for it is this store's to give.
                let sets_password = account.password_given || new.setup_code;
                return add_existing_account(tenant, &new, role, existing, sets_password).await;
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
    let setup = match new.setup_code {
        true => Some(setup_codes::issue(&mut tenant, &member).await?),
        false => None,
    };
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
    // With a set-up code the account's generated password is never handed over: nobody
    // knows it, so nothing signs in until the employee chooses their own.
    let password = new.account.filter(|_| !new.setup_code).map(|account| account.password);
    Ok(AddedStaffMember { member, password, setup, store_id, tenant: tenant_echo, is_existing_user: false })
}

/// Adds the existing account `user_id` that `new` names to the store with `new`'s role and
/// profile, when the caller may ([`accounts::may_add_existing_account`]) and the body gave
/// no password nor asked for a set-up code (its password is its own); anything else is 409
/// `username_taken`, as for a new account. The account's names, email and password stay as they are.
async fn add_existing_account(
    mut tenant: TenantConn,
    new: &NewStaffMember,
    role: StoreRole,
    user_id: i64,
    sets_password: bool,
) -> ApiResult<AddedStaffMember> {
    if sets_password || !accounts::may_add_existing_account(&mut tenant, user_id).await? {
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
    Ok(AddedStaffMember {
        member,
        password: None,
        setup: None,
        store_id,
        tenant: tenant_echo,
        is_existing_user: true,
    })
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

/// A set-up code just issued, with the tenant echo of its store.
pub struct IssuedSetupCode {
    pub setup: SetupCodeOut,
    pub tenant: TenantEcho,
}

/// Issues a new set-up code for employee `id`'s account, for a caller who may reset their
/// password (the same reach: they outrank them here and in every store they belong to), and
/// commits; the account's earlier code stops working. 409 `no_account` for an employee
/// without one; the store's shared staff account is refused, as its resets are.
pub async fn issue_setup_code(scope: &StoreScope, id: i64) -> ApiResult<IssuedSetupCode> {
    let mut tenant = scope.begin().await?;
    policy::authorize(tenant.member.role.rank, Action::View, None)?;
    let target = staff_member(&mut tenant, id, true).await?;
    policy::authorize(tenant.member.role.rank, Action::ResetPassword, Some(target_of(&tenant, &target)))?;
    let Some(user_id) = target.employee.user_id else {
        return Err(ApiError::NoAccount);
    };
    accounts::require_reach_over_account(&mut tenant, user_id).await?;
    if account_queries::is_shared_staff_account(tenant.conn(), user_id).await? {
        return Err(ApiError::PermissionDenied);
    }
    let setup = setup_codes::issue(&mut tenant, &target).await?;
    let tenant_echo = TenantEcho::from(&tenant.store);
    let store_id = tenant.store.id;
    tenant.commit().await?;
    tracing::info!(store.id = store_id, employee.id = id, "a set-up code issued for employee {id}");
    Ok(IssuedSetupCode { setup, tenant: tenant_echo })
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
/// they do not hold (`access::grants`).
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
/// deleted or re-ranked while being given (`access::queries`); a code the store does not
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

/// Writes the account `new` for an employee; 409 `username_taken` when a concurrent request
/// took the name since it was checked.
pub async fn insert_account(
    tenant: &mut TenantConn,
    new: &NewUser<'_>,
) -> ApiResult<account_queries::UserRow> {
    account_queries::insert_user(tenant.conn(), new)
        .await
        .on_any_constraint(account_queries::USERNAME_CONSTRAINTS, |_| ApiError::UsernameTaken)
}
