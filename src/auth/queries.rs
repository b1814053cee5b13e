//! The account writes and reads of `/auth/` beyond the credentials core: an owner with
//! their first store, and the caller as `me` (and `/profile/`) shows them.

use sqlx::PgConnection;
use sqlx::migrate::Migration;

use crate::access::RoleView;
use crate::auth::forms::{MeData, MeEmployee, MeResponse, MeStore, Registration, UserOut};
use crate::credentials::queries::{self, NewUser, UserRow};
use crate::db::error::ResultExt;
use crate::error::{ApiError, ApiResult};
use crate::i18n::current_lang;
use crate::registry::provision::{ProvisionedStore, StaffSeed, StoreOwner, provision_store};
use crate::staff::queries::{CALLER_EMPLOYEE_SQL, EmployeeRow};
use crate::tenant::TenantEcho;
use crate::tenant::conn::StoreScope;

/// Creates the owner's account and their first store (registry rows, schema, tenant tables,
/// owner's employee row, the store's shared staff account) inside the caller's transaction: all of it or, on any error,
/// nothing once the caller rolls back.
pub async fn insert_owner_with_store(
    tx: &mut PgConnection,
    registration: &Registration,
    password_hash: &str,
    tenant_migrations: &[Migration],
    staff: StaffSeed<'_>,
) -> ApiResult<(UserRow, ProvisionedStore)> {
    let user = queries::insert_user(
        tx,
        &NewUser {
            username: &registration.username,
            password_hash,
            first_name: &registration.first_name,
            last_name: &registration.last_name,
            email: &registration.email,
            phone: &registration.phone,
        },
    )
    .await
    .on_any_constraint(queries::USERNAME_CONSTRAINTS, |_| ApiError::UsernameTaken)?;
    let provisioned = provision_store(
        tx,
        &StoreOwner::from(&user),
        &registration.store,
        &registration.slug,
        tenant_migrations,
        staff,
    )
    .await?;
    Ok((user, provisioned))
}

/// What `me` and `profile` answer: the account, the store, the role and the employee row.
pub async fn caller_in_store(scope: StoreScope) -> ApiResult<MeResponse> {
    let read = scope.read_own_account::<EmployeeRow>(CALLER_EMPLOYEE_SQL, |statement| statement).await?;
    let employee = read.rows.into_iter().next();
    let (store, member) = (read.store, read.member);

    Ok(MeResponse {
        status: "success",
        data: MeData {
            user: UserOut::new(
                member.user_id,
                member.username,
                member.email,
                member.first_name,
                member.last_name,
            ),
            store: MeStore::from(&store),
            access: RoleView::new(&member.role, current_lang()),
            employee: employee.map(|row| MeEmployee::new(row, &member.role)),
        },
        tenant: TenantEcho::from(&store),
    })
}

/// The account a second step signs in, read as the password sign-in reads it (the session
/// it opens then proves its password hash is still this one).
pub async fn find_account(
    conn: &mut PgConnection,
    user_id: i64,
) -> sqlx::Result<Option<queries::UserForLogin>> {
    crate::db::query_as(
        "select id, username, first_name, last_name, email, password_hash, is_active, must_change_password
         from public.users where id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await
}
