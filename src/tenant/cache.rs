//! The store cache: `X-Tenant-Key` → store, without a database round trip per request.
//!
//! Entries live [`STORE_CACHE_TTL`]. The instance that updates or deactivates a store drops
//! its entry at once; other instances sharing the database see the change when their entry
//! expires, within five seconds (SPEC §3). A TTL was chosen over LISTEN/NOTIFY: it needs no
//! dedicated connection, survives restarts and network blips without a resubscription path,
//! and five seconds of staleness is what the contract allows. Unknown keys are cached too
//! (as "no such store"), so a flood of made-up keys cannot turn into a flood of queries.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::db::Db;
use crate::tenant::SchemaName;

/// How long a resolved key is trusted.
pub const STORE_CACHE_TTL: Duration = Duration::from_secs(5);

/// Entries kept before the cache is emptied (a bound against key-guessing floods).
const MAX_ENTRIES: usize = 100_000;

/// A store as the tenant middleware needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantStore {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub tenant_key: String,
    pub description: String,
    pub schema: SchemaName,
    pub is_active: bool,
}

#[derive(sqlx::FromRow)]
struct StoreByKey {
    id: i64,
    name: String,
    slug: String,
    tenant_key: String,
    description: String,
    schema_name: String,
    is_active: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    store: Option<TenantStore>,
    fetched_at: Instant,
}

/// Resolved keys, shared by every request of this instance.
#[derive(Debug, Default)]
pub struct StoreCache {
    entries: RwLock<HashMap<String, Entry>>,
}

impl StoreCache {
    /// The store with `tenant_key`, from the cache or the registry; `None` when none exists.
    pub async fn resolve(&self, pool: &Db, tenant_key: &str) -> Result<Option<TenantStore>, sqlx::Error> {
        if let Some(entry) = self.fresh(tenant_key) {
            return Ok(entry.store);
        }
        let row: Option<StoreByKey> = crate::db::query_as(
            "select id, name, slug, tenant_key, description, schema_name, is_active
             from public.stores where tenant_key = $1",
        )
        .bind(tenant_key)
        .fetch_optional(&mut *crate::db::Session::open(pool).await?)
        .await?;
        let store = row.and_then(|row| {
            // A registry row whose schema name fails validation is never served (fail closed).
            let schema = SchemaName::parse(&row.schema_name).ok()?;
            Some(TenantStore {
                id: row.id,
                name: row.name,
                slug: row.slug,
                tenant_key: row.tenant_key,
                description: row.description,
                schema,
                is_active: row.is_active,
            })
        });
        self.remember(tenant_key, store.clone());
        Ok(store)
    }

    /// Forgets `tenant_key`, so this instance sees a store's change at once.
    pub fn invalidate(&self, tenant_key: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(tenant_key);
        }
    }

    fn fresh(&self, tenant_key: &str) -> Option<Entry> {
        let entries = self.entries.read().ok()?;
        entries.get(tenant_key).filter(|e| e.fetched_at.elapsed() < STORE_CACHE_TTL).cloned()
    }

    fn remember(&self, tenant_key: &str, store: Option<TenantStore>) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(tenant_key.to_owned(), Entry { store, fetched_at: Instant::now() });
        }
    }
}
