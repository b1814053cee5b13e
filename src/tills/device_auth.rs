//! `TillDevice`: the paired till a request comes from (`X-Device-Token` with `X-Tenant-Key`,
//! docs/contract.md §11), and the secrets of pairing: codes and device tokens, kept only as hashes.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use crate::access::directory::RoleDirectory;
use crate::credentials::tokens::OpaqueToken;
use crate::db::{Db, Session};
use crate::error::ApiError;
use crate::tenant::cache::TenantStore;
use crate::tenant::layer::TenantResolution;
use crate::tills::queries::{TokenDevice, find_device_by_token};

/// The header a paired till sends its token in.
pub const DEVICE_TOKEN_HEADER: &str = "x-device-token";

/// Symbols of a pairing code: 8 of Crockford's 32, 40 bits.
const PAIRING_CODE_SYMBOLS: usize = 8;

/// A new pairing code, as shown: `XXXX-XXXX`.
#[must_use]
pub fn new_pairing_code() -> String {
    let symbols = crate::random::crockford_symbols(PAIRING_CODE_SYMBOLS);
    format!("{}-{}", &symbols[..4], &symbols[4..])
}

/// A typed pairing code as stored (its SHA-256), accepted in any letter case, with or without
/// the dash and spaces, and with Crockford's look-alikes (`O` for `0`, `I`/`L` for `1`);
/// `None` when it cannot be a code at all.
#[must_use]
pub fn pairing_code_hash(typed: &str) -> Option<Vec<u8>> {
    let mut symbols = String::with_capacity(PAIRING_CODE_SYMBOLS);
    for c in typed.chars().filter(|c| !matches!(c, '-' | ' ')) {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        };
        if !crate::random::CROCKFORD_ALPHABET.contains(&u8::try_from(c).ok()?) {
            return None;
        }
        symbols.push(c);
    }
    (symbols.len() == PAIRING_CODE_SYMBOLS).then(|| Sha256::digest(symbols.as_bytes()).to_vec())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_read_in_any_case_with_or_without_its_dash_and_look_alikes() {
        let code = new_pairing_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        let stored = pairing_code_hash(&code).unwrap();
        assert_eq!(pairing_code_hash(&code.to_lowercase()), Some(stored.clone()));
        assert_eq!(pairing_code_hash(&code.replace('-', "")), Some(stored));
        assert_eq!(pairing_code_hash("ABCD-EFGO"), pairing_code_hash("abcdefg0"));
        assert_eq!(pairing_code_hash("1111-111I"), pairing_code_hash("1111 111L"));
        for bad in ["", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFG!", "ABCD-EFGU"] {
            assert_eq!(pairing_code_hash(bad), None, "{bad}");
        }
    }
}
