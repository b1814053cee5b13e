//! `TenantConn`: a store-scoped request's transaction, opened after its caller is checked
//! (docs/contract.md §3). The one door a request takes into a store's schema:
//!
//! - The transaction never switches the `search_path`. Every statement on the store's tables
//!   names them in full through [`StoreTables`] (`TenantConn::tables`), as the one-statement
//!   reads of `tenant::read` do: one text per store, whose plan stays cached on the
//!   connection across requests, and a dropped schema fails the statement loudly.
//! - The first statement is the caller check `public.store_caller` (public migrations 0007,
//!   0008), the one the reads of `tenant::read` make too: the live session, the active
//!   account, the active membership in this store, and the schema the registry gives the
//!   store. No row: 401; no role: 403; a registry schema other than the one the tables are
//!   named in: the request fails closed (500). One text for every store: one cached plan.
//! - The statement timeouts, where the pool cannot set them per connection (transaction
//!   pooling), are set transaction-local in the same round trip as `BEGIN`
//!   (`db::session::begin_sql`): no setting outlives the request, on a pooled connection or
//!   behind PgBouncer.
//! - The transaction runs on the connection that serves the store's share of the fleet
//!   ([`Db::begin_for_store`], which also keeps a dropped `BEGIN` from leaking a
//!   transaction into the pool), where the store's statements are prepared and cached.
//! - Dropping a `TenantConn` rolls back; handlers `commit` explicitly.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use sqlx::{PgConnection, Postgres, Transaction};

use crate::db::Db;
use crate::db::schema::StoreTables;

use crate::access::StoreRole;
use crate::access::directory::{RoleDirectory, StoreRoles};
use crate::config::Config;
use crate::credentials::extractor::access_claims;
use crate::credentials::queries::SessionMember;
use crate::credentials::tokens::AccessTokens;
use crate::error::{ApiError, ApiResult};
use crate::tenant::cache::TenantStore;
use crate::tenant::layer::TenantResolution;

/// The member of staff making a store-scoped request.
#[derive(Debug, Clone)]
pub struct TenantMember {
    pub user_id: i64,
    pub session_id: uuid::Uuid,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// The caller's role as the store defines it, at the version read with the session check.
    pub role: Arc<StoreRole>,
    pub must_change_password: bool,
}

/// The store and the caller of a store-scoped request, known without touching the database:
/// the key resolved by the tenant layer (cached) and the access token's signature checked.
/// Handlers that must do slow work first (hash a password) take this and open the
/// transaction afterwards with [`StoreScope::begin`], so no pooled connection waits on argon2.
#[derive(Debug, Clone)]
pub struct StoreScope {
    pub store: TenantStore,
    pub(super) user_id: i64,
    pub(super) session_id: uuid::Uuid,
    /// Where the transaction will be opened, and how long its statements may run.
    pub(super) pool: Db,
    pub(super) request_timeout: Duration,
    /// Each store's role definitions, by version (`access::directory`).
    pub(super) roles: Arc<RoleDirectory>,
}

/// A transaction on the store's connection, for a signed-in active member of that store; its
/// statements name the store's tables through [`TenantConn::tables`].
pub struct TenantConn {
    tx: Transaction<'static, Postgres>,
    pub store: TenantStore,
    pub member: TenantMember,
    /// The store's role definitions at the version the caller check saw.
    pub roles: Arc<StoreRoles>,
}

impl TenantConn {
    /// The connection, for queries (`&mut PgConnection` works for every query function).
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// The store's tables, for the statements of this request (the only way they are named).
    #[must_use]
    pub fn tables(&self) -> StoreTables {
        self.store.schema.tables()
    }

    /// Commits the request's transaction.
    pub async fn commit(self) -> ApiResult<()> {
        self.tx.commit().await.map_err(ApiError::from)
    }

    /// Ends the transaction, keeping nothing, and hands the connection back to the pool
    /// (for handlers that check first, then let go of the connection during slow work).
    pub async fn rollback(self) -> ApiResult<()> {
        self.tx.rollback().await.map_err(ApiError::from)
    }
}

impl<S> FromRequestParts<S> for StoreScope
where
    S: Send + Sync,
    Db: FromRef<S>,
    Arc<AccessTokens>: FromRef<S>,
    Arc<Config>: FromRef<S>,
    Arc<RoleDirectory>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // The store first, as the peer does: a missing key is 400 even without a token.
        let store = TenantResolution::of(parts)?;
        let (user_id, session_id) = access_claims(parts, &Arc::<AccessTokens>::from_ref(state)).await?;
        let request_timeout = Arc::<Config>::from_ref(state).request_timeout;
        Ok(StoreScope {
            store,
            user_id,
            session_id,
            pool: Db::from_ref(state),
            request_timeout,
            roles: Arc::<RoleDirectory>::from_ref(state),
        })
    }
}

/// The caller check of a request's transaction: one text for every store, so one cached plan.
const CALLER_SQL: &str = "select * from public.store_caller($1, $2, $3)";

impl StoreScope {
    /// The scope of a session already known some other way than a bearer token (the
    /// console's cookie): checked like any other by [`StoreScope::begin`] and
    /// [`StoreScope::read`].
    #[must_use]
    pub fn for_session(
        store: TenantStore,
        (user_id, session_id): (i64, uuid::Uuid),
        pool: Db,
        request_timeout: Duration,
        roles: Arc<RoleDirectory>,
    ) -> StoreScope {
        StoreScope { store, user_id, session_id, pool, request_timeout, roles }
    }

    /// The caller's account id, from the verified access token (not yet checked against
    /// the session: [`StoreScope::begin`] and [`StoreScope::read`] do that).
    #[must_use]
    pub fn user_id(&self) -> i64 {
        self.user_id
    }

    /// The store's tables, for the statements of this request (the only way they are named).
    #[must_use]
    pub fn tables(&self) -> StoreTables {
        self.store.schema.tables()
    }

    /// Opens the request's transaction on the store's connection and checks the caller in it
    /// (live session, active account, active membership); refuses a caller who must change
    /// their password first.
    pub async fn begin(&self) -> ApiResult<TenantConn> {
        self.clone().into_conn().await
    }

    /// [`StoreScope::begin`] for extractors, which need the scope only once: the store
    /// moves into the connection instead of being copied on every request.
    async fn into_conn(self) -> ApiResult<TenantConn> {
        let store = self.store;
        let begin = crate::db::session::begin_sql(&self.pool, self.request_timeout);
        let mut tx = self.pool.begin_for_store(store.id, begin).await?;

        let caller: SessionMember = crate::db::query_as(CALLER_SQL)
            .bind(self.session_id)
            .bind(self.user_id)
            .bind(store.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ApiError::TokenInvalid)?;
        let roles = match (&caller.role, caller.roles_version) {
            (Some(_), Some(version)) => {
                Some(self.roles.current(&mut tx, store.id, &store.schema.tables(), version).await?)
            }
            _ => None,
        };
        let member = checked_member(caller, &store, self.session_id, roles.as_deref())?;
        if member.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        let roles = roles.ok_or_else(|| ApiError::internal(anyhow::anyhow!("a member without roles")))?;
        Ok(TenantConn { tx, store, member, roles })
    }
}

impl<S> FromRequestParts<S> for TenantConn
where
    S: Send + Sync,
    Db: FromRef<S>,
    Arc<AccessTokens>: FromRef<S>,
    Arc<Config>: FromRef<S>,
    Arc<RoleDirectory>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        StoreScope::from_request_parts(parts, state).await?.into_conn().await
    }
}

/// The caller found by `public.store_caller`, once the registry is known to give the store
/// the schema its tables are named in (fail closed otherwise) and the caller to be a member
/// of the store, with their role as `roles` (the store's, at the version the statement saw)
/// defines it.
pub(super) fn checked_member(
    row: SessionMember,
    store: &TenantStore,
    session_id: uuid::Uuid,
    roles: Option<&StoreRoles>,
) -> Result<TenantMember, ApiError> {
    store.schema.check_current(row.schema.as_deref()).map_err(ApiError::internal)?;
    tracing::Span::current().record("user.id", row.user_id);
    let code = row.role.ok_or(ApiError::NotAMember)?;
    // A membership whose role the store does not define grants nothing: fail closed.
    let roles =
        roles.ok_or_else(|| ApiError::internal(anyhow::anyhow!("the store's roles were not read")))?;
    let role = roles.resolve(&code).map_err(ApiError::internal)?;
    Ok(TenantMember {
        user_id: row.user_id,
        session_id,
        username: row.username,
        first_name: row.first_name,
        last_name: row.last_name,
        email: row.email,
        role,
        must_change_password: row.must_change_password,
    })
}
