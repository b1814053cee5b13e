//! `kassa tenants …`: the fleet of store schemas as an operator sees it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use sqlx::{Acquire, AssertSqlSafe};

use crate::cli::migrate::{MigrateArgs, migrate_tenants};
use crate::cli::print_table;
use crate::db::schema::SchemaName;
use crate::state::AppState;
use crate::stores::queries::{StoreOverview, find_overview_by_key, fleet_overview};

/// `kassa tenants …`.
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// List every store: key, slug, schema, owner, active, tenant-migration version.
    List,
    /// How many stores sit at each tenant-migration version.
    Status,
    /// Bring the stores with the given keys (every store when none is given) to the latest
    /// tenant migration.
    Migrate {
        /// X-Tenant-Key values of the stores to migrate.
        keys: Vec<String>,
        #[command(flatten)]
        args: MigrateArgs,
    },
    /// Write one store (its schema with all its data, and its rows in the public registry:
    /// the store, its members' accounts and memberships) as a SQL file. Restore it into a
    /// kassa database with `psql --single-transaction -v ON_ERROR_STOP=1 -f FILE`.
    Export {
        /// The store's X-Tenant-Key.
        key: String,
        /// Where to write; `-` for standard output. Default: `<slug>.sql` here.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Drop a deactivated store for good: its schema and its registry rows (accounts stay).
    /// Refuses an active store.
    Purge {
        /// The store's X-Tenant-Key.
        key: String,
        /// Confirm that the data goes for good.
        #[arg(long)]
        yes: bool,
    },
}

/// Runs a `kassa tenants` command. `libpq_url` reaches the same database for `pg_dump`.
pub async fn run(command: TenantsCommand, app: &AppState, libpq_url: &str) -> anyhow::Result<()> {
    match command {
        TenantsCommand::List => list(app).await,
        TenantsCommand::Status => status(app).await,
        TenantsCommand::Migrate { keys, args } => migrate_tenants(app, &keys, &args).await,
        TenantsCommand::Export { key, output } => export(app, &key, output, libpq_url).await,
        TenantsCommand::Purge { key, yes } => purge(app, &key, yes).await,
    }
}

async fn list(app: &AppState) -> anyhow::Result<()> {
    let stores = fleet_overview(&app.db).await?;
    let rows: Vec<Vec<String>> = stores
        .into_iter()
        .map(|s| {
            vec![
                s.tenant_key,
                s.slug,
                s.schema_name,
                s.owner_username,
                if s.is_active { "yes" } else { "no" }.to_owned(),
                version_text(s.version),
            ]
        })
        .collect();
    print_table(&["KEY", "SLUG", "SCHEMA", "OWNER", "ACTIVE", "VERSION"], &rows);
    Ok(())
}

fn version_text(version: Option<i64>) -> String {
    version.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

async fn status(app: &AppState) -> anyhow::Result<()> {
    let latest = app.tenant_migrations.iter().map(|m| m.version).max();
    let mut by_version: BTreeMap<Option<i64>, usize> = BTreeMap::new();
    for store in fleet_overview(&app.db).await? {
        *by_version.entry(store.version).or_default() += 1;
    }
    let rows: Vec<Vec<String>> = by_version
        .iter()
        .rev()
        .map(|(version, count)| {
            let note = if *version == latest { "latest" } else { "behind" };
            vec![version_text(*version), count.to_string(), note.to_owned()]
        })
        .collect();
    print_table(&["VERSION", "STORES", ""], &rows);
    println!("latest tenant migration in this binary: {}", version_text(latest));
    Ok(())
}

async fn store_by_key(app: &AppState, key: &str) -> anyhow::Result<StoreOverview> {
    find_overview_by_key(&app.db, key).await?.with_context(|| format!("no store has the key {key:?}"))
}

async fn export(app: &AppState, key: &str, output: Option<PathBuf>, libpq_url: &str) -> anyhow::Result<()> {
    let store = store_by_key(app, key).await?;
    let schema = SchemaName::parse(&store.schema_name)?;
    let registry_rows = crate::stores::queries::registry_rows_as_sql(&app.db, store.id).await?;
    let pg_dump = crate::db::embedded::find_client_binary("pg_dump").context(
        "pg_dump not found: install the PostgreSQL client (e.g. apt-get install postgresql-client)",
    )?;
    let dump = tokio::process::Command::new(&pg_dump)
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg(format!("--schema={}", schema.as_str()))
        .arg(format!("--dbname={libpq_url}"))
        .output()
        .await
        .with_context(|| format!("running {}", pg_dump.display()))?;
    if !dump.status.success() {
        bail!("pg_dump failed: {}", String::from_utf8_lossy(&dump.stderr).trim());
    }

    let mut file = Vec::new();
    writeln!(file, "-- kassa export of store {:?} ({}), schema {}", store.name, store.tenant_key, schema)?;
    writeln!(file, "-- Restore into a kassa database (public migrations applied) with:")?;
    writeln!(file, "--   psql --single-transaction -v ON_ERROR_STOP=1 -f THIS_FILE \"$DATABASE_URL\"")?;
    writeln!(file, "-- Accounts that already exist (same id) are kept as they are.\n")?;
    file.extend_from_slice(registry_rows.as_bytes());
    writeln!(file, "\n-- The store's schema and data (pg_dump --schema={schema}):")?;
    file.extend_from_slice(&dump.stdout);
    match output.as_deref() {
        Some(path) if path.as_os_str() == "-" => std::io::stdout().write_all(&file)?,
        path => {
            let path = path.map_or_else(|| PathBuf::from(format!("{}.sql", store.slug)), PathBuf::from);
            std::fs::write(&path, &file).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("exported store {} to {} ({} bytes)", store.slug, path.display(), file.len());
        }
    }
    Ok(())
}

async fn purge(app: &AppState, key: &str, yes: bool) -> anyhow::Result<()> {
    let store = store_by_key(app, key).await?;
    if store.is_active {
        bail!(
            "store {} is active: deactivate it first (DELETE /api/users/stores/{}/ as its owner)",
            store.slug,
            store.id
        );
    }
    let schema = SchemaName::parse(&store.schema_name)?;
    if !yes {
        bail!(
            "this drops schema {schema} and the registry rows of store {} for good; add --yes to go on",
            store.slug
        );
    }
    let mut conn = app.db.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(AssertSqlSafe(format!("drop schema if exists {} cascade", schema.quoted())))
        .execute(&mut *tx)
        .await?;
    crate::stores::queries::delete_store_rows(&mut tx, store.id).await?;
    tx.commit().await?;
    app.stores.invalidate(&store.tenant_key);
    println!("purged store {} ({}): schema {schema} dropped", store.slug, store.tenant_key);
    Ok(())
}
