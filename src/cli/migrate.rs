//! `kassa migrate` and `kassa tenants migrate`: the fleet migration with progress.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::describe_api_error;
use crate::credentials::queries::fill_username_keys;
use crate::db::fleet::{FleetProgress, FleetReport, SchemaResult, migrate_schemas};
use crate::db::migrate::{list_tenant_schemas, migrate_public};
use crate::registry::staff_account::create_missing_staff_accounts;
use crate::state::AppState;

/// Options of every command that migrates store schemas.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Store schemas migrated at once (each holds one database connection).
    #[arg(long, default_value_t = default_jobs())]
    pub jobs: usize,
}

/// Twice the CPU count: a schema's migration waits on round trips as much as on CPU.
#[must_use]
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(4, |n| n.get() * 2)
}

/// `kassa migrate`: public migrations, then every store schema.
pub async fn migrate_all(app: &AppState, args: &MigrateArgs) -> anyhow::Result<()> {
    migrate_public(&app.db).await.context("applying migrations/public")?;
    let keys = fill_username_keys(&app.db).await.context("storing the look-alike keys of usernames")?;
    if keys.keyed > 0 {
        println!("look-alike keys stored for {} existing usernames", keys.keyed);
    }
    println!("public schema up to date");
    let schemas = list_tenant_schemas(&app.db).await.context("listing store schemas")?;
    run_fleet(app, schemas, args).await?;
    create_staff_accounts(app).await
}

/// Gives each store made before shared staff accounts existed its account.
pub async fn create_staff_accounts(app: &AppState) -> anyhow::Result<()> {
    let created =
        create_missing_staff_accounts(&app.db, &app.hasher, &app.config.password_policy, &app.sealer)
            .await
            .map_err(describe_api_error)
            .context("creating the stores' shared staff accounts")?;
    if created > 0 {
        println!("shared staff accounts created for {created} existing stores");
    }
    Ok(())
}

/// `kassa tenants migrate [KEY…]`.
pub async fn migrate_tenants(app: &AppState, keys: &[String], args: &MigrateArgs) -> anyhow::Result<()> {
    let schemas = if keys.is_empty() {
        list_tenant_schemas(&app.db).await?
    } else {
        let mut schemas = Vec::new();
        for key in keys {
            let store = crate::registry::queries::find_overview_by_key(&app.db, key)
                .await?
                .with_context(|| format!("no store has the key {key:?}"))?;
            schemas.push(store.schema_name);
        }
        schemas
    };
    run_fleet(app, schemas, args).await
}

async fn run_fleet(app: &AppState, schemas: Vec<String>, args: &MigrateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let progress = Progress::new(schemas.len());
    // Ctrl-C stops scheduling new schemas; those in flight finish (or roll back) cleanly.
    let stop = Arc::new(AtomicBool::new(false));
    let stop_on_signal = Arc::clone(&stop);
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop_on_signal.store(true, Ordering::Relaxed);
        }
    });
    let report = migrate_schemas(&app.db, schemas, &app.tenant_migrations, args.jobs, &progress, &stop).await;
    watcher.abort();
    progress.finish();
    print_report(&report, started.elapsed());
    if report.not_attempted > 0 {
        bail!("interrupted: {} store schema(s) not attempted; run the command again", report.not_attempted);
    }
    if !report.failed.is_empty() {
        bail!(
            "{} store schema(s) failed to migrate (see above); the others are up to date",
            report.failed.len()
        );
    }
    Ok(())
}

fn print_report(report: &FleetReport, elapsed: Duration) {
    for failure in &report.failed {
        let migration = failure.version.map_or_else(String::new, |v| format!(" at migration {v}"));
        println!("FAILED {}{migration}: {}", failure.schema, failure.error);
    }
    println!(
        "store schemas: {} total, {} migrated, {} already current, {} failed, {} not attempted ({:.1} s)",
        report.total,
        report.migrated,
        report.current,
        report.failed.len(),
        report.not_attempted,
        elapsed.as_secs_f64()
    );
}

/// A progress bar on a terminal; plain lines (every 1,000 schemas or 5 s, and each
/// failure) when the output is a log or a pipe.
struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: AtomicUsize,
    last_line: std::sync::Mutex<Instant>,
}

impl Progress {
    fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:40} {pos}/{len} schemas  {per_sec}  eta {eta}  {msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar, total, done: AtomicUsize::new(0), last_line: std::sync::Mutex::new(Instant::now()) }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl FleetProgress for Progress {
    fn schema_done(&self, schema: &str, result: &SchemaResult) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Err(failure) = result {
            let line = format!("schema {schema} failed: {}", failure.error);
            match &self.bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
        match &self.bar {
            Some(bar) => bar.set_position(done as u64),
            None => {
                let Ok(mut last) = self.last_line.lock() else { return };
                if done.is_multiple_of(1000) || done == self.total || last.elapsed() >= Duration::from_secs(5)
                {
                    eprintln!("migrated {done}/{} store schemas", self.total);
                    *last = Instant::now();
                }
            }
        }
    }
}
