//! Access tokens whose signature was already checked. A till calls with the same token for
//! its whole 15-minute life, so each token's signature is checked once per instance, not once
//! per request: an Ed25519 verification costs tens of microseconds, a lookup here well under
//! one. Only what passed every check is kept, under the whole token text (any change to it is
//! a miss), with its key: a hit counts only while that key still verifies (a retired key's
//! tokens fail at once) and only until the token expires. What the database decides (the
//! session is live, the account active) is still read on every request.

use std::collections::HashMap;
use std::sync::Mutex;

use jsonwebtoken::Algorithm;

/// Shards of the map, so requests on many workers rarely wait for one another.
const SHARDS: usize = 16;
/// Tokens one shard keeps; a full shard drops what has expired, and everything if nothing has.
const PER_SHARD: usize = 2048;

/// A token that passed verification: its claims (`C`, the token's own type), when it
/// expires (Unix seconds), and the key that verified it.
#[derive(Debug, Clone)]
pub struct Verified<C> {
    pub claims: C,
    pub exp: u64,
    pub kid: String,
    pub alg: Algorithm,
}

/// Verified tokens by their text, bounded.
#[derive(Debug)]
pub struct VerifiedTokens<C> {
    shards: Vec<Mutex<HashMap<Box<str>, Verified<C>>>>,
}

impl<C> Default for VerifiedTokens<C> {
    fn default() -> Self {
        VerifiedTokens { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
    }
}

impl<C: Clone> VerifiedTokens<C> {
    /// What `token` verified to, if it did and has not expired by `now` (Unix seconds).
    pub fn get(&self, token: &str, now: u64) -> Option<Verified<C>> {
        let shard = self.shard(token).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        shard.get(token).filter(|hit| hit.exp >= now).cloned()
    }

    /// Remembers that `token` verified to `verified`, until `verified.exp`.
    pub fn insert(&self, token: &str, verified: Verified<C>, now: u64) {
        let mut shard = self.shard(token).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if shard.len() >= PER_SHARD {
            shard.retain(|_, kept| kept.exp >= now);
            if shard.len() >= PER_SHARD {
                shard.clear();
            }
        }
        shard.insert(token.into(), verified);
    }

    /// The shard of `token`, by the last bytes of its signature (random for every token).
    fn shard(&self, token: &str) -> &Mutex<HashMap<Box<str>, Verified<C>>> {
        let tail = token
            .as_bytes()
            .iter()
            .rev()
            .take(4)
            .fold(0usize, |sum, byte| sum.wrapping_mul(31) + *byte as usize);
        &self.shards[tail % SHARDS]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(exp: u64) -> Verified<&'static str> {
        Verified { claims: "claims", exp, kid: "k".to_owned(), alg: Algorithm::EdDSA }
    }

    #[test]
    fn a_token_is_found_until_it_expires_and_only_by_its_whole_text() {
        let cache = VerifiedTokens::<&str>::default();
        cache.insert("a.b.c", verified(1_000), 100);
        assert!(cache.get("a.b.c", 1_000).is_some());
        assert!(cache.get("a.b.c", 1_001).is_none(), "expired");
        assert!(cache.get("a.b.C", 500).is_none(), "another text");
    }

    #[test]
    fn a_full_shard_drops_the_expired_first_and_stays_bounded() {
        let cache = VerifiedTokens::<&str>::default();
        for n in 0..(SHARDS * PER_SHARD * 3) {
            cache.insert(&format!("token-{n}"), verified(if n % 2 == 0 { 10 } else { 1_000 }), 100);
        }
        let kept: usize = cache.shards.iter().map(|shard| shard.lock().unwrap().len()).sum();
        assert!(kept <= SHARDS * PER_SHARD, "{kept}");
    }
}
