//! Tenants: one PostgreSQL schema per store.
//!
//! Schema names are built only from validated slugs and are always quoted where they reach
//! SQL text (SPEC §2): user input never becomes an identifier unchecked.

pub mod cache;
pub mod conn;
pub mod layer;
pub mod provision;
pub mod read;

use std::fmt;

/// The longest slug whose schema name `tenant_<slug>` fits PostgreSQL's 63-byte identifier
/// limit; longer names are silently truncated by PostgreSQL, which would merge stores.
pub const MAX_SLUG_LEN: usize = 56;

/// The name of a store's schema: `tenant_` followed by a slug matching `[a-z][a-z0-9_]{0,55}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaName(String);

/// A slug that cannot name a schema.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` cannot name a tenant schema: expected [a-z][a-z0-9_]{{0,55}} after `tenant_`")]
pub struct InvalidSchemaName(pub String);

impl SchemaName {
    /// The schema of the store with `slug`; `-` in slugs becomes `_` (SPEC §2).
    pub fn for_slug(slug: &str) -> Result<Self, InvalidSchemaName> {
        let body = slug.replace('-', "_");
        let mut chars = body.chars();
        let valid = body.len() <= MAX_SLUG_LEN
            && chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if valid { Ok(SchemaName(format!("tenant_{body}"))) } else { Err(InvalidSchemaName(slug.to_owned())) }
    }

    /// Accepts a full schema name as stored in `public.stores.schema_name`. It must be
    /// canonical: `tenant_a-b` is refused rather than read as `tenant_a_b`.
    pub fn parse(name: &str) -> Result<Self, InvalidSchemaName> {
        let invalid = || InvalidSchemaName(name.to_owned());
        let slug = name.strip_prefix("tenant_").ok_or_else(invalid)?;
        let schema = Self::for_slug(slug).map_err(|_| invalid())?;
        if schema.0 == name { Ok(schema) } else { Err(invalid()) }
    }

    /// The bare name, e.g. `tenant_moy_magazin`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a quoted SQL identifier, e.g. `"tenant_moy_magazin"`. The validated
    /// alphabet holds no quote, so quoting cannot be escaped.
    #[must_use]
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The three top-level keys the apps read on every successful store-scoped JSON object
/// (SPEC §6 "drop-in details"): which store answered. Flattened into those responses.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TenantEcho {
    #[schema(example = "moi-magazin_5f939099")]
    pub tenant_key: String,
    #[schema(example = "Мой Магазин")]
    pub store_name: String,
    #[schema(example = "moi-magazin")]
    pub store_slug: String,
}

impl From<&cache::TenantStore> for TenantEcho {
    fn from(store: &cache::TenantStore) -> Self {
        TenantEcho {
            tenant_key: store.tenant_key.clone(),
            store_name: store.name.clone(),
            store_slug: store.slug.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_become_schema_names() {
        assert_eq!(SchemaName::for_slug("moy-magazin").unwrap().as_str(), "tenant_moy_magazin");
        assert_eq!(SchemaName::for_slug("a1_b").unwrap().quoted(), "\"tenant_a1_b\"");
        let longest = "a".repeat(MAX_SLUG_LEN);
        assert_eq!(SchemaName::for_slug(&longest).unwrap().as_str().len(), 63);
    }

    #[test]
    fn hostile_or_oversized_slugs_are_refused() {
        for bad in ["", "1abc", "Abc", "a\"b", "a;drop", "a b", "ä", "_a", &"a".repeat(MAX_SLUG_LEN + 1)] {
            assert!(SchemaName::for_slug(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parse_round_trips_only_canonical_names() {
        assert!(SchemaName::parse("tenant_shop").is_ok());
        for bad in ["public", "pg_catalog", "information_schema", "tenant_", "tenant_a-b", "shop"] {
            assert!(SchemaName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
