//! The request and response types of `/devices/`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::RoleCode;
use crate::devices::queries;
use crate::tenant::TenantEcho;

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
