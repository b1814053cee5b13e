//! SQL for the users API: a store's members who have an account, read with their account
//! and their employee row in the store.
//!
//! Every statement names the store's table in full through [`StoreTables`] and `public`
//! tables as `public.x`. Reads that serve the list and one user are store reads
//! ([`crate::tenant::read`]), so each store keeps one cached plan whatever the filters;
//! writes run in the request's transaction (`tenant::conn`).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::db::schema::StoreTables;
use crate::staff::queries::like_pattern;
use crate::tenant::read::Statement;

/// A member of the store with an account: the account's fields and the employee row's.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoreUserRow {
    /// The account's (global) id.
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// The account's own flag; `employee_is_active` is the store's.
    pub is_active: bool,
    pub date_joined: DateTime<Utc>,
    /// The employee id in this store.
    pub employee_id: i64,
    /// The code of the store role the employee holds.
    pub role: String,
    pub phone: String,
    pub position: String,
    pub employee_is_active: bool,
    pub hired_at: NaiveDate,
    /// `male`, `female` or none. Read as null until the store's employee rows hold it: the
    /// one place to switch is `store_user_columns!`.
    pub sex: Option<String>,
}

/// The columns of [`StoreUserRow`] over the account `u` and the employee row `e`.
macro_rules! store_user_columns {
    () => {
        "u.id, u.username, u.email, u.first_name, u.last_name, u.is_active,
         u.created_at as date_joined, e.id as employee_id, e.role, e.phone, e.position,
         e.is_active as employee_is_active, e.hired_at, e.sex"
    };
}

/// `from … where …` of a store's members with an account: the account and the membership
/// in the store whose id is parameter `$store` joined to each employee row.
macro_rules! store_users_from {
    ($store:literal) => {
        concat!(
            " from {employees} e
             join public.users u on u.id = e.user_id
             join public.store_memberships m on m.user_id = e.user_id and m.store_id = ",
            $store,
            " where true"
        )
    };
}

/// [`store_users_from!`] of the members a list shows: active ones only.
macro_rules! listed_users_from {
    () => {
        concat!(store_users_from!("$3"), " and e.is_active and m.is_active")
    };
}

/// Which users a list shows, and in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFilter {
    /// Matched case-insensitively anywhere in the first or last name or the username.
    pub name: Option<String>,
    /// Matched case-insensitively anywhere in the username, the names or the email.
    pub search: Option<String>,
    /// One of [`ORDERINGS`].
    pub ordering: &'static str,
}

/// The orders a list may ask for: a field, ascending, or descending with `-`.
pub const ORDERINGS: &[&str] = &[
    "username",
    "-username",
    "first_name",
    "-first_name",
    "last_name",
    "-last_name",
    "date_joined",
    "-date_joined",
];

/// One page of the users list, read as a store read.
#[derive(Debug, Clone)]
pub struct UserPage<'a> {
    pub filter: &'a UserFilter,
    pub limit: i64,
    pub offset: i64,
}

impl UserPage<'_> {
    /// The page statement (a store read's template), each row a counted [`StoreUserRow`]. Filters and the
    /// order are bound values (`$4` name pattern, `$5` search pattern, `$6` ordering, then
    /// `$7` limit and `$8` offset): one text per store whatever the request asks, so each
    /// store's list keeps one cached plan. The account id breaks ties, so pages never overlap.
    pub const SELECT_SQL: &'static str = concat!(
        "select ",
        store_user_columns!(),
        ", count(*) over () as total",
        listed_users_from!(),
        "
               and ($4::text is null or u.first_name ilike $4 or u.last_name ilike $4 or u.username ilike $4)
               and ($5::text is null or u.username ilike $5 or u.first_name ilike $5
                    or u.last_name ilike $5 or u.email ilike $5)
             order by case when $6::text = 'username' then u.username end,
                      case when $6 = '-username' then u.username end desc,
                      case when $6 = 'first_name' then u.first_name end,
                      case when $6 = '-first_name' then u.first_name end desc,
                      case when $6 = 'last_name' then u.last_name end,
                      case when $6 = '-last_name' then u.last_name end desc,
                      case when $6 = 'date_joined' then u.created_at end,
                      case when $6 = '-date_joined' then u.created_at end desc,
                      u.id
             limit $7 offset $8"
    );

    /// Binds the values of [`UserPage::SELECT_SQL`] after the caller check's.
    pub fn bind<'q>(&self, statement: Statement<'q>) -> Statement<'q> {
        statement
            .bind(self.filter.name.as_deref().map(like_pattern))
            .bind(self.filter.search.as_deref().map(like_pattern))
            .bind(self.filter.ordering)
            .bind(self.limit)
            .bind(self.offset)
    }
}

/// A store read of account `$4` among the store's listed users.
pub const LISTED_USER_SQL: &str =
    concat!("select ", store_user_columns!(), listed_users_from!(), " and u.id = $4");

/// Account `user_id` as a member of store `store_id` (active or deactivated there), in the
/// tenant transaction; none when they have no place on its staff.
#[tracing::instrument(skip_all, fields(store.id = store_id, user.id = user_id), err)]
pub async fn find_store_user(
    tables: &StoreTables,
    conn: &mut PgConnection,
    store_id: i64,
    user_id: i64,
) -> sqlx::Result<Option<StoreUserRow>> {
    let select = concat!("select ", store_user_columns!(), store_users_from!("$1"), " and u.id = $2");
    crate::db::query_as(tables.sql(select)).bind(store_id).bind(user_id).fetch_optional(conn).await
}

/// An account's own fields, as the users API changes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProfile {
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

impl From<&StoreUserRow> for AccountProfile {
    fn from(row: &StoreUserRow) -> Self {
        AccountProfile {
            username: row.username.clone(),
            first_name: row.first_name.clone(),
            last_name: row.last_name.clone(),
            email: row.email.clone(),
        }
    }
}

/// Writes `profile` to account `user_id`, its look-alike key with it. A taken username
/// violates one of [`crate::credentials::queries::USERNAME_CONSTRAINTS`].
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn update_account_profile(
    conn: &mut PgConnection,
    user_id: i64,
    profile: &AccountProfile,
) -> sqlx::Result<()> {
    crate::db::query(
        "update public.users set username = $2, username_key = $3, first_name = $4, last_name = $5,
             email = $6, updated_at = now()
         where id = $1",
    )
    .bind(user_id)
    .bind(&profile.username)
    .bind(crate::validate::username::key(&profile.username))
    .bind(&profile.first_name)
    .bind(&profile.last_name)
    .bind(&profile.email)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Gives employee `id` of the store of `tables` the account's names,
/// so the store's staff list shows the names the account now has.
#[tracing::instrument(skip_all, fields(employee.id = id), err)]
pub async fn copy_names_to_employee(
    tables: &StoreTables,
    conn: &mut PgConnection,
    id: i64,
    first_name: &str,
    last_name: &str,
) -> sqlx::Result<()> {
    crate::db::query(
        tables
            .sql("update {employees} set first_name = $2, last_name = $3, updated_at = now() where id = $1"),
    )
    .bind(id)
    .bind(first_name)
    .bind(last_name)
    .execute(conn)
    .await
    .map(|_| ())
}
