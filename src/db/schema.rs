//! Store schemas: their names, and the one door a request takes into one (docs/contract.md §2, §3).
//!
//! Schema names are built only from validated slugs and are always quoted where they reach
//! SQL text: user input never becomes an identifier unchecked.
//!
//! Requests never switch the `search_path`. Every statement a request runs on a store's
//! tables names them in full, `"tenant_x".employees`, rendered by [`StoreTables`] from the
//! store's [`SchemaName`]: one text per store, which keeps its cached plan across requests
//! (PostgreSQL re-plans a statement whenever the `search_path` differs from the one it was
//! planned under), and a schema that is gone fails the statement loudly instead of reading
//! another's table. The request's caller check is `public.store_caller` (`tenant::conn`,
//! `tenant::read`).
//!
//! Only migrations enter a schema ([`enter`]): tenant migrations are written with bare
//! names, for every store alike. [`enter`] sets the transaction-local `search_path` and
//! checks `current_schema()` with [`SchemaName::check_current`] before anything runs there.

use sqlx::{AssertSqlSafe, PgConnection};

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

    /// The store's tables, as request statements name them ([`StoreTables`]).
    #[must_use]
    pub fn tables(&self) -> StoreTables {
        StoreTables { schema: self.clone() }
    }
}

/// A store's tables as request SQL names them: the one way a request's statement reaches a
/// store's schema (see the module documentation).
///
/// Statements are written as templates with each tenant table in braces,
/// `select e.id from {employees} e`, and [`StoreTables::sql`] renders them for the store:
/// `select e.id from "tenant_x".employees e`. The schema part comes from a validated slug
/// only, and the table part from [`StoreTables::NAMES`] only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreTables {
    schema: SchemaName,
}

impl StoreTables {
    /// Every table of a store's schema (tenant migrations) a request may name.
    pub const NAMES: [&'static str; 5] = ["employees", "employee_pins", "roles", "approvals", "audit_events"];

    /// The schema whose tables these are.
    #[must_use]
    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }

    /// `template` with every `{table}` of [`StoreTables::NAMES`] named in full in this store's
    /// schema. `template` is statement text of the code, never input.
    ///
    /// # Panics
    /// On a `{name}` that is not a store table: a misspelt table is a bug, found by the first
    /// test that runs the statement rather than sent to PostgreSQL as a syntax error.
    #[must_use]
    pub fn render(&self, template: &str) -> String {
        let mut sql = String::with_capacity(template.len() + 64);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            sql.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match placeholder(after) {
                Some(name) => {
                    assert!(Self::NAMES.contains(&name), "`{{{name}}}` is not a store table");
                    // `quoted()` without its allocation: this runs for every table of every
                    // request statement.
                    sql.push('"');
                    sql.push_str(self.schema.as_str());
                    sql.push_str("\".");
                    sql.push_str(name);
                    rest = &after[name.len() + 1..];
                }
                None => {
                    sql.push('{');
                    rest = after;
                }
            }
        }
        sql.push_str(rest);
        sql
    }

    /// [`StoreTables::render`], ready for `db::query*`: the only names spliced into the text
    /// are the store's validated schema and its tables.
    #[must_use]
    pub fn sql(&self, template: &str) -> AssertSqlSafe<String> {
        AssertSqlSafe(self.render(template))
    }
}

/// The name of a `{name}` placeholder whose `{` has been read: lowercase letters and `_`
/// up to the closing `}`. Anything else (a JSON or array literal) is not a placeholder.
fn placeholder(after_brace: &str) -> Option<&str> {
    let end = after_brace.find('}')?;
    let name = &after_brace[..end];
    let is_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    is_name.then_some(name)
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A statement is not in the schema it was sent to (no transaction open, the schema
/// dropped, a setting that did not take, a registry that names another schema): nothing
/// may run there.
#[derive(Debug, thiserror::Error)]
#[error("expected schema {expected}, the statement ran in {found:?}")]
pub struct WrongSchema {
    pub expected: String,
    pub found: Option<String>,
}

impl SchemaName {
    /// Ok when `current`, the schema a statement found itself in (`current_schema()` after
    /// [`enter`]) or the one the registry gives the store whose caller was checked
    /// (`public.store_caller`), is this schema.
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

/// Puts the transaction's `search_path` back on `public` after migrating a store's schema.
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
    }

    #[test]
    fn parse_round_trips_only_canonical_names() {
        assert!(SchemaName::parse("tenant_shop").is_ok());
        for bad in ["public", "pg_catalog", "information_schema", "tenant_", "tenant_a-b", "shop"] {
            assert!(SchemaName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn store_tables_are_named_in_full_in_the_store_schema() {
        let tables = SchemaName::for_slug("moy-magazin").unwrap().tables();
        assert_eq!(
            tables.render("select e.id from {employees} e join {employee_pins} p on p.employee_id = e.id"),
            "select e.id from \"tenant_moy_magazin\".employees e \
             join \"tenant_moy_magazin\".employee_pins p on p.employee_id = e.id"
        );
        for name in StoreTables::NAMES {
            let rendered = tables.render(&format!("{{{name}}}"));
            assert_eq!(rendered, format!("\"tenant_moy_magazin\".{name}"));
        }
    }

    #[test]
    fn braces_that_name_no_table_are_left_as_written() {
        let tables = SchemaName::for_slug("shop").unwrap().tables();
        for literal in
            ["select '{}'::text[]", "select '{1,2}'::int[]", "select '{\"a\": 1}'::jsonb", "{", "}{"]
        {
            assert_eq!(tables.render(literal), literal);
        }
    }

    #[test]
    #[should_panic(expected = "`{employes}` is not a store table")]
    fn a_misspelt_table_is_refused() {
        let _ = SchemaName::for_slug("shop").unwrap().tables().render("select 1 from {employes}");
    }

    #[test]
    fn no_hostile_slug_reaches_a_rendered_statement() {
        // Every schema a `StoreTables` can hold comes through `for_slug` or `parse`, which
        // refuse anything but `[a-z][a-z0-9_]`: no quote, no dot, no space.
        for hostile in ["a\"; drop schema public; --", "a\".employees", "x y", "tenant_a\"b"] {
            assert!(SchemaName::for_slug(hostile).is_err(), "{hostile:?}");
            assert!(SchemaName::parse(hostile).is_err(), "{hostile:?}");
        }
        let rendered = SchemaName::parse("tenant_a_1").unwrap().tables().render("{roles}");
        assert_eq!(rendered.matches('"').count(), 2, "{rendered}");
    }
}
