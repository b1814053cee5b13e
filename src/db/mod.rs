//! The database: where the pool comes from, how schemas migrate, and the embedded default.

pub mod citus;
pub mod embedded;
pub mod error;
pub mod fleet;
pub mod migrate;
pub mod page;
pub mod pool;
pub mod released;
pub mod schema;
pub mod session;
pub mod statements;

pub use pool::Db;
pub use session::{Session, query, query_as, query_once, query_scalar};

/// True when `error` means the database cannot be reached right now (an outage, answered
/// with 503), as opposed to a failing statement (a bug, answered with 500).
#[must_use]
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exceptions; 57P01-03: the server is shutting down or starting;
        // 53300: too many connections.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

use secrecy::ExposeSecret;
use sqlx::PgPool;

use crate::config::{Config, DatabaseTarget};
use embedded::{EmbeddedCluster, EmbeddedOptions};

/// The database name kassa uses inside its embedded cluster.
pub const EMBEDDED_DATABASE: &str = "kassa";

/// The pool, and the embedded cluster behind it when kassa runs its own.
pub struct Database {
    pub pool: PgPool,
    /// Stops PostgreSQL when dropped; `None` on a `DATABASE_URL` server.
    pub embedded: Option<EmbeddedCluster>,
}

/// Connects to `DATABASE_URL`, or starts the embedded cluster and creates its database.
pub async fn open(config: &Config) -> anyhow::Result<Database> {
    match &config.database {
        DatabaseTarget::Url(url) => {
            let options = pool::options_from_url(url.expose_secret())?;
            Ok(Database { pool: pool::lazy_pool(config, options), embedded: None })
        }
        DatabaseTarget::Embedded { data_dir, bin_dir } => {
            let options = EmbeddedOptions { root: data_dir.clone(), bin_dir: bin_dir.clone(), durable: true };
            let cluster = tokio::task::spawn_blocking(move || EmbeddedCluster::start(&options)).await??;
            cluster.ensure_database(EMBEDDED_DATABASE).await?;
            tracing::info!(
                data_dir = %cluster.data_dir().display(),
                "embedded PostgreSQL is up (data in {}); set DATABASE_URL to use your own server",
                cluster.data_dir().display()
            );
            let pool = pool::lazy_pool(config, cluster.connect_options(EMBEDDED_DATABASE));
            Ok(Database { pool, embedded: Some(cluster) })
        }
    }
}
