//! The `kassa` command line: `serve` (the default), `migrate`, `openapi`.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{AppState, build_router, openapi_spec};
use crate::config::Config;
use crate::db::{self, Database};
use crate::http::openapi;

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
    /// Each store schema migrates in its own transaction; a failing schema is reported and
    /// the others go on. Exits with status 1 if any schema failed.
    Migrate,
    /// Print the OpenAPI document (what `openapi/openapi.json` must contain) and exit.
    Openapi,
}

impl Cli {
    /// True when the command needs no configuration at all.
    #[must_use]
    pub fn is_offline(&self) -> bool {
        matches!(self.command, Some(Command::Openapi))
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
        Command::Migrate => migrate(config).await,
        Command::Openapi => {
            print_openapi();
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let database = db::open(&config).await?;
    if config.migrate_on_start {
        migrate_everything(&database).await?;
    }
    let listener = tokio::net::TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("BIND_ADDR: cannot listen on {}", config.bind_addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "kassa listening on http://{addr} (Swagger UI at http://{addr}/swagger/)");
    let state = AppState::new(config.into(), database.pool.clone());
    state.hasher.warm_up().await;
    let app = build_router(state);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shutting down: in-flight requests finished");
    close(database).await;
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let database = db::open(&config).await?;
    let outcome = migrate_everything(&database).await;
    close(database).await;
    outcome
}

/// Public migrations, then every tenant schema; tenant failures are reported, not fatal to
/// the others, but make the whole command fail.
async fn migrate_everything(database: &Database) -> anyhow::Result<()> {
    db::migrate::migrate_public(&database.pool).await.context("applying migrations/public")?;
    let report = db::migrate::migrate_all_tenants(&database.pool, &db::migrate::TENANT_MIGRATIONS.migrations)
        .await
        .context("listing tenant schemas")?;
    for (schema, reason) in &report.failed {
        tracing::error!(schema = %schema, error = %reason, "tenant schema {schema} did not migrate");
    }
    tracing::info!(
        succeeded = report.succeeded,
        failed = report.failed.len(),
        "migrations applied: public and {} tenant schemas",
        report.succeeded
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

/// Resolves on Ctrl-C or SIGTERM; axum then stops accepting and drains in-flight requests.
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
