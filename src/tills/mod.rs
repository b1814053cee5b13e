//! Shared tills (docs/contract.md §11): tills the store trusts, PINs that sign members in on them, and
//! a manager's approval of one action typed on the till.
//!
//! Each member sets their own PIN for the store they work in, and whoever manages them may
//! clear it (argon2id per person and store, hashed off the async workers, never shown, never
//! logged; a password reset, deactivation or removal clears it too). A manager makes a
//! pairing code, a till pairs with it and gets a device token (both kept only as hashes, in
//! `public`); the store's managers list and revoke its tills. A till reads the roster of
//! members it may sign in; a PIN typed on it ([`sign_in`]) is bounded per till and per
//! employee ([`lockout`]), and signs the member in (`account::till`) or approves one action
//! for the member signed in there ([`approvals`]).

pub mod approvals;
pub mod device_auth;
pub mod devices;
pub mod lockout;
pub mod pins;
pub mod queries;
pub mod sign_in;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::roles::RoleCode;
use crate::state::AppState;
use crate::tenant::TenantEcho;

/// The store-scoped routes: PINs, pairing codes, the device list, the roster, approvals.
/// PIN sign-in answers the login body, so `account` serves it, with [`sign_in`].
pub fn store_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pins::set_own_pin))
        .routes(routes!(pins::clear_pin))
        .routes(routes!(devices::create_pairing_code))
        .routes(routes!(devices::list_devices))
        .routes(routes!(devices::revoke_device))
        .routes(routes!(devices::roster))
        .routes(routes!(approvals::grant_approval))
        .routes(routes!(approvals::redeem_approval))
}

/// `POST /devices/pair/`: no token, no store key (the code names the store).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(devices::pair_device))
}

/// `POST /devices/pairing-codes/`.
#[derive(Deserialize, ToSchema)]
pub struct PairingCodeRequest {
    /// What the till is called in the device list, e.g. "Касса 1".
    #[schema(required = true, nullable = false, min_length = 1, max_length = 64, example = "Касса 1")]
    pub name: Option<String>,
}

/// `201 {code, name, expires_at, tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PairingCodeResponse {
    /// Typed on the till: 8 symbols, any letter case, with or without the dash.
    #[schema(example = "7KQ2-M9XD")]
    pub code: String,
    pub name: String,
    pub expires_at: DateTime<Utc>,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `POST /devices/pair/`.
#[derive(Deserialize, ToSchema)]
pub struct PairRequest {
    #[schema(required = true, nullable = false, example = "7KQ2-M9XD")]
    pub code: Option<String>,
}

/// A paired till.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceOut {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Kept coarse: at most once a minute.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The user who made the pairing code.
    pub paired_by: Option<i64>,
    /// `false` once revoked.
    pub is_active: bool,
}

impl From<queries::DeviceRow> for DeviceOut {
    fn from(row: queries::DeviceRow) -> Self {
        DeviceOut {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            paired_by: row.paired_by,
            is_active: row.is_active,
        }
    }
}

/// `201 {device, device_token, tenant_key, store_name, store_slug}`: the token this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct PairedDevice {
    pub device: DeviceOut,
    /// Sent as `X-Device-Token` with `X-Tenant-Key` from now on; shown only here.
    pub device_token: String,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `{results: [device], tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceListResponse {
    pub results: Vec<DeviceOut>,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// A member a till may sign in.
#[derive(Debug, Serialize, ToSchema)]
pub struct RosterEntry {
    pub employee_id: i64,
    pub full_name: String,
    pub role: RoleCode,
    pub role_display: String,
}

/// `{results: [member], tenant_key, store_name, store_slug}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RosterResponse {
    pub results: Vec<RosterEntry>,
    #[serde(flatten)]
    pub tenant: TenantEcho,
}

/// `PUT /auth/pin/`.
#[derive(Deserialize, ToSchema)]
pub struct SetPinRequest {
    /// 6 to 12 digits; not one digit repeated, not a run (`123456`, `987654`), not one of
    /// the most common PINs.
    #[schema(format = Password, pattern = "^[0-9]{6,12}$", required = true, nullable = false, example = "482137")]
    pub pin: Option<String>,
}
