//! SQL for `public.staff_accounts`: which account is each store's shared staff account.

use sqlx::PgConnection;

/// Links store `store_id` to its staff account `user_id`, with its sealed password.
#[tracing::instrument(skip_all, fields(store.id = store_id, user.id = user_id), err)]
pub async fn insert_link(
    conn: &mut PgConnection,
    store_id: i64,
    user_id: i64,
    sealed_password: &str,
) -> sqlx::Result<()> {
    crate::db::query(
        "insert into public.staff_accounts (store_id, user_id, password_ciphertext) values ($1, $2, $3)",
    )
    .bind(store_id)
    .bind(user_id)
    .bind(sealed_password)
    .execute(conn)
    .await
    .map(|_| ())
}

/// A store's staff account as its owner sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffAccountRow {
    pub store_id: i64,
    pub user_id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub password_ciphertext: String,
    /// The account may sign in and is an active member of its store.
    pub is_active: bool,
}

/// The columns of [`StaffAccountRow`], over `public.staff_accounts a`.
macro_rules! staff_account_from {
    () => {
        "select a.store_id, a.user_id, u.username, u.first_name, u.last_name, a.password_ciphertext,
                u.is_active and coalesce(m.is_active, false) as is_active
         from public.staff_accounts a
         join public.users u on u.id = a.user_id
         left join public.store_memberships m on m.user_id = a.user_id and m.store_id = a.store_id"
    };
}

/// Store `store_id`'s staff account, if it has one.
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn find_by_store(conn: &mut PgConnection, store_id: i64) -> sqlx::Result<Option<StaffAccountRow>> {
    crate::db::query_as(concat!(staff_account_from!(), " where a.store_id = $1"))
        .bind(store_id)
        .fetch_optional(conn)
        .await
}

/// The staff accounts of stores `store_ids`.
#[tracing::instrument(skip_all, err)]
pub async fn find_by_stores(
    conn: &mut PgConnection,
    store_ids: &[i64],
) -> sqlx::Result<Vec<StaffAccountRow>> {
    crate::db::query_as(concat!(staff_account_from!(), " where a.store_id = any($1)"))
        .bind(store_ids)
        .fetch_all(conn)
        .await
}

/// Like [`find_by_store`], holding the link's row until the transaction ends, so a
/// rotation and a switch-off of one store apply one after the other.
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn lock_by_store(conn: &mut PgConnection, store_id: i64) -> sqlx::Result<Option<StaffAccountRow>> {
    crate::db::query_as(concat!(staff_account_from!(), " where a.store_id = $1 for update of a, u"))
        .bind(store_id)
        .fetch_optional(conn)
        .await
}

/// The store whose staff account `user_id` is, if it is one.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn store_of_account(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<i64>> {
    crate::db::query_scalar("select store_id from public.staff_accounts where user_id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Gives store `store_id`'s staff account a new password: its hash and its sealed form.
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn replace_password(
    conn: &mut PgConnection,
    store_id: i64,
    password_hash: &str,
    sealed_password: &str,
) -> sqlx::Result<()> {
    crate::db::query(
        "with link as (
             update public.staff_accounts set password_ciphertext = $3, password_changed_at = now()
             where store_id = $1 returning user_id
         )
         update public.users u set password_hash = $2, must_change_password = false, updated_at = now()
         from link where u.id = link.user_id",
    )
    .bind(store_id)
    .bind(password_hash)
    .bind(sealed_password)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Lets account `user_id` sign in, or stops it.
#[tracing::instrument(skip_all, fields(user.id = user_id, active), err)]
pub async fn set_account_active(conn: &mut PgConnection, user_id: i64, active: bool) -> sqlx::Result<()> {
    crate::db::query("update public.users set is_active = $2, updated_at = now() where id = $1")
        .bind(user_id)
        .bind(active)
        .execute(conn)
        .await
        .map(|_| ())
}

/// A store made before staff accounts existed, which has none yet.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoreWithoutStaffAccount {
    pub id: i64,
    pub schema_name: String,
}

/// Every store without a staff account, oldest first.
#[tracing::instrument(skip_all, err)]
pub async fn stores_without_staff_account(
    pool: &sqlx::PgPool,
) -> sqlx::Result<Vec<StoreWithoutStaffAccount>> {
    crate::db::query_as(
        "select s.id, s.schema_name from public.stores s
         where not exists (select 1 from public.staff_accounts a where a.store_id = s.id)
         order by s.id",
    )
    .fetch_all(pool)
    .await
}
