//! Migrating the fleet: every store schema brought to the latest tenant migration,
//! concurrently with a bound, each schema in a transaction of its own (docs/contract.md §2, §9).
//!
//! - One transaction per schema: a transaction over thousands of schemas exhausts
//!   PostgreSQL's lock table, and a schema is either fully migrated or untouched, so an
//!   interrupted run (Ctrl-C, a crash, `kill -9`) is simply run again.
//! - Each schema's migration takes a transaction-scoped advisory lock on the schema name
//!   ([`migrate_tenant_schema`]), so two `kassa migrate` runs, or a run and a starting
//!   server, never migrate one schema at the same time: the second waits and finds it done.
//! - A failing schema is reported (schema, migration, error) and the others go on.
//! - The bound (`--jobs`) is the number of schemas in flight; each holds one connection.

use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use sqlx::migrate::Migration;
use sqlx::{Acquire, PgPool};

use crate::db::migrate::{TenantMigrationError, TenantMigrationOutcome, migrate_tenant_schema};
use crate::db::schema::SchemaName;

/// Why one schema did not migrate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaFailure {
    pub schema: String,
    /// The migration that failed, when one did (not for a missing schema, say).
    pub version: Option<i64>,
    pub error: String,
}

/// The outcome of one schema.
pub type SchemaResult = Result<TenantMigrationOutcome, SchemaFailure>;

/// Told about every schema as it finishes (progress bars, log lines).
pub trait FleetProgress: Send + Sync {
    fn schema_done(&self, schema: &str, result: &SchemaResult);
}

/// Progress nobody watches.
impl FleetProgress for () {
    fn schema_done(&self, _: &str, _: &SchemaResult) {}
}

/// What a fleet migration did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FleetReport {
    pub total: usize,
    /// Schemas that applied at least one migration.
    pub migrated: usize,
    /// Schemas that were already up to date.
    pub current: usize,
    pub failed: Vec<SchemaFailure>,
    /// Schemas not attempted because the run was stopped.
    pub not_attempted: usize,
}

impl FleetReport {
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.not_attempted == 0
    }
}

/// Migrates `schemas`, at most `jobs` at once. Once `stop` is set, schemas not yet started
/// are left alone (counted in `not_attempted`); those in flight finish.
pub async fn migrate_schemas(
    pool: &PgPool,
    schemas: Vec<String>,
    migrations: &[Migration],
    jobs: usize,
    progress: &dyn FleetProgress,
    stop: &AtomicBool,
) -> FleetReport {
    let mut report = FleetReport { total: schemas.len(), ..FleetReport::default() };
    let mut results = futures_util::stream::iter(schemas)
        .map(|schema| async move {
            if stop.load(Ordering::Relaxed) {
                return (schema, None);
            }
            let result = migrate_one(pool, &schema, migrations).await;
            (schema, Some(result))
        })
        .buffer_unordered(jobs.max(1));
    while let Some((schema, result)) = results.next().await {
        let Some(result) = result else {
            report.not_attempted += 1;
            continue;
        };
        progress.schema_done(&schema, &result);
        match result {
            Ok(outcome) if outcome.applied.is_empty() => report.current += 1,
            Ok(_) => report.migrated += 1,
            Err(failure) => report.failed.push(failure),
        }
    }
    report.failed.sort_by(|a, b| a.schema.cmp(&b.schema));
    report
}

async fn migrate_one(pool: &PgPool, name: &str, migrations: &[Migration]) -> SchemaResult {
    let failure =
        |version: Option<i64>, error: String| SchemaFailure { schema: name.to_owned(), version, error };
    let schema = SchemaName::parse(name).map_err(|e| failure(None, e.to_string()))?;
    let mut conn = pool.acquire().await.map_err(|e| failure(None, e.to_string()))?;
    let mut tx = conn.begin().await.map_err(|e| failure(None, e.to_string()))?;
    let outcome = migrate_tenant_schema(&mut tx, &schema, migrations).await.map_err(|error| {
        let version = match &error {
            TenantMigrationError::Failed { version, .. } | TenantMigrationError::Changed { version, .. } => {
                Some(*version)
            }
            _ => None,
        };
        failure(version, error.to_string())
    })?;
    tx.commit().await.map_err(|e| failure(None, e.to_string()))?;
    Ok(outcome)
}
