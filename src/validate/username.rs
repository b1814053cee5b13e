//! Usernames compared as people read them. Sign-in compares [`folded`] forms: NFKC and full
//! case folding, so `ADMIN` and `ａｄｍｉｎ` (fullwidth) name the account `admin`. A new
//! account is refused when its [`key`], the Unicode TR39 confusable skeleton of the folded
//! form, equals an existing account's, so `аdmin` (Cyrillic а) cannot be made beside
//! `admin` either: whoever reads a list of names, a receipt or a log must never see two
//! accounts that look the same.
//!
//! The key is stored with each account (`public.users.username_key`, under a unique index),
//! so the database itself refuses the second of two look-alikes made at the same time.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

/// `username` as sign-in compares it: Unicode's compatibility caseless form
/// (NFKD(casefold(NFKD(casefold(NFD(x)))))), composed again (NFKC) so it stays readable.
#[must_use]
pub fn folded(username: &str) -> String {
    username.chars().nfd().default_case_fold().nfkd().default_case_fold().nfkd().nfc().collect()
}

/// The one key two usernames share when they look alike: the confusable skeleton of the
/// [`folded`] form. Equal folded forms always give equal keys.
#[must_use]
pub fn key(username: &str) -> String {
    unicode_security::skeleton(&folded(username)).collect()
}

/// What every store's shared staff account's username ends with (`<slug>_staff`).
pub const STAFF_SUFFIX: &str = "_staff";

/// Whether `username` is reserved for a store's shared staff account: it ends with
/// [`STAFF_SUFFIX`] as sign-in compares names (any letter case or width), or looks like it
/// does (`_ѕtaff` with a Cyrillic ѕ).
#[must_use]
pub fn is_reserved(username: &str) -> bool {
    folded(username).ends_with(STAFF_SUFFIX) || key(username).ends_with(&key(STAFF_SUFFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ending_like_a_staff_account_are_reserved() {
        for reserved in ["shop_staff", "Shop_STAFF", "shop_ｓｔａｆｆ", "shop_ѕtaff", "_staff"] {
            assert!(is_reserved(reserved), "{reserved}");
        }
        for free in ["staff", "staff_shop", "shop-staff", "shop_staffer", "ivan"] {
            assert!(!is_reserved(free), "{free}");
        }
    }

    #[test]
    fn case_and_width_fold_to_one_name() {
        for variant in ["admin", "ADMIN", "Admin", "ａｄｍｉｎ", "ＡＤＭＩＮ", "Ａdmin"] {
            assert_eq!(folded(variant), "admin", "{variant}");
        }
        assert_eq!(folded("Straße"), folded("STRASSE"));
        assert_eq!(folded("ΣΊΣΥΦΟΣ"), folded("σίσυφος"));
        assert_eq!(folded("Иван"), "иван");
    }

    #[test]
    fn look_alikes_share_a_key_and_other_names_do_not() {
        let admin = key("admin");
        for look_alike in ["аdmin", "ａｄｍｉｎ", "ADMIN", "АDMIN", "admіn", "ΑDMIN"] {
            assert_eq!(key(look_alike), admin, "{look_alike}");
        }
        assert_eq!(key("paypal"), key("рауpаl"));
        for other in ["admins", "adm1n", "root", "иван", "cashier_2"] {
            assert_ne!(key(other), admin, "{other}");
        }
        assert_ne!(key("ivan"), key("иван"), "a whole word in another script reads differently");
    }
}
