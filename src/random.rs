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
