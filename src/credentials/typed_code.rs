//! Short codes a person types: pairing codes for tills (docs/contract.md §11) and set-up codes
//! for new passwords (docs/contract.md §16) share one format, so a person who met one can read
//! the other. 8 symbols of Crockford's base 32 (40 bits), shown `XXXX-XXXX`, kept only as
//! their SHA-256.

use sha2::{Digest, Sha256};

/// Symbols of a code: 8 of Crockford's 32, 40 bits.
const CODE_SYMBOLS: usize = 8;

/// A new code, as shown: `XXXX-XXXX`.
#[must_use]
pub fn new_code() -> String {
    let symbols = crate::random::crockford_symbols(CODE_SYMBOLS);
    format!("{}-{}", &symbols[..4], &symbols[4..])
}

/// A typed code as stored (its SHA-256), accepted in any letter case, with or without the
/// dash and spaces, and with Crockford's look-alikes (`O` for `0`, `I`/`L` for `1`); `None`
/// when it cannot be a code at all.
#[must_use]
pub fn code_hash(typed: &str) -> Option<Vec<u8>> {
    let mut symbols = String::with_capacity(CODE_SYMBOLS);
    for c in typed.chars().filter(|c| !matches!(c, '-' | ' ')) {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        };
        if !crate::random::CROCKFORD_ALPHABET.contains(&u8::try_from(c).ok()?) {
            return None;
        }
        symbols.push(c);
    }
    (symbols.len() == CODE_SYMBOLS).then(|| Sha256::digest(symbols.as_bytes()).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_read_in_any_case_with_or_without_its_dash_and_look_alikes() {
        let code = new_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        let stored = code_hash(&code).unwrap();
        assert_eq!(code_hash(&code.to_lowercase()), Some(stored.clone()));
        assert_eq!(code_hash(&code.replace('-', "")), Some(stored));
        assert_eq!(code_hash("ABCD-EFGO"), code_hash("abcdefg0"));
        assert_eq!(code_hash("1111-111I"), code_hash("1111 111L"));
        for bad in ["", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFG!", "ABCD-EFGU"] {
            assert_eq!(code_hash(bad), None, "{bad}");
        }
    }
}
