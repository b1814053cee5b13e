//! The store registry: each store's row in `public`, as every feature that lists, opens or
//! signs into stores shares it (docs/contract.md §3). `/stores/` manages stores, and
//! `/auth/` registers an owner with a first store and lists the caller's stores; both
//! provision through [`provision`] and read through [`queries`], below them.

pub mod profile;
pub mod provision;
pub mod queries;
pub mod slug;
pub mod staff_account;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::RoleView;
use crate::credentials::extractor::AuthUser;
use crate::db::Session;
use crate::error::ApiResult;
use crate::i18n::current_lang;
use crate::state::AppState;
use queries::{MemberStoreRow, StoreFilter};

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
    /// Members whose rank here is at least this must sign in with two steps; null: no one
    /// must (docs/contract.md §16).
    #[schema(example = 50)]
    pub require_2fa_from_rank: Option<i16>,
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

/// The caller's stores, `/stores/` (deactivated ones included) and `/auth/my-stores/` (active
/// ones only): they differ only in `filter`.
pub async fn member_store_list(
    app: &AppState,
    user: &AuthUser,
    filter: StoreFilter,
) -> ApiResult<StoreListResponse> {
    let mut conn = Session::open(&app.db).await?;
    let mut rows = queries::list_member_stores(&mut conn, user.user_id, filter).await?;
    // A till's session belongs to its store alone (`credentials::reach`).
    if let Some(bound) = user.bound_store_id {
        rows.retain(|row| row.store.id == bound);
    }
    Ok(StoreListResponse::from(rows))
}
