//! Store slugs: readable ASCII identifiers that name the store's schema and prefix its key.
//!
//! Slugs match `[a-z][a-z0-9_-]{0,55}` (docs/contract.md §2): 56 characters at most, so the schema name
//! `tenant_<slug>` (with `-` as `_`) fits PostgreSQL's 63-byte identifiers.

use crate::db::schema::MAX_SLUG_LEN;

/// Room kept for a `-<n>` suffix when an automatic slug is taken.
const SUFFIX_ROOM: usize = 6;

/// A slug made from a store's name: Cyrillic (and any other script) transliterated, e.g.
/// «Мой Магазин» → `moi-magazin`; a name with no letters or one that starts with a digit
/// gets the prefix `store-`.
#[must_use]
pub fn from_name(name: &str) -> String {
    // Uzbek Latin writes ў, ғ as o', g' (and transliteration produces them too): the
    // apostrophe belongs to the letter, so drop it rather than split the word on it.
    let transliterated = deunicode::deunicode(name).replace(['\'', '`'], "");
    let ascii: String = slug::slugify(transliterated)
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect();
    let slug = match ascii.chars().next() {
        None => "store".to_owned(),
        Some(first) if first.is_ascii_digit() => format!("store-{ascii}"),
        Some(_) => ascii,
    };
    let mut slug: String = slug.chars().take(MAX_SLUG_LEN - SUFFIX_ROOM).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// The `attempt`-th candidate for an automatic slug: `base`, then `base-2`, `base-3`, …
#[must_use]
pub fn candidate(base: &str, attempt: u32) -> String {
    if attempt <= 1 { base.to_owned() } else { format!("{base}-{attempt}") }
}

/// True when a slug chosen by a user is acceptable as given.
#[must_use]
pub fn is_valid(slug: &str) -> bool {
    let mut chars = slug.chars();
    slug.len() <= MAX_SLUG_LEN
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_transliterated_into_readable_slugs() {
        let cases = [
            ("Мой Магазин", "moi-magazin"),
            ("Coffee & Co.", "coffee-co"),
            ("Магазин Петра 1795360045", "magazin-petra-1795360045"),
            ("1795360045", "store-1795360045"),
            ("!!!", "store"),
            ("Ғалла Дўкони", "galla-dukoni"),
            ("Do'kon O'zbekiston", "dokon-ozbekiston"),
        ];
        for (name, slug) in cases {
            assert_eq!(from_name(name), slug, "{name}");
        }
    }

    #[test]
    fn automatic_slugs_leave_room_for_a_suffix_and_stay_valid() {
        let long = from_name(&"Очень длинное название магазина ".repeat(5));
        assert!(long.len() <= MAX_SLUG_LEN - SUFFIX_ROOM);
        assert!(is_valid(&candidate(&long, 99_999)));
        assert_eq!(candidate("shop", 1), "shop");
        assert_eq!(candidate("shop", 3), "shop-3");
    }

    #[test]
    fn user_slugs_are_checked_strictly() {
        for good in ["shop", "my-shop_2", "a"] {
            assert!(is_valid(good), "{good}");
        }
        for bad in ["", "1shop", "Shop", "my shop", "shop!", "магазин", &"a".repeat(57)] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
