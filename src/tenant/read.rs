//! `StoreRead`: a store-scoped read in one round trip to PostgreSQL (SPEC §3).
//!
//! The tenant switch, the caller check and the handler's SELECTs travel as one
//! simple-protocol message:
//!
//! ```sql
//! SELECT set_config('search_path', '"tenant_x"', true); <caller check>; <select>; …
//! ```
//!
//! PostgreSQL runs the statements of one message as one implicit transaction: the
//! transaction-local `search_path` holds for every statement after the first and is gone
//! when the message ends, whatever becomes of the request (an error, a dropped future, a
//! transaction-pooling PgBouncer). Each statement is analysed just before it runs, so the
//! SELECTs resolve their unqualified tables in the store's schema; the caller check reads
//! `current_schema()` and the request fails closed on a mismatch, as with [`TenantConn`].
//!
//! Why: on this hardware a round trip costs about as much as the query it carries
//! (README "Performance": measured, one round trip each), and a [`TenantConn`] needs four (`BEGIN` + switch, caller check, query,
//! `COMMIT`). The price is that the message has no bound parameters: its SELECTs take their
//! values through [`crate::db::inline::Inline`] (integers, UUIDs, booleans, role names),
//! never user text. A read that carries user text (the staff search) uses [`TenantConn`].
//!
//! [`TenantConn`]: crate::tenant::conn::TenantConn

use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Either, FromRow};

use crate::auth::queries::{SessionMember, session_member_sql};
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::tenant::cache::TenantStore;
use crate::tenant::conn::{StoreScope, TenantMember, checked_member};

/// What a one-round-trip read found: the checked caller and the rows of each SELECT.
pub struct StoreRead {
    pub store: TenantStore,
    pub member: TenantMember,
    results: std::vec::IntoIter<Vec<PgRow>>,
}

impl StoreRead {
    /// The rows of the next SELECT given to [`StoreScope::read`], in the order given.
    pub fn rows<T>(&mut self) -> ApiResult<Vec<T>>
    where
        T: for<'r> FromRow<'r, PgRow>,
    {
        let rows = self.results.next().ok_or_else(missing_result_set)?;
        rows.iter().map(T::from_row).collect::<Result<_, _>>().map_err(ApiError::from)
    }
}

impl StoreScope {
    /// Runs `selects` in the store's schema for a signed-in active member, in one round
    /// trip; refuses a caller who must change their password first. Every value in the
    /// SELECTs must be written with [`crate::db::inline::Inline`].
    pub async fn read(self, selects: &[String]) -> ApiResult<StoreRead> {
        let read = self.read_own_account(selects).await?;
        if read.member.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        Ok(read)
    }

    /// Like [`StoreScope::read`], also for a caller who must change their password: only
    /// for reads of their own account (`me`).
    pub async fn read_own_account(self, selects: &[String]) -> ApiResult<StoreRead> {
        let mut message = format!(
            "{};\n{};\n",
            self.store
                .schema
                .switch_sql(&crate::db::session::local_timeouts(&self.pool, self.request_timeout)),
            session_member_sql(self.session_id, self.user_id, self.store.id)
        );
        for select in selects {
            message.push_str(select);
            message.push_str(";\n");
        }
        let mut results = result_sets(&self.pool, message).await?.into_iter();
        let caller = caller_row(&mut results)?;
        let member = checked_member(SessionMember::from_row(&caller)?, &self.store, self.session_id)?;
        Ok(StoreRead { store: self.store, member, results })
    }
}

/// The caller check's row, after the switch's result set. Every statement yields a result
/// set, rows or none, so a missing one means the message did not run as written: a bug
/// (500), never the caller's fault. An empty one means no live session, account or
/// membership for this token (401, SPEC §4).
fn caller_row(results: &mut impl Iterator<Item = Vec<PgRow>>) -> ApiResult<PgRow> {
    let (Some(_switch), Some(caller)) = (results.next(), results.next()) else {
        return Err(missing_result_set());
    };
    caller.into_iter().next().ok_or(ApiError::TokenInvalid)
}

fn missing_result_set() -> ApiError {
    ApiError::internal(anyhow::anyhow!("a store read has fewer results than statements"))
}

/// Sends one simple-protocol message and collects the rows of each of its statements.
async fn result_sets(pool: &Db, message: String) -> sqlx::Result<Vec<Vec<PgRow>>> {
    let mut sets = Vec::new();
    let mut current = Vec::new();
    let mut conn = pool.acquire().await?;
    let mut stream = sqlx::raw_sql(AssertSqlSafe(message)).fetch_many(&mut *conn);
    while let Some(item) = stream.try_next().await? {
        match item {
            // The end of one statement's rows.
            Either::Left(_done) => sets.push(std::mem::take(&mut current)),
            Either::Right(row) => current.push(row),
        }
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_result_set_is_a_bug_and_an_empty_one_an_unknown_session() {
        let missing = caller_row(&mut Vec::<Vec<PgRow>>::new().into_iter()).unwrap_err();
        assert!(matches!(missing, ApiError::Internal(_)), "{missing:?}");
        let only_the_switch = caller_row(&mut vec![Vec::new()].into_iter()).unwrap_err();
        assert!(matches!(only_the_switch, ApiError::Internal(_)), "{only_the_switch:?}");
        let no_caller = caller_row(&mut vec![Vec::new(), Vec::new()].into_iter()).unwrap_err();
        assert!(matches!(no_caller, ApiError::TokenInvalid), "{no_caller:?}");
    }
}
