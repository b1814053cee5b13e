//! `TillDevice`: the paired till a request comes from (`X-Device-Token` with `X-Tenant-Key`,
//! docs/contract.md §11), and the secrets of pairing: codes and device tokens, kept only as hashes.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::access::directory::RoleDirectory;
use crate::credentials::tokens::OpaqueToken;
use crate::credentials::typed_code;
use crate::db::{Db, Session};
use crate::error::ApiError;
use crate::tenant::cache::TenantStore;
use crate::tenant::layer::TenantResolution;
use crate::tills::queries::{TokenDevice, find_device_by_token};

/// The header a paired till sends its token in.
pub const DEVICE_TOKEN_HEADER: &str = "x-device-token";

/// A new pairing code, as shown: `XXXX-XXXX` (the format of every typed code).
#[must_use]
pub fn new_pairing_code() -> String {
    typed_code::new_code()
}

/// A typed pairing code as stored, in any letter case, dash optional (see [`typed_code::code_hash`]).
#[must_use]
pub fn pairing_code_hash(typed: &str) -> Option<Vec<u8>> {
    typed_code::code_hash(typed)
}

/// A request from a paired till of the store of `X-Tenant-Key`.
#[derive(Debug, Clone)]
pub struct TillDevice {
    pub device: TokenDevice,
    pub store: TenantStore,
    pub db: Db,
    pub roles: Arc<RoleDirectory>,
}

impl<S> FromRequestParts<S> for TillDevice
where
    S: Send + Sync,
    Db: FromRef<S>,
    Arc<RoleDirectory>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // The store first, as for every store-scoped request.
        let store = TenantResolution::of(parts)?;
        let token = parts
            .headers
            .get(DEVICE_TOKEN_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|token| !token.is_empty() && token.len() <= 128)
            .ok_or(ApiError::DeviceInvalid)?;
        let db = Db::from_ref(state);
        let hash = OpaqueToken::presented(token.to_owned()).digest();
        // A session: under transaction pooling the lookup (which may mark the device seen)
        // runs and commits in one transaction.
        let mut session = Session::open(&db).await?;
        let device = find_device_by_token(&mut session, &hash, store.id).await?;
        session.finish().await?;
        let device = device.ok_or(ApiError::DeviceInvalid)?;
        if !device.is_active {
            return Err(ApiError::DeviceInvalid);
        }
        if device.store_id != store.id {
            return Err(ApiError::InvalidTenantKey);
        }
        Ok(TillDevice { device, store, db, roles: Arc::<RoleDirectory>::from_ref(state) })
    }
}
