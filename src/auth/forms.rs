//! The request and response types of `/auth/`, and account requests into validated values,
//! every problem reported at once, field by field. Registration's is
//! [`Registration::parse`], which the command line shares.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::Object;

use crate::access::{Role, RoleCode, RoleView, StoreRole};
use crate::config::PasswordPolicy;
use crate::credentials::queries::{self, SessionRow, UserForLogin};
use crate::credentials::sessions::TokenPair;
use crate::credentials::tokens::RefreshToken;
use crate::error::{ApiError, ApiResult};
use crate::i18n::{Message, current_lang};
use crate::registry::profile::{RawProfile, new_store_name, parse_slug_choice};
use crate::registry::provision::SlugChoice;
use crate::registry::queries::{StoreFields, StoreProfile};
use crate::registry::{MemberStore, StoreDetails};
use crate::staff::CashierOut;
use crate::staff::queries::EmployeeRow;
use crate::tenant::cache::TenantStore;
use crate::validate::fields::{Email, NonBlank, Phone};
use crate::validate::{Form, MAX_NAME_CHARS, MAX_USERNAME_CHARS};

/// Longest refresh token accepted; ours are far shorter.
const MAX_REFRESH_TOKEN_CHARS: usize = 512;

/// A sign-in attempt: the username trimmed, the password exactly as typed.
pub struct Credentials {
    pub username: String,
    pub password: SecretString,
}

impl Credentials {
    /// Both fields present and not blank. The password's length is not checked here: an
    /// overlong one is refused only after hashing, so the answer takes the usual time.
    pub fn parse(body: LoginRequest) -> ApiResult<Self> {
        let mut form = Form::new();
        let username = form.required("username", body.username, MAX_USERNAME_CHARS);
        let password = form.password("password", body.password);
        form.finish(Credentials { username, password: SecretString::from(password) })
    }
}

/// The refresh token a refresh request presents.
pub fn parse_refresh(body: RefreshRequest) -> ApiResult<RefreshToken> {
    let mut form = Form::new();
    let presented = form.required("refresh", body.refresh, MAX_REFRESH_TOKEN_CHARS);
    form.finish(presented).map(RefreshToken::presented)
}

/// A password change: the current password, and a new one held to the policy.
pub struct PasswordChange {
    pub old_password: SecretString,
    pub new_password: SecretString,
}

impl PasswordChange {
    /// `username` is the caller's: the new password must not contain it.
    pub fn parse(body: ChangePasswordRequest, policy: &PasswordPolicy, username: &str) -> ApiResult<Self> {
        let mut form = Form::new();
        let old_password = form.password("old_password", body.old_password);
        let new_password = form.new_password("new_password", body.new_password, policy, &[username]);
        form.finish(PasswordChange {
            old_password: SecretString::from(old_password),
            new_password: SecretString::from(new_password),
        })
    }
}

/// `POST /auth/pin-login/`.
#[derive(Deserialize, ToSchema)]
pub struct PinLoginRequest {
    /// From the till's roster.
    #[schema(required = true, nullable = false, example = 7)]
    pub employee_id: Option<i64>,
    #[schema(format = Password, required = true, nullable = false, example = "482137")]
    pub pin: Option<String>,
}
/// `PUT /auth/pin/`.
#[derive(Deserialize, ToSchema)]
pub struct SetPinRequest {
    /// 6 to 12 digits; not one digit repeated, not a run (`123456`, `987654`), not one of
    /// the most common PINs.
    #[schema(format = Password, pattern = "^[0-9]{6,12}$", required = true, nullable = false, example = "482137")]
    pub pin: Option<String>,
}

/// The store a store-scoped call ran against, as `me` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeStore {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub tenant_key: String,
    pub description: String,
}

impl From<&TenantStore> for MeStore {
    fn from(store: &TenantStore) -> Self {
        MeStore {
            id: store.id,
            name: store.name.clone(),
            slug: store.slug.clone(),
            tenant_key: store.tenant_key.clone(),
            description: store.description.clone(),
        }
    }
}

/// The caller's employee profile in the store.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeEmployee {
    /// Employee ids are numbered per store.
    pub id: i64,
    #[serde(flatten)]
    pub access: RoleView,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub position: String,
    pub is_active: bool,
    pub hired_at: chrono::NaiveDate,
    /// Always null: photos are not stored (kept for the apps that read it).
    #[schema(value_type = Option<String>)]
    pub photo: Option<()>,
}

impl MeEmployee {
    /// The caller's employee `row`, holding `role` (the membership's, which the row mirrors).
    #[must_use]
    pub fn new(row: EmployeeRow, role: &StoreRole) -> Self {
        MeEmployee {
            id: row.id,
            access: RoleView::new(role, current_lang()),
            first_name: row.first_name,
            last_name: row.last_name,
            phone: row.phone,
            position: row.position,
            is_active: row.is_active,
            hired_at: row.hired_at,
            photo: None,
        }
    }
}

/// `data` of `me`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeData {
    pub user: UserOut,
    pub store: MeStore,
    #[serde(flatten)]
    pub access: RoleView,
    pub employee: Option<MeEmployee>,
}

/// `{status, data, tenant_key, store_name, store_slug}`: the tenant echo the apps read today.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: MeData,
    #[serde(flatten)]
    pub tenant: crate::tenant::TenantEcho,
}

/// The schema of the username that signs in, with its example.
fn login_username() -> Object {
    NonBlank::<MAX_USERNAME_CHARS>::required_like("ivan")
}

/// `POST /auth/login/`.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(required = true, schema_with = login_username)]
    pub username: Option<String>,
    #[schema(format = Password, example = "Correct-Horse-42", required = true, nullable = false, min_length = 1)]
    pub password: Option<String>,
}

/// The store a POS app opens by default: the first of `available_stores`, the newest store
/// the user is an active member of, whatever their role there.
#[derive(Debug, Serialize, ToSchema)]
pub struct DefaultStore {
    pub tenant_key: String,
    pub name: String,
    pub role: RoleCode,
}

impl From<&MemberStore> for DefaultStore {
    fn from(store: &MemberStore) -> Self {
        DefaultStore {
            tenant_key: store.store.tenant_key.clone(),
            name: store.store.name.clone(),
            role: store.access.role.clone(),
        }
    }
}

/// A store of `available_stores`: where the user works, and, where they sign in as the
/// store's shared staff account (role `staff`), the cashiers its till may name.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignInStore {
    #[serde(flatten)]
    pub store: MemberStore,
    /// Only for role `staff`: the store's active cashiers and stockkeepers without an
    /// account, newest first, as `GET /employees/cashiers/` lists them at sign-in time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cashiers: Option<Vec<CashierOut>>,
}

impl From<MemberStore> for SignInStore {
    fn from(store: MemberStore) -> Self {
        SignInStore { store, cashiers: None }
    }
}

/// `200 {access, refresh, user, available_stores, default_store, password_change_required}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub access: String,
    pub refresh: String,
    pub user: UserOut,
    /// Every active store the user works in, newest first (by the store's creation).
    pub available_stores: Vec<SignInStore>,
    pub default_store: Option<DefaultStore>,
    /// True after an administrator's reset: only change-password, logout and the session
    /// list answer until the password is changed.
    pub password_change_required: bool,
}

/// `POST /auth/token/refresh/`.
#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The `refresh` token of the last pair.
    #[schema(
        required = true,
        nullable = false,
        max_length = 512,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub refresh: Option<String>,
}

/// `POST /auth/change-password/`.
#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    #[schema(format = Password, required = true, nullable = false, min_length = 1)]
    pub old_password: Option<String>,
    /// At least `PASSWORD_MIN_LENGTH` (8 by default) characters, not a common password, not
    /// containing the username.
    #[schema(format = Password, example = "Battery-Staple-17", required = true, nullable = false, min_length = 8, max_length = 256)]
    pub new_password: Option<String>,
}

/// `{status, message}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub message: String,
}

/// One of the caller's sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    pub id: uuid::Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = Option<String>, example = "203.0.113.7")]
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: String,
    /// The paired till's name, for a session opened there by PIN; `null` otherwise.
    #[schema(example = "Касса 1")]
    pub device_name: Option<String>,
    /// The session of the token this request was made with.
    pub current: bool,
}

impl SessionOut {
    /// `row`, marked current when it is the session `current` of the request.
    #[must_use]
    pub fn new(row: SessionRow, current: uuid::Uuid) -> Self {
        SessionOut {
            current: row.id == current,
            id: row.id,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            ip: row.ip,
            user_agent: row.user_agent,
            device_name: row.device_name,
        }
    }
}

/// `{status, data: [session]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionListResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: Vec<SessionOut>,
}

/// The schema of the owner's first name on registration, with its example.
fn owner_first_name() -> Object {
    NonBlank::<MAX_NAME_CHARS>::required_like("Иван")
}

/// `POST /auth/register/`: an owner, their first store and its schema in one call.
#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Unique across kassa, in any letter case: letters (of any script), digits and `@.+-_`
    /// (a rule with no portable regular expression, so not stated as a `pattern`).
    #[schema(
        example = "ivan",
        required = true,
        nullable = false,
        max_length = 150,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    pub username: Option<String>,
    /// At least `PASSWORD_MIN_LENGTH` (8 by default) characters, not a common password, not
    /// containing the username.
    #[schema(format = Password, example = "Correct-Horse-42", required = true, nullable = false, min_length = 8, max_length = 256)]
    pub password: Option<String>,
    /// The same as `password`.
    #[schema(format = Password, example = "Correct-Horse-42", required = true, nullable = false, min_length = 8, max_length = 256)]
    pub password_confirm: Option<String>,
    #[schema(required = true, schema_with = owner_first_name)]
    pub first_name: Option<String>,
    #[schema(max_length = 150)]
    pub last_name: Option<String>,
    /// Accepted for compatibility; not stored.
    pub middle_name: Option<String>,
    #[schema(schema_with = Email::schema)]
    pub email: Option<String>,
    #[schema(schema_with = Phone::schema)]
    pub owner_phone: Option<String>,
    #[schema(required = true, schema_with = new_store_name)]
    pub store_name: Option<String>,
    /// `[a-z][a-z0-9_-]{0,55}`; made from `store_name` when absent or empty.
    #[schema(pattern = r"^(?:[a-z][a-z0-9_-]{0,55})?$")]
    pub store_slug: Option<String>,
    #[schema(max_length = 1000)]
    pub store_description: Option<String>,
    #[schema(max_length = 1000)]
    pub store_address: Option<String>,
    #[schema(max_length = 150)]
    pub store_city: Option<String>,
    #[schema(max_length = 150)]
    pub store_region: Option<String>,
    #[schema(schema_with = Phone::schema)]
    pub store_phone: Option<String>,
    #[schema(schema_with = Email::schema)]
    pub store_email: Option<String>,
    #[schema(max_length = 1000)]
    pub store_legal_name: Option<String>,
    #[schema(max_length = 32)]
    pub store_tax_id: Option<String>,
}

/// A user as the apps receive one.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
}

impl UserOut {
    /// The account, with its [`crate::credentials::full_name`].
    #[must_use]
    pub fn new(id: i64, username: String, email: String, first_name: String, last_name: String) -> Self {
        let full_name = crate::credentials::full_name(&first_name, &last_name);
        UserOut { id, username, email, first_name, last_name, full_name }
    }
}

impl From<queries::UserRow> for UserOut {
    fn from(row: queries::UserRow) -> Self {
        UserOut::new(row.id, row.username, row.email, row.first_name, row.last_name)
    }
}

impl From<UserForLogin> for UserOut {
    fn from(account: UserForLogin) -> Self {
        UserOut::new(account.id, account.username, account.email, account.first_name, account.last_name)
    }
}

/// The owner's employee profile in the new store.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerEmployeeOut {
    /// Employee ids are numbered per store.
    pub id: i64,
    #[serde(flatten)]
    pub access: RoleView,
    pub phone: String,
    pub position: String,
    pub is_active: bool,
    pub hired_at: chrono::NaiveDate,
}

impl From<EmployeeRow> for OwnerEmployeeOut {
    /// A new store's owner: the owner role as every store starts with it.
    fn from(row: EmployeeRow) -> Self {
        OwnerEmployeeOut {
            id: row.id,
            access: RoleView::new(&StoreRole::preset(Role::Owner), current_lang()),
            phone: row.phone,
            position: row.position,
            is_active: row.is_active,
            hired_at: row.hired_at,
        }
    }
}

/// `data` of the registration response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    pub user: UserOut,
    pub store: StoreDetails,
    pub employee: OwnerEmployeeOut,
    pub tokens: TokenPair,
    /// The store's shared staff account and its password (this answer is `no-store`).
    pub staff_credentials: crate::registry::staff_account::StaffCredentials,
}

/// `201 {status, message, data: {user, store, employee, tokens}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    #[schema(example = "Регистрация успешна")]
    pub message: String,
    pub data: Registered,
}

/// A registration that passed validation.
pub struct Registration {
    pub username: String,
    pub password: SecretString,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub store: StoreProfile,
    pub slug: SlugChoice,
}

impl Registration {
    /// Every field checked at once; the password against the policy and its confirmation.
    pub fn parse(body: RegisterRequest, policy: &PasswordPolicy) -> ApiResult<Self> {
        let mut form = Form::new();
        let username = form.username("username", body.username);
        let password = form.new_password("password", body.password, policy, &[&username]);
        let confirmation = form.password("password_confirm", body.password_confirm);
        let first_name = form.required("first_name", body.first_name, MAX_NAME_CHARS);
        let last_name = form.optional("last_name", body.last_name, MAX_NAME_CHARS);
        let email = form.email("email", body.email);
        let phone = form.phone("owner_phone", body.owner_phone);
        let slug = parse_slug_choice(&mut form, "store_slug", body.store_slug);
        let store = RawProfile(StoreFields {
            name: body.store_name,
            description: body.store_description,
            address: body.store_address,
            city: body.store_city,
            region: body.store_region,
            phone: body.store_phone,
            email: body.store_email,
            legal_name: body.store_legal_name,
            tax_id: body.store_tax_id,
        })
        .parse(&mut form, "store_");
        if !confirmation.is_empty() && password != confirmation {
            form.add("password_confirm", Message::PasswordsDoNotMatch);
        }
        form.finish(Registration {
            username,
            password: SecretString::from(password),
            first_name,
            last_name,
            email,
            phone,
            store,
            slug,
        })
    }
}

/// `POST /auth/login/2fa/`: the challenge, and a code or a recovery code.
#[derive(Deserialize, ToSchema)]
pub struct SecondStepRequest {
    /// The `challenge` of the 401 `two_factor_required` that sign-in answered.
    #[schema(required = true, nullable = false)]
    pub challenge: Option<String>,
    #[schema(example = "492039", nullable = false)]
    pub code: Option<String>,
    #[schema(example = "7K2M-9QXD-4RTB-H8ZC", nullable = false)]
    pub recovery_code: Option<String>,
}

/// What proves the second factor: a code from the app, or a recovery code.
pub enum Proof {
    Code(String),
    RecoveryCode(SecretString),
}

/// What proves the second factor of a sign-in: a code from the app, or a recovery code.
pub enum SecondFactorProof {
    Code(String),
    RecoveryCode(SecretString),
}

/// Longest second-step code or challenge read: anything longer is no code of ours.
const MAX_SECOND_STEP_CHARS: usize = 100;

/// The challenge and exactly one of `code` and `recovery_code`.
pub fn parse_second_step(body: SecondStepRequest) -> ApiResult<(String, SecondFactorProof)> {
    let mut form = Form::new();
    let challenge = form.required("challenge", body.challenge, MAX_SECOND_STEP_CHARS);
    let proof = match (non_blank_code(body.code), non_blank_code(body.recovery_code)) {
        (Some(code), None) => Some(SecondFactorProof::Code(code)),
        (None, Some(code)) => Some(SecondFactorProof::RecoveryCode(SecretString::from(code))),
        _ => {
            form.add("code", Message::WrongTwoFactorCode);
            None
        }
    };
    let proof = form.finish(proof)?;
    Ok((challenge, proof.ok_or(ApiError::InvalidCredentials)?))
}

/// `value` trimmed, unless blank or longer than any code.
fn non_blank_code(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty() && v.chars().count() <= MAX_SECOND_STEP_CHARS)
}
