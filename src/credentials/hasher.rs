//! argon2id hashing off the async workers.
//!
//! Hashing costs ~19 MiB and tens of milliseconds of CPU, so it runs on a few threads of its
//! own, one per CPU, at a lower scheduling priority than request handling: a burst of
//! logins queues instead of starving other requests or multiplying memory (see
//! [`PasswordHasher`]). The server has each thread's hashes computed by a process of its own
//! (`kassa hash-worker`), so that the lower priority holds against PostgreSQL too.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, PasswordHasher as _, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// OWASP's argon2id parameters: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// A hash of a random password with the current parameters: unknown usernames are checked
/// against it, so they cost exactly what a wrong password costs (docs/contract.md §4). Without it an
/// unknown user would answer faster than a known one (a timing oracle for usernames), so a
/// failure to make it is an error everywhere it is needed, never an empty stand-in.
static DUMMY_HASH: LazyLock<Result<String, String>> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2().hash_password(&secret, &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
});

fn dummy_hash() -> anyhow::Result<String> {
    DUMMY_HASH.clone().map_err(|e| anyhow::anyhow!("the dummy password hash could not be made: {e}"))
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash used weaker parameters: store a fresh one now that we know the password.
    pub needs_rehash: bool,
}

/// argon2id off the async workers, one hash per hashing thread at a time, queued in arrival
/// order; each thread hashes itself ([`PasswordHasher::new`]) or has a process of its own
/// do it ([`PasswordHasher::in_processes`], what `kassa serve` uses).
///
/// Why not Tokio's blocking pool behind a semaphore (the first version): each hash allocates
/// 19 MiB, glibc gives every thread that allocates an arena of its own and keeps freed memory
/// there, and the blocking pool runs each hash on whichever of its up to 512 threads is free.
/// The load benchmark measured the server at 321 MiB after 10 s of logins and 830 MiB after
/// 1,000 simultaneous ones. On a fixed set of threads at most that many arenas ever hold a
/// hash's memory. Hashing also runs at a lower priority (nice 10), so request handling and
/// PostgreSQL come first: reads keep their latency while logins use the CPU left over.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    jobs: Sender<Job>,
    threads: usize,
}

/// A hashing request with the way back to whoever waits for it.
struct Job {
    work: Work,
    reply: tokio::sync::oneshot::Sender<anyhow::Result<Done>>,
    span: tracing::Span,
}

/// What a hashing thread or process is asked to do.
enum Work {
    Hash(SecretString),
    Verify { password: SecretString, stored: Option<String> },
    WarmUp,
}

/// What it answers; also the hashing process's reply, one JSON line per job.
#[derive(Serialize, Deserialize)]
enum Done {
    Hashed(String),
    Verified(Verified),
    WarmedUp,
}

impl Work {
    fn run(self) -> anyhow::Result<Done> {
        match self {
            Work::Hash(password) => hash_password(&password).map(Done::Hashed),
            Work::Verify { password, stored } => verify_password(&password, stored).map(Done::Verified),
            Work::WarmUp => dummy_hash().map(|_| Done::WarmedUp),
        }
    }
}

/// A PHC string for `password` with a fresh random salt, in this thread's reused memory.
fn hash_password(password: &SecretString) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    hash_in_thread_memory(&argon2(), password.expose_secret().as_bytes(), salt.as_salt())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// `password` against `stored`, or against the dummy hash when there is none (never a match).
fn verify_password(password: &SecretString, stored: Option<String>) -> anyhow::Result<Verified> {
    let is_real = stored.is_some();
    let stored = match stored {
        Some(stored) => stored,
        None => dummy_hash()?,
    };
    let Ok(parsed) = PasswordHash::new(&stored) else {
        return Ok(Verified { matches: false, needs_rehash: false });
    };
    let matches = verify_in_thread_memory(password.expose_secret().as_bytes(), &parsed) && is_real;
    Ok(Verified { matches, needs_rehash: matches && !uses_current_parameters(&parsed) })
}

impl PasswordHasher {
    /// A hasher with `threads` hashing threads (at least one) that hash themselves. They
    /// end when the last clone of the hasher is dropped.
    #[must_use]
    pub fn new(threads: usize) -> Self {
        Self::start(threads, || Executor::InThread)
    }

    /// One thread per CPU: hashing is CPU-bound, more would only add memory.
    #[must_use]
    pub fn for_this_machine() -> Self {
        Self::new(cpus())
    }

    /// One hashing process per CPU, each `program hash-worker` (this binary) in a session of
    /// its own, started on first use and again after it dies; each ends with the hasher.
    ///
    /// Why processes: Linux (`kernel.sched_autogroup_enabled`, on by default on many
    /// distributions) makes each session a scheduling group and shares the CPU equally
    /// between groups, so a thread's nice value only ranks it within its own process's
    /// session. Hashing threads at nice 10 inside kassa still took their group's full share
    /// against PostgreSQL's backends: the load benchmark measured paced `me` p99 at 11–30 ms
    /// during sign-ins against 1.3–2.6 ms idle. A process leading a session of its own can
    /// lower its whole group (docs/performance.md).
    #[must_use]
    pub fn in_processes(program: std::path::PathBuf) -> Self {
        Self::start(cpus(), || Executor::Process(HashingProcess { program: program.clone(), running: None }))
    }

    fn start(threads: usize, executor: impl Fn() -> Executor) -> Self {
        let threads = threads.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = Arc::clone(&queue);
            let executor = executor();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hashing_thread(&queue, executor))
                .expect("the OS refused a hashing thread at start-up");
        }
        PasswordHasher { jobs, threads }
    }

    /// A PHC string for `password` with a fresh random salt.
    pub async fn hash(&self, password: SecretString) -> anyhow::Result<String> {
        match self.run(Work::Hash(password)).await? {
            Done::Hashed(hash) => Ok(hash),
            _ => Err(mismatched_answer()),
        }
    }

    /// Checks `password` against the PHC string `stored`; with no stored hash (an unknown
    /// user) it checks a dummy hash and never matches, taking the same time either way. A
    /// malformed stored hash never matches.
    pub async fn verify(&self, password: SecretString, stored: Option<String>) -> anyhow::Result<Verified> {
        match self.run(Work::Verify { password, stored }).await? {
            Done::Verified(verified) => Ok(verified),
            _ => Err(mismatched_answer()),
        }
    }

    /// Computes the dummy hash now rather than during the first unknown-user sign-in, which
    /// would otherwise take twice as long as the rest: one job per hashing thread at once, so
    /// that each hashing process makes its own; an error here must stop start-up.
    pub async fn warm_up(&self) -> anyhow::Result<()> {
        let jobs = (0..self.threads).map(|_| self.run(Work::WarmUp));
        for done in futures_util::future::join_all(jobs).await {
            if !matches!(done?, Done::WarmedUp) {
                return Err(mismatched_answer());
            }
        }
        Ok(())
    }

    async fn run(&self, work: Work) -> anyhow::Result<Done> {
        let _in_queue = crate::http::metrics::METRICS.hashing_job();
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job { work, reply, span: tracing::Span::current() };
        self.jobs.send(job).map_err(|_| anyhow::anyhow!("the hashing threads have stopped"))?;
        answer.await.map_err(|_| anyhow::anyhow!("a hashing job panicked"))?
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

fn mismatched_answer() -> anyhow::Error {
    anyhow::anyhow!("a hashing job answered another kind of job")
}

/// Runs queued jobs until every [`PasswordHasher`] is gone. A panicking job loses its
/// answer (its caller gets an error), not the thread.
fn hashing_thread(queue: &Mutex<Receiver<Job>>, mut executor: Executor) {
    if matches!(executor, Executor::InThread) {
        lower_priority();
    }
    loop {
        // The lock is released at the end of this statement, before the job runs.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(Job { work, reply, span }) = job else { return };
        // A request that gave up while queued (client gone, timeout) costs no hash.
        if reply.is_closed() {
            continue;
        }
        let done =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| span.in_scope(|| executor.run(work))));
        if let Ok(done) = done {
            let _ = reply.send(done);
        }
    }
}

/// Where a hashing thread's jobs are computed.
enum Executor {
    InThread,
    Process(HashingProcess),
}

impl Executor {
    fn run(&mut self, work: Work) -> anyhow::Result<Done> {
        match self {
            Executor::InThread => work.run(),
            Executor::Process(process) => process.run(&work),
        }
    }
}

/// The program of a hashing process: this very binary. On Linux `/proc/self/exe`, which
/// still names the running file after an upgrade replaced it on disk, so that a hashing
/// process started later speaks this server's jobs; elsewhere the binary's path.
pub fn this_binary() -> std::io::Result<std::path::PathBuf> {
    #[cfg(target_os = "linux")]
    if std::path::Path::new("/proc/self/exe").exists() {
        return Ok(std::path::PathBuf::from("/proc/self/exe"));
    }
    std::env::current_exe()
}

/// The subcommand that makes this binary a hashing process.
pub const HASHING_PROCESS_COMMAND: &str = "hash-worker";

/// The priority a hashing process gives itself and its session's scheduling group.
const HASHING_NICE: i32 = 10;

/// One hashing process, kept by one hashing thread.
struct HashingProcess {
    program: std::path::PathBuf,
    running: Option<RunningProcess>,
}

struct RunningProcess {
    child: std::process::Child,
    jobs: std::process::ChildStdin,
    answers: std::io::BufReader<std::process::ChildStdout>,
}

impl HashingProcess {
    /// Sends `work` and reads its answer. A process that cannot be reached (it died, or was
    /// killed) is dropped and the job sent once more to a new one: a hash has no side effect.
    fn run(&mut self, work: &Work) -> anyhow::Result<Done> {
        let answer = self.exchange(work).or_else(|_| {
            self.running = None;
            self.exchange(work)
        });
        if answer.is_err() {
            self.running = None;
        }
        answer?.map_err(|e| anyhow::anyhow!("{e}"))
    }

    fn exchange(&mut self, work: &Work) -> anyhow::Result<Result<Done, String>> {
        use std::io::{BufRead, Write};
        let process = match &mut self.running {
            Some(process) => process,
            None => self.running.insert(RunningProcess::start(&self.program)?),
        };
        let mut line = serde_json::to_string(&WorkOut::from(work))?;
        line.push('\n');
        let sent = process.jobs.write_all(line.as_bytes()).and_then(|()| process.jobs.flush());
        line.zeroize();
        sent.map_err(|e| anyhow::anyhow!("the hashing process stopped: {e}"))?;
        let mut answer = String::new();
        if process.answers.read_line(&mut answer)? == 0 {
            anyhow::bail!("the hashing process stopped");
        }
        Ok(serde_json::from_str(&answer)?)
    }
}

impl RunningProcess {
    fn start(program: &std::path::Path) -> anyhow::Result<Self> {
        use std::process::Stdio;
        let mut command = std::process::Command::new(program);
        // Nothing of the server's environment (database URL, JWT secret) reaches it.
        command.arg(HASHING_PROCESS_COMMAND).env_clear().stdin(Stdio::piped()).stdout(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // `ps` shows `kassa hash-worker` whatever path started it.
            command.arg0("kassa");
            // SAFETY: between fork and exec the child only calls setsid, which is
            // async-signal-safe; a session of its own is a scheduling group of its own.
            unsafe {
                command.pre_exec(|| match libc::setsid() {
                    -1 => Err(std::io::Error::last_os_error()),
                    _ => Ok(()),
                });
            }
        }
        let mut child =
            command.spawn().map_err(|e| anyhow::anyhow!("cannot start a hashing process: {e}"))?;
        let (Some(jobs), Some(answers)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            anyhow::bail!("a hashing process started without its pipes");
        };
        Ok(RunningProcess { child, jobs, answers: std::io::BufReader::new(answers) })
    }
}

impl Drop for RunningProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A job as the server writes it to a hashing process: the password borrowed, never copied
/// but into the one line, which is zeroed once written.
#[derive(Serialize)]
enum WorkOut<'a> {
    Hash { password: &'a str },
    Verify { password: &'a str, stored: Option<&'a str> },
    WarmUp,
}

/// The same job as the hashing process reads it.
#[derive(Deserialize)]
enum WorkIn {
    Hash { password: String },
    Verify { password: String, stored: Option<String> },
    WarmUp,
}

impl<'a> From<&'a Work> for WorkOut<'a> {
    fn from(work: &'a Work) -> Self {
        match work {
            Work::Hash(password) => WorkOut::Hash { password: password.expose_secret() },
            Work::Verify { password, stored } => {
                WorkOut::Verify { password: password.expose_secret(), stored: stored.as_deref() }
            }
            Work::WarmUp => WorkOut::WarmUp,
        }
    }
}

impl From<WorkIn> for Work {
    fn from(work: WorkIn) -> Self {
        match work {
            WorkIn::Hash { password } => Work::Hash(SecretString::from(password)),
            WorkIn::Verify { password, stored } => {
                Work::Verify { password: SecretString::from(password), stored }
            }
            WorkIn::WarmUp => Work::WarmUp,
        }
    }
}

/// `kassa hash-worker`, started by [`PasswordHasher::in_processes`]: reads one job per line
/// on stdin, answers one line on stdout, and ends when stdin closes (the server is gone).
/// It logs nothing: the jobs carry passwords.
#[must_use]
pub fn serve_hashing_process() -> std::process::ExitCode {
    use std::io::{BufRead, Write};
    lower_process_priority();
    let mut jobs = std::io::stdin().lock();
    let mut answers = std::io::stdout().lock();
    let mut line = String::new();
    loop {
        line.zeroize();
        match jobs.read_line(&mut line) {
            Ok(0) => return std::process::ExitCode::SUCCESS,
            Ok(_) => {}
            Err(_) => return std::process::ExitCode::FAILURE,
        }
        let job = serde_json::from_str::<WorkIn>(&line);
        line.zeroize();
        let done = match job {
            Ok(job) => Work::from(job).run().map_err(|e| format!("{e:#}")),
            Err(e) => Err(format!("an unreadable hashing job: {e}")),
        };
        let Ok(mut answer) = serde_json::to_string(&done) else { return std::process::ExitCode::FAILURE };
        answer.push('\n');
        if answers.write_all(answer.as_bytes()).and_then(|()| answers.flush()).is_err() {
            return std::process::ExitCode::FAILURE;
        }
    }
}

/// Nice 10 for this process, and for its session's scheduling group where Linux groups by
/// session (`/proc/self/autogroup`; the process leads its session): PostgreSQL and kassa's
/// request threads then come first machine-wide, not only within kassa's group.
fn lower_process_priority() {
    #[cfg(target_os = "linux")]
    {
        // Fails harmlessly where the kernel has no autogroups.
        let _ = std::fs::write("/proc/self/autogroup", HASHING_NICE.to_string());
    }
    // The process has one thread: its priority is the process's.
    lower_priority();
}

/// nice 10 for the calling thread (Linux: priorities are per thread); elsewhere a no-op.
/// Request handling and PostgreSQL then win the CPU when both want it, yet a flat-out read
/// load cannot starve logins completely (as `SCHED_IDLE` could: a login would wait until
/// its request timed out).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread's own id only changes its scheduling weight.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, HASHING_NICE);
    }
}

thread_local! {
    /// argon2's working memory, allocated once per hashing thread and reused by every hash:
    /// no 19 MiB allocation and free per request for the allocator to hold on to.
    static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What `argon2.hash_password(password, salt)` computes, with the thread's reused memory.
fn hash_in_thread_memory<'a>(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: Salt<'a>,
) -> argon2::password_hash::Result<PasswordHash<'a>> {
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let params = argon2.params();
    let output = Output::init_with(params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN), |out| {
        BLOCKS.with_borrow_mut(|blocks| {
            blocks.resize(params.block_count(), Block::default());
            argon2.hash_password_into_with_memory(password, salt_bytes, out, blocks.as_mut_slice())
        })?;
        Ok(())
    })?;
    // kassa hashes with argon2id v19 only (`argon2()`); verification compares `hash` alone.
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt),
        hash: Some(output),
    })
}

/// Whether `password` matches `stored`, computed with the parameters `stored` names (older
/// hashes included) in the thread's reused memory. `Output` compares in constant time.
fn verify_in_thread_memory(password: &[u8], stored: &PasswordHash<'_>) -> bool {
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm) else { return false };
    let Ok(version) = stored.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    // The output length comes from the stored hash too.
    let Ok(params) = Params::try_from(stored) else { return false };
    let argon2 = Argon2::new(algorithm, version, params);
    let Ok(computed) = hash_in_thread_memory(&argon2, password, salt) else { return false };
    computed.hash == Some(expected)
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("OWASP parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn uses_current_parameters(hash: &PasswordHash<'_>) -> bool {
    let param = |name: &str| hash.params.get_decimal(name);
    hash.algorithm.as_str() == "argon2id"
        && hash.version == Some(Version::V0x13 as u32)
        && param("m") == Some(MEMORY_KIB)
        && param("t") == Some(ITERATIONS)
        && param("p") == Some(PARALLELISM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_old_parameters_ask_for_a_rehash() {
        let hasher = PasswordHasher::new(2);
        let secret = || SecretString::from("Kassa-Strong-2026".to_owned());
        let hash = hasher.hash(secret()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            hasher.verify(secret(), Some(hash.clone())).await.unwrap(),
            Verified { matches: true, needs_rehash: false }
        );
        // The reused-memory path computes exactly what argon2's own API does, both ways.
        use argon2::password_hash::PasswordVerifier as _;
        assert!(argon2().verify_password(b"Kassa-Strong-2026", &PasswordHash::new(&hash).unwrap()).is_ok());
        assert!(argon2().verify_password(b"Kassa-Strong-2027", &PasswordHash::new(&hash).unwrap()).is_err());
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let theirs = argon2().hash_password(b"Kassa-Strong-2026", &salt).unwrap().to_string();
        assert!(hasher.verify(secret(), Some(theirs.clone())).await.unwrap().matches);
        assert!(
            !hasher
                .verify(SecretString::from("Kassa-Strong-2027".to_owned()), Some(theirs))
                .await
                .unwrap()
                .matches
        );
        let wrong = hasher.verify(SecretString::from("nope".to_owned()), Some(hash)).await.unwrap();
        assert!(!wrong.matches);
        assert!(!hasher.verify(secret(), None).await.unwrap().matches, "the dummy hash never matches");
        assert!(!hasher.verify(secret(), Some("not a phc string".to_owned())).await.unwrap().matches);

        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap());
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let old = weak.hash_password(b"Kassa-Strong-2026", &salt).unwrap().to_string();
        assert_eq!(
            hasher.verify(secret(), Some(old)).await.unwrap(),
            Verified { matches: true, needs_rehash: true }
        );
    }
}
