//! Stores: the registry of tenants, as their owners and staff see and manage it.

pub mod handlers;
pub mod parse;
pub mod provision;
pub mod queries;
pub mod slug;
pub mod staff_account;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::Object;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::i18n::current_lang;
use crate::roles::RoleView;
use crate::state::AppState;
use crate::validate::fields::{Email, NonBlank, Phone};
use queries::MemberStoreRow;

/// `/api/users/stores/…`, and `/api/users/auth/my-stores/`: the active-only list the POS apps
/// read after sign-in, one implementation with the owner's list (see `handlers`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_stores, handlers::create_store))
        .routes(routes!(
            handlers::get_store,
            handlers::replace_store,
            handlers::update_store,
            handlers::deactivate_store
        ))
        .routes(routes!(handlers::list_my_stores))
        .routes(routes!(staff_account::handlers::my_stores_with_credentials))
}

/// The store-scoped routes under `/api/users/stores/` (the store's shared staff account),
/// mounted behind the tenant layer. Their fixed paths win over `/stores/{id}/`.
pub fn store_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            staff_account::handlers::get_staff_credentials,
            staff_account::handlers::update_staff_account
        ))
        .routes(routes!(staff_account::handlers::rotate_staff_password))
}

/// A store's registry entry.
// Also the row of `public.stores` as the queries read it (`owner_id` answers as `owner`):
// one struct, so the registry and the wire cannot drift apart. Every column it holds is
// sent, so a column clients must not see needs a row type of its own.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct StoreDetails {
    pub id: i64,
    pub name: String,
    #[schema(example = "moi-magazin")]
    pub slug: String,
    /// What POS apps send as `X-Tenant-Key`.
    #[schema(example = "moi-magazin_5f939099")]
    pub tenant_key: String,
    #[schema(example = "tenant_moi_magazin")]
    pub schema_name: String,
    pub description: String,
    pub address: String,
    pub city: String,
    pub region: String,
    pub phone: String,
    pub email: String,
    pub legal_name: String,
    pub tax_id: String,
    pub is_active: bool,
    /// The owner's user id.
    #[sqlx(rename = "owner_id")]
    pub owner: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A store as one of its members sees it: the registry entry, their role and the staff count.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberStore {
    #[serde(flatten)]
    pub store: StoreDetails,
    /// The member's role, its name in the language of `Accept-Language`, its permissions.
    #[serde(flatten)]
    pub access: RoleView,
    pub owner_name: String,
    pub employee_count: i64,
    pub active_employee_count: i64,
}

impl From<MemberStoreRow> for MemberStore {
    fn from(row: MemberStoreRow) -> Self {
        MemberStore {
            access: RoleView::new(&row.role, current_lang()),
            owner_name: row.owner_name,
            employee_count: row.employee_count,
            active_employee_count: row.active_employee_count,
            store: row.store,
        }
    }
}

/// The schema of a new store's name: `name` here, `store_name` on registration.
pub fn new_store_name() -> Object {
    NonBlank::<150>::required_like("Мой Магазин")
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
}

/// `{status, data: [store]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreListResponse {
    #[schema(example = "success")]
    pub status: &'static str,
    pub data: Vec<MemberStore>,
}

impl From<Vec<MemberStoreRow>> for StoreListResponse {
    fn from(rows: Vec<MemberStoreRow>) -> Self {
        StoreListResponse { status: "success", data: rows.into_iter().map(MemberStore::from).collect() }
    }
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
    pub staff_credentials: staff_account::StaffCredentials,
}

/// The refusals of a change to one store (PUT and PATCH `/stores/{id}/`), described once.
#[derive(utoipa::IntoResponses)]
pub enum StoreChangeRefusals {
    #[response(status = 400, description = "validation_error, per field")]
    Invalid(crate::error::ErrorBody),
    #[response(
        status = 401,
        description = "not_authenticated, token_invalid or token_expired: no valid access token"
    )]
    NotAuthenticated(crate::error::ErrorBody),
    #[response(
        status = 403,
        description = "permission_denied (not the store's owner) or password_change_required"
    )]
    Refused(crate::error::ErrorBody),
    #[response(
        status = 404,
        description = "not_found: the caller works in no store with this id (or `id` is not a whole number in range)"
    )]
    NotFound(crate::error::ErrorBody),
}
