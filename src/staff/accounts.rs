//! Who may act on an account, as opposed to a membership: the one rule for what a store's
//! staff may do to a person's account as a whole.
//!
//! An account may work in several stores. What a manager does to someone's place in their
//! own store (role, status, removal, PIN) stays in that store. What reaches the account
//! itself (its password, its sessions everywhere) is allowed only to whoever outranks that
//! person in every store they belong to; otherwise 403 `account_elsewhere`: the person
//! changes it themselves, or someone who outranks them everywhere does. Without this, a
//! manager of store A could reset the password of A's cashier who owns store B, sign in as
//! them, and run B.

use sqlx::PgConnection;

use crate::error::{ApiError, ApiResult};
use crate::tenant::conn::TenantConn;

/// 403 `account_elsewhere` unless the caller of `tenant` outranks account `target_user_id`
/// in every store it belongs to besides this one (the caller's rank here is checked by the
/// policy already).
pub async fn require_reach_over_account(tenant: &mut TenantConn, target_user_id: i64) -> ApiResult<()> {
    let caller = tenant.member.user_id;
    let store_id = tenant.store.id;
    match store_not_outranked(tenant.conn(), caller, target_user_id, store_id).await? {
        false => Ok(()),
        true => Err(ApiError::AccountElsewhere),
    }
}

/// Whether the caller of `tenant` may add the existing account `user_id` to this store: it
/// is not a member here yet, it works in at least one other store, and the caller outranks
/// it in every one of them (the reach a password reset needs). Anyone else's account is
/// not the caller's to add, and the answer does not say why.
pub async fn may_add_existing_account(tenant: &mut TenantConn, user_id: i64) -> ApiResult<bool> {
    let (caller, store_id) = (tenant.member.user_id, tenant.store.id);
    let conn = tenant.conn();
    Ok(!crate::staff::queries::is_member(conn, user_id, store_id).await?
        && belongs_elsewhere(conn, user_id, store_id).await?
        && !store_not_outranked(conn, caller, user_id, store_id).await?)
}

/// Ends account `user_id`'s access to the caller's store after a deactivation or removal
/// there, and nothing of theirs elsewhere: the sessions opened on this store's tills, and,
/// only when the account belongs to no other store, every session. The number ended.
pub async fn end_access_here(tenant: &mut TenantConn, user_id: i64) -> ApiResult<u64> {
    let store_id = tenant.store.id;
    let elsewhere = belongs_elsewhere(tenant.conn(), user_id, store_id).await?;
    let ended = match elsewhere {
        true => revoke_store_sessions(tenant.conn(), user_id, store_id).await?,
        false => crate::credentials::queries::revoke_user_sessions(tenant.conn(), user_id, None).await?,
    };
    Ok(ended)
}

/// Whether account `target` belongs (active or deactivated) to a store other than
/// `store_id` where `caller` is not an active member of strictly higher rank, by that
/// store's own roles.
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
async fn store_not_outranked(
    conn: &mut PgConnection,
    caller: i64,
    target: i64,
    store_id: i64,
) -> sqlx::Result<bool> {
    crate::db::query_scalar(
        "select exists (
             select 1 from public.store_memberships t
             join public.stores s on s.id = t.store_id
             where t.user_id = $2 and t.store_id <> $3
               and not exists (
                   select 1 from public.store_memberships c
                   where c.user_id = $1 and c.store_id = t.store_id and c.is_active
                     and (select role_rank from public.store_role(s.schema_name, c.role))
                       > (select role_rank from public.store_role(s.schema_name, t.role))
               )
         )",
    )
    .bind(caller)
    .bind(target)
    .bind(store_id)
    .fetch_one(conn)
    .await
}

/// Whether account `user_id` belongs (active or deactivated) to a store besides `store_id`.
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
async fn belongs_elsewhere(conn: &mut PgConnection, user_id: i64, store_id: i64) -> sqlx::Result<bool> {
    crate::db::query_scalar(
        "select exists (select 1 from public.store_memberships where user_id = $1 and store_id <> $2)",
    )
    .bind(user_id)
    .bind(store_id)
    .fetch_one(conn)
    .await
}

/// Ends account `user_id`'s sessions bound to store `store_id` (opened on its tills).
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
async fn revoke_store_sessions(conn: &mut PgConnection, user_id: i64, store_id: i64) -> sqlx::Result<u64> {
    crate::db::query(
        "update public.sessions set revoked_at = now() where user_id = $1 and store_id = $2 and revoked_at is null",
    )
    .bind(user_id)
    .bind(store_id)
    .execute(conn)
    .await
    .map(|done| done.rows_affected())
}
