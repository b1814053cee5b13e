//! argon2id hashing off the async workers.
//!
//! Hashing costs ~19 MiB and tens of milliseconds of CPU, so it runs on a few threads of its
//! own, one per CPU, at a lower scheduling priority than request handling: a burst of
//! logins queues instead of starving other requests or multiplying memory (see
//! [`PasswordHasher`]).

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, PasswordHasher as _, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};

/// OWASP's argon2id parameters: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// A hash of a random password with the current parameters: unknown usernames are checked
/// against it, so they cost exactly what a wrong password costs (SPEC §4). Without it an
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash used weaker parameters: store a fresh one now that we know the password.
    pub needs_rehash: bool,
}

/// argon2id on threads of its own, one hash per thread at a time, queued in arrival order.
///
/// Why not Tokio's blocking pool behind a semaphore (the first version): each hash allocates
/// 19 MiB, glibc gives every thread that allocates an arena of its own and keeps freed memory
/// there, and the blocking pool runs each hash on whichever of its up to 512 threads is free.
/// The load benchmark measured the server at 321 MiB after 10 s of logins and 830 MiB after
/// 1,000 simultaneous ones. On a fixed set of threads at most that many arenas ever hold a
/// hash's memory. The threads also run at a lower priority (nice 10), so request handling
/// comes first: reads keep their latency while logins use the CPU left over.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    jobs: Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl PasswordHasher {
    /// A hasher with `threads` hashing threads (at least one). They end when the last clone
    /// of the hasher is dropped.
    #[must_use]
    pub fn new(threads: usize) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hashing_thread(&queue))
                .expect("the OS refused a hashing thread at start-up");
        }
        PasswordHasher { jobs }
    }

    /// One thread per CPU: hashing is CPU-bound, more would only add memory.
    #[must_use]
    pub fn for_this_machine() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, usize::from))
    }

    /// A PHC string for `password` with a fresh random salt.
    pub async fn hash(&self, password: SecretString) -> anyhow::Result<String> {
        self.run(move || {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            hash_in_thread_memory(&argon2(), password.expose_secret().as_bytes(), salt.as_salt())
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
        })
        .await
    }

    /// Checks `password` against the PHC string `stored`; with no stored hash (an unknown
    /// user) it checks a dummy hash and never matches, taking the same time either way. A
    /// malformed stored hash never matches.
    pub async fn verify(&self, password: SecretString, stored: Option<String>) -> anyhow::Result<Verified> {
        self.run(move || {
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
        })
        .await
    }

    /// Computes the dummy hash now rather than during the first unknown-user sign-in, which
    /// would otherwise take twice as long as the rest; an error here must stop start-up.
    pub async fn warm_up(&self) -> anyhow::Result<()> {
        self.run(|| dummy_hash().map(|_| ())).await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move || {
            // A request that gave up while queued (client gone, timeout) costs no hash.
            if !reply.is_closed() {
                let _ = reply.send(span.in_scope(work));
            }
        });
        self.jobs.send(job).map_err(|_| anyhow::anyhow!("the hashing threads have stopped"))?;
        answer.await.map_err(|_| anyhow::anyhow!("a hashing job panicked"))?
    }
}

/// Runs queued jobs until every [`PasswordHasher`] is gone. A panicking job loses its
/// answer (its caller gets an error), not the thread.
fn hashing_thread(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is released at the end of this statement, before the job runs.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
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
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
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
