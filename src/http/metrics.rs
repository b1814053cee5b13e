//! The process's metrics in the Prometheus text format (docs/contract.md §17), served on
//! `METRICS_ADDR`, a listener of its own, so they are never public by accident.
//!
//! `prometheus-client`, the Prometheus project's own Rust client, encodes them: kassa only
//! counts. No label ever takes a per-store or per-user value: routes are the templates the
//! router matched (`/api/users/employees/{id}/`), statuses are classes, throttles are kinds,
//! so the number of series stays the same at 10 or 10,000 stores.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::db::Db;
use crate::error::ThrottleKind;

/// A request's labels: method, route template, status class.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route template, or `unmatched` (a raw path is the caller's to choose).
    pub route: String,
    /// `2xx`, `4xx`, `5xx`…
    pub status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ThrottleLabels {
    /// [`ThrottleKind::as_str`].
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    /// `public` (sign-in, the registry) or `stores` (the store connections together).
    pool: &'static str,
    /// `idle`, `in_use` or `max`.
    state: &'static str,
}

/// Every metric kassa keeps, in one registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Histogram>,
    throttle_refusals: Family<ThrottleLabels, Counter>,
    hashing_seconds: Histogram,
    hashing_in_queue: Gauge,
    provisioning_seconds: Histogram,
    pool_connections: Family<PoolLabels, Gauge>,
    circuit_open: Gauge,
    resident_memory: Gauge,
}

fn latency_buckets() -> Histogram {
    // 0.5 ms to about 8 s, doubling.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("kassa");
        let requests =
            Family::<RequestLabels, Histogram>::new_with_constructor(latency_buckets as fn() -> Histogram);
        registry.register_with_unit(
            "http_request_duration",
            "HTTP requests by method, route template and status class, with their latency",
            Unit::Seconds,
            requests.clone(),
        );
        let throttle_refusals = Family::<ThrottleLabels, Counter>::default();
        registry.register(
            "throttle_refusals",
            "Requests a throttle refused (429), by kind",
            throttle_refusals.clone(),
        );
        let hashing_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        registry.register_with_unit(
            "password_hashing",
            "argon2id jobs from queueing to answer (hashes and checks of passwords and PINs)",
            Unit::Seconds,
            hashing_seconds.clone(),
        );
        let hashing_in_queue = Gauge::default();
        registry.register(
            "password_hashing_jobs",
            "argon2id jobs queued or running now",
            hashing_in_queue.clone(),
        );
        let provisioning_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 12));
        registry.register_with_unit(
            "store_provisioning",
            "Making a store: its schema, migrations and first rows, in one transaction",
            Unit::Seconds,
            provisioning_seconds.clone(),
        );
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections by pool and state (idle, in use, the maximum)",
            pool_connections.clone(),
        );
        let circuit_open = Gauge::default();
        registry.register(
            "db_circuit_open",
            "1 while the database is taken to be down (requests answer 503 at once), else 0",
            circuit_open.clone(),
        );
        let resident_memory = Gauge::default();
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory of the kassa process",
            Unit::Bytes,
            resident_memory.clone(),
        );
        Metrics {
            registry,
            requests,
            throttle_refusals,
            hashing_seconds,
            hashing_in_queue,
            provisioning_seconds,
            pool_connections,
            circuit_open,
            resident_memory,
        }
    }
}

/// The process's metrics: one registry, as a process has one `/metrics`.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);

impl Metrics {
    /// Counts a request answered with `status` after `elapsed`.
    /// A refusal by a throttle names it (`throttled`), so it is counted under that kind.
    pub fn observe_request(
        &self,
        (method, route): (&str, Option<&str>),
        (status, throttled): (u16, Option<ThrottleKind>),
        elapsed: Duration,
    ) {
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.unwrap_or("unmatched").to_owned(),
            status: format!("{}xx", status / 100),
        };
        self.requests.get_or_create(&labels).observe(elapsed.as_secs_f64());
        if let Some(kind) = throttled {
            self.throttle_refused(kind);
        }
    }

    /// Counts a refusal by a throttle of `kind`.
    pub fn throttle_refused(&self, kind: ThrottleKind) {
        self.throttle_refusals.get_or_create(&ThrottleLabels { kind: kind.as_str() }).inc();
    }

    /// A hashing job entered the queue; the guard records its time and leaves when dropped.
    #[must_use]
    pub fn hashing_job(&self) -> HashingJob<'_> {
        self.hashing_in_queue.inc();
        HashingJob { metrics: self, started: std::time::Instant::now() }
    }

    /// Records one store's provisioning time.
    pub fn store_provisioned(&self, elapsed: Duration) {
        self.provisioning_seconds.observe(elapsed.as_secs_f64());
    }

    /// The text exposition, with the gauges read at scrape time (pools, circuit, memory) up
    /// to date for `db`.
    #[must_use]
    pub fn render(&self, db: &Db) -> String {
        self.read_pools(db);
        self.circuit_open.set(i64::from(db.is_down()));
        if let Some(bytes) = resident_memory_bytes() {
            self.resident_memory.set(bytes);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    fn read_pools(&self, db: &Db) {
        let public = db.pool();
        let stores: Vec<_> = db.pools().filter(|pool| !std::ptr::eq(*pool, public)).collect();
        let figures = |pools: &[&sqlx::PgPool]| {
            let size: u32 = pools.iter().map(|pool| pool.size()).sum();
            let idle: usize = pools.iter().map(|pool| pool.num_idle()).sum();
            let max: u32 = pools.iter().map(|pool| pool.options().get_max_connections()).sum();
            (i64::from(size) - idle as i64, idle as i64, i64::from(max))
        };
        for (name, pools) in [("public", vec![public]), ("stores", stores)] {
            let (in_use, idle, max) = figures(&pools);
            for (state, value) in [("in_use", in_use), ("idle", idle), ("max", max)] {
                self.pool_connections.get_or_create(&PoolLabels { pool: name, state }).set(value);
            }
        }
    }
}

/// A hashing job in the queue or running; dropping it records its time.
pub struct HashingJob<'a> {
    metrics: &'a Metrics,
    started: std::time::Instant,
}

impl Drop for HashingJob<'_> {
    fn drop(&mut self) {
        self.metrics.hashing_in_queue.dec();
        self.metrics.hashing_seconds.observe(self.started.elapsed().as_secs_f64());
    }
}

/// This process's resident set, from `/proc/self/statm` (pages × the page size).
fn resident_memory_bytes() -> Option<i64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: i64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions; it only reads a configuration value.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * i64::from(i32::try_from(page_size).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_counted_under_its_template_and_class_only() {
        let metrics = Metrics::default();
        metrics.observe_request(
            ("GET", Some("/api/users/employees/{id}/")),
            (404, None),
            Duration::from_millis(3),
        );
        metrics.observe_request(("GET", None), (404, None), Duration::from_millis(1));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).unwrap();
        assert!(text.contains(
            r#"kassa_http_request_duration_seconds_count{method="GET",route="/api/users/employees/{id}/",status="4xx"} 1"#
        ), "{text}");
        assert!(text.contains(r#"route="unmatched""#), "{text}");
    }
}
