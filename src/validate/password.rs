//! The password policy of docs/contract.md §4: length, the common-password list, similarity to the
//! account's own words, and the configured character classes.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::config::PasswordPolicy;
use crate::i18n::Message;

/// The longest password accepted: long passphrases are welcome, megabyte "passwords" that
/// make hashing a denial of service are not (docs/contract.md §4, ASVS 5.0 V6.2.9).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// The 19,640 most common passwords (Royce Williams' list, as shipped by Django), lowercase.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt").lines().map(str::trim).filter(|l| !l.is_empty()).collect()
});

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn policy() -> PasswordPolicy {
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
}
