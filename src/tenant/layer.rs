//! The tenant middleware: `X-Tenant-Key` → the store, once per request (docs/contract.md §3).
//!
//! It never answers a request itself: it leaves a [`TenantResolution`] in the request
//! extensions, and the extractors of store-scoped handlers ([`crate::tenant::conn`]) turn a
//! failed resolution into 400 `missing_tenant_key` or 403 `invalid_tenant_key` /
//! `inactive_tenant`. It is mounted on store-scoped routes only, so other routes never
//! spend a registry lookup on a key.

use std::sync::Arc;

use crate::db::Db;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;
use crate::tenant::cache::{StoreCache, TenantStore};

/// The header POS apps send on every store-scoped call.
pub const TENANT_KEY_HEADER: &str = "x-tenant-key";

/// Longest key accepted: a 56-character slug, `_` and 8 hex digits.
const MAX_KEY_LEN: usize = 65;

/// What the middleware found out about the request's store.
#[derive(Debug, Clone)]
pub struct TenantResolution(pub Result<TenantStore, TenantRejection>);

impl TenantResolution {
    /// The store the middleware resolved for the request of `parts`; `Missing` when the
    /// middleware left nothing (a route it is not mounted on has no store).
    pub fn of(parts: &axum::http::request::Parts) -> Result<TenantStore, TenantRejection> {
        parts
            .extensions
            .get::<TenantResolution>()
            .map_or(Err(TenantRejection::Missing), |resolution| resolution.0.clone())
    }
}

/// Why a request has no usable store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantRejection {
    Missing,
    Invalid,
    Inactive,
    /// The registry could not be read (database down).
    Unavailable,
}

impl From<TenantRejection> for ApiError {
    fn from(rejection: TenantRejection) -> Self {
        match rejection {
            TenantRejection::Missing => ApiError::MissingTenantKey,
            TenantRejection::Invalid => ApiError::InvalidTenantKey,
            TenantRejection::Inactive => ApiError::InactiveTenant,
            TenantRejection::Unavailable => {
                ApiError::ServiceUnavailable(anyhow::anyhow!("the store registry could not be read"))
            }
        }
    }
}

/// What the middleware needs: the registry and this instance's cache of it.
#[derive(Clone)]
pub struct TenantRegistry {
    pub pool: Db,
    pub stores: Arc<StoreCache>,
}

/// Middleware for store-scoped routes: resolves `X-Tenant-Key` and records the outcome.
pub async fn resolve_tenant(
    State(registry): State<TenantRegistry>,
    mut req: Request,
    next: Next,
) -> Response {
    let outcome = match req.headers().get(TENANT_KEY_HEADER) {
        None => Err(TenantRejection::Missing),
        Some(value) => match value.to_str().ok().filter(|key| is_well_formed(key)) {
            // Hostile or malformed keys never reach the database.
            None => Err(TenantRejection::Invalid),
            Some(key) => match registry.stores.resolve(&registry.pool, key).await {
                Ok(Some(store)) if store.is_active => Ok(store),
                Ok(Some(_)) => Err(TenantRejection::Inactive),
                Ok(None) => Err(TenantRejection::Invalid),
                Err(error) => {
                    tracing::warn!(error = %error, "could not resolve a tenant key");
                    Err(TenantRejection::Unavailable)
                }
            },
        },
    };
    if let Ok(store) = &outcome {
        tracing::Span::current().record("store.slug", store.slug.as_str());
    }
    req.extensions_mut().insert(TenantResolution(outcome));
    next.run(req).await
}

/// `<slug>_<8 hex>`: lowercase letters, digits, `-` and `_`, at most 65 bytes. Keys that are
/// not cannot name a store and are refused before any lookup.
#[must_use]
pub fn is_well_formed(key: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_keys_are_looked_up() {
        assert!(is_well_formed("moi-magazin_5f939099"));
        for hostile in ["", "x'; drop table stores; --", "a\"b", "Ключ", "a b", &"a".repeat(66), "a\0b"] {
            assert!(!is_well_formed(hostile), "{hostile:?}");
        }
    }
}
