//! The embedded default: a private PostgreSQL cluster for `cargo run` and `cargo test`.
//!
//! With no `DATABASE_URL`, kassa starts PostgreSQL from the binaries already on the machine
//! (docs/contract.md §1). The cluster lives in a local folder and is kept across restarts; it listens on a
//! free loopback port, trusts local connections (nothing else can reach it) and stops when
//! kassa stops, even when kassa is killed: the server runs under a tiny shell watchdog that
//! reads a pipe from this process and shuts PostgreSQL down (fast mode) when the pipe closes.
//!
//! PostgreSQL refuses to run as root, so a root caller runs it as the `postgres` OS user
//! (or `nobody`), which must be able to reach the data folder; when it cannot (a clone under
//! a private temporary directory, say), the cluster goes to `/var/tmp/kassa-<hash>` instead.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// The superuser `initdb` creates; trust authentication, loopback only.
const SUPERUSER: &str = "kassa";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts `postgres "$@"`, then stops it with SIGINT (fast shutdown) when stdin reaches EOF,
/// that is when the kassa process that holds the pipe's other end exits for any reason.
const WATCHDOG: &str = r#"exec 3<&0 </dev/null
"$0" "$@" &
pg=$!
{ read -r _ <&3; kill -INT "$pg" 2>/dev/null; } &
watcher=$!
wait "$pg"; status=$?
kill "$watcher" 2>/dev/null
exit "$status""#;

/// How to run the cluster.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// The folder that holds the cluster (`<root>/postgres`) and its log.
    pub root: PathBuf,
    /// Only look for binaries here (`POSTGRES_BIN_DIR`).
    pub bin_dir: Option<PathBuf>,
    /// `false` turns off fsync and friends: for throw-away test clusters only.
    pub durable: bool,
}

/// Why the embedded cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries (initdb, postgres) found in {searched}.\n\
         Install them (Debian/Ubuntu: `sudo apt-get install postgresql`; macOS: `brew install postgresql`), \
         point POSTGRES_BIN_DIR at them, or set DATABASE_URL to use a server you already run."
    )]
    NoBinaries { searched: String },
    #[error(
        "running as root, but neither the `postgres` nor the `nobody` OS user exists to run PostgreSQL as"
    )]
    NoUnprivilegedUser,
    #[error("initdb failed for {data_dir}:\n{output}")]
    Initdb { data_dir: String, output: String },
    #[error("PostgreSQL did not start (log {log}):\n{tail}")]
    Start { log: String, tail: String },
    #[error("embedded PostgreSQL: {0}")]
    Io(#[from] std::io::Error),
}

/// A running private cluster. Dropping it stops PostgreSQL.
#[derive(Debug)]
pub struct EmbeddedCluster {
    child: Child,
    watchdog_pipe: Option<ChildStdin>,
    port: u16,
    data_dir: PathBuf,
    /// How it was started, to start it again after [`EmbeddedCluster::pause`].
    launch: Launch,
}

/// What starting the postmaster takes, besides a port.
#[derive(Debug, Clone)]
struct Launch {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    run_as: RunAs,
    durable: bool,
}

/// The OS user PostgreSQL runs as: ourselves, or an unprivileged account when we are root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
    dropping_root: bool,
}

impl EmbeddedCluster {
    /// Finds the binaries, creates the cluster on first use, and starts it. Blocking.
    pub fn start(options: &EmbeddedOptions) -> Result<Self, EmbeddedError> {
        let bin_dir = find_bin_dir(options.bin_dir.as_deref())?;
        let run_as = run_as()?;
        std::fs::create_dir_all(&options.root)?;
        let root = std::fs::canonicalize(&options.root)?;
        let data_dir = prepare_data_dir(&root, run_as)?;
        if !data_dir.join("PG_VERSION").exists() {
            initdb(&bin_dir, &data_dir, run_as)?;
        }
        let launch_spec = Launch {
            bin_dir,
            data_dir,
            log_path: root.join("postgres.log"),
            run_as,
            durable: options.durable,
        };
        let mut last_error = None;
        // A free port can be taken between our probe and PostgreSQL's bind: try a few.
        for _ in 0..3 {
            match launch(&launch_spec, free_loopback_port()?) {
                Ok(cluster) => return Ok(cluster),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("the loop ran at least once"))
    }

    /// Connection options for `database` on this cluster.
    #[must_use]
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new().host("127.0.0.1").port(self.port).username(SUPERUSER).database(database)
    }

    /// The cluster's data directory.
    #[must_use]
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Creates `database` unless it exists.
    pub async fn ensure_database(&self, database: &str) -> Result<(), sqlx::Error> {
        let mut conn = PgConnection::connect_with(&self.connect_options("postgres")).await?;
        let exists: bool = sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(database)
            .fetch_one(&mut conn)
            .await?;
        if !exists {
            let quoted = format!("\"{}\"", database.replace('"', "\"\""));
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("create database {quoted}")))
                .execute(&mut conn)
                .await?;
        }
        conn.close().await
    }

    /// Stops PostgreSQL (fast shutdown) and waits for it. Blocking.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Stops PostgreSQL but keeps the cluster, so [`EmbeddedCluster::resume`] can start it
    /// again: a database outage, for tests. Blocking.
    pub fn pause(&mut self) {
        self.shutdown();
    }

    /// Starts a paused cluster again, on the same port and data. Blocking.
    pub fn resume(&mut self) -> Result<(), EmbeddedError> {
        // The old value is already shut down: dropping it does nothing.
        *self = launch(&self.launch, self.port)?;
        Ok(())
    }

    fn shutdown(&mut self) {
        // Closing the pipe is the stop signal (see WATCHDOG).
        if self.watchdog_pipe.take().is_none() {
            return;
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `POSTGRES_BIN_DIR` if given; else a PATH entry or a versioned install holding both binaries.
fn find_bin_dir(explicit: Option<&Path>) -> Result<PathBuf, EmbeddedError> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let candidates: Vec<PathBuf> = match explicit {
        Some(dir) => vec![dir.to_path_buf()],
        None => {
            let mut dirs: Vec<PathBuf> =
                std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
            dirs.extend(versioned_installs());
            dirs
        }
    };
    candidates
        .iter()
        .find(|dir| has_server(dir))
        .map(|dir| {
            std::fs::canonicalize(dir.join("postgres")).map_or_else(|_| dir.clone(), |p| parent_of(&p))
        })
        .ok_or_else(|| EmbeddedError::NoBinaries {
            searched: match explicit {
                Some(dir) => format!("POSTGRES_BIN_DIR={}", dir.display()),
                None => "PATH, /usr/lib/postgresql/*/bin and /usr/pgsql-*/bin".to_owned(),
            },
        })
}

/// A PostgreSQL client program such as `pg_dump`: from `POSTGRES_BIN_DIR`, else the newest
/// versioned install (a `pg_dump` must be at least as new as the server), else `PATH`.
#[must_use]
pub fn find_client_binary(name: &str) -> Option<PathBuf> {
    let explicit = std::env::var_os("POSTGRES_BIN_DIR").map(PathBuf::from);
    let path: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    explicit
        .into_iter()
        .chain(versioned_installs())
        .chain(path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// `/usr/lib/postgresql/<v>/bin` (Debian) and `/usr/pgsql-<v>/bin` (PGDG RPMs), newest first.
fn versioned_installs() -> Vec<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        for entry in entries.flatten() {
            let version = entry.file_name().to_string_lossy().parse().unwrap_or(0);
            found.push((version, entry.path().join("bin")));
        }
    }
    if let Ok(entries) = std::fs::read_dir("/usr") {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(version) = name.strip_prefix("pgsql-") {
                found.push((version.parse().unwrap_or(0), entry.path().join("bin")));
            }
        }
    }
    found.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    found.into_iter().map(|(_, dir)| dir).collect()
}

fn run_as() -> Result<RunAs, EmbeddedError> {
    use nix::unistd::{User, getegid, geteuid};
    let (uid, gid) = (geteuid(), getegid());
    if !uid.is_root() {
        return Ok(RunAs { uid: uid.as_raw(), gid: gid.as_raw(), dropping_root: false });
    }
    let user = ["postgres", "nobody"]
        .into_iter()
        .find_map(|name| User::from_name(name).ok().flatten())
        .ok_or(EmbeddedError::NoUnprivilegedUser)?;
    Ok(RunAs { uid: user.uid.as_raw(), gid: user.gid.as_raw(), dropping_root: true })
}

/// A command that runs as `run_as`, from `/`, with a clean locale.
fn command_as(program: &Path, run_as: RunAs) -> Command {
    let mut command = Command::new(program);
    command.current_dir("/").env("LC_MESSAGES", "C");
    if run_as.dropping_root {
        // std clears supplementary groups when a root parent sets uid/gid.
        command.uid(run_as.uid).gid(run_as.gid);
    }
    command
}

/// `<root>/postgres`, owned by the user PostgreSQL runs as, or the /var/tmp fallback when
/// that user cannot reach `<root>`.
fn prepare_data_dir(root: &Path, run_as: RunAs) -> Result<PathBuf, EmbeddedError> {
    let local = root.join("postgres");
    if !run_as.dropping_root {
        return Ok(local);
    }
    if is_reachable_by(root, run_as) {
        std::fs::create_dir_all(&local)?;
        chown(&local, run_as)?;
        return Ok(local);
    }
    let fallback = fallback_dir(root);
    std::fs::create_dir_all(&fallback)?;
    std::fs::set_permissions(fallback.parent().unwrap_or(&fallback), std::fs::Permissions::from_mode(0o755))?;
    chown(&fallback, run_as)?;
    tracing::warn!(
        data_dir = %fallback.display(),
        "the PostgreSQL OS user cannot reach {}; keeping the embedded cluster in {} instead",
        root.display(),
        fallback.display()
    );
    Ok(fallback)
}

/// `/var/tmp/kassa-<hash of root>/postgres`: stable per project folder, survives reboots.
fn fallback_dir(root: &Path) -> PathBuf {
    // FNV-1a: a stable, dependency-free hash; collisions only matter between two clones.
    let hash = root
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    PathBuf::from(format!("/var/tmp/kassa-{hash:016x}")).join("postgres")
}

/// Asks the OS, as `run_as`, whether it can enter `dir` (honours modes and ACLs alike).
fn is_reachable_by(dir: &Path, run_as: RunAs) -> bool {
    command_as(Path::new("/bin/sh"), run_as)
        .args(["-c", "cd \"$1\"", "sh"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn chown(path: &Path, run_as: RunAs) -> Result<(), EmbeddedError> {
    std::os::unix::fs::chown(path, Some(run_as.uid), Some(run_as.gid))?;
    Ok(())
}

fn initdb(bin_dir: &Path, data_dir: &Path, run_as: RunAs) -> Result<(), EmbeddedError> {
    let run = |locale: &str| {
        command_as(&bin_dir.join("initdb"), run_as)
            .arg("--pgdata")
            .arg(data_dir)
            .args(["--username", SUPERUSER, "--auth", "trust", "--encoding", "UTF8"])
            .arg(format!("--locale={locale}"))
            .output()
    };
    // C.UTF-8 makes lower() fold Cyrillic (case-insensitive usernames); plain C is the fallback.
    let mut output = run("C.UTF-8")?;
    if !output.status.success() {
        output = run("C")?;
    }
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(EmbeddedError::Initdb { data_dir: data_dir.display().to_string(), output: text })
}

fn free_loopback_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn launch(spec: &Launch, port: u16) -> Result<EmbeddedCluster, EmbeddedError> {
    let Launch { bin_dir, data_dir, log_path, run_as, durable } = spec;
    let (run_as, durable) = (*run_as, *durable);
    let log = File::options().create(true).append(true).open(log_path)?;
    let log_start = log.metadata()?.len();
    let mut settings = vec![
        "listen_addresses=127.0.0.1".to_owned(),
        "unix_socket_directories=".to_owned(),
        "max_connections=300".to_owned(),
    ];
    if !durable {
        settings.extend(["fsync=off", "synchronous_commit=off", "full_page_writes=off"].map(str::to_owned));
    }
    let mut command = command_as(Path::new("/bin/sh"), run_as);
    command
        .arg("-c")
        .arg(WATCHDOG)
        .arg(bin_dir.join("postgres"))
        .arg("-D")
        .arg(data_dir)
        .args(["-p", &port.to_string()])
        .args(settings.iter().flat_map(|s| ["-c", s.as_str()]))
        .stdin(Stdio::piped())
        .stdout(log.try_clone()?)
        .stderr(log);
    let mut child = command.spawn()?;
    let watchdog_pipe = child.stdin.take();
    let cluster =
        EmbeddedCluster { child, watchdog_pipe, port, data_dir: data_dir.clone(), launch: spec.clone() };
    wait_until_ready(cluster, log_path, log_start)
}

/// Waits for the postmaster to report `ready` in `postmaster.pid` (what `pg_ctl -w` reads).
fn wait_until_ready(
    mut cluster: EmbeddedCluster,
    log_path: &Path,
    log_start: u64,
) -> Result<EmbeddedCluster, EmbeddedError> {
    let deadline = Instant::now() + START_TIMEOUT;
    let pid_file = cluster.data_dir.join("postmaster.pid");
    let expected_port = cluster.port.to_string();
    while Instant::now() < deadline {
        if let Ok(Some(_)) = cluster.child.try_wait() {
            break;
        }
        if let Ok(contents) = std::fs::read_to_string(&pid_file) {
            let lines: Vec<&str> = contents.lines().collect();
            if lines.get(3).map(|l| l.trim()) == Some(expected_port.as_str())
                && lines.get(7).map(|l| l.trim()) == Some("ready")
            {
                return Ok(cluster);
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    cluster.shutdown();
    Err(EmbeddedError::Start { log: log_path.display().to_string(), tail: log_tail(log_path, log_start) })
}

fn log_tail(log_path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(log_path) {
        let _ = std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(from));
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bin_dir_without_binaries_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = find_bin_dir(Some(dir.path())).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("POSTGRES_BIN_DIR"), "{message}");
        assert!(message.contains("apt-get install postgresql"), "{message}");
        assert!(message.contains("DATABASE_URL"), "{message}");
    }

    #[test]
    fn the_fallback_folder_is_stable_per_project_folder() {
        let a = fallback_dir(Path::new("/tmp/one/kassa/.kassa"));
        assert_eq!(a, fallback_dir(Path::new("/tmp/one/kassa/.kassa")));
        assert_ne!(a, fallback_dir(Path::new("/tmp/two/kassa/.kassa")));
        assert!(a.starts_with("/var/tmp"));
    }
}
