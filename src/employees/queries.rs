//! SQL for the tenant `employees` table. Every query runs on a connection whose
//! transaction-local `search_path` is the store's schema alone, so table names are bare.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::roles::Role;

/// An employee row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmployeeRow {
    pub id: i64,
    pub user_id: i64,
    pub role: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub position: String,
    pub is_active: bool,
    pub hired_at: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl EmployeeRow {
    /// The role; rows are constrained to the four roles, so anything else is a bug.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Cashier)
    }
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
}

/// Adds an employee to the store whose schema the transaction is in.
#[tracing::instrument(skip_all, fields(user.id = new.user_id, role = %new.role), err)]
pub async fn insert_employee(conn: &mut PgConnection, new: &NewEmployee<'_>) -> sqlx::Result<EmployeeRow> {
    sqlx::query_as(
        "insert into employees (user_id, role, first_name, last_name, phone, position)
         values ($1, $2, $3, $4, $5, $6)
         returning id, user_id, role, first_name, last_name, phone, position, is_active, hired_at, created_at",
    )
    .bind(new.user_id)
    .bind(new.role.as_str())
    .bind(new.first_name)
    .bind(new.last_name)
    .bind(new.phone)
    .bind(new.position)
    .fetch_one(conn)
    .await
}

/// The employee row of `user_id` in the store whose schema the transaction is in.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn find_employee_by_user(
    conn: &mut PgConnection,
    user_id: i64,
) -> sqlx::Result<Option<EmployeeRow>> {
    sqlx::query_as(
        "select id, user_id, role, first_name, last_name, phone, position, is_active, hired_at, created_at
         from employees where user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await
}
