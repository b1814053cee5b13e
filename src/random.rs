//! Randomness from the OS CSPRNG, in the shapes kassa hands out: hex (tenant-key suffixes,
//! the development JWT secret, refresh tokens' ids) and readable characters (passwords read
//! off a slip or a screen).

/// Letters and digits people cannot confuse when reading a password off a slip or a screen
/// (no `0 O o 1 l I`): 54 symbols, about 5.75 bits each.
pub const READABLE_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// `bytes` random bytes from the OS CSPRNG, hex-encoded (tenant-key suffixes, the dev JWT secret).
#[must_use]
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::fill(&mut buffer[..]);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Crockford's base-32 alphabet: digits and capitals without I, L, O and U, so a code read
/// off a screen and typed on a till has no look-alikes.
pub const CROCKFORD_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `count` symbols of [`CROCKFORD_ALPHABET`], 5 random bits each (256 is a multiple of 32,
/// so every symbol is equally likely).
#[must_use]
pub fn crockford_symbols(count: usize) -> String {
    let mut bytes = vec![0u8; count];
    rand::fill(&mut bytes[..]);
    bytes.iter().map(|&byte| char::from(CROCKFORD_ALPHABET[usize::from(byte & 31)])).collect()
}

/// `count` characters drawn uniformly from [`READABLE_ALPHABET`] (rejection sampling, so no
/// character is likelier than another).
#[must_use]
pub fn readable_chars(count: usize) -> Vec<char> {
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
