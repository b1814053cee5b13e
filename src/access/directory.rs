//! Each store's role definitions, held by kassa per store and **version** (docs/contract.md §10: a
//! change applies from every holder's next request, on every instance).
//!
//! Why: a role's definition (name, rank, permissions) is reported with every member on the
//! hot path (`me`, the staff list). Joined per row, it cost PostgreSQL about a fifth more
//! CPU per staff list (docs/performance.md: measured). Instead each store has a
//! `roles_version` (in `public.stores`, beside what the caller check reads anyway) that
//! every change to its `roles` moves on in the same transaction (the statements that write
//! roles, `access::queries`, and the tenant-migration runner); each request reads that version in the statement that checks its caller, and uses
//! the definitions held for exactly that version, loading them (one statement) when it has
//! none. Nothing here can be stale: a version is only ever paired with the definitions read
//! in the same snapshot as it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use quick_cache::sync::Cache;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{FromRow, PgConnection, Postgres};

use super::StoreRole;
use crate::db::schema::StoreTables;

/// Stores whose roles are held: every store of a large fleet fits (about a hundred bytes
/// each while its roles are shared with other stores', [`RoleSets`]).
const CAPACITY: usize = 100_000;

/// A store's roles by code.
type RoleSet = HashMap<String, Arc<StoreRole>>;

/// One store's roles at one version.
#[derive(Debug)]
pub struct StoreRoles {
    version: i64,
    /// The same set as every other store whose roles are the same ([`RoleSets`]).
    by_code: Arc<RoleSet>,
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
    sets: Mutex<RoleSets>,
}

impl Default for RoleDirectory {
    fn default() -> Self {
        RoleDirectory { stores: Cache::new(CAPACITY), sets: Mutex::default() }
    }
}

/// Role sets in use, by their definitions, so that stores with the same roles hold one set.
///
/// Why: most stores keep the four built-in roles, and each store's own copy (codes, names,
/// permission lists, the map) took about 1.7 KiB: 17 MiB of the server's heap at 10,000
/// stores, measured with heaptrack (docs/performance.md). Sets are held weakly: a set no
/// store holds any more is dropped, and its entry swept out once the entries have doubled.
#[derive(Default)]
struct RoleSets {
    by_roles: HashMap<Vec<StoreRole>, Weak<RoleSet>>,
    /// Entries left after the last sweep.
    swept_to: usize,
}

/// Entries below which [`RoleSets`] does not sweep.
const MIN_SWEEP: usize = 64;

impl RoleSets {
    /// The set in use for `roles` (sorted by code), or a new one.
    fn share(&mut self, roles: Vec<StoreRole>) -> Arc<RoleSet> {
        if let Some(set) = self.by_roles.get(&roles).and_then(Weak::upgrade) {
            return set;
        }
        let set: Arc<RoleSet> =
            Arc::new(roles.iter().map(|role| (role.code.clone(), Arc::new(role.clone()))).collect());
        self.by_roles.insert(roles, Arc::downgrade(&set));
        if self.by_roles.len() >= (2 * self.swept_to).max(MIN_SWEEP) {
            self.by_roles.retain(|_, set| set.strong_count() > 0);
            self.swept_to = self.by_roles.len();
        }
        set
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
        tables: &StoreTables,
        version: i64,
    ) -> sqlx::Result<Arc<StoreRoles>> {
        match self.at(store_id, version) {
            Some(roles) => Ok(roles),
            None => self.load(conn, store_id, tables).await,
        }
    }

    /// Reads the roles of the store of `tables` on `conn` ([`roles_query`]) and holds them
    /// ([`RoleDirectory::keep`]).
    pub async fn load(
        &self,
        conn: &mut PgConnection,
        store_id: i64,
        tables: &StoreTables,
    ) -> sqlx::Result<Arc<StoreRoles>> {
        let rows = roles_query(tables, store_id).fetch_all(conn).await?;
        self.keep(store_id, &rows)
    }

    /// Holds the roles that [`roles_query`] read for store `store_id` and returns them (at the
    /// version read with them, which may be newer than the one asked for: a change committed
    /// in between).
    pub fn keep(&self, store_id: i64, rows: &[PgRow]) -> sqlx::Result<Arc<StoreRoles>> {
        let rows = rows.iter().map(VersionedRole::from_row).collect::<sqlx::Result<Vec<_>>>()?;
        // A store always has its owner role, so there is a row to carry the version.
        let version = rows.first().map_or(0, |row| row.version);
        let mut definitions: Vec<StoreRole> = rows.into_iter().map(|row| row.role).collect();
        definitions.sort_by(|a, b| a.code.cmp(&b.code));
        let by_code = self.sets.lock().unwrap_or_else(PoisonError::into_inner).share(definitions);
        let roles = Arc::new(StoreRoles { version, by_code });
        self.stores.insert(store_id, Arc::clone(&roles));
        Ok(roles)
    }
}

/// The statement that reads the roles of store `store_id` (its tables `tables`) with their
/// version, in one snapshot. Unnamed ([`crate::db::query_once`]): a connection runs it once
/// per store and version, so kept prepared it would only take a hot statement's place.
pub fn roles_query<'q>(tables: &StoreTables, store_id: i64) -> Query<'q, Postgres, PgArguments> {
    crate::db::query_once(tables.sql(
        "select r.code as role, r.name as role_name, r.rank as role_rank, \
                r.permissions as role_permissions, s.roles_version as version \
         from {roles} r cross join public.stores s where s.id = $1",
    ))
    .bind(store_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    fn roles_at(version: i64) -> StoreRoles {
        let by_code =
            Role::ALL.map(|role| (role.as_str().to_owned(), Arc::new(StoreRole::preset(role)))).into();
        StoreRoles { version, by_code: Arc::new(by_code) }
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

    fn built_in_roles() -> Vec<StoreRole> {
        let mut roles: Vec<StoreRole> = Role::ALL.iter().map(|role| StoreRole::preset(*role)).collect();
        roles.sort_by(|a, b| a.code.cmp(&b.code));
        roles
    }

    #[test]
    fn stores_with_the_same_roles_share_one_set_and_others_get_their_own() {
        let mut sets = RoleSets::default();
        let first = sets.share(built_in_roles());
        let second = sets.share(built_in_roles());
        assert!(Arc::ptr_eq(&first, &second));

        let mut renamed = built_in_roles();
        renamed[0].name = Some("Старший кассир".to_owned());
        let own = sets.share(renamed);
        assert!(!Arc::ptr_eq(&first, &own));
        assert_eq!(own[&built_in_roles()[0].code].name.as_deref(), Some("Старший кассир"));
        assert_eq!(first[&built_in_roles()[0].code].name, None, "the shared set is untouched");
    }

    #[test]
    fn sets_no_store_holds_are_swept_out() {
        let mut sets = RoleSets::default();
        let kept = sets.share(built_in_roles());
        for rank in 0..1_000 {
            let mut roles = built_in_roles();
            roles[0].rank = rank;
            drop(sets.share(roles));
        }
        assert!(sets.by_roles.len() < 2 * MIN_SWEEP, "{} entries held", sets.by_roles.len());
        assert!(Arc::ptr_eq(&kept, &sets.share(built_in_roles())), "a set in use stays shared");
    }

    #[test]
    fn a_code_the_store_does_not_define_is_an_error() {
        let roles = roles_at(1);
        assert_eq!(roles.resolve("manager").unwrap().rank, 50);
        assert!(roles.resolve("supervisor").is_err());
    }
}
