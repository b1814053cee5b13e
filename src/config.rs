//! Typed configuration from the environment (and `.env`), validated before anything starts.
//!
//! Every variable of docs/contract.md §1 is read here, once, with its documented default; a bad value
//! stops the process with a message naming the variable. Secrets are [`SecretString`]s so
//! `Debug` (and therefore a log line) can never print them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use axum::http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::i18n::Lang;

/// The JWT secret `.env.example` ships with: a placeholder that must never sign real tokens.
pub const EXAMPLE_JWT_SECRET: &str = "replace-me-with-at-least-32-random-bytes";

/// Where the database comes from.
#[derive(Debug, Clone)]
pub enum DatabaseTarget {
    /// `DATABASE_URL`: a server someone else runs.
    Url(SecretString),
    /// No `DATABASE_URL`: a private cluster under `data_dir`, started by kassa (docs/contract.md §1).
    Embedded {
        data_dir: PathBuf,
        /// `POSTGRES_BIN_DIR`: where `initdb` and `postgres` live, when not on the usual paths.
        bin_dir: Option<PathBuf>,
    },
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Which browser origins may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No cross-origin access (the default: POS apps are not browsers).
    None,
    /// `*`: any origin (credentials are bearer tokens, never cookies, so this leaks nothing).
    Any,
    /// An explicit list.
    List(Vec<HeaderValue>),
}

/// Password rules of docs/contract.md §4; the composition toggles are off unless an operator wants them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_digit: bool,
    pub require_symbol: bool,
}

/// The whole configuration of a kassa process.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseTarget,
    /// Connections for work in `public` (sign-in, refresh, stores, the store lookup).
    pub db_pool_size: u32,
    /// Connections for store-scoped work, one per share of the stores: store `id` always
    /// uses connection `id % db_store_connections`, so each PostgreSQL backend caches the
    /// catalog and the statements of a bounded share of the fleet (`db::pool`).
    pub db_store_connections: u32,
    /// Prepared statements each store connection keeps (sqlx's per-connection LRU): every
    /// store has its own statement texts, so this bounds a backend's plan memory.
    pub db_statement_cache: usize,
    pub db_acquire_timeout: Duration,
    /// Connections are replaced after this long: each PostgreSQL backend keeps the catalog of
    /// every tenant schema it touched, so a bounded lifetime bounds its memory.
    pub db_max_lifetime: Duration,
    /// kassa reaches PostgreSQL through a transaction-pooling proxy (PgBouncer
    /// `pool_mode = transaction`): unnamed statements, every statement in a transaction, no
    /// session settings (see `db::session`).
    pub db_transaction_pooling: bool,
    pub migrate_on_start: bool,
    pub bind_addr: SocketAddr,
    /// `METRICS_ADDR`: where `/metrics` is served, on a listener of its own (`off`: nowhere).
    pub metrics_addr: Option<SocketAddr>,
    /// `JWT_SECRET`, the shared secret releases before the signing keys signed tokens with:
    /// it now only verifies their HS256 tokens for one token lifetime after the upgrade
    /// (`credentials::tokens`), and serves as the master secret when `SECRET_KEY` is unset.
    pub legacy_jwt_secret: Option<SecretString>,
    /// `SECRET_KEY`: the master secret every key of kassa's own is derived from (`secrets`);
    /// `JWT_SECRET` when unset, so an upgrade needs no new setting.
    pub secret_key: SecretString,
    /// `SIGNING_ALGORITHM`: what new signing keys are (`EdDSA`, the default, or `ES256`).
    pub signing_algorithm: SigningAlgorithm,
    /// `SIGNING_KEY_ROTATION`: a signing key signs this long before a new one replaces it.
    pub signing_key_rotation: Duration,
    /// `JWKS_MAX_AGE`: how long verifiers may cache the JWKS; a new key is published at
    /// least this long (and one ring refresh) before it signs.
    pub jwks_max_age: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// A session unused this long ends, even before `refresh_token_ttl`.
    pub session_idle_timeout: Duration,
    /// How long after a refresh the same refresh token may be presented again and get the
    /// same successor (a client that lost the answer retrying); zero: never (strict).
    pub refresh_reuse_grace: Duration,
    pub password_policy: PasswordPolicy,
    pub login_rate_limit_per_minute: u32,
    /// Sign-in attempts at one account from all addresses per 15 minutes.
    pub login_account_limit_per_15_minutes: u32,
    /// Registrations one client address may attempt per hour: each provisions a schema, so
    /// the public endpoint must not let one client fill the database.
    pub registration_limit_per_hour: u32,
    /// Stores one account may own, deactivated ones included.
    pub max_stores_per_owner: u32,
    /// Calls one service client may make to introspection and revocation per minute, and
    /// wrong-secret attempts at one client id per minute (docs/contract.md §15).
    pub introspection_rate_limit_per_minute: u32,
    /// How long a till's PIN sign-in stays locked after five wrong PINs in a row; each
    /// further lock in a row doubles it, up to `pin_lock_max` (docs/contract.md §11: 30 s, 15 minutes).
    pub pin_lock: PinLock,
    /// Reverse proxies whose `X-Forwarded-For` is believed (exact peer addresses).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub cors_allowed_origins: CorsOrigins,
    pub default_language: Lang,
    pub log_format: LogFormat,
    pub request_timeout: Duration,
    pub swagger_enabled: bool,
    /// `CONSOLE_ENABLED`: the store console at `/console/` (on by default).
    pub console_enabled: bool,
    /// `PUBLIC_URL`: the `scheme://host[:port][/prefix]` (no trailing slash) every absolute
    /// link is built on, whatever `Host` the request names.
    pub public_url: Option<String>,
    /// `ALLOWED_HOSTS`, lowercased: hosts (any port) whose `Host` header may make absolute
    /// links when there is no `PUBLIC_URL`; `.example.com` also admits its subdomains.
    pub allowed_hosts: Vec<String>,
    /// A connection whose request head has not fully arrived this long after the connection
    /// opened, or after its previous response (idle keep-alive), is closed.
    pub header_read_timeout: Duration,
    /// At most this many client connections are held at once; at the bound kassa stops
    /// accepting until one closes (further clients wait in the listen backlog).
    pub max_connections: usize,
}

/// What new signing keys are (`SIGNING_ALGORITHM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// Ed25519 (RFC 8037, JWS `EdDSA`): the default; small keys and signatures, fast to verify.
    EdDsa,
    /// ECDSA on P-256 with SHA-256 (RFC 7518, JWS `ES256`), for verifiers without Ed25519.
    Es256,
}

impl SigningAlgorithm {
    /// The JWS `alg`, also what the keys table stores.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::EdDsa => "EdDSA",
            SigningAlgorithm::Es256 => "ES256",
        }
    }

    /// The algorithm named `alg` (`EdDSA` or `ES256`, in any letter case).
    #[must_use]
    pub fn parse(alg: &str) -> Option<Self> {
        match alg.to_ascii_uppercase().as_str() {
            "EDDSA" => Some(SigningAlgorithm::EdDsa),
            "ES256" => Some(SigningAlgorithm::Es256),
            _ => None,
        }
    }
}

impl FromStr for SigningAlgorithm {
    type Err = ();

    fn from_str(alg: &str) -> Result<Self, ()> {
        SigningAlgorithm::parse(alg).ok_or(())
    }
}

/// The device lock of PIN sign-in (`PIN_LOCK_FIRST`, `PIN_LOCK_MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinLock {
    /// The first lock's length.
    pub first: Duration,
    /// The longest a doubled lock grows.
    pub max: Duration,
}

fn pin_lock(env: &Env<'_>) -> Result<PinLock, ConfigError> {
    let first = env.duration("PIN_LOCK_FIRST", Duration::from_secs(30))?;
    let max = env.duration("PIN_LOCK_MAX", Duration::from_secs(15 * 60))?;
    if first.is_zero() {
        return Err(env.invalid("PIN_LOCK_FIRST", "must be longer than zero"));
    }
    if max < first {
        return Err(env.invalid("PIN_LOCK_MAX", "must be at least PIN_LOCK_FIRST"));
    }
    Ok(PinLock { first, max })
}

/// A configuration variable with a bad value. The message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("configuration error in {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl Config {
    /// Reads the process environment. Call `dotenvy::dotenv()` first to honour `.env`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration from `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let database = match env.string("DATABASE_URL") {
            Some(url) => DatabaseTarget::Url(SecretString::from(url)),
            None => DatabaseTarget::Embedded {
                data_dir: env
                    .string("EMBEDDED_DATA_DIR")
                    .map_or_else(|| PathBuf::from(".kassa"), PathBuf::from),
                bin_dir: env.string("POSTGRES_BIN_DIR").map(PathBuf::from),
            },
        };
        let legacy_jwt_secret = legacy_jwt_secret(&env, &database)?;
        let secret_key = secret_key(&env, &database)?;
        let pool_size = env.parsed("DATABASE_POOL_SIZE", 10u32)?;
        if pool_size == 0 {
            return Err(env.invalid("DATABASE_POOL_SIZE", "must be at least 1"));
        }
        let store_connections = env.parsed("DATABASE_STORE_CONNECTIONS", 32u32)?;
        if store_connections == 0 {
            return Err(env.invalid("DATABASE_STORE_CONNECTIONS", "must be at least 1"));
        }
        let statement_cache = env.parsed("DATABASE_STATEMENT_CACHE", 256usize)?;
        if statement_cache == 0 {
            return Err(env.invalid("DATABASE_STATEMENT_CACHE", "must be at least 1"));
        }
        let min_length = env.parsed("PASSWORD_MIN_LENGTH", 8usize)?;
        if !(8..=64).contains(&min_length) {
            // ASVS 5.0 V6.2.1/V6.2.9: at least 8, and passwords of 64 characters must be allowed.
            return Err(env.invalid("PASSWORD_MIN_LENGTH", "must be between 8 and 64"));
        }
        let transaction_pooling = env.flag("DATABASE_TRANSACTION_POOLING", false)?;
        // Public migrations hold a session-level advisory lock, which a transaction pooler
        // may take on one server connection and release on another: they need PostgreSQL
        // itself (`kassa migrate` with a direct DATABASE_URL).
        let migrate_on_start = env.flag("MIGRATE_ON_START", !transaction_pooling)?;
        if transaction_pooling && migrate_on_start {
            return Err(env.invalid(
                "MIGRATE_ON_START",
                "cannot be true with DATABASE_TRANSACTION_POOLING: migrations need a direct connection \
                 (run `kassa migrate` with DATABASE_URL pointing at PostgreSQL itself)",
            ));
        }
        let login_rate_limit_per_minute = env.parsed("LOGIN_RATE_LIMIT_PER_MINUTE", 5u32)?;
        Ok(Config {
            database,
            db_pool_size: pool_size,
            db_store_connections: store_connections,
            db_statement_cache: statement_cache,
            db_transaction_pooling: transaction_pooling,
            db_acquire_timeout: env.duration("DATABASE_ACQUIRE_TIMEOUT", Duration::from_secs(5))?,
            db_max_lifetime: env.duration("DATABASE_MAX_LIFETIME", Duration::from_secs(30 * 60))?,
            migrate_on_start,
            bind_addr: env.parsed("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            metrics_addr: metrics_addr(&env)?,
            legacy_jwt_secret,
            secret_key,
            signing_algorithm: env.parsed_with(
                "SIGNING_ALGORITHM",
                SigningAlgorithm::EdDsa,
                "EdDSA or ES256",
            )?,
            signing_key_rotation: signing_key_rotation(&env)?,
            jwks_max_age: env.duration("JWKS_MAX_AGE", Duration::from_secs(5 * 60))?,
            access_token_ttl: env.duration("ACCESS_TOKEN_TTL", Duration::from_secs(15 * 60))?,
            refresh_token_ttl: env.duration("REFRESH_TOKEN_TTL", Duration::from_secs(30 * 86_400))?,
            session_idle_timeout: env.duration("SESSION_IDLE_TIMEOUT", Duration::from_secs(7 * 86_400))?,
            refresh_reuse_grace: refresh_reuse_grace(&env)?,
            password_policy: PasswordPolicy {
                min_length,
                require_uppercase: env.flag("PASSWORD_REQUIRE_UPPERCASE", false)?,
                require_lowercase: env.flag("PASSWORD_REQUIRE_LOWERCASE", false)?,
                require_digit: env.flag("PASSWORD_REQUIRE_DIGIT", false)?,
                require_symbol: env.flag("PASSWORD_REQUIRE_SYMBOL", false)?,
            },
            login_rate_limit_per_minute,
            login_account_limit_per_15_minutes: login_account_limit(&env, login_rate_limit_per_minute)?,
            registration_limit_per_hour: at_least_one(&env, "REGISTRATION_LIMIT_PER_HOUR", 10)?,
            max_stores_per_owner: at_least_one(&env, "MAX_STORES_PER_OWNER", 20)?,
            introspection_rate_limit_per_minute: at_least_one(
                &env,
                "INTROSPECTION_RATE_LIMIT_PER_MINUTE",
                6000,
            )?,
            pin_lock: pin_lock(&env)?,
            trusted_proxies: trusted_proxies(&env)?,
            cors_allowed_origins: cors_origins(&env)?,
            default_language: env.parsed_with("DEFAULT_LANGUAGE", Lang::Ru, "ru or en")?,
            log_format: log_format(&env)?,
            request_timeout: env.duration("REQUEST_TIMEOUT", Duration::from_secs(30))?,
            swagger_enabled: env.flag("SWAGGER_ENABLED", true)?,
            console_enabled: env.flag("CONSOLE_ENABLED", true)?,
            public_url: public_url(&env)?,
            allowed_hosts: allowed_hosts(&env)?,
            header_read_timeout: env.duration("HEADER_READ_TIMEOUT", Duration::from_secs(10))?,
            max_connections: max_connections(&env)?,
        })
    }

    /// True when kassa runs its own private PostgreSQL (no `DATABASE_URL`).
    #[must_use]
    pub fn is_embedded(&self) -> bool {
        matches!(self.database, DatabaseTarget::Embedded { .. })
    }
}

/// `JWT_SECRET`, kept to verify the HS256 tokens of the release before the signing keys:
/// strong when set on a real database; on the embedded dev default, the secret an earlier
/// release generated beside the cluster, if there is one (a new one is never made).
fn legacy_jwt_secret(env: &Env<'_>, database: &DatabaseTarget) -> Result<Option<SecretString>, ConfigError> {
    const VAR: &str = "JWT_SECRET";
    match (env.string(VAR), database) {
        (Some(secret), DatabaseTarget::Embedded { .. }) => Ok(Some(SecretString::from(secret))),
        (Some(secret), DatabaseTarget::Url(_)) => match weakness(&secret) {
            Some(problem) => Err(env.invalid(VAR, problem)),
            None => Ok(Some(SecretString::from(secret))),
        },
        (None, DatabaseTarget::Url(_)) => Ok(None),
        (None, DatabaseTarget::Embedded { data_dir, .. }) => {
            Ok(earlier_dev_secret(data_dir, "dev-jwt-secret"))
        }
    }
}

/// The secret an earlier release kept in `<data_dir>/<file>`, if it is there and sound.
fn earlier_dev_secret(data_dir: &Path, file: &str) -> Option<SecretString> {
    let existing = std::fs::read_to_string(data_dir.join(file)).ok()?;
    let existing = existing.trim();
    weakness(existing).is_none().then(|| SecretString::from(existing.to_owned()))
}

/// `SECRET_KEY`, the master secret: when set, at least 32 bytes and not repetitive; when
/// unset, `JWT_SECRET` serves (an upgraded installation keeps working with its one secret);
/// with neither on the embedded dev default, one is generated once and kept beside the
/// cluster, so sealed values stay readable across restarts.
fn secret_key(env: &Env<'_>, database: &DatabaseTarget) -> Result<SecretString, ConfigError> {
    const VAR: &str = "SECRET_KEY";
    match (env.string(VAR), env.string("JWT_SECRET"), database) {
        (Some(secret), _, _) => match weakness(&secret) {
            Some(problem) => Err(env.invalid(VAR, problem)),
            None => Ok(SecretString::from(secret)),
        },
        (None, Some(jwt_secret), _) => match weakness(&jwt_secret) {
            Some(problem) if matches!(database, DatabaseTarget::Url(_)) => {
                Err(env.invalid("JWT_SECRET", problem))
            }
            _ => Ok(SecretString::from(jwt_secret)),
        },
        (None, None, DatabaseTarget::Url(_)) => Err(env.invalid(
            VAR,
            "is required when DATABASE_URL is set (at least 32 random bytes, e.g. `openssl rand -hex 32`; \
             an installation that has only JWT_SECRET may keep using it)",
        )),
        (None, None, DatabaseTarget::Embedded { data_dir, .. }) => dev_secret(data_dir, "dev-secret-key")
            .map_err(|e| {
                env.invalid(VAR, format!("could not create the dev secret in {}: {e}", data_dir.display()))
            }),
    }
}

/// Why a secret is too weak to sign tokens, if it is.
fn weakness(secret: &str) -> Option<&'static str> {
    let distinct = secret.bytes().collect::<std::collections::BTreeSet<_>>().len();
    if secret.len() < 32 {
        Some("must be at least 32 bytes")
    } else if secret == EXAMPLE_JWT_SECRET {
        Some("is the placeholder from .env.example; generate one with `openssl rand -hex 32`")
    } else if distinct < 10 {
        Some("is too repetitive to be random; generate one with `openssl rand -hex 32`")
    } else {
        None
    }
}

/// Reads `<data_dir>/<file>`, creating it (mode 0600) with 32 random bytes if absent.
fn dev_secret(data_dir: &Path, file: &str) -> std::io::Result<SecretString> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let path = data_dir.join(file);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if weakness(existing).is_none() {
            return Ok(SecretString::from(existing.to_owned()));
        }
    }
    std::fs::create_dir_all(data_dir)?;
    let secret = SecretString::from(crate::random::random_hex(32));
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
    file.write_all(secret.expose_secret().as_bytes())?;
    Ok(secret)
}

/// Longest `REFRESH_REUSE_GRACE` accepted: the window exists for a network retry, and a
/// copied token presented within it is not detected, so it must stay short.
pub const MAX_REFRESH_REUSE_GRACE: Duration = Duration::from_secs(5 * 60);

/// `REFRESH_REUSE_GRACE`: default 10 s; `0` turns the window off (any second use is reuse).
fn refresh_reuse_grace(env: &Env<'_>) -> Result<Duration, ConfigError> {
    const VAR: &str = "REFRESH_REUSE_GRACE";
    let Some(raw) = env.string(VAR) else {
        return Ok(Duration::from_secs(10));
    };
    match humantime::parse_duration(raw.trim()) {
        Ok(grace) if grace <= MAX_REFRESH_REUSE_GRACE => Ok(grace),
        Ok(_) => Err(env.invalid(VAR, "must be at most 5m (0 turns the retry window off)")),
        Err(_) => Err(env.invalid(VAR, format!("`{raw}` is not a duration like 10s, or 0 for none"))),
    }
}

fn cors_origins(env: &Env<'_>) -> Result<CorsOrigins, ConfigError> {
    const VAR: &str = "CORS_ALLOWED_ORIGINS";
    let Some(raw) = env.string(VAR) else {
        return Ok(CorsOrigins::None);
    };
    if raw.trim() == "*" {
        return Ok(CorsOrigins::Any);
    }
    let origins = raw
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let well_formed =
                (origin.starts_with("http://") || origin.starts_with("https://")) && !origin.ends_with('/');
            HeaderValue::from_str(origin).ok().filter(|_| well_formed).ok_or_else(|| {
                env.invalid(VAR, format!("`{origin}` is not an origin like https://pos.example.com"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CorsOrigins::List(origins))
}

fn trusted_proxies(env: &Env<'_>) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    const VAR: &str = "TRUSTED_PROXIES";
    let Some(raw) = env.string(VAR) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().map_err(|_| env.invalid(VAR, format!("`{p}` is not an IP address"))))
        .collect()
}

/// `LOGIN_ACCOUNT_LIMIT_PER_15_MINUTES`: by default ten times the per-IP limit, so ten
/// addresses' worth of typos pass before the account itself is shut for the window.
fn login_account_limit(env: &Env<'_>, per_ip_per_minute: u32) -> Result<u32, ConfigError> {
    const VAR: &str = "LOGIN_ACCOUNT_LIMIT_PER_15_MINUTES";
    let limit = env.parsed(VAR, per_ip_per_minute.saturating_mul(10).max(1))?;
    if limit == 0 {
        return Err(env.invalid(VAR, "must be at least 1"));
    }
    Ok(limit)
}

/// A count that must allow at least one (a limit of zero would shut the feature off, which
/// is not what a limit is for).
/// `METRICS_ADDR`: a loopback port of its own by default (127.0.0.1:9464, Prometheus's
/// registered default for exporters of this kind), so metrics are never public by accident;
/// `off` serves none.
fn metrics_addr(env: &Env<'_>) -> Result<Option<SocketAddr>, ConfigError> {
    const VAR: &str = "METRICS_ADDR";
    match env.string(VAR) {
        Some(value) if value.trim().eq_ignore_ascii_case("off") => Ok(None),
        _ => env.parsed(VAR, SocketAddr::from(([127, 0, 0, 1], 9464))).map(Some),
    }
}

/// `SIGNING_KEY_ROTATION`: default 30 days; at least an hour, so a key is never replaced
/// before verifiers have had a chance to fetch it.
fn signing_key_rotation(env: &Env<'_>) -> Result<Duration, ConfigError> {
    const VAR: &str = "SIGNING_KEY_ROTATION";
    let rotation = env.duration(VAR, Duration::from_secs(30 * 86_400))?;
    if rotation < Duration::from_secs(3600) {
        return Err(env.invalid(VAR, "must be at least 1h"));
    }
    Ok(rotation)
}

fn at_least_one(env: &Env<'_>, variable: &'static str, default: u32) -> Result<u32, ConfigError> {
    let value = env.parsed(variable, default)?;
    if value == 0 {
        return Err(env.invalid(variable, "must be at least 1"));
    }
    Ok(value)
}

/// `PUBLIC_URL`: an http(s) URL with a host and at most a path, kept without its trailing
/// slash so request paths append to it.
fn public_url(env: &Env<'_>) -> Result<Option<String>, ConfigError> {
    const VAR: &str = "PUBLIC_URL";
    let Some(raw) = env.string(VAR) else {
        return Ok(None);
    };
    // The value is not echoed: a URL with user info would put a password in the log.
    let invalid = || {
        env.invalid(
            VAR,
            "is not an http(s) URL like https://pos.example.com (a path is allowed; user info, a query or a fragment is not)",
        )
    };
    let url = raw.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(invalid());
    }
    let (authority, path) = rest.find('/').map_or((rest, ""), |slash| rest.split_at(slash));
    let path_ok = path.bytes().all(|b| b.is_ascii_graphic() && !b"?#\\\"<>^`{|}".contains(&b));
    if split_host(authority).is_none() || !path_ok {
        return Err(invalid());
    }
    Ok(Some(format!("{scheme}://{}{path}", authority.to_ascii_lowercase())))
}

/// `ALLOWED_HOSTS`: comma-separated host names or addresses without ports, `.example.com`
/// for a domain and its subdomains; by default the loopback names, so a developer's links
/// stay absolute and nothing else is believed.
fn allowed_hosts(env: &Env<'_>) -> Result<Vec<String>, ConfigError> {
    const VAR: &str = "ALLOWED_HOSTS";
    let Some(raw) = env.string(VAR) else {
        return Ok(["localhost", "127.0.0.1", "[::1]"].map(str::to_owned).to_vec());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|entry| {
            allowed_host(entry).ok_or_else(|| {
                env.invalid(
                    VAR,
                    format!("`{entry}` is not a host name or address without a port (or .domain for its subdomains)"),
                )
            })
        })
        .collect()
}

/// One `ALLOWED_HOSTS` entry, lowercased, IPv6 in brackets; `None` when it is not a host.
fn allowed_host(entry: &str) -> Option<String> {
    let unbracketed = entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).unwrap_or(entry);
    if let Ok(v6) = unbracketed.parse::<std::net::Ipv6Addr>() {
        return Some(format!("[{v6}]"));
    }
    let host = entry.strip_prefix('.').unwrap_or(entry);
    match split_host(host) {
        Some((_, None)) => Some(entry.to_ascii_lowercase()),
        _ => None,
    }
}

/// `MAX_CONNECTIONS`: 1 to 1,000,000 (default 10,000). The file-descriptor limit of the
/// process may lower it further when the server starts (`cli::server`).
fn max_connections(env: &Env<'_>) -> Result<usize, ConfigError> {
    const VAR: &str = "MAX_CONNECTIONS";
    let bound = env.parsed(VAR, 10_000usize)?;
    if !(1..=1_000_000).contains(&bound) {
        return Err(env.invalid(VAR, "must be between 1 and 1000000"));
    }
    Ok(bound)
}

/// The host and port of `authority` when it is plain: a name or IPv4 address of letters,
/// digits, dots and hyphens, or an IPv6 address in brackets, then an optional numeric port.
/// Anything else (user info, a path, an empty or bad port, other characters) is `None`.
#[must_use]
pub fn split_host(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, rest) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (v6, _) = bracketed.split_once(']')?;
            v6.parse::<std::net::Ipv6Addr>().ok()?;
            authority.split_at(v6.len() + 2)
        }
        None => {
            let name_end = authority.find(':').unwrap_or(authority.len());
            let (name, rest) = authority.split_at(name_end);
            let plain = !name.is_empty()
                && name.len() <= 253
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
            if !plain {
                return None;
            }
            (name, rest)
        }
    };
    if rest.is_empty() {
        return Some((host, None));
    }
    let digits = rest.strip_prefix(':')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((host, Some(digits.parse().ok()?)))
}

fn log_format(env: &Env<'_>) -> Result<LogFormat, ConfigError> {
    match env.string("LOG_FORMAT").as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(_) => Err(env.invalid("LOG_FORMAT", "must be `text` or `json`")),
    }
}

/// Typed access to variables; blank values count as unset.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn string(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn invalid(&self, variable: &'static str, problem: impl Into<String>) -> ConfigError {
        ConfigError { variable, problem: problem.into() }
    }

    fn parsed<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError> {
        self.parsed_with(name, default, std::any::type_name::<T>())
    }

    fn parsed_with<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.string(name) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|_| {
                self.invalid(name, format!("`{raw}` is not a valid value (expected {expected})"))
            }),
        }
    }

    /// Durations in human form: `15m`, `30d`, `10s`, `1h 30m`.
    fn duration(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        match self.string(name) {
            None => Ok(default),
            Some(raw) => {
                match humantime::parse_duration(raw.trim()) {
                    Ok(d) if !d.is_zero() => Ok(d),
                    _ => Err(self
                        .invalid(name, format!("`{raw}` is not a positive duration like 15m, 30d or 10s"))),
                }
            }
        }
    }

    fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.string(name).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(self.invalid(name, format!("`{other}` is not true or false"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const STRONG: &str = "3f9c1e7a5b2d8f4061c3e9a7b5d2f8e1";

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    fn with_db<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut vars = vec![("DATABASE_URL", "postgres://db/kassa"), ("JWT_SECRET", STRONG)];
        vars.extend_from_slice(extra);
        vars
    }

    fn failing_variable(vars: &[(&str, &str)]) -> &'static str {
        load(vars).expect_err("configuration should be refused").variable
    }

    #[test]
    fn defaults_follow_the_spec() {
        let config = load(&with_db(&[])).unwrap();
        assert_eq!(config.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.access_token_ttl, Duration::from_secs(900));
        assert_eq!(config.refresh_token_ttl, Duration::from_secs(30 * 86_400));
        assert_eq!(config.password_policy.min_length, 8);
        assert!(!config.password_policy.require_digit);
        assert_eq!(config.login_rate_limit_per_minute, 5);
        assert_eq!(config.session_idle_timeout, Duration::from_secs(7 * 86_400));
        assert_eq!(config.refresh_reuse_grace, Duration::from_secs(10));
        assert_eq!(
            config.pin_lock,
            PinLock { first: Duration::from_secs(30), max: Duration::from_secs(900) }
        );
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.default_language, Lang::Ru);
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.migrate_on_start && config.swagger_enabled);
        assert_eq!(config.cors_allowed_origins, CorsOrigins::None);
        assert_eq!(config.login_account_limit_per_15_minutes, 50);
        assert_eq!((config.registration_limit_per_hour, config.max_stores_per_owner), (10, 20));
        assert_eq!(config.introspection_rate_limit_per_minute, 6000);
        assert_eq!(config.public_url, None);
        assert_eq!(config.allowed_hosts, ["localhost", "127.0.0.1", "[::1]"]);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&str, &str)] = &[
            ("BIND_ADDR", "localhost"),
            ("ACCESS_TOKEN_TTL", "soon"),
            ("REFRESH_TOKEN_TTL", "0s"),
            ("PASSWORD_MIN_LENGTH", "4"),
            ("PASSWORD_REQUIRE_DIGIT", "maybe"),
            ("LOGIN_RATE_LIMIT_PER_MINUTE", "-1"),
            ("LOGIN_ACCOUNT_LIMIT_PER_15_MINUTES", "0"),
            ("LOGIN_ACCOUNT_LIMIT_PER_15_MINUTES", "many"),
            ("REGISTRATION_LIMIT_PER_HOUR", "0"),
            ("REGISTRATION_LIMIT_PER_HOUR", "-3"),
            ("MAX_STORES_PER_OWNER", "0"),
            ("MAX_STORES_PER_OWNER", "lots"),
            ("INTROSPECTION_RATE_LIMIT_PER_MINUTE", "0"),
            ("PUBLIC_URL", "pos.example.com"),
            ("PUBLIC_URL", "ftp://pos.example.com"),
            ("PUBLIC_URL", "https://pos.example.com/?next=1"),
            ("PUBLIC_URL", "https://pos.example.com/#top"),
            ("PUBLIC_URL", "https://user:pw@pos.example.com"),
            ("PUBLIC_URL", "https://"),
            ("PUBLIC_URL", "https://pos.example.com:port"),
            ("ALLOWED_HOSTS", "pos.example.com:443"),
            ("ALLOWED_HOSTS", "*"),
            ("ALLOWED_HOSTS", "pos.example.com/x"),
            ("CORS_ALLOWED_ORIGINS", "pos.example.com"),
            ("DEFAULT_LANGUAGE", "de"),
            ("LOG_FORMAT", "xml"),
            ("MIGRATE_ON_START", "2"),
            ("DATABASE_POOL_SIZE", "0"),
            ("DATABASE_STORE_CONNECTIONS", "0"),
            ("DATABASE_STATEMENT_CACHE", "0"),
            ("DATABASE_ACQUIRE_TIMEOUT", "fast"),
            ("DATABASE_MAX_LIFETIME", "forever"),
            ("REQUEST_TIMEOUT", "-5s"),
            ("SWAGGER_ENABLED", "sometimes"),
            ("CONSOLE_ENABLED", "perhaps"),
            ("PIN_LOCK_FIRST", "0s"),
            ("PIN_LOCK_MAX", "10s"),
            ("SESSION_IDLE_TIMEOUT", "never"),
            ("TRUSTED_PROXIES", "10.0.0.1, proxy.local"),
            ("DATABASE_TRANSACTION_POOLING", "pgbouncer"),
            ("REFRESH_REUSE_GRACE", "soon"),
            ("REFRESH_REUSE_GRACE", "1h"),
        ];
        for (variable, value) in cases {
            assert_eq!(failing_variable(&with_db(&[(variable, value)])), *variable, "{variable}={value}");
        }
    }

    #[test]
    fn transaction_pooling_leaves_migrations_to_a_direct_connection() {
        let pooled = load(&with_db(&[("DATABASE_TRANSACTION_POOLING", "true")])).unwrap();
        assert!(pooled.db_transaction_pooling && !pooled.migrate_on_start);
        let both = with_db(&[("DATABASE_TRANSACTION_POOLING", "true"), ("MIGRATE_ON_START", "true")]);
        assert_eq!(failing_variable(&both), "MIGRATE_ON_START");
        assert!(!load(&with_db(&[])).unwrap().db_transaction_pooling);
    }

    #[test]
    fn the_refresh_retry_window_may_be_zero_or_short() {
        let grace = |value| load(&with_db(&[("REFRESH_REUSE_GRACE", value)])).unwrap().refresh_reuse_grace;
        assert_eq!(grace("0"), Duration::ZERO);
        assert_eq!(grace("0s"), Duration::ZERO);
        assert_eq!(grace("2s"), Duration::from_secs(2));
        assert_eq!(grace("5m"), MAX_REFRESH_REUSE_GRACE);
    }

    #[test]
    fn connection_limits_have_defaults_and_refuse_nonsense() {
        let config = load(&with_db(&[])).unwrap();
        assert_eq!((config.header_read_timeout, config.max_connections), (Duration::from_secs(10), 10_000));
        let set = load(&with_db(&[("HEADER_READ_TIMEOUT", "2s"), ("MAX_CONNECTIONS", "500")])).unwrap();
        assert_eq!((set.header_read_timeout, set.max_connections), (Duration::from_secs(2), 500));
        for (variable, value) in [
            ("HEADER_READ_TIMEOUT", "0s"),
            ("HEADER_READ_TIMEOUT", "soon"),
            ("MAX_CONNECTIONS", "0"),
            ("MAX_CONNECTIONS", "-1"),
            ("MAX_CONNECTIONS", "2000000"),
        ] {
            assert_eq!(failing_variable(&with_db(&[(variable, value)])), variable, "{variable}={value}");
        }
    }

    #[test]
    fn split_host_takes_only_plain_authorities() {
        assert_eq!(split_host("pos.example:8000"), Some(("pos.example", Some(8000))));
        assert_eq!(split_host("[2001:db8::1]:443"), Some(("[2001:db8::1]", Some(443))));
        assert_eq!(split_host("10.0.0.1"), Some(("10.0.0.1", None)));
        for bad in [
            "",
            ":80",
            "a:b",
            "a:99999",
            "user@pos.example",
            "[::1",
            "[nothost]",
            "[::1]x",
            "a b",
            "é.example",
        ] {
            assert_eq!(split_host(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_real_database_needs_a_strong_master_secret() {
        assert_eq!(failing_variable(&[("DATABASE_URL", "postgres://db/kassa")]), "SECRET_KEY");
        for weak in ["short", EXAMPLE_JWT_SECRET, "abababababababababababababababababab"] {
            let vars = [("DATABASE_URL", "postgres://db/kassa"), ("JWT_SECRET", weak)];
            assert_eq!(failing_variable(&vars), "JWT_SECRET", "{weak}");
        }
        let only_secret_key =
            load(&[("DATABASE_URL", "postgres://db/kassa"), ("SECRET_KEY", STRONG)]).unwrap();
        assert!(only_secret_key.legacy_jwt_secret.is_none(), "a new installation needs no JWT_SECRET");
    }

    #[test]
    fn signing_keys_are_ed25519_rotated_monthly_unless_set() {
        let default = load(&with_db(&[])).unwrap();
        assert_eq!(default.signing_algorithm, SigningAlgorithm::EdDsa);
        assert_eq!(default.signing_key_rotation, Duration::from_secs(30 * 86_400));
        let set = load(&with_db(&[("SIGNING_ALGORITHM", "es256"), ("SIGNING_KEY_ROTATION", "7d")])).unwrap();
        assert_eq!(
            (set.signing_algorithm, set.signing_key_rotation),
            (SigningAlgorithm::Es256, Duration::from_secs(7 * 86_400))
        );
        assert_eq!(failing_variable(&with_db(&[("SIGNING_ALGORITHM", "HS256")])), "SIGNING_ALGORITHM");
        assert_eq!(failing_variable(&with_db(&[("SIGNING_KEY_ROTATION", "5m")])), "SIGNING_KEY_ROTATION");
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let config = load(&with_db(&[])).unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains(STRONG));
        assert!(!printed.contains("postgres://db/kassa"));
    }

    #[test]
    fn the_embedded_default_keeps_the_jwt_secret_an_earlier_release_generated() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().to_str().unwrap();
        assert!(load(&[("EMBEDDED_DATA_DIR", data_dir)]).unwrap().legacy_jwt_secret.is_none());
        std::fs::write(dir.path().join("dev-jwt-secret"), STRONG).unwrap();
        let upgraded = load(&[("EMBEDDED_DATA_DIR", data_dir)]).unwrap();
        assert!(upgraded.is_embedded());
        assert_eq!(
            upgraded.legacy_jwt_secret.as_ref().map(|s| s.expose_secret().to_owned()),
            Some(STRONG.to_owned())
        );
    }

    #[test]
    fn the_master_secret_is_its_own_or_the_jwt_secret() {
        let fallback = load(&with_db(&[])).unwrap();
        assert_eq!(fallback.secret_key.expose_secret(), STRONG);
        let own = "7e1c5a9f3b2d4e6f8a0c1e3b5d7f9a2c";
        let set = load(&with_db(&[("SECRET_KEY", own)])).unwrap();
        assert_eq!(set.secret_key.expose_secret(), own);
        for weak in ["short", "abababababababababababababababababab"] {
            assert_eq!(failing_variable(&with_db(&[("SECRET_KEY", weak)])), "SECRET_KEY", "{weak}");
        }
        assert!(!format!("{set:?}").contains(own));

        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().to_str().unwrap();
        let first = load(&[("EMBEDDED_DATA_DIR", data_dir)]).unwrap();
        let second = load(&[("EMBEDDED_DATA_DIR", data_dir)]).unwrap();
        assert_eq!(first.secret_key.expose_secret(), second.secret_key.expose_secret());
        assert_eq!(first.secret_key.expose_secret().len(), 64);
    }

    #[test]
    fn the_account_limit_follows_the_per_ip_limit_unless_set() {
        let derived = load(&with_db(&[("LOGIN_RATE_LIMIT_PER_MINUTE", "3")])).unwrap();
        assert_eq!(derived.login_account_limit_per_15_minutes, 30);
        let set = load(&with_db(&[("LOGIN_ACCOUNT_LIMIT_PER_15_MINUTES", "7")])).unwrap();
        assert_eq!(set.login_account_limit_per_15_minutes, 7);
    }

    #[test]
    fn public_url_keeps_its_path_prefix_and_allowed_hosts_are_normalised() {
        let config = load(&with_db(&[
            ("PUBLIC_URL", "HTTPS://POS.example.com:8443/kassa/"),
            ("ALLOWED_HOSTS", "POS.example.com, .shops.example, 10.0.0.5, ::1, [2001:db8::1]"),
        ]))
        .unwrap();
        assert_eq!(config.public_url.as_deref(), Some("https://pos.example.com:8443/kassa"));
        assert_eq!(
            config.allowed_hosts,
            ["pos.example.com", ".shops.example", "10.0.0.5", "[::1]", "[2001:db8::1]"]
        );
        let secret = load(&with_db(&[("PUBLIC_URL", "https://user:Hunter2-secret@pos.example.com")]));
        assert!(!secret.unwrap_err().to_string().contains("Hunter2"));
        let bare = load(&with_db(&[("PUBLIC_URL", "http://[::1]:8080")])).unwrap();
        assert_eq!(bare.public_url.as_deref(), Some("http://[::1]:8080"));
    }

    #[test]
    fn cors_origins_parse_lists_and_wildcards() {
        let list =
            load(&with_db(&[("CORS_ALLOWED_ORIGINS", "https://a.example, http://localhost:3000")])).unwrap();
        assert!(matches!(list.cors_allowed_origins, CorsOrigins::List(ref o) if o.len() == 2));
        let any = load(&with_db(&[("CORS_ALLOWED_ORIGINS", "*")])).unwrap();
        assert_eq!(any.cors_allowed_origins, CorsOrigins::Any);
    }
}
