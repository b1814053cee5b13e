//! Migrations: `migrations/public` once per database, `migrations/tenant` into every store's
//! schema with a ledger of its own (docs/contract.md §2).
//!
//! The public set runs through sqlx's migrator (ledger `public._sqlx_migrations`). Tenant
//! migrations run through [`migrate_tenant_schema`], inside a transaction the caller owns:
//! provisioning uses the registration transaction, `kassa migrate` one transaction per
//! schema (one transaction over thousands of schemas exhausts the lock table). The ledger
//! `schema_migrations` lives in the tenant schema itself, so a store's data and the record
//! of its shape move together (export, restore, sharding).

use std::collections::HashMap;
use std::sync::LazyLock;

use sqlx::migrate::{MigrateError, Migration, Migrator};
use sqlx::{PgConnection, PgPool};

use crate::db::released::{Set, with_released_checksums};
use crate::db::schema::{EnterError, SchemaName};
use crate::db::statements;
use crate::error::ApiError;

/// `migrations/public/*.sql`, embedded in the binary (reworded ones with their released
/// checksums: `db::released`).
pub static PUBLIC_MIGRATIONS: LazyLock<Migrator> =
    LazyLock::new(|| with_released_checksums(sqlx::migrate!("migrations/public"), Set::Public));

/// `migrations/tenant/*.sql`, embedded in the binary (reworded ones as above).
pub static TENANT_MIGRATIONS: LazyLock<Migrator> =
    LazyLock::new(|| with_released_checksums(sqlx::migrate!("migrations/tenant"), Set::Tenant));

/// Brings the `public` schema up to date. Idempotent; concurrent callers wait on a lock.
pub async fn migrate_public(pool: &PgPool) -> Result<(), MigrateError> {
    PUBLIC_MIGRATIONS.run(pool).await
}

/// Why a tenant schema could not be migrated.
#[derive(Debug, thiserror::Error)]
pub enum TenantMigrationError {
    #[error("schema {schema} does not exist (or the connection is not inside a transaction)")]
    MissingSchema { schema: String },
    #[error("{schema}: migration {version} changed after it was applied (checksum mismatch)")]
    Changed { schema: String, version: i64 },
    #[error("{schema}: migration {version} ({description}) failed: {source}")]
    Failed {
        schema: String,
        version: i64,
        description: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("{schema}: {source}")]
    Database {
        schema: String,
        #[source]
        source: sqlx::Error,
    },
}

/// What [`migrate_tenant_schema`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantMigrationOutcome {
    /// Versions applied by this call, in order.
    pub applied: Vec<i64>,
    /// The highest version now recorded in the schema's ledger.
    pub version: Option<i64>,
}

/// Applies the pending `migrations` to `schema`, inside the caller's open transaction.
///
/// The schema must exist. The migrations run with the transaction's `search_path` on the
/// schema alone (they name their tables bare, the same text for every store) and put it
/// back on `public` when done: whatever the caller writes afterwards names the store's
/// tables through `StoreTables`, like every request does. Migrations recorded in the
/// ledger but unknown to this binary are tolerated: during a rollout the previous binary
/// meets schemas an upgraded one has already migrated (docs/contract.md §2).
pub async fn migrate_tenant_schema(
    tx: &mut PgConnection,
    schema: &SchemaName,
    migrations: &[Migration],
) -> Result<TenantMigrationOutcome, TenantMigrationError> {
    let db_error = |source| TenantMigrationError::Database { schema: schema.to_string(), source };
    enter_schema(tx, schema).await?;
    // Serialises concurrent migrators of this schema (and the `create table if not exists`
    // below, which is not safe under concurrency by itself).
    crate::db::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(schema.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    sqlx::raw_sql(
        "create table if not exists schema_migrations (
            version bigint primary key,
            description text not null,
            checksum bytea not null,
            applied_at timestamptz not null default now()
        )",
    )
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    let applied: HashMap<i64, Vec<u8>> =
        crate::db::query_as("select version, checksum from schema_migrations")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();

    let mut outcome = TenantMigrationOutcome { applied: Vec::new(), version: applied.keys().max().copied() };
    for migration in migrations.iter().filter(|m| !m.migration_type.is_down_migration()) {
        match applied.get(&migration.version) {
            Some(checksum) if checksum[..] == migration.checksum[..] => continue,
            Some(_) => {
                return Err(TenantMigrationError::Changed {
                    schema: schema.to_string(),
                    version: migration.version,
                });
            }
            None => apply(tx, schema, migration).await?,
        }
        outcome.applied.push(migration.version);
        outcome.version = outcome.version.max(Some(migration.version));
    }
    if !outcome.applied.is_empty() {
        bump_roles_version(tx, schema).await.map_err(db_error)?;
    }
    crate::db::schema::leave(tx).await.map_err(db_error)?;
    Ok(outcome)
}

/// A tenant migration may write the store's roles (0006 added one): requests hold role
/// definitions by the store's roles version, so it moves on, as a role write does.
async fn bump_roles_version(tx: &mut PgConnection, schema: &SchemaName) -> Result<(), sqlx::Error> {
    crate::db::query("update public.stores set roles_version = roles_version + 1 where schema_name = $1")
        .bind(schema.as_str())
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

/// Enters `schema` through the one checked way in ([`crate::db::schema::enter`]).
async fn enter_schema(tx: &mut PgConnection, schema: &SchemaName) -> Result<(), TenantMigrationError> {
    crate::db::schema::enter(tx, schema).await.map_err(|error| match error {
        EnterError::Database(source) => TenantMigrationError::Database { schema: schema.to_string(), source },
        EnterError::WrongSchema(_) => TenantMigrationError::MissingSchema { schema: schema.to_string() },
    })
}

async fn apply(
    tx: &mut PgConnection,
    schema: &SchemaName,
    migration: &Migration,
) -> Result<(), TenantMigrationError> {
    let failed = |source| TenantMigrationError::Failed {
        schema: schema.to_string(),
        version: migration.version,
        description: migration.description.to_string(),
        source,
    };
    for statement in statements_to_run(Set::Tenant, migration) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *tx).await.map_err(failed)?;
    }
    crate::db::query("insert into schema_migrations (version, description, checksum) values ($1, $2, $3)")
        .bind(migration.version)
        .bind(&*migration.description)
        .bind(&*migration.checksum)
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    Ok(())
}

/// A released statement that a later migration undoes, and that some servers refuse.
struct Superseded {
    set: Set,
    version: i64,
    /// The statement's start, as [`statements::split`] renders it.
    starts_with: &'static str,
}

/// Statements skipped when a schema is migrated: the end state is the same as running them
/// and then what undoes them, on every server.
const SUPERSEDED: &[Superseded] = &[
    // Tenant 0008 drops this trigger: the statements that write roles move the version on
    // themselves (`access::queries`), and Citus refuses triggers on distributed tables.
    Superseded { set: Set::Tenant, version: 3, starts_with: "create trigger roles_bump_version " },
];

/// The statements of `migration` to execute, one at a time ([`statements`]).
fn statements_to_run(set: Set, migration: &Migration) -> Vec<String> {
    let superseded = |statement: &String| {
        SUPERSEDED
            .iter()
            .any(|s| s.set == set && s.version == migration.version && statement.starts_with(s.starts_with))
    };
    statements::split(migration.sql.as_str()).into_iter().filter(|statement| !superseded(statement)).collect()
}

/// A tenant schema that could not be migrated during a request (provisioning): the
/// database going away mid-migration is an outage like any other (503), the rest a bug.
impl From<TenantMigrationError> for ApiError {
    fn from(error: TenantMigrationError) -> Self {
        use TenantMigrationError as E;
        match &error {
            E::Failed { source, .. } | E::Database { source, .. } if crate::db::is_unavailable(source) => {
                ApiError::ServiceUnavailable(error.into())
            }
            _ => ApiError::Internal(error.into()),
        }
    }
}

/// The schema of every store in the registry, oldest store first.
pub async fn list_tenant_schemas(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    crate::db::query_scalar("select schema_name from public.stores order by id").fetch_all(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::released::{REWORDED, from_hex, statements_digest};

    fn embedded(set: Set, version: i64) -> &'static Migration {
        let migrator = match set {
            Set::Public => &*PUBLIC_MIGRATIONS,
            Set::Tenant => &*TENANT_MIGRATIONS,
        };
        migrator.migrations.iter().find(|m| m.version == version).expect("the reworded migration exists")
    }

    #[test]
    fn reworded_migrations_keep_their_released_statements() {
        for reworded in REWORDED {
            let migration = embedded(reworded.set, reworded.version);
            assert_eq!(
                statements_digest(migration.sql.as_str()),
                reworded.statements,
                "{:?} migration {} changed a statement after release: add a new migration instead",
                reworded.set,
                reworded.version
            );
        }
    }

    #[test]
    fn every_tenant_migration_splits_into_statements_that_start_with_a_keyword() {
        for migration in TENANT_MIGRATIONS.iter() {
            let statements = statements::split(migration.sql.as_str());
            assert!(!statements.is_empty(), "migration {} has statements", migration.version);
            for statement in statements {
                let first = statement.split_whitespace().next().unwrap_or_default();
                assert!(
                    ["create", "alter", "insert", "drop", "update", "do"].contains(&first),
                    "migration {}: unexpected statement start `{first}`",
                    migration.version
                );
            }
        }
    }

    #[test]
    fn each_superseded_statement_is_found_once_and_skipped() {
        for superseded in SUPERSEDED {
            let migration = embedded(superseded.set, superseded.version);
            let all = statements::split(migration.sql.as_str());
            let matching = all.iter().filter(|s| s.starts_with(superseded.starts_with)).count();
            assert_eq!(
                matching, 1,
                "{:?} {}: `{}`",
                superseded.set, superseded.version, superseded.starts_with
            );
            assert_eq!(statements_to_run(superseded.set, migration).len(), all.len() - 1);
        }
    }

    #[test]
    fn reworded_migrations_present_their_released_checksum() {
        for reworded in REWORDED {
            let checksum = &embedded(reworded.set, reworded.version).checksum;
            assert_eq!(checksum[..], from_hex(reworded.released)[..]);
        }
    }
}
