//! Each store's role definitions, held by kassa per store and **version** (SPEC §10: a
//! change applies from every holder's next request, on every instance).
//!
//! Why: a role's definition (name, rank, permissions) is reported with every member on the
//! hot path (`me`, the staff list). Joined per row, it cost PostgreSQL about a fifth more
//! CPU per staff list (README "Performance": measured). Instead each store has a
//! `roles_version` (in `public.stores`, beside what the caller check reads anyway) that
//! every change to its `roles` moves on in the same transaction (a trigger, tenant migration
//! 0003); each request reads that version in the statement that checks its caller, and uses
//! the definitions held for exactly that version, loading them (one statement) when it has
//! none. Nothing here can be stale: a version is only ever paired with the definitions read
//! in the same snapshot as it.

use std::collections::HashMap;
use std::sync::Arc;

use quick_cache::sync::Cache;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{FromRow, PgConnection, Postgres};

use super::StoreRole;
use crate::db::schema::SchemaName;

/// Stores whose roles are held: every store of a large fleet fits (a few hundred bytes
/// each with the four built-in roles).
const CAPACITY: usize = 100_000;

/// One store's roles at one version.
#[derive(Debug)]
pub struct StoreRoles {
    version: i64,
    by_code: HashMap<String, Arc<StoreRole>>,
}

/// A member holds a role code their store does not define: no rights are guessed.
#[derive(Debug, thiserror::Error)]
#[error("role `{0}` is not among the store's roles")]
pub struct UndefinedRole(pub String);

impl StoreRoles {
    /// The version these definitions were read at.
    #[must_use]
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The store's definition of role `code`.
    /// Every role of the store, highest rank first (then by code).
    #[must_use]
    pub fn by_rank(&self) -> Vec<Arc<StoreRole>> {
        let mut roles: Vec<Arc<StoreRole>> = self.by_code.values().cloned().collect();
        roles.sort_by(|a, b| b.rank.cmp(&a.rank).then_with(|| a.code.cmp(&b.code)));
        roles
    }

    pub fn resolve(&self, code: &str) -> Result<Arc<StoreRole>, UndefinedRole> {
        self.by_code.get(code).cloned().ok_or_else(|| UndefinedRole(code.to_owned()))
    }
}

/// The row of a store's roles with the version, read in one snapshot.
#[derive(sqlx::FromRow)]
struct VersionedRole {
    #[sqlx(flatten)]
    role: StoreRole,
    version: i64,
}

/// The roles of each store, at the newest version any request has seen.
pub struct RoleDirectory {
    stores: Cache<i64, Arc<StoreRoles>>,
}

impl Default for RoleDirectory {
    fn default() -> Self {
        RoleDirectory { stores: Cache::new(CAPACITY) }
    }
}

impl std::fmt::Debug for RoleDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleDirectory").field("stores", &self.stores.len()).finish()
    }
}

impl RoleDirectory {
    /// Store `store_id`'s roles at `version`, if held.
    #[must_use]
    pub fn at(&self, store_id: i64, version: i64) -> Option<Arc<StoreRoles>> {
        self.stores.get(&store_id).filter(|roles| roles.version == version)
    }

    /// Store `store_id`'s roles at `version`: held, or read on `conn` ([`RoleDirectory::load`]).
    pub async fn current(
        &self,
        conn: &mut PgConnection,
        store_id: i64,
        schema: &SchemaName,
        version: i64,
    ) -> sqlx::Result<Arc<StoreRoles>> {
        match self.at(store_id, version) {
            Some(roles) => Ok(roles),
            None => self.load(conn, store_id, schema).await,
        }
    }

    /// Reads the roles of the store in `schema` on `conn` ([`roles_query`]) and holds them
    /// ([`RoleDirectory::keep`]).
    pub async fn load(
        &self,
        conn: &mut PgConnection,
        store_id: i64,
        schema: &SchemaName,
    ) -> sqlx::Result<Arc<StoreRoles>> {
        let rows = roles_query(schema, store_id).fetch_all(conn).await?;
        self.keep(store_id, &rows)
    }

    /// Holds the roles that [`roles_query`] read for store `store_id` and returns them (at the
    /// version read with them, which may be newer than the one asked for: a change committed
    /// in between).
    pub fn keep(&self, store_id: i64, rows: &[PgRow]) -> sqlx::Result<Arc<StoreRoles>> {
        let rows = rows.iter().map(VersionedRole::from_row).collect::<sqlx::Result<Vec<_>>>()?;
        // A store always has its owner role, so there is a row to carry the version.
        let version = rows.first().map_or(0, |row| row.version);
        let by_code = rows.into_iter().map(|row| (row.role.code.clone(), Arc::new(row.role))).collect();
        let roles = Arc::new(StoreRoles { version, by_code });
        self.stores.insert(store_id, Arc::clone(&roles));
        Ok(roles)
    }
}

/// The statement that reads the roles of store `store_id` (its schema `schema`) with their
/// version, in one snapshot. Unnamed ([`crate::db::query_once`]): a connection runs it once
/// per store and version, so kept prepared it would only take a hot statement's place.
pub fn roles_query<'q>(schema: &SchemaName, store_id: i64) -> Query<'q, Postgres, PgArguments> {
    let sql = format!(
        "select r.code as role, r.name as role_name, r.rank as role_rank, \
                r.permissions as role_permissions, s.roles_version as version \
         from {} r cross join public.stores s where s.id = $1",
        schema.table("roles"),
    );
    crate::db::query_once(sqlx::AssertSqlSafe(sql)).bind(store_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::Role;

    fn roles_at(version: i64) -> StoreRoles {
        let by_code =
            Role::ALL.map(|role| (role.as_str().to_owned(), Arc::new(StoreRole::preset(role)))).into();
        StoreRoles { version, by_code }
    }

    #[test]
    fn definitions_are_used_only_at_the_version_they_were_read_at() {
        let directory = RoleDirectory::default();
        directory.stores.insert(7, Arc::new(roles_at(3)));
        assert!(directory.at(7, 3).is_some());
        assert!(directory.at(7, 4).is_none(), "a newer version is a miss");
        assert!(directory.at(7, 2).is_none(), "so is an older one");
        assert!(directory.at(8, 3).is_none(), "and another store");
    }

    #[test]
    fn a_code_the_store_does_not_define_is_an_error() {
        let roles = roles_at(1);
        assert_eq!(roles.resolve("manager").unwrap().rank, 50);
        assert!(roles.resolve("supervisor").is_err());
    }
}
