//! The `kassa` command line (docs/contract.md §9): `serve` (the default), `migrate`, `tenants …`,
//! `users …`, `keys …`, `clients …`, `openapi`. Every command shares the server's
//! configuration and code paths: the same validation, provisioning, hashing and migration
//! runner as the HTTP API.

pub mod clients;
pub mod keys;
pub mod migrate;
pub mod server;
pub mod tenants;
pub mod users;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Config, DatabaseTarget};
use crate::credentials::hasher::PasswordHasher;
use crate::db::{self, Database};
use crate::error::ApiError;
use crate::http::openapi;
use crate::router::{build_router, openapi_spec};
use crate::state::AppState;
use clients::ClientsCommand;
use keys::KeysCommand;
use migrate::MigrateArgs;
use tenants::TenantsCommand;
use users::UsersCommand;

/// kassa: multi-tenant identity backend for point-of-sale apps.
///
/// Configuration comes from the environment and `.env` (see .env.example). With no
/// DATABASE_URL, kassa runs its own PostgreSQL cluster under EMBEDDED_DATA_DIR (.kassa).
#[derive(Debug, Parser)]
#[command(name = "kassa", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API on BIND_ADDR (the default when no command is given).
    Serve,
    /// Bring the public schema and every store schema up to date, then exit.
    ///
    /// Store schemas migrate concurrently (--jobs), each in its own transaction and under
    /// a lock, so the command is safe to interrupt and to run again, and never collides
    /// with another `kassa migrate` or a starting server. A failing schema is reported
    /// (schema, migration, error) and the others go on; the exit status is 1 if any failed
    /// or the run was interrupted (Ctrl-C finishes the schemas in flight, then stops).
    Migrate(MigrateArgs),
    /// Store schemas: list, status, migrate, export, purge.
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Accounts: list, create-owner, reset-password, activate, deactivate.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The keys that sign access tokens: list, rotate, retire.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Service clients of the platform (introspection, revocation): create, list,
    /// rotate-secret, delete.
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Print the OpenAPI document (what `openapi/openapi.json` must contain) and exit.
    Openapi,
    /// Internal: a password-hashing process of `kassa serve`, which starts it (jobs on stdin).
    #[command(name = crate::credentials::hasher::HASHING_PROCESS_COMMAND, hide = true)]
    HashWorker,
}

impl Cli {
    /// True when the command needs no configuration at all.
    #[must_use]
    pub fn is_offline(&self) -> bool {
        matches!(self.command, Some(Command::Openapi))
    }

    /// True when this process is a hashing process of a server.
    #[must_use]
    pub fn is_hashing_process(&self) -> bool {
        matches!(self.command, Some(Command::HashWorker))
    }

    /// Where this command's log lines go.
    #[must_use]
    pub fn log_target(&self) -> crate::telemetry::LogTarget {
        match self.command {
            None | Some(Command::Serve) => crate::telemetry::LogTarget::Stdout,
            Some(_) => crate::telemetry::LogTarget::Stderr,
        }
    }
}

/// Prints the OpenAPI document to stdout.
pub fn print_openapi() {
    print!("{}", openapi::to_pretty_json(&openapi_spec()));
}

/// Runs a command that needs configuration.
pub async fn run(command: Option<Command>, config: Config) -> anyhow::Result<()> {
    match command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Openapi => {
            print_openapi();
            Ok(())
        }
        Command::HashWorker => {
            anyhow::bail!("`kassa hash-worker` runs as a process of `kassa serve`, started by it")
        }
        operation => operate(operation, config).await,
    }
}

/// Runs an operator's command on the database, in `DEFAULT_LANGUAGE`.
async fn operate(command: Command, mut config: Config) -> anyhow::Result<()> {
    // Migrations take session-level advisory locks and exports run pg_dump: operators'
    // commands talk to PostgreSQL itself, never through a transaction pooler.
    anyhow::ensure!(
        !config.db_transaction_pooling,
        "operator commands need a direct connection to PostgreSQL: unset DATABASE_TRANSACTION_POOLING \
         and point DATABASE_URL at the server itself, not at PgBouncer"
    );
    // A connection per schema in flight, and one to spare for listing.
    let jobs = match &command {
        Command::Migrate(args) | Command::Tenants { command: TenantsCommand::Migrate { args, .. } } => {
            args.jobs
        }
        _ => 1,
    };
    config.db_pool_size = config.db_pool_size.max(u32::try_from(jobs).unwrap_or(u32::MAX).saturating_add(1));
    let database = db::open(&config).await?;
    let dump_target = pg_dump_target(&config, &database)?;
    let app = AppState::new(Arc::new(config), database.pool.clone());
    let outcome = crate::i18n::with_lang(app.config.default_language, async {
        match command {
            Command::Migrate(args) => migrate::migrate_all(&app, &args).await,
            Command::Tenants { command } => tenants::run(command, &app, &dump_target).await,
            Command::Users { command } => users::run(command, &app).await,
            Command::Keys { command } => keys::run(command, &app).await,
            Command::Clients { command } => clients::run(command, &app).await,
            Command::Serve | Command::Openapi | Command::HashWorker => unreachable!("handled by run"),
        }
    })
    .await;
    close(database).await;
    outcome
}

/// The database as PostgreSQL's own tools (`pg_dump`) reach it.
fn pg_dump_target(config: &Config, database: &Database) -> anyhow::Result<tenants::PgDumpTarget> {
    match (&config.database, &database.embedded) {
        (_, Some(cluster)) => {
            Ok(tenants::PgDumpTarget::from_options(&cluster.connect_options(db::EMBEDDED_DATABASE)))
        }
        (DatabaseTarget::Url(url), None) => tenants::PgDumpTarget::from_url(url),
        (DatabaseTarget::Embedded { .. }, None) => anyhow::bail!("the embedded database is not running"),
    }
}

/// An API error as the command line shows it: the message and each field's problems.
pub fn describe_api_error(error: ApiError) -> anyhow::Error {
    anyhow::anyhow!(error.describe())
}

/// Prints `rows` under `headers` in aligned columns.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Says when the database is a Citus coordinator: nothing else changes (docs/operations.md).
async fn log_citus(pool: &sqlx::PgPool) {
    match db::citus::version(pool).await {
        Ok(Some(version)) => {
            tracing::info!(citus = %version, "the database is a Citus coordinator: Citus places each store's schema");
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "cannot tell whether the database is a Citus coordinator"),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let database = db::open(&config).await?;
    if config.migrate_on_start {
        let jobs = migrate::default_jobs().min(config.db_pool_size as usize);
        migrate_everything(&database, jobs).await?;
    }
    let listener = tokio::net::TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("BIND_ADDR: cannot listen on {}", config.bind_addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "kassa listening on http://{addr} (Swagger UI at http://{addr}/swagger/)");
    let limits = server::ServerLimits::from_config(&config);
    tracing::info!(
        max_connections = limits.max_connections,
        header_read_timeout = ?limits.header_read_timeout,
        "connection limits"
    );
    // Hashing in processes of this binary (`credentials::hasher`); where the binary cannot be found,
    // in threads of this process.
    let hasher = match crate::credentials::hasher::this_binary() {
        Ok(program) => PasswordHasher::in_processes(program),
        Err(error) => {
            tracing::warn!(%error, "hashing in threads: this binary's path is unknown");
            PasswordHasher::for_this_machine()
        }
    };
    let state = AppState::with_hasher(config.into(), database.pool.clone(), hasher);
    state.hasher.warm_up().await.context("password hashing does not work on this machine")?;
    // Held before the first request: a request that signs does so inside its transaction.
    state.tokens.load().await.context("reading the signing keys (making the first one if there is none)")?;
    if state.config.migrate_on_start {
        // Stores made before shared staff accounts existed get theirs, as `kassa migrate` does.
        let policy = &state.config.password_policy;
        let created = crate::registry::staff_account::create_missing_staff_accounts(
            &state.db,
            &state.hasher,
            policy,
            &state.sealer,
        )
        .await
        .map_err(describe_api_error)
        .context("creating the stores' shared staff accounts")?;
        tracing::info!(created, "shared staff accounts of existing stores");
    }
    log_citus(&state.db).await;
    if let Some(metrics_addr) = state.config.metrics_addr {
        serve_metrics(metrics_addr, state.db.clone()).await?;
    }
    server::serve(listener, build_router(state), limits, shutdown_signal()).await;
    tracing::info!("shutting down: in-flight requests finished");
    close(database).await;
    Ok(())
}

/// Serves `GET /metrics` on `addr` (METRICS_ADDR) until the process ends: a listener of its
/// own, outside the API's middleware, so the API's requests are what it counts.
async fn serve_metrics(addr: std::net::SocketAddr, db: crate::db::Db) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("METRICS_ADDR: cannot listen on {addr} (`off` serves no metrics)"))?;
    tracing::info!(addr = %listener.local_addr()?, "metrics at http://{addr}/metrics");
    let router =
        axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let text = crate::http::metrics::METRICS.render(&db);
                async move {
                    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
                }
            }),
        );
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(())
}

/// Public migrations, then every store schema (MIGRATE_ON_START): the same fleet runner as
/// `kassa migrate`, logged instead of printed.
async fn migrate_everything(database: &Database, jobs: usize) -> anyhow::Result<()> {
    db::migrate::migrate_public(&database.pool).await.context("applying migrations/public")?;
    let keys = crate::credentials::queries::fill_username_keys(&database.pool)
        .await
        .context("storing the look-alike keys of usernames")?;
    tracing::info!(accounts = keys.keyed, "look-alike keys stored for existing usernames");
    let schemas = db::migrate::list_tenant_schemas(&database.pool).await.context("listing tenant schemas")?;
    let migrations = &db::migrate::TENANT_MIGRATIONS.migrations;
    let stop = AtomicBool::new(false);
    let report = db::fleet::migrate_schemas(&database.pool, schemas, migrations, jobs, &(), &stop).await;
    for failure in &report.failed {
        tracing::error!(schema = %failure.schema, version = failure.version, error = %failure.error,
            "a tenant schema did not migrate");
    }
    tracing::info!(
        migrated = report.migrated,
        current = report.current,
        failed = report.failed.len(),
        tenant_schemas = report.total,
        "migrations applied: public and the tenant schemas"
    );
    anyhow::ensure!(report.failed.is_empty(), "{} tenant schemas failed to migrate", report.failed.len());
    Ok(())
}

async fn close(database: Database) {
    database.pool.close().await;
    if let Some(cluster) = database.embedded {
        let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
    }
}

/// Resolves on Ctrl-C or SIGTERM; the server then stops accepting and drains in-flight requests.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
