//! The request and response types of `/employees/`, and the parsing only it does (the list
//! filters, an account given later). What `/users/` shares with it is `staff::forms`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::RoleCode;
use crate::config::PasswordPolicy;
use crate::error::ApiResult;
use crate::http::openapi::{NOT_AUTHENTICATED, refusal_set};
use crate::http::pagination::{ListQuery, PageLinks};
use crate::staff::forms::{NewAccount, new_account, parse_role, search_text};
use crate::staff::queries::EmployeeFilter;
use crate::staff::{CashierOut, Credentials, EmployeeOut, SetupCodeOut, Sex};
use crate::tenant::TenantEcho;
use crate::validate::Form;
use crate::validate::fields::{Email, NonBlank, Phone};

/// `{status, data: [cashier…], tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CashierList {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: Vec<CashierOut>,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// The list filters of `query` (`role`, `is_active`, `search`), their problems added to `form`.
pub fn list_filter(query: &ListQuery, form: &mut Form) -> EmployeeFilter {
    EmployeeFilter {
        role: query.get("role").and_then(|role| parse_role(form, "role", role)),
        is_active: form.boolean("is_active", query.get("is_active")),
        search: search_text(query, form, "search"),
    }
}

/// The account for an employee who has none (`POST /employees/{id}/account/`).
pub fn account_for_employee(body: NewAccountRequest, policy: &PasswordPolicy) -> ApiResult<NewAccount> {
    let mut form = Form::new();
    let account = new_account(&mut form, body.username, body.password, body.email, policy);
    form.finish(account)
}

refusal_set!(
    /// The refusals of every route on one employee (`/employees/{id}/…`), listed in their
    /// `responses(…)`: the same four answers, described once.
    OneEmployeeRefusals:
    400 => "validation_error, per field, or missing_tenant_key",
    401 => NOT_AUTHENTICATED,
    403 => "invalid_tenant_key, inactive_tenant, not_a_member, permission_denied (also a till session on an account-wide route), account_elsewhere (a password reset of someone who also works where the caller does not outrank them) or password_change_required",
    404 => "not_found: no such employee in this store (or `id` is not a whole number in range)",
);

/// `PUT /employees/{id}/`: the whole profile; `first_name` and `role` are required, and
/// `last_name`, `phone` and `position` left out become empty. The handler reads it as an
/// [`UpdateEmployeeRequest`] (so the account's fields are taken back unchanged here too);
/// this type only documents what PUT requires.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReplaceEmployeeRequest {
    #[schema(required = true, schema_with = NonBlank::<150>::required)]
    first_name: Option<String>,
    #[schema(max_length = 150)]
    last_name: Option<String>,
    #[schema(schema_with = Phone::schema)]
    phone: Option<String>,
    #[schema(max_length = 150)]
    position: Option<String>,
    /// A role of the store ranked below the caller's.
    #[schema(value_type = RoleCode, required = true)]
    role: Option<String>,
    /// `false` deactivates (and signs the employee out everywhere); `true` reactivates;
    /// kept when left out.
    is_active: Option<bool>,
    /// Kept when left out.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    hired_at: Option<NaiveDate>,
    /// `male`, `female`, or null; left out clears it.
    #[schema(value_type = Option<Sex>, nullable = true)]
    sex: Option<String>,
}

/// `{count, next, previous, results, tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeePage {
    #[serde(flatten)]
    pub page: PageLinks,
    pub results: Vec<EmployeeOut>,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `data` of [`EmployeeCreatedResponse`].
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedEmployee {
    pub employee: EmployeeOut,
    /// Null for an employee without an account, and when `setup` is `code`.
    pub credentials: Option<Credentials>,
    /// The set-up code, when the body asked for one (`"setup": "code"`); null otherwise.
    pub setup: Option<SetupCodeOut>,
    /// Whether an existing account (named by `username`, with no `password`) was added to
    /// the store rather than a new one made.
    pub is_existing_user: bool,
}

/// `201 {status, message, data: {employee, credentials, is_existing_user}, tenant…}`, sent
/// with `Cache-Control: no-store`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeeCreatedResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub message: String,
    pub data: CreatedEmployee,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `data` of [`PasswordResetResponse`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetCredentials {
    pub username: String,
    #[schema(format = Password)]
    pub new_password: String,
}

/// `{status, message, data: {username, new_password}, tenant…}`, with `Cache-Control: no-store`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordResetResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub message: String,
    pub data: ResetCredentials,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `POST /employees/{id}/account/`: an account for an employee who has none.
#[derive(Deserialize, ToSchema)]
pub struct NewAccountRequest {
    /// Unique across kassa, in any letter case: letters (of any script), digits and `@.+-_`.
    #[schema(
        example = "kassir1",
        required = true,
        nullable = false,
        max_length = 150,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub username: Option<String>,
    /// Generated (readable, from a CSPRNG) when absent; either way returned once in
    /// `credentials`. At least `PASSWORD_MIN_LENGTH` (8 by default) characters, not a
    /// common password, not containing the username.
    #[schema(format = Password, example = "Kassir-Smena-24", min_length = 8, max_length = 256)]
    pub password: Option<String>,
    #[schema(schema_with = Email::schema)]
    pub email: Option<String>,
}

/// `201 {status, message, data: {employee, credentials}, tenant…}`, with `Cache-Control: no-store`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountGivenResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub message: String,
    pub data: AccountGiven,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `data` of [`AccountGivenResponse`].
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountGiven {
    pub employee: EmployeeOut,
    pub credentials: Credentials,
}

/// `201 {code, expires_at, tenant_key, store_name, store_slug}`, sent with
/// `Cache-Control: no-store`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SetupCodeResponse {
    #[serde(flatten)]
    pub setup: SetupCodeOut,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}
