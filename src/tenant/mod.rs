//! Tenants at request time: `X-Tenant-Key` → the store (cached), and the one door a request
//! takes into that store's schema (docs/contract.md §3): a transaction ([`conn::TenantConn`])
//! or a single statement ([`conn::StoreScope::read`], `read`), both naming the store's
//! tables in full through `db::schema::StoreTables` and checking the caller with
//! `public.store_caller` in the same transaction or statement. No request switches the
//! `search_path`; only tenant migrations do (`db::schema::enter`).

pub mod cache;
pub mod conn;
pub mod layer;
pub mod read;

/// The three top-level keys the apps read on every successful store-scoped JSON object
/// (docs/contract.md §6 "drop-in details"): which store answered. Flattened into those responses.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TenantEcho {
    #[schema(example = "moi-magazin_5f939099")]
    pub tenant_key: String,
    #[schema(example = "Мой Магазин")]
    pub store_name: String,
    #[schema(example = "moi-magazin")]
    pub store_slug: String,
}

impl From<&cache::TenantStore> for TenantEcho {
    fn from(store: &cache::TenantStore) -> Self {
        TenantEcho {
            tenant_key: store.tenant_key.clone(),
            store_name: store.name.clone(),
            store_slug: store.slug.clone(),
        }
    }
}
