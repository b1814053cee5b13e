//! Staff: a store's members of staff, as every feature that changes them shares them
//! (docs/contract.md §5, §6). `/employees/` addresses them by employee id, `/users/` by
//! account id; both add, change and reset through [`operations`], below them.
//!
//! A member of staff is three rows: the global account (`public.users`), the membership
//! that grants access to the store with a role (`public.store_memberships`), and the store's
//! own profile of them (`employees` in the store's schema). The operations write all three
//! in one transaction, record an audit event with each change, and keep role and status of
//! membership and profile equal. Who may do what is `access::policy`; whether the caller
//! reaches an account in every store it belongs to is [`accounts`].

pub mod accounts;
pub mod forms;
pub mod history;
pub mod operations;
pub mod queries;
pub mod setup_codes;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::Object;

use crate::access::{RoleCode, RoleView};
use crate::credentials::full_name;
use crate::http::openapi::RoleFilter;
use crate::i18n::Lang;
use crate::i18n::Message;
use crate::tenant::TenantEcho;
use crate::validate::MAX_NAME_CHARS;
use crate::validate::fields::{Email, NonBlank, Phone};
use queries::{CashierRow, EmployeeRow, StaffMember};

/// An employee as the apps receive one: the peer's fields, plus `first_name`, `last_name`
/// and the role's permissions.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeeOut {
    /// Employee ids are numbered per store.
    pub id: i64,
    /// The account's user id; null for an employee without an account.
    pub user: Option<i64>,
    /// Null for an employee without an account.
    pub username: Option<String>,
    /// Null for an employee without an account.
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    /// "First Last" for an employee with an account; "Last First" without one, as the
    /// apps' cashier pickers show them.
    pub full_name: String,
    #[serde(flatten)]
    pub access: RoleView,
    pub phone: String,
    pub position: String,
    pub is_active: bool,
    pub hired_at: NaiveDate,
    /// The store's id.
    pub store: i64,
    /// Always null: photos are not stored (kept for the apps that read it).
    #[schema(value_type = Option<String>)]
    pub photo: Option<()>,
    pub sex: Option<Sex>,
    /// `sex` in the caller's language.
    pub sex_display: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EmployeeOut {
    /// `member` of store `store_id`, with the role described in `lang`.
    #[must_use]
    pub fn new(member: StaffMember, store_id: i64, lang: Lang) -> Self {
        let row = member.employee;
        EmployeeOut {
            id: row.id,
            user: row.user_id,
            full_name: employee_full_name(&row),
            username: member.username,
            email: member.email,
            access: RoleView::new(&member.role, lang),
            first_name: row.first_name,
            last_name: row.last_name,
            phone: row.phone,
            position: row.position,
            is_active: row.is_active,
            hired_at: row.hired_at,
            store: store_id,
            photo: None,
            sex: Sex::parse(row.sex.as_deref()),
            sex_display: Sex::parse(row.sex.as_deref()).map(|sex| sex.display(lang)),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// How the apps show an employee: "First Last" with an account, "Last First" without one.
#[must_use]
pub fn employee_full_name(row: &EmployeeRow) -> String {
    match row.user_id {
        Some(_) => full_name(&row.first_name, &row.last_name),
        None => full_name(&row.last_name, &row.first_name),
    }
}

/// An employee's sex, as the apps store it: `male`, `female`, or not given (null).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// The stored text: `male` or `female`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    /// A stored or submitted value; anything else is none.
    #[must_use]
    pub fn parse(value: Option<&str>) -> Option<Sex> {
        match value {
            Some("male") => Some(Sex::Male),
            Some("female") => Some(Sex::Female),
            _ => None,
        }
    }

    /// The value shown beside it (`sex_display`), in `lang`.
    #[must_use]
    pub fn display(self, lang: Lang) -> String {
        let message = match self {
            Sex::Male => Message::SexMale,
            Sex::Female => Message::SexFemale,
        };
        message.text(lang).into_owned()
    }
}

/// The schema of a new employee's first name, with its example.
fn employee_first_name() -> Object {
    NonBlank::<MAX_NAME_CHARS>::required_like("Анна")
}

/// `POST /employees/`: a new account, its membership and its employee profile.
#[derive(Deserialize, ToSchema)]
pub struct CreateEmployeeRequest {
    /// Unique across kassa, in any letter case: letters (of any script), digits and `@.+-_`
    /// (a rule with no portable regular expression, so not stated as a `pattern`). Left out
    /// or blank for a `cashier` without an account (one who never signs in: the till names
    /// them); every other role needs one. The username of an existing account, with no
    /// `password`, adds that account to this store, when the caller outranks it in every
    /// store it works in (otherwise 409 `username_taken`).
    #[schema(
        example = "kassir1",
        max_length = 150,
        pattern = r"^$|[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub username: Option<String>,
    #[schema(required = true, schema_with = employee_first_name)]
    pub first_name: Option<NonBlank<MAX_NAME_CHARS>>,
    /// A role of the store ranked below the caller's: for the built-in roles, `manager`
    /// (owner only), `cashier` or `stockkeeper`.
    #[schema(example = "cashier", value_type = RoleCode, required = true)]
    pub role: Option<String>,
    /// Generated (readable, from a CSPRNG) when absent; either way returned once in
    /// `credentials`. At least `PASSWORD_MIN_LENGTH` (8 by default) characters, not a
    /// common password, not containing the username.
    #[schema(format = Password, example = "Kassir-Smena-24", min_length = 8, max_length = 256)]
    pub password: Option<String>,
    #[schema(max_length = 150)]
    pub last_name: Option<String>,
    #[schema(schema_with = Email::schema)]
    pub email: Option<String>,
    #[schema(schema_with = Phone::schema)]
    pub phone: Option<Phone>,
    #[schema(example = "Кассир", max_length = 150)]
    pub position: Option<String>,
    /// `male`, `female`, or null.
    #[schema(value_type = Option<Sex>, nullable = true)]
    pub sex: Option<serde_json::Value>,
    /// Today when absent.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub hired_at: Option<NaiveDate>,
    /// How the new account gets its password: `password` (the default: the one given, or a
    /// generated one handed over in the answer) or `code`: no password at all, and a set-up
    /// code in the answer instead, with which the employee chooses their own
    /// (`POST /auth/setup/`, docs/contract.md §16). `code` needs a username and no `password`.
    pub setup: Option<SetupMethod>,
}

/// How a new account gets its first password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SetupMethod {
    /// Given in the body, or generated and handed over once.
    Password,
    /// Chosen by the employee with a set-up code; nobody else ever knows it.
    Code,
}

/// `PATCH /employees/{id}/` (and, deserialised, `PUT`): the fields given change.
///
/// `username`, `email`, `user` and `store` belong to the account and the registry and cannot
/// change here. Apps send them back with the rest of the employee, so they are accepted when
/// equal to the current values (400 `validation_error` otherwise); being no input, they are
/// left out of the OpenAPI schema.
#[derive(Deserialize, ToSchema)]
pub struct UpdateEmployeeRequest {
    #[schema(schema_with = NonBlank::<150>::changed)]
    pub first_name: Option<String>,
    #[schema(max_length = 150)]
    pub last_name: Option<String>,
    #[schema(schema_with = Phone::schema)]
    pub phone: Option<String>,
    #[schema(max_length = 150)]
    pub position: Option<String>,
    /// A role of the store ranked below the caller's; empty keeps the current one.
    #[schema(value_type = Option<RoleFilter>)]
    pub role: Option<String>,
    /// `false` deactivates (and signs the employee out everywhere); `true` reactivates.
    pub is_active: Option<bool>,
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub hired_at: Option<NaiveDate>,
    /// `male`, `female`, or null to clear it.
    #[schema(value_type = Option<Sex>, nullable = true)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub sex: Option<serde_json::Value>,
    #[schema(ignore)]
    pub username: Option<serde_json::Value>,
    #[schema(ignore)]
    pub email: Option<serde_json::Value>,
    #[schema(ignore)]
    pub user: Option<serde_json::Value>,
    #[schema(ignore)]
    pub store: Option<serde_json::Value>,
}

/// An employee plus the tenant echo: what read, PUT and PATCH answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeeResponse {
    #[serde(flatten)]
    pub employee: EmployeeOut,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// A set-up code, handed over once (`Cache-Control: no-store`): the employee types it, on
/// their own phone, with the password they choose (`POST /auth/setup/`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SetupCodeOut {
    /// 8 symbols, any letter case, with or without the dash; single use.
    #[schema(example = "7KQ2-M9XD")]
    pub code: String,
    /// 72 hours after it was issued.
    pub expires_at: DateTime<Utc>,
}

/// Sign-in details handed over once, when the account is made.
#[derive(Debug, Serialize, ToSchema)]
pub struct Credentials {
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
}

/// One cashier (or stockkeeper) without an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct CashierOut {
    /// The employee id: what a sale names as its cashier.
    pub id: i64,
    /// "Last First", as the till's picker shows it.
    pub full_name: String,
    /// Empty when not given.
    pub phone: String,
    /// `cashier` or `stockkeeper`.
    pub role: String,
}

impl From<CashierRow> for CashierOut {
    fn from(row: CashierRow) -> Self {
        CashierOut {
            id: row.id,
            full_name: full_name(&row.last_name, &row.first_name),
            phone: row.phone,
            role: row.role,
        }
    }
}

/// `POST /employees/{id}/reset-password/`.
#[derive(Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    /// Generated when absent. At least `PASSWORD_MIN_LENGTH` (8 by default) characters, not
    /// a common password, not containing the username.
    #[schema(format = Password, example = "Kassir-Smena-25", min_length = 8, max_length = 256)]
    pub new_password: Option<String>,
    /// Make the employee choose a new password at their next sign-in. Default `false`, as
    /// apps that predate the flag would otherwise lock the employee out.
    pub must_change_password: Option<bool>,
}
