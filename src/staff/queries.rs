//! SQL for the tenant `employees` table. Every statement names the store's tables in full
//! through [`StoreTables`] (`{employees}` in a template) and `public` tables as `public.x`:
//! writes run in the request's transaction (`tenant::conn`), the hot reads (the `*_SQL`
//! templates) are store reads ([`crate::tenant::read`]).
//!
//! An employee is on the staff while their membership in `public.store_memberships` exists;
//! removal deletes the membership and keeps the (inactive) employee row for history, so
//! reads join the membership. Columns are always named (docs/contract.md §2: stores sit at different
//! tenant-migration versions during a rollout).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::db::schema::StoreTables;
use std::sync::Arc;

use crate::access::StoreRole;
use crate::access::directory::{StoreRoles, UndefinedRole};
use crate::tenant::read::Statement;

#[cfg(doc)]
use crate::db::page::Counted;

/// An employee row as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EmployeeRow {
    pub id: i64,
    /// The account's `public.users.id`; none for an employee without an account.
    pub user_id: Option<i64>,
    /// The code of the store role the employee holds (`roles`).
    pub role: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub position: String,
    /// `male`, `female`, or none.
    pub sex: Option<String>,
    pub is_active: bool,
    pub hired_at: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`EmployeeRow`], qualified with `e.`.
macro_rules! employee_columns {
    () => {
        "e.id, e.user_id, e.role, e.first_name, e.last_name, e.phone, e.position, e.sex, e.is_active, \
         e.hired_at, e.created_at, e.updated_at"
    };
}

/// A member of staff as read: their employee row and the account fields shown with it.
/// Their role's definition comes from the store's roles at the version the request saw
/// ([`StaffRow::with_role`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffRow {
    #[sqlx(flatten)]
    pub employee: EmployeeRow,
    /// None for an employee without an account.
    pub username: Option<String>,
    pub email: Option<String>,
}

impl StaffRow {
    /// The member with their role as `roles` defines it; a code the store does not define
    /// is an error (no rights are guessed).
    pub fn with_role(self, roles: &StoreRoles) -> Result<StaffMember, UndefinedRole> {
        let role = roles.resolve(&self.employee.role)?;
        Ok(StaffMember { employee: self.employee, role, username: self.username, email: self.email })
    }
}

/// A member of staff: their employee row, their role as the store defines it, and the
/// account fields shown with it.
#[derive(Debug, Clone)]
pub struct StaffMember {
    pub employee: EmployeeRow,
    pub role: Arc<StoreRole>,
    /// None for an employee without an account.
    pub username: Option<String>,
    pub email: Option<String>,
}

/// What a new employee row holds.
#[derive(Debug, Clone)]
pub struct NewEmployee<'a> {
    /// None for an employee without an account.
    pub user_id: Option<i64>,
    pub role: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone: &'a str,
    pub position: &'a str,
    pub sex: Option<&'a str>,
    /// Today when absent.
    pub hired_at: Option<NaiveDate>,
}

/// Adds an employee to the store of `tables`.
#[tracing::instrument(skip_all, fields(user.id = new.user_id, role = new.role), err)]
pub async fn insert_employee(
    tables: &StoreTables,
    conn: &mut PgConnection,
    new: &NewEmployee<'_>,
) -> sqlx::Result<EmployeeRow> {
    let sql = tables.sql(concat!(
        "insert into {employees} as e (user_id, role, first_name, last_name, phone, position, sex, hired_at)
         values ($1, $2, $3, $4, $5, $6, $7, coalesce($8, current_date))
         returning ",
        employee_columns!()
    ));
    write_employee(conn, sql, new).await
}

/// A store read ([`crate::tenant::read`]) of the caller's own employee row (`c.user_id`:
/// the caller check's account).
pub const CALLER_EMPLOYEE_SQL: &str =
    concat!("select ", employee_columns!(), " from {employees} e where e.user_id = c.user_id");

/// The employee row of `user_id` in the store of `tables`.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn find_employee_by_user(
    tables: &StoreTables,
    conn: &mut PgConnection,
    user_id: i64,
) -> sqlx::Result<Option<EmployeeRow>> {
    crate::db::query_as(tables.sql(concat!(
        "select ",
        employee_columns!(),
        " from {employees} e where e.user_id = $1"
    )))
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// Which employees a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmployeeFilter {
    /// A role code; a code the store does not have matches nobody.
    pub role: Option<String>,
    pub is_active: Option<bool>,
    /// Matched case-insensitively anywhere in the username, the names, or "first last".
    pub search: Option<String>,
}

/// The account and the membership in store `$store` joined to each employee row `e`. Both
/// are outer joins: an employee without an account has neither.
macro_rules! staff_joins {
    ($store:literal) => {
        concat!(
            "left join public.users u on u.id = e.user_id
             left join public.store_memberships m on m.user_id = e.user_id and m.store_id = ",
            $store
        )
    };
}

/// Whether the employee `e` (joined by [`staff_joins!`]) is on the store's staff: with an
/// account while their membership exists, without one until their removal.
macro_rules! on_staff {
    () => {
        "(m.user_id is not null or (e.user_id is null and e.removed_at is null))"
    };
}

/// `from …` of the staff of a store whose id is parameter `$store`.
macro_rules! staff_from {
    ($store:literal) => {
        concat!("from {employees} e ", staff_joins!($store))
    };
}

/// A store read ([`crate::tenant::read`]) of employee `$4` of the store, if on its staff.
pub const STAFF_MEMBER_SQL: &str = concat!(
    "select ",
    employee_columns!(),
    ", u.username, u.email ",
    staff_from!("$3"),
    " where e.id = $4 and ",
    on_staff!()
);

/// One page of the staff list, read as a store read ([`crate::tenant::read`]).
#[derive(Debug, Clone)]
pub struct StaffPage<'a> {
    pub filter: &'a EmployeeFilter,
    pub limit: i64,
    pub offset: i64,
}

impl StaffPage<'_> {
    /// The page statement (a store read's template), newest first (the peer's order; `id` breaks ties so
    /// pages never overlap), each row a [`Counted`] [`StaffMember`]. The filters are bound
    /// values, null for "any" (`$4` role, `$5` status, `$6` search pattern, then `$7` limit
    /// and `$8` offset, see [`StaffPage::bind`]): one text per store whatever the filters,
    /// so each store's list keeps one cached plan.
    pub const SELECT_SQL: &'static str = concat!(
        "select ",
        employee_columns!(),
        ", u.username, u.email, count(*) over () as total ",
        staff_from!("$3"),
        " where ",
        on_staff!(),
        "
                   and ($4::text is null or e.role = $4)
                   and ($5::boolean is null or e.is_active = $5)
                   and ($6::text is null or u.username ilike $6 or e.first_name ilike $6
                        or e.last_name ilike $6 or (e.first_name || ' ' || e.last_name) ilike $6)
                 order by e.created_at desc, e.id desc limit $7 offset $8"
    );

    /// Binds the values of [`StaffPage::SELECT_SQL`] after the caller check's.
    pub fn bind<'q>(&self, statement: Statement<'q>) -> Statement<'q> {
        statement
            .bind(self.filter.role.as_deref())
            .bind(self.filter.is_active)
            .bind(self.filter.search.as_deref().map(like_pattern))
            .bind(self.limit)
            .bind(self.offset)
    }
}

/// One of the store's cashiers without an account, as the till's picker lists them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CashierRow {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub role: String,
}

/// A store read ([`crate::tenant::read`]) of the store's active cashiers and stockkeepers
/// without an account, newest first: who a till signed in as the store may name.
pub const CASHIERS_SQL: &str = "select e.id, e.first_name, e.last_name, e.phone, e.role from {employees} e
     where e.user_id is null and e.removed_at is null and e.is_active
       and e.role in ('cashier', 'stockkeeper')
     order by e.created_at desc, e.id desc";

/// `%text%` for ILIKE, with the user's own `%`, `_` and `\` matched literally.
#[must_use]
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Employee `id` of store `store_id`, if still on the staff. With `lock`, the employee row
/// and the membership are locked until the transaction ends, so concurrent changes to one
/// employee apply one after another.
#[tracing::instrument(skip_all, fields(store.id = store_id, employee.id = id), err)]
pub async fn find_staff_member(
    tables: &StoreTables,
    conn: &mut PgConnection,
    store_id: i64,
    id: i64,
    lock: bool,
) -> sqlx::Result<Option<StaffRow>> {
    macro_rules! by_id {
        () => {
            concat!(
                "select ",
                employee_columns!(),
                ", u.username, u.email ",
                staff_from!("$1"),
                " where e.id = $2 and ",
                on_staff!()
            )
        };
    }
    if !lock {
        return crate::db::query_as(tables.sql(by_id!())).bind(store_id).bind(id).fetch_optional(conn).await;
    }
    // PostgreSQL locks no row on the outer side of a join: the employee row here, then the
    // membership by itself, then the read again (the membership may have gone meanwhile).
    let locked: Option<Option<i64>> =
        crate::db::query_scalar(tables.sql("select user_id from {employees} where id = $1 for update"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(Some(user_id)) = locked {
        crate::db::query(
            "select 1 from public.store_memberships where user_id = $1 and store_id = $2 for update",
        )
        .bind(user_id)
        .bind(store_id)
        .execute(&mut *conn)
        .await?;
    }
    crate::db::query_as(tables.sql(by_id!())).bind(store_id).bind(id).fetch_optional(conn).await
}

/// An employee's editable state, written whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeState {
    /// A role code of the store.
    pub role: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub position: String,
    pub sex: Option<String>,
    pub is_active: bool,
    pub hired_at: NaiveDate,
}

impl From<&EmployeeRow> for EmployeeState {
    fn from(row: &EmployeeRow) -> Self {
        EmployeeState {
            role: row.role.clone(),
            first_name: row.first_name.clone(),
            last_name: row.last_name.clone(),
            phone: row.phone.clone(),
            position: row.position.clone(),
            sex: row.sex.clone(),
            is_active: row.is_active,
            hired_at: row.hired_at,
        }
    }
}

/// Writes `state` to employee `id` and mirrors role and status into the membership that
/// grants access to store `store_id`, in the caller's transaction.
#[tracing::instrument(skip_all, fields(store.id = store_id, employee.id = id), err)]
pub async fn update_staff_member(
    tables: &StoreTables,
    conn: &mut PgConnection,
    store_id: i64,
    id: i64,
    state: &EmployeeState,
) -> sqlx::Result<EmployeeRow> {
    let row: EmployeeRow = crate::db::query_as(tables.sql(concat!(
        "update {employees} e set role = $2, first_name = $3, last_name = $4, phone = $5, position = $6,
             is_active = $7, hired_at = $8, sex = $9, updated_at = now()
         where e.id = $1 returning ",
        employee_columns!()
    )))
    .bind(id)
    .bind(&state.role)
    .bind(&state.first_name)
    .bind(&state.last_name)
    .bind(&state.phone)
    .bind(&state.position)
    .bind(state.is_active)
    .bind(state.hired_at)
    .bind(state.sex.as_deref())
    .fetch_one(&mut *conn)
    .await?;
    // No membership row matches an employee without an account.
    crate::db::query(
        "update public.store_memberships set role = $3, is_active = $4, updated_at = now()
         where user_id = $1 and store_id = $2",
    )
    .bind(row.user_id)
    .bind(store_id)
    .bind(&state.role)
    .bind(state.is_active)
    .execute(conn)
    .await?;
    Ok(row)
}

/// Takes employee `id` off the staff of store `store_id`: the membership goes, the employee
/// row stays, inactive and marked removed, for the history that refers to it.
#[tracing::instrument(skip_all, fields(store.id = store_id, employee.id = id), err)]
pub async fn remove_staff_member(
    tables: &StoreTables,
    conn: &mut PgConnection,
    store_id: i64,
    id: i64,
) -> sqlx::Result<()> {
    let user_id: Option<i64> = crate::db::query_scalar(tables.sql(
        "update {employees} set is_active = false, removed_at = now(), updated_at = now()
         where id = $1 returning user_id",
    ))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    crate::db::query("delete from public.store_memberships where user_id = $1 and store_id = $2")
        .bind(user_id)
        .bind(store_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Gives employee `id` (who has none) the account `user_id`, a member of store `store_id`
/// with the employee's role and status.
#[tracing::instrument(skip_all, fields(store.id = store_id, employee.id = id, user.id = user_id), err)]
pub async fn attach_account(
    tables: &StoreTables,
    conn: &mut PgConnection,
    store_id: i64,
    id: i64,
    user_id: i64,
) -> sqlx::Result<EmployeeRow> {
    let row: EmployeeRow = crate::db::query_as(tables.sql(concat!(
        "update {employees} e set user_id = $2, updated_at = now() where e.id = $1 and e.user_id is null returning ",
        employee_columns!()
    )))
    .bind(id)
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    crate::db::query(
        "insert into public.store_memberships (user_id, store_id, role, is_active) values ($1, $2, $3, $4)",
    )
    .bind(user_id)
    .bind(store_id)
    .bind(&row.role)
    .bind(row.is_active)
    .execute(conn)
    .await?;
    Ok(row)
}

/// The id of the account named `username` (in any letter case, never a look-alike).
#[tracing::instrument(skip_all, err)]
pub async fn find_account_id(conn: &mut PgConnection, username: &str) -> sqlx::Result<Option<i64>> {
    crate::db::query_scalar("select id from public.users where lower(username) = lower($1)")
        .bind(username)
        .fetch_optional(conn)
        .await
}

/// Whether account `user_id` has a membership (active or not) in store `store_id`.
#[tracing::instrument(skip_all, fields(store.id = store_id, user.id = user_id), err)]
pub async fn is_member(conn: &mut PgConnection, user_id: i64, store_id: i64) -> sqlx::Result<bool> {
    crate::db::query_scalar(
        "select exists (select 1 from public.store_memberships where user_id = $1 and store_id = $2)",
    )
    .bind(user_id)
    .bind(store_id)
    .fetch_one(conn)
    .await
}

/// Puts account `new.user_id` on the staff of the store of `tables`:
/// a new employee row, or, when they worked here before and were removed, their old row
/// back, active, with the new role and profile (one row per account and store).
#[tracing::instrument(skip_all, fields(user.id = new.user_id, role = new.role), err)]
pub async fn rejoin_employee(
    tables: &StoreTables,
    conn: &mut PgConnection,
    new: &NewEmployee<'_>,
) -> sqlx::Result<EmployeeRow> {
    let sql = tables.sql(concat!(
        "insert into {employees} as e (user_id, role, first_name, last_name, phone, position, sex, hired_at)
         values ($1, $2, $3, $4, $5, $6, $7, coalesce($8, current_date))
         on conflict on constraint employees_user_id_key do update
             set role = excluded.role, phone = excluded.phone, position = excluded.position,
                 sex = excluded.sex, hired_at = excluded.hired_at, is_active = true, removed_at = null,
                 -- The proposed row's default, now(): Citus refuses functions that are not
                 -- immutable in DO UPDATE SET on a store's tables.
                 updated_at = excluded.updated_at
         returning ",
        employee_columns!()
    ));
    write_employee(conn, sql, new).await
}

/// Runs `sql`, an insert into the employees that returns the row written, with `$1`…`$8`
/// bound to `new`'s account, role, first and last name, phone, position, sex and hire date.
async fn write_employee(
    conn: &mut PgConnection,
    sql: sqlx::AssertSqlSafe<String>,
    new: &NewEmployee<'_>,
) -> sqlx::Result<EmployeeRow> {
    crate::db::query_as(sql)
        .bind(new.user_id)
        .bind(new.role)
        .bind(new.first_name)
        .bind(new.last_name)
        .bind(new.phone)
        .bind(new.position)
        .bind(new.sex)
        .bind(new.hired_at)
        .fetch_one(conn)
        .await
}

/// Makes `user_id` a member of `store_id` in `role`.
#[tracing::instrument(skip_all, fields(user.id = user_id, role = role), err)]
pub async fn insert_membership(
    conn: &mut PgConnection,
    user_id: i64,
    store_id: i64,
    role: &str,
) -> sqlx::Result<()> {
    crate::db::query("insert into public.store_memberships (user_id, store_id, role) values ($1, $2, $3)")
        .bind(user_id)
        .bind(store_id)
        .bind(role)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Sets employee `id`'s PIN hash for the store's tills (docs/contract.md §11); whether they had one. A
/// new PIN starts with no failures.
#[tracing::instrument(skip_all, fields(employee.id = id), err)]
pub async fn set_pin(
    tables: &StoreTables,
    conn: &mut PgConnection,
    id: i64,
    pin_hash: &str,
) -> sqlx::Result<bool> {
    // `xmax <> 0` on the returned row: it was updated, so a PIN was there before.
    // `excluded.set_at` is the proposed row's default, now(): Citus refuses functions that
    // are not immutable in DO UPDATE SET on a store's tables.
    crate::db::query_scalar(tables.sql(
        "insert into {employee_pins} (employee_id, pin_hash) values ($1, $2)
         on conflict (employee_id) do update
             set pin_hash = excluded.pin_hash, set_at = excluded.set_at, failures = 0, failures_since = null
         returning xmax <> 0",
    ))
    .bind(id)
    .bind(pin_hash)
    .fetch_one(conn)
    .await
}

/// Clears employee `id`'s PIN; whether they had one.
#[tracing::instrument(skip_all, fields(employee.id = id), err)]
pub async fn clear_pin(tables: &StoreTables, conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    crate::db::query(tables.sql("delete from {employee_pins} where employee_id = $1"))
        .bind(id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() > 0)
}

/// Ends the sessions employee `id` opened by PIN on store `store_id`'s tills, after their
/// PIN was set, replaced or cleared (in the same transaction, after the PIN's row: a PIN
/// sign-in holds that row until it commits, so its session is here to be ended).
#[tracing::instrument(skip_all, fields(employee.id = id), err)]
pub async fn revoke_pin_sessions(
    tables: &StoreTables,
    conn: &mut PgConnection,
    store_id: i64,
    id: i64,
) -> sqlx::Result<u64> {
    crate::db::query(tables.sql(
        "update public.sessions set revoked_at = now()
         where store_id = $1 and device_id is not null and revoked_at is null
           and user_id = (select user_id from {employees} where id = $2)",
    ))
    .bind(store_id)
    .bind(id)
    .execute(conn)
    .await
    .map(|done| done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(like_pattern("ив"), "%ив%");
        assert_eq!(like_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }
}
