//! Passwords kassa makes for people: new staff accounts and resets, read out or printed.

use secrecy::SecretString;

use crate::config::PasswordPolicy;
use crate::random::readable_chars;
use crate::validate::password::policy_violations;

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
        let chars = readable_chars(groups * GROUP_LEN);
        let password =
            chars.chunks(GROUP_LEN).map(|g| g.iter().collect::<String>()).collect::<Vec<_>>().join("-");
        // Retried when the draw lacks a required class or happens to spell a common or
        // similar word; with this alphabet a retry is needed a few percent of the time.
        if policy_violations(&password, policy, context).is_empty() {
            return SecretString::from(password);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::validate::password::tests::policy;

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
}
