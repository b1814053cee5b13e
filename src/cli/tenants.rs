//! `kassa tenants …`: the fleet of store schemas as an operator sees it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{Acquire, AssertSqlSafe};

use crate::cli::migrate::{MigrateArgs, migrate_tenants};
use crate::cli::print_table;
use crate::db::citus;
use crate::db::schema::SchemaName;
use crate::registry::queries::{
    StoreOverview, find_overview_by_key, find_overview_by_key_or_slug, fleet_overview,
};
use crate::state::AppState;

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
    /// On a Citus coordinator: turn every store schema that is not a distributed schema yet
    /// (made before schema-based sharding was on) into one, placed whole on a worker
    /// (`citus_schema_distribute`), one schema at a time, oldest store first. Interrupted,
    /// it starts again where it stopped. Run `kassa migrate` first.
    Distribute,
    /// Write one store (its schema with all its data, and its rows in the public registry:
    /// the store, its members' accounts and memberships) as a SQL file. Restore it into a
    /// kassa database with `psql --single-transaction -v ON_ERROR_STOP=1 -f FILE`.
    Export {
        /// The store's X-Tenant-Key.
        key: String,
        /// Where to write (created readable by you alone: it holds password hashes); `-` for
        /// standard output. Default: `<slug>.sql` here. An existing file is kept unless --force.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Replace the output file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Bring back a deactivated store, with everything it held: its key works again at once.
    Activate {
        /// The store's X-Tenant-Key, or its slug.
        key_or_slug: String,
    },
    /// Deactivate a store, as its owner's DELETE does: its key answers 403 `inactive_tenant`
    /// and no data is dropped (`activate` brings it back).
    Deactivate {
        /// The store's X-Tenant-Key, or its slug.
        key_or_slug: String,
    },
    /// Drop a deactivated store for good: its schema and everything of it in the public
    /// registry (tills, pairing codes, till sessions, memberships). Accounts stay. Refuses an
    /// active store.
    Purge {
        /// The store's X-Tenant-Key.
        key: String,
        /// Confirm that the data goes for good.
        #[arg(long)]
        yes: bool,
    },
}

/// Runs a `kassa tenants` command. `database` reaches the same database for `pg_dump`.
pub async fn run(command: TenantsCommand, app: &AppState, database: &PgDumpTarget) -> anyhow::Result<()> {
    match command {
        TenantsCommand::List => list(app).await,
        TenantsCommand::Status => status(app).await,
        TenantsCommand::Migrate { keys, args } => migrate_tenants(app, &keys, &args).await,
        TenantsCommand::Distribute => distribute(app).await,
        TenantsCommand::Export { key, output, force } => export(app, &key, output, force, database).await,
        TenantsCommand::Activate { key_or_slug } => set_active(app, &key_or_slug, true).await,
        TenantsCommand::Deactivate { key_or_slug } => set_active(app, &key_or_slug, false).await,
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

async fn distribute(app: &AppState) -> anyhow::Result<()> {
    let Some(version) = citus::version(&app.db).await.context("asking for citus_version()")? else {
        bail!("the database is not a Citus coordinator (no citus_version()): nothing to distribute");
    };
    let schemas = citus::undistributed_schemas(&app.db).await.context("listing store schemas")?;
    println!("{version}: {} store schema(s) to distribute", schemas.len());
    let started = std::time::Instant::now();
    for (done, schema) in schemas.iter().enumerate() {
        citus::distribute_schema(&app.db, schema).await.with_context(|| {
            format!("distributing {schema} ({done} done; run the command again to go on from here)")
        })?;
        println!("distributed {schema} ({}/{})", done + 1, schemas.len());
    }
    println!("store schemas distributed: {} ({:.1} s)", schemas.len(), started.elapsed().as_secs_f64());
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

/// `activate` and `deactivate`: store `key_or_slug` made active or not. This process's
/// store cache forgets the store once the change is committed; servers see it within their
/// cache's few seconds.
async fn set_active(app: &AppState, key_or_slug: &str, active: bool) -> anyhow::Result<()> {
    let store = find_overview_by_key_or_slug(&app.db, key_or_slug)
        .await?
        .with_context(|| format!("no store has the key or slug {key_or_slug:?}"))?;
    let state = if active { "active" } else { "deactivated" };
    if store.is_active == active {
        println!("store {} ({}) is already {state}", store.slug, store.tenant_key);
        return Ok(());
    }
    let mut conn = crate::db::Session::open(&app.db).await?;
    if active {
        crate::registry::queries::activate_store(&mut conn, store.id).await?;
    } else {
        crate::registry::queries::deactivate_store(&mut conn, store.id).await?;
    }
    // Committed before the cache forgets the store, so a re-read cannot find the old state.
    conn.finish().await?;
    app.stores.invalidate(&store.tenant_key);
    tracing::info!(
        store.id = store.id,
        store.is_active = active,
        "store {} {state} by the operator",
        store.id
    );
    println!("store {} ({}) is now {state}", store.slug, store.tenant_key);
    Ok(())
}

async fn export(
    app: &AppState,
    key: &str,
    output: Option<PathBuf>,
    force: bool,
    database: &PgDumpTarget,
) -> anyhow::Result<()> {
    let store = store_by_key(app, key).await?;
    let schema = SchemaName::parse(&store.schema_name)?;
    let registry_rows = crate::registry::queries::registry_rows_as_sql(&app.db, store.id).await?;
    let pg_dump = crate::db::embedded::find_client_binary("pg_dump").context(
        "pg_dump not found: install the PostgreSQL client (e.g. apt-get install postgresql-client)",
    )?;
    let dump = pg_dump_command(&pg_dump, database, &schema)
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
            write_private_file(&path, &file, force)?;
            eprintln!("exported store {} to {} ({} bytes)", store.slug, path.display(), file.len());
        }
    }
    Ok(())
}

/// Writes `contents` to a new file at `path` that only its owner may read (mode 0600 from
/// the start, whatever the umask): an export holds the store's password hashes. An existing
/// file is refused, or with `force` removed first, so a replaced export never keeps a wider
/// mode; creating with O_EXCL also refuses to write through a symlink planted at `path`.
pub fn write_private_file(path: &Path, contents: &[u8], force: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;

    if force {
        match std::fs::remove_file(path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(error).with_context(|| format!("replacing {}", path.display()));
            }
            _ => {}
        }
    }
    let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} exists: choose another --output, or add --force to replace it", path.display())
        }
        opened => opened.with_context(|| format!("creating {}", path.display()))?,
    };
    if let Err(error) = file.write_all(contents).and_then(|()| file.sync_all()) {
        // A half-written export would restore as a broken store: leave nothing behind.
        let _ = std::fs::remove_file(path);
        return Err(error).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

/// Where `pg_dump` connects, as libpq's separate parameters. The password travels only in
/// the child's environment (`PGPASSWORD`, which /proc shows to the same user alone), never
/// on its command line, which every user of the machine can read in `ps`.
#[derive(Debug, Clone)]
pub struct PgDumpTarget {
    /// A host name or address, or the directory of a Unix socket.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    /// Further libpq variables (`PGSSLMODE`, `PGSSLROOTCERT`, …) for the child.
    pub env: Vec<(&'static str, String)>,
    /// `None`: libpq finds it as kassa's own connection did (`PGPASSWORD`, `~/.pgpass`).
    pub password: Option<SecretString>,
}

impl PgDumpTarget {
    /// The database kassa connects to with `options` (as sqlx read them), without a password.
    #[must_use]
    pub fn from_options(options: &PgConnectOptions) -> Self {
        let host = match options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => options.get_host().to_owned(),
        };
        let user = options.get_username().to_owned();
        let mut env = vec![("PGSSLMODE", ssl_mode_name(options.get_ssl_mode()).to_owned())];
        if let Some(startup_options) = options.get_options() {
            env.push(("PGOPTIONS", startup_options.to_owned()));
        }
        Self {
            host,
            port: options.get_port(),
            // libpq's default, and PostgreSQL's: the database named after the user.
            dbname: options.get_database().unwrap_or(&user).to_owned(),
            user,
            env,
            password: None,
        }
    }

    /// The database of `DATABASE_URL`: host, port, user, database and TLS mode as sqlx parsed
    /// them, plus what sqlx keeps to itself: the password and the TLS certificate files.
    pub fn from_url(url: &SecretString) -> anyhow::Result<Self> {
        let url = url.expose_secret();
        let mut target = Self::from_options(&crate::db::pool::options_from_url(url)?);
        let parsed = url::Url::parse(url).context("DATABASE_URL is not a URL")?;
        if let Some(encoded) = parsed.password() {
            let password = percent_encoding::percent_decode_str(encoded)
                .decode_utf8()
                .context("DATABASE_URL: the password is not UTF-8")?;
            target.password = Some(SecretString::from(password.into_owned()));
        }
        for (key, value) in parsed.query_pairs() {
            // The spellings sqlx accepts (sqlx-postgres `PgConnectOptions::parse_from_url`).
            let variable = match &*key {
                "password" => {
                    target.password = Some(SecretString::from(value.into_owned()));
                    continue;
                }
                "sslrootcert" | "ssl-root-cert" | "ssl-ca" => "PGSSLROOTCERT",
                "sslcert" | "ssl-cert" => "PGSSLCERT",
                "sslkey" | "ssl-key" => "PGSSLKEY",
                _ => continue,
            };
            target.env.push((variable, value.into_owned()));
        }
        Ok(target)
    }
}

/// libpq's name of a TLS mode.
fn ssl_mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// `pg_dump` of one schema of `target`. Connection parameters are separate arguments (host,
/// port, user) and variables (the database name as `PGDATABASE`, which libpq never reads as
/// a connection string, unlike `--dbname`); the password is set on the child alone.
#[must_use]
pub fn pg_dump_command(
    pg_dump: &Path,
    target: &PgDumpTarget,
    schema: &SchemaName,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(pg_dump);
    command
        .arg("--no-owner")
        .arg("--no-privileges")
        // Never prompt: kassa already reached the database with these credentials.
        .arg("--no-password")
        .arg(format!("--schema={}", schema.as_str()))
        .arg("--host")
        .arg(&target.host)
        .arg("--port")
        .arg(target.port.to_string())
        .arg("--username")
        .arg(&target.user)
        .env("PGDATABASE", &target.dbname)
        .envs(target.env.iter().map(|(name, value)| (*name, value)));
    if let Some(password) = &target.password {
        command.env("PGPASSWORD", password.expose_secret());
    }
    command
}

async fn purge(app: &AppState, key: &str, yes: bool) -> anyhow::Result<()> {
    let store = store_by_key(app, key).await?;
    if store.is_active {
        bail!(
            "store {} is active: deactivate it first (`kassa tenants deactivate {}`, or DELETE \
             /api/users/stores/{}/ as its owner)",
            store.slug,
            store.tenant_key,
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
    crate::registry::queries::delete_store_rows(&mut tx, store.id).await?;
    tx.commit().await?;
    app.stores.invalidate(&store.tenant_key);
    println!("purged store {} ({}): schema {schema} dropped", store.slug, store.tenant_key);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    const PASSWORD: &str = "s3cr@t pass";

    fn command_for(url: &str) -> tokio::process::Command {
        let target = PgDumpTarget::from_url(&SecretString::from(url.to_owned())).unwrap();
        let schema = SchemaName::parse("tenant_lavka").unwrap();
        pg_dump_command(Path::new("/usr/bin/pg_dump"), &target, &schema)
    }

    fn args(command: &std::process::Command) -> Vec<String> {
        command.get_args().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    fn env<'a>(command: &'a std::process::Command, name: &str) -> Option<&'a OsStr> {
        command.get_envs().find(|(key, _)| *key == name).and_then(|(_, value)| value)
    }

    #[test]
    fn pg_dump_gets_the_password_in_its_environment_and_never_in_its_arguments() {
        for url in [
            "postgres://kassa:s3cr%40t%20pass@db.example:6432/kassa_prod?sslmode=verify-full&sslrootcert=/etc/ca.pem",
            "postgres://kassa@db.example:6432/kassa_prod?password=s3cr%40t+pass&sslmode=verify-full&sslrootcert=/etc/ca.pem",
        ] {
            let command = command_for(url);
            let command = command.as_std();
            let argv = args(command);
            assert!(argv.iter().all(|a| !a.contains("s3cr") && !a.contains("postgres://")), "{argv:?}");
            assert!(argv.windows(2).any(|w| w == ["--host", "db.example"]), "{argv:?}");
            assert!(argv.windows(2).any(|w| w == ["--port", "6432"]), "{argv:?}");
            assert!(argv.windows(2).any(|w| w == ["--username", "kassa"]), "{argv:?}");
            assert!(
                argv.contains(&"--schema=tenant_lavka".to_owned())
                    && argv.contains(&"--no-password".to_owned())
            );
            assert_eq!(env(command, "PGPASSWORD"), Some(OsStr::new(PASSWORD)), "{url}");
            assert_eq!(env(command, "PGDATABASE"), Some(OsStr::new("kassa_prod")));
            assert_eq!(env(command, "PGSSLMODE"), Some(OsStr::new("verify-full")));
            assert_eq!(env(command, "PGSSLROOTCERT"), Some(OsStr::new("/etc/ca.pem")));
        }
    }

    #[test]
    fn without_a_password_in_the_url_libpq_finds_its_own() {
        let command = command_for("postgres://kassa@localhost/kassa");
        let command = command.as_std();
        assert_eq!(env(command, "PGPASSWORD"), None, "the child inherits PGPASSWORD or reads ~/.pgpass");
        assert_eq!(env(command, "PGSSLMODE"), Some(OsStr::new("prefer")));
        assert!(args(command).windows(2).any(|w| w == ["--port", "5432"]));
    }

    #[test]
    fn exports_are_created_private_and_never_overwritten_by_accident() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lavka.sql");
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;

        write_private_file(&path, b"first", false).unwrap();
        assert_eq!(mode(&path), 0o600);
        let refused = write_private_file(&path, b"second", false).unwrap_err();
        assert!(refused.to_string().contains("--force"), "{refused}");
        assert_eq!(std::fs::read(&path).unwrap(), b"first");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private_file(&path, b"second", true).unwrap();
        assert_eq!((std::fs::read(&path).unwrap(), mode(&path)), (b"second".to_vec(), 0o600));
    }
}
