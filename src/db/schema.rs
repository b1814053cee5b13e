//! Store schemas: their names, and the one way a connection enters one (docs/contract.md §2, §3).
//!
//! Schema names are built only from validated slugs and are always quoted where they reach
//! SQL text: user input never becomes an identifier unchecked. Every path into a store's
//! schema (request transactions, one-message reads, migrations, the command line) sets the
//! transaction-local `search_path` through [`SchemaName::switch_sql`] or [`enter`] and
//! checks `current_schema()` against the name with [`SchemaName::check_current`] before it
//! trusts a tenant table: a mismatch fails closed.

use sqlx::PgConnection;

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
    /// The schema of the store with `slug`; `-` in slugs becomes `_` (docs/contract.md §2).
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

    /// `"tenant_x".<table>`: a table of this schema, named in full, for statements that
    /// leave the `search_path` alone (`tenant::read`). `table` is always a literal of the
    /// code, never input.
    #[must_use]
    pub fn table(&self, table: &'static str) -> String {
        format!("\"{}\".{table}", self.0)
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The connection is not in the schema it was sent to (no transaction open, the schema
/// dropped, a setting that did not take): nothing may run there.
#[derive(Debug, thiserror::Error)]
#[error("expected search_path {expected}, the statement ran in {found:?}")]
pub struct WrongSchema {
    pub expected: String,
    pub found: Option<String>,
}

impl SchemaName {
    /// `SELECT set_config('search_path', '"tenant_x"', true)`: the switch as SQL text, for
    /// messages that cannot bind parameters (a `BEGIN; …` or a one-message read). `extra`
    /// columns (`, set_config(…)`) ride in the same statement. Transaction-local: it ends
    /// with the transaction, whatever becomes of the request.
    #[must_use]
    pub fn switch_sql(&self, extra: &str) -> String {
        format!("SELECT set_config('search_path', '{}', true){extra}", self.quoted())
    }

    /// Ok when `current_schema()`, read after the switch, is this schema.
    pub fn check_current(&self, current: Option<&str>) -> Result<(), WrongSchema> {
        if current == Some(self.as_str()) {
            Ok(())
        } else {
            Err(WrongSchema { expected: self.0.clone(), found: current.map(str::to_owned) })
        }
    }
}

/// Sets the transaction's `search_path` to `schema` alone (bound, not spliced) and checks
/// that it took. `current_schema()` is NULL when the schema does not exist, and `public`
/// when the transaction-local setting evaporated because no transaction was open.
pub async fn enter(conn: &mut PgConnection, schema: &SchemaName) -> Result<(), EnterError> {
    crate::db::query("select set_config('search_path', $1, true)")
        .bind(schema.quoted())
        .execute(&mut *conn)
        .await?;
    let current: Option<String> =
        crate::db::query_scalar("select current_schema()").fetch_one(&mut *conn).await?;
    Ok(schema.check_current(current.as_deref())?)
}

/// Puts the transaction's `search_path` back on `public` after work in store schemas.
pub async fn leave(conn: &mut PgConnection) -> sqlx::Result<()> {
    crate::db::query("select set_config('search_path', 'public', true)").execute(conn).await.map(|_| ())
}

/// Why [`enter`] failed.
#[derive(Debug, thiserror::Error)]
pub enum EnterError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    WrongSchema(#[from] WrongSchema),
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
    fn only_the_expected_schema_passes_the_check() {
        let schema = SchemaName::for_slug("shop").unwrap();
        assert!(schema.check_current(Some("tenant_shop")).is_ok());
        for found in [None, Some("public"), Some("tenant_shop2"), Some("TENANT_SHOP")] {
            assert!(schema.check_current(found).is_err(), "{found:?}");
        }
        assert_eq!(schema.switch_sql(""), "SELECT set_config('search_path', '\"tenant_shop\"', true)");
    }

    #[test]
    fn parse_round_trips_only_canonical_names() {
        assert!(SchemaName::parse("tenant_shop").is_ok());
        for bad in ["public", "pg_catalog", "information_schema", "tenant_", "tenant_a-b", "shop"] {
            assert!(SchemaName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
