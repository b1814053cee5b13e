//! `StoreScope::read`: a store-scoped read as one prepared statement, one round trip
//! (docs/contract.md §3). The same door as `tenant::conn`: the store's tables named in full by
//! `StoreTables`, the caller checked by `public.store_caller`; here both in one statement:
//!
//! ```sql
//! select c.user_id as caller_user_id, …, c.store_schema as caller_store_schema,
//!        c.roles_version as caller_roles_version, r.*
//! from public.store_caller($1, $2, $3) c                 -- session, account, store
//! left join lateral (select true as read_found, found.* from (<the read>) found) r
//!        on c.role is not null                             -- members only
//! ```
//!
//! Why this shape:
//! - PostgreSQL throws a prepared statement's plan away whenever the `search_path` differs
//!   from the one it was planned under, even when every name in it is qualified. These
//!   statements always run under the connection's default path, so each keeps its plan:
//!   a read costs one Bind/Execute of a cached plan instead of a parse and a plan of every
//!   statement (docs/performance.md: measured).
//! - One statement proves the caller and reads the store: no row at all means no live
//!   session or account (401); `caller_role` null means not an active member (403), and
//!   then the lateral read does not even run; `caller_store_schema` is the schema the
//!   registry gives the store whose membership was checked, and a read of any other schema
//!   fails closed.
//! - The check is the PL/pgSQL function `public.store_caller` (public migration 0007), not
//!   a join written into each statement: every store has its own statement, and a backend
//!   keeps each one's plan; with the join written out a store's `me` held about 160 KiB of
//!   plan, with the call about 64 KiB, and 10,000 stores need the smaller one (docs/performance.md:
//!   measured, with what the call costs).
//! - One text per store: statements are prepared per connection and a backend keeps a plan
//!   per statement, so store reads run on the connection that serves the store's share of
//!   the fleet ([`Db::acquire_for_store`]), which bounds each backend's share.
//! - Under transaction pooling the statement is unnamed and runs inside a transaction that
//!   sets the statement timeouts (`db::session`): correct there, at three more round trips.

use std::sync::Arc;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{FromRow, Postgres, Row};

use crate::access::directory::{StoreRoles, roles_query};
use crate::credentials::queries::SessionMember;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::tenant::cache::TenantStore;
use crate::tenant::conn::{StoreScope, TenantMember, checked_member};

/// A prepared statement with its values bound so far.
pub type Statement<'q> = Query<'q, Postgres, PgArguments>;

/// What a store read found: the checked caller and the rows of the read.
#[derive(Debug)]
pub struct StoreRead<T> {
    pub store: TenantStore,
    pub member: TenantMember,
    /// The store's role definitions at the version the statement saw.
    pub roles: Arc<StoreRoles>,
    pub rows: Vec<T>,
}

impl StoreScope {
    /// Runs `select` for a signed-in active member of the store, in one round trip; refuses
    /// a caller who must change their password first.
    ///
    /// `select` is a template of [`StoreTables`](crate::db::schema::StoreTables) (`{employees}`
    /// …), rendered for this scope's store, and may use `$3` (the store's id), `c.user_id`
    /// (the caller's account) and `$4`…, which `bind` binds, in order. Every row of it
    /// becomes a `T`.
    pub async fn read<T>(
        self,
        select: &str,
        bind: impl FnOnce(Statement<'_>) -> Statement<'_>,
    ) -> ApiResult<StoreRead<T>>
    where
        T: for<'r> FromRow<'r, PgRow>,
    {
        let read = self.read_own_account(select, bind).await?;
        if read.member.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        Ok(read)
    }

    /// Like [`StoreScope::read`], also for a caller who must change their password: only
    /// for reads of their own account (`me`).
    pub async fn read_own_account<T>(
        self,
        select: &str,
        bind: impl FnOnce(Statement<'_>) -> Statement<'_>,
    ) -> ApiResult<StoreRead<T>>
    where
        T: for<'r> FromRow<'r, PgRow>,
    {
        let citus = self.pool.is_citus().await?;
        let statement = crate::db::query(self.tables().sql(&read_sql(select, citus)))
            .bind(self.session_id)
            .bind(self.user_id)
            .bind(self.store.id);
        let rows = fetch_for_store(&self.pool, self.store.id, self.request_timeout, bind(statement)).await?;
        let caller = caller_of(rows.first().ok_or(ApiError::TokenInvalid)?)?;
        let roles = match (&caller.role, caller.roles_version) {
            (Some(_), Some(version)) => Some(self.roles_at(version).await?),
            _ => None,
        };
        let member = checked_member(caller, &self.store, self.session_id, roles.as_deref())?;
        let roles = roles.ok_or_else(|| ApiError::internal(anyhow::anyhow!("a member without roles")))?;
        let rows = read_rows(&rows)?;
        Ok(StoreRead { store: self.store, member, roles, rows })
    }

    /// The store's roles at `version`: held, or read on the store's connection like every
    /// store read ([`fetch_for_store`]).
    async fn roles_at(&self, version: i64) -> ApiResult<Arc<StoreRoles>> {
        if let Some(roles) = self.roles.at(self.store.id, version) {
            return Ok(roles);
        }
        let select = roles_query(&self.tables(), self.store.id);
        let rows = fetch_for_store(&self.pool, self.store.id, self.request_timeout, select).await?;
        Ok(self.roles.keep(self.store.id, &rows)?)
    }
}

/// The whole statement around a store's `select` (see the module documentation), with the
/// version of the store's roles (`access::directory`).
///
/// On Citus the caller check is a materialized CTE that names a `public` table: Citus would
/// otherwise send the function call with the read to the store's worker, where neither the
/// function nor the tables it reads exist. So planned, the check runs on the coordinator
/// and its one row travels with the read to the worker (one more internal round trip).
fn read_sql(select: &str, citus: bool) -> String {
    let caller = if citus {
        "(with checked as materialized \
              (select sc.* from public.store_caller($1, $2, $3) sc left join public.stores on false) \
          select * from checked) c"
    } else {
        "public.store_caller($1, $2, $3) c"
    };
    format!(
        "select c.user_id as caller_user_id, c.username as caller_username, \
                c.first_name as caller_first_name, c.last_name as caller_last_name, \
                c.email as caller_email, c.must_change_password as caller_must_change_password, \
                c.role as caller_role, c.store_schema as caller_store_schema, \
                c.roles_version as caller_roles_version, r.* \
         from {caller} \
         left join lateral (select true as read_found, found.* from ({select}) found) r \
                on c.role is not null"
    )
}

/// The caller's columns of a read's row, as the caller check reads them.
fn caller_of(row: &PgRow) -> sqlx::Result<SessionMember> {
    Ok(SessionMember {
        schema: row.try_get("caller_store_schema")?,
        user_id: row.try_get("caller_user_id")?,
        username: row.try_get("caller_username")?,
        first_name: row.try_get("caller_first_name")?,
        last_name: row.try_get("caller_last_name")?,
        email: row.try_get("caller_email")?,
        must_change_password: row.try_get("caller_must_change_password")?,
        role: row.try_get("caller_role")?,
        roles_version: row.try_get("caller_roles_version")?,
    })
}

/// The read's own rows: a caller with none gets one row with the read's columns null.
fn read_rows<T>(rows: &[PgRow]) -> ApiResult<Vec<T>>
where
    T: for<'r> FromRow<'r, PgRow>,
{
    let mut read = Vec::with_capacity(rows.len());
    for row in rows {
        if row.try_get::<Option<bool>, _>("read_found")?.unwrap_or(false) {
            read.push(T::from_row(row)?);
        }
    }
    Ok(read)
}

/// Runs `statement` on the connection that serves store `store_id`; under transaction
/// pooling inside a transaction of its own, with the statement timeouts set in it.
async fn fetch_for_store(
    db: &Db,
    store_id: i64,
    request_timeout: std::time::Duration,
    statement: Statement<'_>,
) -> sqlx::Result<Vec<PgRow>> {
    if !db.transaction_pooling() {
        let mut conn = db.acquire_for_store(store_id).await?;
        return statement.fetch_all(&mut *conn).await;
    }
    let begin = crate::db::session::begin_sql(db, request_timeout);
    let mut tx = db.begin_for_store(store_id, begin).await?;
    let rows = statement.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}
