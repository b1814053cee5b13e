//! The store cache: `X-Tenant-Key` → store, without a database round trip per request.
//!
//! Entries live [`STORE_CACHE_TTL`]. The instance that updates or deactivates a store drops
//! its entry at once; other instances sharing the database see the change when their entry
//! expires, within five seconds (docs/contract.md §3). A TTL was chosen over LISTEN/NOTIFY: it needs no
//! dedicated connection, survives restarts and network blips without a resubscription path,
//! and five seconds of staleness is what the contract allows. Unknown keys are cached too
//! (as "no such store"), so a flood of made-up keys cannot turn into a flood of queries.
//!
//! Known stores and unknown keys live in two bounded caches: a flood of made-up keys churns
//! only the second, so the stores in use stay cached through it. Both are S3-FIFO caches
//! (`quick_cache`), which also keep a key that is asked for often over one asked for once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::db::Db;
use crate::db::schema::SchemaName;

/// How long a resolved key is trusted.
pub const STORE_CACHE_TTL: Duration = Duration::from_secs(5);

/// Stores kept: every store of a large fleet fits.
const KNOWN_CAPACITY: usize = 100_000;

/// Unknown keys remembered: enough to absorb a client retrying a wrong key, small enough
/// that a flood of random keys costs little memory.
const UNKNOWN_CAPACITY: usize = 10_000;

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

/// Resolved keys, shared by every request of this instance.
pub struct StoreCache {
    known: Cache<String, (TenantStore, Instant)>,
    /// Keys the registry did not know, with when it said so.
    unknown: Cache<String, Instant>,
    /// Registry queries made, for tests and diagnostics.
    lookups: AtomicU64,
}

impl Default for StoreCache {
    fn default() -> Self {
        StoreCache {
            known: Cache::new(KNOWN_CAPACITY),
            unknown: Cache::new(UNKNOWN_CAPACITY),
            lookups: AtomicU64::new(0),
        }
    }
}

impl std::fmt::Debug for StoreCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCache")
            .field("known", &self.known.len())
            .field("unknown", &self.unknown.len())
            .finish()
    }
}

fn is_fresh(fetched_at: Instant) -> bool {
    fetched_at.elapsed() < STORE_CACHE_TTL
}

impl StoreCache {
    /// The store with `tenant_key`, from the cache or the registry; `None` when none exists.
    pub async fn resolve(&self, pool: &Db, tenant_key: &str) -> Result<Option<TenantStore>, sqlx::Error> {
        if let Some((store, fetched_at)) = self.known.get(tenant_key)
            && is_fresh(fetched_at)
        {
            return Ok(Some(store));
        }
        if self.unknown.get(tenant_key).is_some_and(is_fresh) {
            return Ok(None);
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
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
        match &store {
            Some(store) => {
                self.unknown.remove(tenant_key);
                self.known.insert(tenant_key.to_owned(), (store.clone(), Instant::now()));
            }
            None => {
                self.known.remove(tenant_key);
                self.unknown.insert(tenant_key.to_owned(), Instant::now());
            }
        }
        Ok(store)
    }

    /// Forgets `tenant_key`, so this instance sees a store's change at once.
    pub fn invalidate(&self, tenant_key: &str) {
        self.known.remove(tenant_key);
        self.unknown.remove(tenant_key);
    }

    /// Whether a resolved store is still held for `tenant_key` (fresh or not).
    #[must_use]
    pub fn holds(&self, tenant_key: &str) -> bool {
        self.known.peek(tenant_key).is_some()
    }

    /// How many times the registry was queried since start.
    #[must_use]
    pub fn registry_lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }
}
