//! The request and response types of `/stores/`, and the parsing of a new store and of
//! `PUT` and `PATCH` (the profile's field rules are `registry::profile`, shared with
//! registration).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::http::openapi::{NOT_AUTHENTICATED, refusal_set};
use crate::i18n::Message;
use crate::registry::MemberStore;
use crate::registry::profile::{RawProfile, new_store_name, parse_slug_choice};
use crate::registry::provision::SlugChoice;
use crate::registry::queries::{StoreChanges, StoreFields, StoreProfile};
use crate::registry::staff_account::StaffCredentials;
use crate::tenant::TenantEcho;
use crate::validate::fields::{Email, NonBlank, Phone};
use crate::validate::{Form, Replace};

/// `POST /stores/`: how the slug is chosen, and the profile.
pub fn parse_new_store(body: CreateStoreRequest) -> ApiResult<(SlugChoice, StoreProfile)> {
    let mut form = Form::new();
    let slug_choice = parse_slug_choice(&mut form, "slug", body.slug);
    let raw = RawProfile(StoreFields {
        name: body.name,
        description: body.description,
        address: body.address,
        city: body.city,
        region: body.region,
        phone: body.phone,
        email: body.email,
        legal_name: body.legal_name,
        tax_id: body.tax_id,
    });
    let profile = raw.parse(&mut form, "");
    form.finish((slug_choice, profile))
}

/// A validated `PUT` or `PATCH /stores/{id}/`.
#[derive(Debug)]
pub struct StoreChange {
    pub profile: StoreChanges,
    /// The store's new state, when the body names one.
    pub is_active: Option<bool>,
    /// The new two-step policy when the body names one: `Some(None)` turns it off.
    pub require_2fa_from_rank: Option<Option<i16>>,
}

/// `PUT` or `PATCH /stores/{id}/` on `current`, as the caller reads it. The fields that
/// cannot change are accepted only when they repeat the current value (apps send the whole
/// store back); a `null` text field is emptied, as if sent empty.
pub fn parse_changes(
    body: UpdateStoreRequest,
    current: &MemberStore,
    replace: Replace,
) -> ApiResult<StoreChange> {
    let mut form = Form::new();
    let as_read = serde_json::to_value(current).map_err(ApiError::internal)?;
    for (field, given) in read_only_fields(&body) {
        if given.is_some_and(|value| as_read.get(field) != Some(value)) {
            form.add(field, Message::FieldImmutable);
        }
    }
    let is_active = match body.is_active {
        Some(None) => {
            form.add("is_active", Message::BooleanExpected);
            None
        }
        given => given.flatten(),
    };
    let emptied_when_null = |value: Option<Option<String>>| value.map(Option::unwrap_or_default);
    let raw = RawProfile(StoreFields {
        name: emptied_when_null(body.name),
        description: emptied_when_null(body.description),
        address: emptied_when_null(body.address),
        city: emptied_when_null(body.city),
        region: emptied_when_null(body.region),
        phone: emptied_when_null(body.phone),
        email: emptied_when_null(body.email),
        legal_name: emptied_when_null(body.legal_name),
        tax_id: emptied_when_null(body.tax_id),
    });
    let require_2fa_from_rank = body.require_2fa_from_rank.map(|given| policy_rank(&mut form, given));
    let profile = raw.parse_changes(&mut form, replace);
    form.finish(StoreChange { profile, is_active, require_2fa_from_rank })
}

/// `require_2fa_from_rank` as given: `null` (off) or a rank from 1 to 100.
fn policy_rank(form: &mut Form, given: Option<serde_json::Value>) -> Option<i16> {
    let given = given?;
    let rank =
        given.as_i64().and_then(|rank| i16::try_from(rank).ok()).filter(|rank| (1..=100).contains(rank));
    if rank.is_none() {
        form.add("require_2fa_from_rank", Message::PolicyRankOutOfRange);
    }
    rank
}

/// The fields of `body` that the store's answer reports but no request sets, by their names
/// in that answer.
fn read_only_fields(body: &UpdateStoreRequest) -> [(&'static str, Option<&serde_json::Value>); 13] {
    [
        ("id", body.id.as_ref()),
        ("slug", body.slug.as_ref()),
        ("tenant_key", body.tenant_key.as_ref()),
        ("schema_name", body.schema_name.as_ref()),
        ("owner", body.owner.as_ref()),
        ("owner_name", body.owner_name.as_ref()),
        ("created_at", body.created_at.as_ref()),
        ("updated_at", body.updated_at.as_ref()),
        ("employee_count", body.employee_count.as_ref()),
        ("active_employee_count", body.active_employee_count.as_ref()),
        ("role", body.role.as_ref()),
        ("role_display", body.role_display.as_ref()),
        ("permissions", body.permissions.as_ref()),
    ]
}

/// `POST /stores/`: a new store owned by the caller.
#[derive(Deserialize, ToSchema)]
pub struct CreateStoreRequest {
    #[schema(required = true, schema_with = new_store_name)]
    pub name: Option<String>,
    /// `[a-z][a-z0-9_-]{0,55}`; made from `name` when absent or empty.
    #[schema(pattern = r"^(?:[a-z][a-z0-9_-]{0,55})?$")]
    pub slug: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    #[schema(max_length = 1000)]
    pub address: Option<String>,
    #[schema(max_length = 150)]
    pub city: Option<String>,
    #[schema(max_length = 150)]
    pub region: Option<String>,
    #[schema(schema_with = Phone::schema)]
    pub phone: Option<String>,
    #[schema(schema_with = Email::schema)]
    pub email: Option<String>,
    #[schema(max_length = 1000)]
    pub legal_name: Option<String>,
    #[schema(max_length = 32)]
    pub tax_id: Option<String>,
}

/// `PATCH /stores/{id}/` (and, deserialised, `PUT`): the fields given change.
///
/// Every field given is either applied or refused, never passed over in silence. The fields
/// a client cannot set (`slug`, `tenant_key`, `schema_name`, and what the store's answer
/// reports: `id`, `owner`, `created_at`, …) may be sent back as they were read, with the
/// rest of the store, and are refused otherwise (400 `validation_error`); being no input,
/// they are left out of the OpenAPI schema. A field the store does not have is refused too.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStoreRequest {
    #[schema(
        max_length = 150,
        pattern = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    )]
    /// Never `null`: a store always has a name.
    #[schema(value_type = String)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub name: Option<Option<String>>,
    #[schema(max_length = 1000)]
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub description: Option<Option<String>>,
    #[schema(max_length = 1000)]
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub address: Option<Option<String>>,
    #[schema(max_length = 150)]
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub city: Option<Option<String>>,
    #[schema(max_length = 150)]
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub region: Option<Option<String>>,
    #[schema(schema_with = Phone::schema)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub phone: Option<Option<String>>,
    #[schema(schema_with = Email::schema)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub email: Option<Option<String>>,
    #[schema(max_length = 1000)]
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub legal_name: Option<Option<String>>,
    #[schema(max_length = 32)]
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub tax_id: Option<Option<String>>,
    /// `false` deactivates the store (as `DELETE` does); `true` brings a deactivated store
    /// back, data and all.
    #[schema(value_type = bool)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub is_active: Option<Option<bool>>,
    /// Members whose rank in this store is at least this (1–100) must sign in with two
    /// steps; `null` turns the requirement off. Setting it needs the owner's own two-step
    /// sign-in on. Left out: unchanged.
    #[schema(value_type = Option<i16>, minimum = 1, maximum = 100, example = 50)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub require_2fa_from_rank: Option<Option<serde_json::Value>>,
    // What the store's answer reports and no request sets: see `parse::read_only_fields`.
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub id: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub slug: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub tenant_key: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub schema_name: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub owner: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub owner_name: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub created_at: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub updated_at: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub employee_count: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub active_employee_count: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub role: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub role_display: Option<serde_json::Value>,
    #[schema(ignore)]
    #[serde(default, deserialize_with = "crate::http::json::given")]
    pub permissions: Option<serde_json::Value>,
}

/// `PUT /stores/{id}/`: the whole profile; `name` is required and the fields left out
/// become empty. The handler reads it as an [`UpdateStoreRequest`] (so the fields that cannot
/// change are taken back unchanged here too, and unknown ones refused); this type only
/// documents what PUT requires.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ReplaceStoreRequest {
    #[schema(required = true, schema_with = NonBlank::<150>::required)]
    name: Option<String>,
    #[schema(max_length = 1000)]
    description: Option<String>,
    #[schema(max_length = 1000)]
    address: Option<String>,
    #[schema(max_length = 150)]
    city: Option<String>,
    #[schema(max_length = 150)]
    region: Option<String>,
    #[schema(schema_with = Phone::schema)]
    phone: Option<String>,
    #[schema(schema_with = Email::schema)]
    email: Option<String>,
    #[schema(max_length = 1000)]
    legal_name: Option<String>,
    #[schema(max_length = 32)]
    tax_id: Option<String>,
    /// `false` deactivates the store (as `DELETE` does); `true` brings a deactivated store
    /// back, data and all. Left out: unchanged.
    #[schema(nullable = false)]
    is_active: Option<bool>,
    /// Members whose rank in this store is at least this (1–100) must sign in with two
    /// steps; `null` turns the requirement off. Left out: unchanged.
    #[schema(minimum = 1, maximum = 100, example = 50)]
    require_2fa_from_rank: Option<i16>,
}

/// `{status, message?, data: store}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub data: MemberStore,
}

/// `{status, message, data: {store}}`, as store creation answers today.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreCreatedResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub message: String,
    pub data: CreatedStore,
}

/// The body of [`StoreCreatedResponse`].
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedStore {
    pub store: MemberStore,
    /// The store's shared staff account and its password (this answer is `no-store`).
    pub staff_credentials: StaffCredentials,
}

refusal_set!(
    /// The refusals of a change to one store (PUT and PATCH `/stores/{id}/`), described once.
    StoreChangeRefusals:
    400 => "validation_error, per field",
    401 => NOT_AUTHENTICATED,
    403 => "permission_denied (not the store's owner) or password_change_required",
    404 => "not_found: the caller works in no store with this id (or `id` is not a whole number in range)",
);

/// The staff account of the store that answered, as its owner reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreStaffCredentials {
    #[serde(flatten)]
    pub credentials: StaffCredentials,
    pub store_name: String,
    pub tenant_key: String,
}

/// `{status, message?, data, tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffCredentialsResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub data: StoreStaffCredentials,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `PATCH /stores/staff-credentials/`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffAccountChange {
    /// `false` switches the account off (it cannot sign in; its sessions end), `true` on.
    #[schema(required = true, nullable = false)]
    pub is_active: Option<bool>,
}

refusal_set!(
    /// The refusals every staff-credentials route shares.
    StaffCredentialsRefusals:
    400 => "missing_tenant_key",
    401 => NOT_AUTHENTICATED,
    403 => "permission_denied (only the store's owner, never a store-bound session), invalid_tenant_key, inactive_tenant, not_a_member or password_change_required",
    404 => "not_found: the store has no staff account",
);

/// A store the caller owns, as the store list shows it, with its staff account.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreWithCredentials {
    #[serde(flatten)]
    pub store: MemberStore,
    /// Null when the store has no staff account.
    pub staff_credentials: Option<StaffCredentials>,
    pub staff_credentials_missing: bool,
}

/// `data` of [`StoresWithCredentialsResponse`].
#[derive(Debug, Serialize, ToSchema)]
pub struct StoresWithCredentials {
    pub count: usize,
    pub stores: Vec<StoreWithCredentials>,
}

/// `{status, data: {count, stores}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoresWithCredentialsResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: StoresWithCredentials,
}
