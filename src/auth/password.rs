//! Passwords: the policy of SPEC §4 and argon2id hashing off the async workers.
//!
//! Hashing costs ~19 MiB and tens of milliseconds of CPU, so it runs on Tokio's blocking
//! pool behind a semaphore sized to the CPU count: a burst of logins queues instead of
//! starving request handling or multiplying memory (issue "Authentication").

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::config::PasswordPolicy;
use crate::i18n::Message;

/// The longest password accepted: long passphrases are welcome, megabyte "passwords" that
/// make hashing a denial of service are not (SPEC §4, ASVS 5.0 V6.2.9).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// OWASP's argon2id parameters: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// The 19,640 most common passwords (Royce Williams' list, as shipped by Django), lowercase.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt").lines().map(str::trim).filter(|l| !l.is_empty()).collect()
});

/// A hash of a random password with the current parameters: unknown usernames are checked
/// against it, so they cost exactly what a wrong password costs (SPEC §4).
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2().hash_password(&secret, &salt).map(|h| h.to_string()).unwrap_or_default()
});

/// Letters and digits people cannot confuse when reading a password off a slip or a screen
/// (no `0 O o 1 l I`): 54 symbols, about 5.75 bits each.
const READABLE_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// A generated password is groups of four readable characters joined by `-`.
const GROUP_LEN: usize = 4;
/// At least three groups: 12 random characters, about 69 bits.
const MIN_GROUPS: usize = 3;

/// A password for a new or reset account, to be read out or printed: groups like
/// `Kq7m-x3Rt-Hb9w`, from the OS CSPRNG, long enough for `policy` and passing every rule of
/// it (the `-` is the symbol when one is required).
#[must_use]
pub fn generate_password(policy: &PasswordPolicy, context: &[&str]) -> SecretString {
    // n groups are 5n - 1 characters long.
    let groups = MIN_GROUPS.max((policy.min_length + 1).div_ceil(GROUP_LEN + 1));
    loop {
        let chars = random_readable_chars(groups * GROUP_LEN);
        let password =
            chars.chunks(GROUP_LEN).map(|g| g.iter().collect::<String>()).collect::<Vec<_>>().join("-");
        // Retried when the draw lacks a required class or happens to spell a common or
        // similar word; with this alphabet a retry is needed a few percent of the time.
        if policy_violations(&password, policy, context).is_empty() {
            return SecretString::from(password);
        }
    }
}

/// `count` characters drawn uniformly from [`READABLE_ALPHABET`] (rejection sampling, so no
/// character is likelier than another).
fn random_readable_chars(count: usize) -> Vec<char> {
    let alphabet_len = READABLE_ALPHABET.len();
    let unbiased_limit = 256 - 256 % alphabet_len;
    let mut chars = Vec::with_capacity(count);
    let mut bytes = [0u8; 64];
    while chars.len() < count {
        rand::fill(&mut bytes);
        for &byte in &bytes {
            if usize::from(byte) < unbiased_limit && chars.len() < count {
                chars.push(char::from(READABLE_ALPHABET[usize::from(byte) % alphabet_len]));
            }
        }
    }
    chars
}

/// Checks `password` against the policy; returns every rule it breaks (empty when fine).
/// `context` holds words the password must not contain, such as the username.
#[must_use]
pub fn policy_violations(password: &str, policy: &PasswordPolicy, context: &[&str]) -> Vec<Message> {
    let mut problems = Vec::new();
    let length = password.chars().count();
    if length < policy.min_length {
        problems.push(Message::PasswordTooShort { min: policy.min_length });
    }
    if length > MAX_PASSWORD_CHARS {
        problems.push(Message::PasswordTooLong { max: MAX_PASSWORD_CHARS });
    }
    let lowered = password.to_lowercase();
    if COMMON_PASSWORDS.contains(lowered.as_str()) {
        problems.push(Message::PasswordTooCommon);
    }
    let similar = context
        .iter()
        .map(|word| word.trim().to_lowercase())
        .any(|word| word.chars().count() >= 3 && lowered.contains(&word));
    if similar {
        problems.push(Message::PasswordTooSimilar);
    }
    let composition = [
        (policy.require_uppercase, password.chars().any(char::is_uppercase), Message::PasswordNeedsUppercase),
        (policy.require_lowercase, password.chars().any(char::is_lowercase), Message::PasswordNeedsLowercase),
        (policy.require_digit, password.chars().any(|c| c.is_ascii_digit()), Message::PasswordNeedsDigit),
        (policy.require_symbol, password.chars().any(|c| !c.is_alphanumeric()), Message::PasswordNeedsSymbol),
    ];
    for (required, present, message) in composition {
        if required && !present {
            problems.push(message);
        }
    }
    problems
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash used weaker parameters: store a fresh one now that we know the password.
    pub needs_rehash: bool,
}

/// argon2id on the blocking pool, at most `permits` at a time.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl PasswordHasher {
    /// A hasher allowing `max_concurrent` hashes at once (at least one).
    #[must_use]
    pub fn new(max_concurrent: usize) -> Self {
        PasswordHasher { permits: Arc::new(Semaphore::new(max_concurrent.max(1))) }
    }

    /// One permit per CPU: hashing is CPU-bound, more would only add memory.
    #[must_use]
    pub fn for_this_machine() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, usize::from))
    }

    /// A PHC string for `password` with a fresh random salt.
    pub async fn hash(&self, password: SecretString) -> anyhow::Result<String> {
        self.run(move || {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            argon2()
                .hash_password(password.expose_secret().as_bytes(), &salt)
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
            let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Ok(Verified { matches: false, needs_rehash: false });
            };
            let matches =
                argon2().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok() && is_real;
            Ok(Verified { matches, needs_rehash: matches && !uses_current_parameters(&parsed) })
        })
        .await
    }

    /// Computes the dummy hash now rather than during the first unknown-user sign-in, which
    /// would otherwise take twice as long as the rest.
    pub async fn warm_up(&self) {
        let _ = self.run(|| Ok(LazyLock::force(&DUMMY_HASH).len())).await;
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work)).in_current_span().await?
    }
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

    fn policy() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 8,
            require_uppercase: false,
            require_lowercase: false,
            require_digit: false,
            require_symbol: false,
        }
    }

    #[test]
    fn the_policy_reports_each_broken_rule() {
        assert!(policy_violations("Kassa-Strong-2026", &policy(), &["ivan"]).is_empty());
        assert_eq!(
            policy_violations("qwerty", &policy(), &[]),
            [Message::PasswordTooShort { min: 8 }, Message::PasswordTooCommon]
        );
        assert_eq!(policy_violations("Password1", &policy(), &[]), [Message::PasswordTooCommon]);
        assert_eq!(policy_violations("my-ivan-secret", &policy(), &["Ivan"]), [Message::PasswordTooSimilar]);
        let strict =
            PasswordPolicy { require_uppercase: true, require_digit: true, require_symbol: true, ..policy() };
        assert_eq!(
            policy_violations("lowercaseonly", &strict, &[]),
            [Message::PasswordNeedsUppercase, Message::PasswordNeedsDigit, Message::PasswordNeedsSymbol]
        );
        assert_eq!(
            policy_violations(&"я".repeat(257), &policy(), &[]),
            [Message::PasswordTooLong { max: 256 }]
        );
    }

    #[test]
    fn generated_passwords_are_readable_unique_and_pass_the_policy() {
        let strict = PasswordPolicy {
            min_length: 20,
            require_uppercase: true,
            require_lowercase: true,
            require_digit: true,
            require_symbol: true,
        };
        let mut seen = HashSet::new();
        for policy in [policy(), strict] {
            for _ in 0..200 {
                let password = generate_password(&policy, &["ivan"]).expose_secret().to_owned();
                assert!(policy_violations(&password, &policy, &["ivan"]).is_empty(), "{password}");
                assert!(password.chars().count() >= policy.min_length.max(14), "{password}");
                assert!(!password.contains(['0', 'O', 'o', '1', 'l', 'I']), "{password}");
                assert!(seen.insert(password));
            }
        }
    }

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
