//! The request and response types of `/users/`, and its input validated: list filters, a
//! profile change, a new password. Every problem is collected per field ([`Form`]), so one
//! `400 validation_error` reports them all.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{RoleView, StoreRole};
use crate::credentials::full_name;
use crate::error::EnvelopeRendered;
use crate::http::pagination::PageLinks;
use crate::i18n::current_lang;
use crate::staff::{EmployeeOut, Sex};
use crate::tenant::TenantEcho;
use crate::users::queries::StoreUserRow;

use crate::config::PasswordPolicy;
use crate::error::ApiResult;
use crate::http::pagination::ListQuery;
use crate::i18n::Message;
use crate::staff::forms::{PasswordReset, search_text};
use crate::users::queries::{AccountProfile, ORDERINGS, UserFilter};
use crate::validate::fields::{NonBlank, Phone};
use crate::validate::{Form, MAX_NAME_CHARS};

/// The list's order when the request names none: by username, as the apps expect.
const DEFAULT_ORDERING: &str = "username";

/// The list filters of `query` (`name`, `search`, `ordering`), their problems added to `form`.
pub fn list_filter(query: &ListQuery, form: &mut Form) -> UserFilter {
    // Exactly the documented values: no trimming, so the document's pattern says it all.
    let ordering = match query.get("ordering") {
        None | Some("") => DEFAULT_ORDERING,
        Some(asked) => ORDERINGS.iter().copied().find(|known| *known == asked).unwrap_or_else(|| {
            form.add("ordering", Message::ChoiceInvalid { choices: ORDERINGS });
            DEFAULT_ORDERING
        }),
    };
    UserFilter {
        name: search_text(query, form, "name"),
        search: search_text(query, form, "search"),
        ordering,
    }
}

/// The account's profile after applying `body` to `current`: fields left out keep their
/// value; a given username follows the username rule, a given first name may not be blank,
/// a given email must look like one (empty clears it).
pub fn profile_changes(body: UpdateProfileRequest, current: &AccountProfile) -> ApiResult<AccountProfile> {
    let mut form = Form::new();
    let username = match body.username {
        Some(username) => form.username("username", Some(username)),
        None => current.username.clone(),
    };
    let first_name = match body.first_name {
        Some(first_name) => form.required("first_name", Some(first_name), MAX_NAME_CHARS),
        None => current.first_name.clone(),
    };
    let last_name = match body.last_name {
        Some(last_name) => form.optional("last_name", Some(last_name), MAX_NAME_CHARS),
        None => current.last_name.clone(),
    };
    let email = match body.email {
        Some(email) => form.email("email", Some(email)),
        None => current.email.clone(),
    };
    form.finish(AccountProfile { username, first_name, last_name, email })
}

/// The password `body` sets for the account `username`: required, and held to `policy`
/// like every new password. The account need not change it again at its next sign-in.
pub fn new_password(
    body: SetUserPasswordRequest,
    policy: &PasswordPolicy,
    username: &str,
) -> ApiResult<PasswordReset> {
    let mut form = Form::new();
    let password = form.new_password("new_password", body.new_password, policy, &[username]);
    let password = form.finish(SecretString::from(password))?;
    Ok(PasswordReset { password, must_change: false })
}

/// The user's place in the store of `X-Tenant-Key`: their employee row there.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeeInfo {
    /// Employee ids are numbered per store.
    pub id: i64,
    #[serde(flatten)]
    pub access: RoleView,
    pub phone: String,
    pub position: String,
    /// `male`, `female` or null.
    #[schema(example = json!(null))]
    pub sex: Option<Sex>,
    /// `sex` described in the request's language; null with it.
    #[schema(example = json!(null))]
    pub sex_display: Option<String>,
    /// The store's flag; the account's own is the item's `is_active`.
    pub is_active: bool,
    pub hired_at: NaiveDate,
    /// Always null: photos are not stored (kept for the apps that read it).
    #[schema(value_type = Option<String>)]
    pub photo: Option<()>,
}

/// A user as the apps receive one: the account, and `employee_info` for this store.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// The account's id, the same in every store.
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// "first last", or empty when both are.
    pub full_name: String,
    /// The account's flag.
    pub is_active: bool,
    pub date_joined: DateTime<Utc>,
    pub employee_info: EmployeeInfo,
}

impl UserOut {
    /// `row`, whose role the store defines as `role`.
    #[must_use]
    pub fn new(row: StoreUserRow, role: &StoreRole) -> Self {
        UserOut {
            id: row.id,
            full_name: full_name(&row.first_name, &row.last_name),
            username: row.username,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            is_active: row.is_active,
            date_joined: row.date_joined,
            employee_info: EmployeeInfo {
                id: row.employee_id,
                access: RoleView::new(role, current_lang()),
                phone: row.phone,
                position: row.position,
                sex: Sex::parse(row.sex.as_deref()),
                sex_display: Sex::parse(row.sex.as_deref()).map(|sex| sex.display(current_lang())),
                is_active: row.employee_is_active,
                hired_at: row.hired_at,
                photo: None,
            },
        }
    }
}

/// `{count, next, previous, results, tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPageResponse {
    #[serde(flatten)]
    pub page: PageLinks,
    pub results: Vec<UserOut>,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// A user plus the tenant echo.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    #[serde(flatten)]
    pub user: UserOut,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `PATCH /users/{id}/update-employee/`: the fields given change, in the header's store.
/// Other fields are ignored, as they were: the account's own fields change through
/// `update-profile`.
#[derive(Deserialize, ToSchema)]
pub struct UpdateUserEmployeeRequest {
    /// A role of the store ranked below the caller's, whose every permission the caller
    /// holds; empty keeps the current one.
    #[schema(value_type = Option<crate::http::openapi::RoleFilter>)]
    pub role: Option<String>,
    #[schema(schema_with = Phone::schema)]
    pub phone: Option<String>,
    #[schema(max_length = 150)]
    pub position: Option<String>,
    /// `false` deactivates in this store (and ends the person's access to it); `true`
    /// reactivates.
    pub is_active: Option<bool>,
    /// `male`, `female`, or null to clear it.
    #[schema(value_type = Option<Sex>, nullable = true)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub sex: Option<serde_json::Value>,
}

/// `data` of [`UserEmployeeUpdatedResponse`].
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdatedEmployee {
    pub employee: EmployeeOut,
}

/// `{status, message, data: {employee}, tenant…}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserEmployeeUpdatedResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub message: String,
    pub data: UpdatedEmployee,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `PATCH /users/{id}/update-profile/`: the account's fields given change, in every store.
#[derive(Deserialize, ToSchema)]
pub struct UpdateProfileRequest {
    /// Unique across kassa, in any letter case and any look-alike form: letters (of any
    /// script), digits and `@.+-_` (a rule with no portable regular expression, so not
    /// stated as a `pattern`).
    #[schema(
        max_length = 150,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub username: Option<String>,
    #[schema(schema_with = NonBlank::<150>::changed)]
    pub first_name: Option<String>,
    #[schema(max_length = 150)]
    pub last_name: Option<String>,
    /// Empty clears it.
    #[schema(
        max_length = 254,
        pattern = r"^(?:[^@\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+@[^@.\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+(?:\.[^@.\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+)+)?$"
    )]
    pub email: Option<String>,
}

/// `{status, message, data: {user}, tenant…}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserProfileUpdatedResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub message: String,
    pub data: UserOut,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `POST /users/{id}/change-password/`.
#[derive(Deserialize, ToSchema)]
pub struct SetUserPasswordRequest {
    /// At least `PASSWORD_MIN_LENGTH` (8 by default) characters, not a common password, not
    /// containing the username.
    #[schema(format = Password, example = "Kassir-Smena-26", required = true, nullable = false, min_length = 8, max_length = 256)]
    pub new_password: Option<String>,
}

/// `data` of [`UserPasswordChangedResponse`].
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChangedUser {
    pub user_id: i64,
    pub username: String,
}

/// `{status, message, data: {user_id, username}, tenant…}`, with `Cache-Control: no-store`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPasswordChangedResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub message: String,
    pub data: PasswordChangedUser,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// A 405 that names the route to use instead: `{status, code, message, hint?, errors}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MethodRefusal {
    #[schema(example = "error")]
    pub status: &'static str,
    #[schema(example = "method_not_allowed")]
    pub code: &'static str,
    pub message: String,
    /// The request to make instead, for the id the path named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Always empty (kept for the apps that read it).
    #[schema(value_type = Object)]
    pub errors: serde_json::Map<String, serde_json::Value>,
}

impl MethodRefusal {
    /// `message`, with `hint` when given, in the request's language.
    #[must_use]
    pub fn new(message: &Message, hint: Option<&Message>) -> Self {
        let lang = current_lang();
        MethodRefusal {
            status: "error",
            code: "method_not_allowed",
            message: message.text(lang).into_owned(),
            hint: hint.map(|hint| hint.text(lang).into_owned()),
            errors: serde_json::Map::new(),
        }
    }
}

impl IntoResponse for MethodRefusal {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::METHOD_NOT_ALLOWED, Json(self)).into_response();
        response.extensions_mut().insert(EnvelopeRendered);
        response
    }
}

/// `data` of [`UserCreatedResponse`].
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    pub employee: EmployeeOut,
    /// Null for a cashier without an account.
    pub username: Option<String>,
    /// The new account's password, handed over this once; null without an account, and
    /// with a set-up code.
    #[schema(format = Password)]
    pub initial_password: Option<String>,
    /// The set-up code, when the body asked for one (`"setup": "code"`); null otherwise.
    pub setup: Option<crate::staff::SetupCodeOut>,
}

/// `201 {status, message, data: {employee, username, initial_password}, tenant…}`, sent with
/// `Cache-Control: no-store`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserCreatedResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub message: String,
    pub data: CreatedUser,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}
