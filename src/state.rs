//! `AppState`: what every handler can reach. It sits below every feature and imports none:
//! the infrastructure below (database, hashing, tokens, the store cache) hands it its parts,
//! and extractors of those layers take just the part they need through `FromRef`.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;
use sqlx::migrate::Migration;

use crate::access::directory::RoleDirectory;
use crate::config::Config;
use crate::credentials::hasher::PasswordHasher;
use crate::credentials::tokens::AccessTokens;
use crate::db::Db;
use crate::db::migrate::TENANT_MIGRATIONS;
use crate::secrets::SecretSealer;
use crate::tenant::cache::StoreCache;

/// Cheap to clone: everything inside is shared.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The pool, behind the circuit that answers 503 at once while the database is down.
    pub db: Db,
    /// argon2id off the async workers, bounded.
    pub hasher: PasswordHasher,
    /// Signs access tokens with the current signing key and verifies them with the keys.
    pub tokens: Arc<AccessTokens>,
    /// The tenant migrations new stores get (tests substitute broken ones).
    pub tenant_migrations: Arc<[Migration]>,
    /// `X-Tenant-Key` → store, cached for a few seconds.
    pub stores: Arc<StoreCache>,
    /// Each store's role definitions, by the version each request reads.
    pub roles: Arc<RoleDirectory>,
    /// Seals the secrets kept at rest (stores' staff passwords) under a key derived from
    /// `SECRET_KEY`.
    pub sealer: Arc<SecretSealer>,
}

impl AppState {
    /// The state for `config` on `db`, with the migrations embedded in this binary.
    #[must_use]
    pub fn new(config: Arc<Config>, db: PgPool) -> Self {
        Self::with_hasher(config, db, PasswordHasher::for_this_machine())
    }

    /// [`AppState::new`] with `hasher` instead of hashing threads of its own.
    #[must_use]
    pub fn with_hasher(config: Arc<Config>, db: PgPool, hasher: PasswordHasher) -> Self {
        let db = Db::new(db, &config);
        let sealer = Arc::new(SecretSealer::from_master(&config.secret_key));
        let tokens = Arc::new(AccessTokens::new(&config, db.clone(), Arc::clone(&sealer)));
        AppState {
            sealer,
            config,
            db,
            hasher,
            tokens,
            tenant_migrations: TENANT_MIGRATIONS.migrations.iter().cloned().collect(),
            stores: Arc::new(StoreCache::default()),
            roles: Arc::new(RoleDirectory::default()),
        }
    }
}
