//! SQL for the tenant `employees` table. Every query runs on a connection whose
//! transaction-local `search_path` is the store's schema alone, so tenant tables are bare and
//! `public` tables are named in full.
//!
//! An employee is on the staff while their membership in `public.store_memberships` exists;
//! removal deletes the membership and keeps the (inactive) employee row for history, so
//! reads join the membership. Columns are always named (SPEC §2: stores sit at different
//! tenant-migration versions during a rollout).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, FromRow, PgConnection};

use crate::db::inline::Inline;
use crate::db::page::Counted;
use crate::roles::Role;

/// An employee row as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EmployeeRow {
    pub id: i64,
    pub user_id: i64,
    /// Decoded strictly: a stored name outside the four roles fails the read (a 500),
    /// never a guessed role.
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub position: String,
    pub is_active: bool,
    pub hired_at: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`EmployeeRow`], qualified with `e.`.
macro_rules! employee_columns {
    () => {
        "e.id, e.user_id, e.role, e.first_name, e.last_name, e.phone, e.position, e.is_active, e.hired_at, \
         e.created_at, e.updated_at"
    };
}

/// A member of staff: their employee row and the account fields shown with it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffMember {
    #[sqlx(flatten)]
    pub employee: EmployeeRow,
    pub username: String,
    pub email: String,
}

/// What a new employee row holds.
#[derive(Debug, Clone)]
pub struct NewEmployee<'a> {
    pub user_id: i64,
    pub role: Role,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone: &'a str,
    pub position: &'a str,
    /// Today when absent.
    pub hired_at: Option<NaiveDate>,
}

/// Adds an employee to the store whose schema the transaction is in.
#[tracing::instrument(skip_all, fields(user.id = new.user_id, role = %new.role), err)]
pub async fn insert_employee(conn: &mut PgConnection, new: &NewEmployee<'_>) -> sqlx::Result<EmployeeRow> {
    crate::db::query_as(concat!(
        "insert into employees as e (user_id, role, first_name, last_name, phone, position, hired_at)
         values ($1, $2, $3, $4, $5, $6, coalesce($7, current_date))
         returning ",
        employee_columns!()
    ))
    .bind(new.user_id)
    .bind(new.role)
    .bind(new.first_name)
    .bind(new.last_name)
    .bind(new.phone)
    .bind(new.position)
    .bind(new.hired_at)
    .fetch_one(conn)
    .await
}

/// The statement reading the employee row of `user_id` in the store whose schema the
/// transaction is in; its one value is [`Inline`], so it also serves one-round-trip reads.
#[must_use]
pub fn employee_of_user_sql(user_id: i64) -> String {
    format!(
        concat!("select ", employee_columns!(), " from employees e where e.user_id = {}"),
        user_id.inline()
    )
}

/// The employee row of `user_id` in the store whose schema the transaction is in.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn find_employee_by_user(
    conn: &mut PgConnection,
    user_id: i64,
) -> sqlx::Result<Option<EmployeeRow>> {
    let row = sqlx::raw_sql(AssertSqlSafe(employee_of_user_sql(user_id))).fetch_optional(&mut *conn).await?;
    row.as_ref().map(EmployeeRow::from_row).transpose()
}

/// Which employees a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmployeeFilter {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    /// Matched case-insensitively anywhere in the username, the names, or "first last".
    pub search: Option<String>,
}

/// `from …` of every staff read: the employee, their account, and their membership, which
/// the query restricts to one store (`m.store_id = …`; removed employees have none).
macro_rules! staff_from {
    () => {
        "from employees e
         join public.users u on u.id = e.user_id
         join public.store_memberships m on m.user_id = e.user_id"
    };
}

/// One page of the staff list: the statement that reads it, with every value written in
/// ([`Inline`]) except the search pattern, which is always the bound parameter `$1`.
/// Without a search the page is therefore read in one round trip with the caller check
/// ([`crate::tenant::read`]); with one it runs on a [`crate::tenant::conn::TenantConn`].
#[derive(Debug, Clone)]
pub struct StaffPage<'a> {
    pub store_id: i64,
    pub filter: &'a EmployeeFilter,
    pub limit: i64,
    pub offset: i64,
}

impl StaffPage<'_> {
    /// Whether the statement carries a bound parameter (the search pattern).
    #[must_use]
    pub fn has_search(&self) -> bool {
        self.filter.search.is_some()
    }

    /// The page, newest first (the peer's order; `id` breaks ties so pages never overlap),
    /// each row a [`Counted`] [`StaffMember`].
    #[must_use]
    pub fn select_sql(&self) -> String {
        format!(
            concat!(
                "select ",
                employee_columns!(),
                ", u.username, u.email, count(*) over () as total {} order by e.created_at desc, e.id desc limit {} offset {}"
            ),
            self.matches_sql(),
            self.limit.inline(),
            self.offset.inline()
        )
    }

    fn matches_sql(&self) -> String {
        let mut sql = format!(concat!(staff_from!(), " where m.store_id = {}"), self.store_id.inline());
        if let Some(role) = self.filter.role {
            sql.push_str(&format!(" and e.role = {}", role.inline()));
        }
        if let Some(is_active) = self.filter.is_active {
            sql.push_str(&format!(" and e.is_active = {}", is_active.inline()));
        }
        if self.has_search() {
            sql.push_str(
                " and (u.username ilike $1 or e.first_name ilike $1 or e.last_name ilike $1
                       or (e.first_name || ' ' || e.last_name) ilike $1)",
            );
        }
        sql
    }

    /// The page and the count of matches, on a connection in the store's schema, with the
    /// search pattern bound.
    #[tracing::instrument(skip_all, fields(store.id = self.store_id), err)]
    pub async fn fetch(&self, conn: &mut PgConnection) -> sqlx::Result<(Vec<StaffMember>, i64)> {
        // The text varies with the store, the filters and the page: no place in the
        // statement cache.
        let mut select = crate::db::query_as(AssertSqlSafe(self.select_sql())).persistent(false);
        if let Some(search) = &self.filter.search {
            select = select.bind(like_pattern(search));
        }
        Ok(Counted::split(select.fetch_all(conn).await?))
    }
}

/// `%text%` for ILIKE, with the user's own `%`, `_` and `\` matched literally.
fn like_pattern(text: &str) -> String {
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

/// Employee `id` of store `store_id`, if still on the staff. With `lock`, the row is locked
/// until the transaction ends, so concurrent changes to one employee apply one after another.
#[tracing::instrument(skip_all, fields(store.id = store_id, employee.id = id), err)]
pub async fn find_staff_member(
    conn: &mut PgConnection,
    store_id: i64,
    id: i64,
    lock: bool,
) -> sqlx::Result<Option<StaffMember>> {
    macro_rules! by_id {
        () => {
            concat!(
                "select ",
                employee_columns!(),
                ", u.username, u.email ",
                staff_from!(),
                " where m.store_id = $1 and e.id = $2"
            )
        };
    }
    let query = if lock { concat!(by_id!(), " for update of e, m") } else { by_id!() };
    crate::db::query_as(query).bind(store_id).bind(id).fetch_optional(conn).await
}

/// An employee's editable state, written whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeState {
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub position: String,
    pub is_active: bool,
    pub hired_at: NaiveDate,
}

impl From<&EmployeeRow> for EmployeeState {
    fn from(row: &EmployeeRow) -> Self {
        EmployeeState {
            role: row.role,
            first_name: row.first_name.clone(),
            last_name: row.last_name.clone(),
            phone: row.phone.clone(),
            position: row.position.clone(),
            is_active: row.is_active,
            hired_at: row.hired_at,
        }
    }
}

/// Writes `state` to employee `id` and mirrors role and status into the membership that
/// grants access to store `store_id`, in the caller's transaction.
#[tracing::instrument(skip_all, fields(store.id = store_id, employee.id = id), err)]
pub async fn update_staff_member(
    conn: &mut PgConnection,
    store_id: i64,
    id: i64,
    state: &EmployeeState,
) -> sqlx::Result<EmployeeRow> {
    let row: EmployeeRow = crate::db::query_as(concat!(
        "update employees e set role = $2, first_name = $3, last_name = $4, phone = $5, position = $6,
             is_active = $7, hired_at = $8, updated_at = now()
         where e.id = $1 returning ",
        employee_columns!()
    ))
    .bind(id)
    .bind(state.role)
    .bind(&state.first_name)
    .bind(&state.last_name)
    .bind(&state.phone)
    .bind(&state.position)
    .bind(state.is_active)
    .bind(state.hired_at)
    .fetch_one(&mut *conn)
    .await?;
    crate::db::query(
        "update public.store_memberships set role = $3, is_active = $4, updated_at = now()
         where user_id = $1 and store_id = $2",
    )
    .bind(row.user_id)
    .bind(store_id)
    .bind(state.role)
    .bind(state.is_active)
    .execute(conn)
    .await?;
    Ok(row)
}

/// Takes employee `id` off the staff of store `store_id`: the membership goes, the employee
/// row stays, inactive, for the history that refers to it.
#[tracing::instrument(skip_all, fields(store.id = store_id, employee.id = id), err)]
pub async fn remove_staff_member(conn: &mut PgConnection, store_id: i64, id: i64) -> sqlx::Result<()> {
    let user_id: i64 = crate::db::query_scalar(
        "update employees set is_active = false, updated_at = now() where id = $1 returning user_id",
    )
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

/// Makes `user_id` a member of `store_id` in `role`.
#[tracing::instrument(skip_all, fields(user.id = user_id, role = %role), err)]
pub async fn insert_membership(
    conn: &mut PgConnection,
    user_id: i64,
    store_id: i64,
    role: Role,
) -> sqlx::Result<()> {
    crate::db::query("insert into public.store_memberships (user_id, store_id, role) values ($1, $2, $3)")
        .bind(user_id)
        .bind(store_id)
        .bind(role)
        .execute(conn)
        .await
        .map(|_| ())
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
