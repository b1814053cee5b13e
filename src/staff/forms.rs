//! Staff input shared by `/employees/` and `/users/`, validated: a new employee, changes to
//! one, a password reset. Every problem is collected per field ([`Form`]), so one `400
//! validation_error` reports them all; what passes is typed, so the handlers never look at
//! raw request text.

use secrecy::SecretString;

use crate::access::is_role_code;
use crate::config::PasswordPolicy;
use crate::credentials::generate::generate_password;
use crate::error::{ApiError, ApiResult};
use crate::http::pagination::ListQuery;
use crate::i18n::Message;
use crate::staff::queries::{EmployeeState, StaffMember};
use crate::staff::{CreateEmployeeRequest, ResetPasswordRequest, SetupMethod, Sex, UpdateEmployeeRequest};
use crate::validate::{Form, MAX_NAME_CHARS, Replace};

/// Longest `search` text.
pub const MAX_SEARCH_CHARS: usize = 150;

/// The role that may be given without an account: a cashier who never signs in (the till
/// names them), as the apps add them.
pub const ROLE_WITHOUT_ACCOUNT: &str = "cashier";

/// The text to look for in list parameter `field` (trimmed; blank is none), its problems
/// added to `form`.
pub fn search_text(query: &ListQuery, form: &mut Form, field: &str) -> Option<String> {
    let search = query.get(field).map(str::trim).filter(|s| !s.is_empty())?;
    if search.chars().count() > MAX_SEARCH_CHARS {
        form.add(field, Message::FieldTooLong { max: MAX_SEARCH_CHARS });
    }
    // `%00` decodes to NUL, which PostgreSQL refuses in text (SQLSTATE 22021).
    if search.contains('\0') {
        form.add(field, Message::FieldInvalid);
    }
    Some(search.to_owned())
}

/// A create request that passed validation.
pub struct NewStaffMember {
    /// The account to make; none for a cashier without one.
    pub account: Option<NewAccount>,
    /// A well-formed role code; whether the store has it is the handler's check.
    pub role: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub position: String,
    pub sex: Option<Sex>,
    pub hired_at: Option<chrono::NaiveDate>,
    /// Whether the employee chooses their password with a set-up code (docs/contract.md
    /// §16): the account's password is then generated and never shown to anyone.
    pub setup_code: bool,
}

/// The account of a new employee.
pub struct NewAccount {
    pub username: String,
    /// Given, or generated when the body has none.
    pub password: SecretString,
    /// Whether the body gave the password: a username with no password may name an
    /// existing account, to add it to the store.
    pub password_given: bool,
    pub email: String,
}

impl NewStaffMember {
    /// The role code `body` asks for, when well-formed: the handler looks it up in the
    /// store before [`NewStaffMember::parse`], so an unknown role is reported with every
    /// other problem of the body.
    #[must_use]
    pub fn wanted_role(body: &CreateEmployeeRequest) -> Option<String> {
        non_blank(body.role.clone()).filter(|code| is_role_code(code))
    }

    /// `body` validated, a given password held to `policy`; `role_defined` tells whether
    /// the store has the role of [`NewStaffMember::wanted_role`].
    pub fn parse(
        body: CreateEmployeeRequest,
        policy: &PasswordPolicy,
        role_defined: bool,
    ) -> ApiResult<Self> {
        let mut form = Form::new();
        let first_name = form.take("first_name", body.first_name);
        let mut role = required_role(&mut form, "role", non_blank(body.role));
        if role.is_some() && !role_defined {
            form.add("role", Message::RoleInvalid);
            role = None;
        }
        let setup_code = body.setup == Some(SetupMethod::Code);
        let account = match non_blank(body.username.clone()) {
            Some(_) => {
                if setup_code && body.password.is_some() {
                    form.add("password", Message::PasswordWithSetupCode);
                }
                Some(new_account(&mut form, body.username, body.password, body.email, policy))
            }
            None => {
                without_account(&mut form, role.as_deref(), body.password.is_some(), body.email.as_deref());
                if setup_code {
                    form.add("username", Message::UsernameRequiredWithSetupCode);
                }
                None
            }
        };
        let last_name = form.optional("last_name", body.last_name, MAX_NAME_CHARS);
        let phone = form.take("phone", body.phone);
        let position = form.optional("position", body.position, MAX_NAME_CHARS);
        let sex = sex(&mut form, "sex", body.sex.as_ref());
        // A missing or unknown role is an error `finish` has answered, so `None` stops there.
        let role = form.finish(role)?.ok_or_else(|| ApiError::field("role", Message::FieldRequired))?;
        Ok(NewStaffMember {
            account,
            role,
            first_name,
            last_name,
            phone,
            position,
            sex,
            hired_at: body.hired_at,
            setup_code,
        })
    }
}

/// The account of a new employee whose body names a username.
pub fn new_account(
    form: &mut Form,
    username: Option<String>,
    password: Option<String>,
    email: Option<String>,
    policy: &PasswordPolicy,
) -> NewAccount {
    let username = form.username("username", username);
    let email = form.email("email", email);
    let password_given = password.is_some();
    let password = match password {
        Some(given) => SecretString::from(form.new_password("password", Some(given), policy, &[&username])),
        None => generate_password(policy, &[&username]),
    };
    NewAccount { username, password, password_given, email }
}

/// The checks of a body without a username: only a cashier may go without an account, and
/// a password or an email would belong to an account, so they need a username too (a blank
/// password is refused as one too short, not dropped).
fn without_account(form: &mut Form, role: Option<&str>, has_password: bool, email: Option<&str>) {
    if role.is_some_and(|role| role != ROLE_WITHOUT_ACCOUNT) {
        form.add("username", Message::UsernameRequiredForRole);
    }
    if has_password || email.is_some_and(|email| !email.trim().is_empty()) {
        form.add("username", Message::UsernameRequiredWithPassword);
    }
}

/// `sex`: `male`, `female`, or null (not given); anything else is a validation error.
pub fn sex(form: &mut Form, field: &str, value: Option<&serde_json::Value>) -> Option<Sex> {
    match value {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) if Sex::parse(Some(text)).is_some() => Sex::parse(Some(text)),
        Some(_) => {
            form.add(field, Message::ChoiceInvalid { choices: &["male", "female"] });
            None
        }
    }
}

/// The state of employee `current` of store `store_id` after applying `body` to `before`,
/// every field validated. `replace` says whether fields left out are kept or emptied.
pub fn parse_changes(
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
    let sex = match (replace, body.sex) {
        (Replace::GivenFields, None) => before.sex.clone(),
        (_, given) => sex(&mut form, "sex", given.as_ref()).map(|sex| sex.as_str().to_owned()),
    };
    let role = match (replace, non_blank(body.role)) {
        (Replace::GivenFields, None) => Some(before.role.clone()),
        (_, role) => required_role(&mut form, "role", role),
    };
    form.finish(())?;
    Ok(EmployeeState {
        role: role.unwrap_or_else(|| before.role.clone()),
        first_name,
        last_name,
        phone,
        position,
        sex,
        is_active: body.is_active.unwrap_or(before.is_active),
        hired_at: body.hired_at.unwrap_or(before.hired_at),
    })
}

/// A reset request that passed validation.
pub struct PasswordReset {
    /// Given, or generated when the body has none.
    pub password: SecretString,
    /// Absent means no: apps that predate the flag would otherwise lock the employee out.
    pub must_change: bool,
}

impl PasswordReset {
    /// `body` validated for the account `username`, a given password held to `policy`.
    pub fn parse(body: ResetPasswordRequest, policy: &PasswordPolicy, username: &str) -> ApiResult<Self> {
        let password = match body.new_password {
            None => generate_password(policy, &[username]),
            Some(given) => {
                let mut form = Form::new();
                let given = form.new_password("new_password", Some(given), policy, &[username]);
                form.finish(SecretString::from(given))?
            }
        };
        Ok(PasswordReset { password, must_change: body.must_change_password.unwrap_or(false) })
    }
}

/// `value` trimmed; blank counts as absent.
fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|value| value.trim().to_owned()).filter(|value| !value.is_empty())
}

/// A role the body must give: absent is a validation error on `field`, like an unknown one.
fn required_role(form: &mut Form, field: &str, role: Option<String>) -> Option<String> {
    match role {
        Some(role) => parse_role(form, field, &role),
        None => {
            form.add(field, Message::FieldRequired);
            None
        }
    }
}

/// `role` as a role code (docs/contract.md §10: `[a-z][a-z0-9_]{1,31}`); anything else is a validation
/// error on `field`. Whether the store defines it is checked against its roles later.
pub fn parse_role(form: &mut Form, field: &str, role: &str) -> Option<String> {
    match is_role_code(role) {
        true => Some(role.to_owned()),
        false => {
            form.add(field, Message::RoleInvalid);
            None
        }
    }
}
