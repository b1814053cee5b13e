//! SQL for the store registry (`public.stores`) and memberships (`public.store_memberships`).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::roles::Role;

/// The registry columns, named once so every query selects the same shape (no `select *`:
/// SPEC §2).
macro_rules! store_columns {
    ($prefix:literal) => {
        concat!(
            $prefix,
            "id, ",
            $prefix,
            "name, ",
            $prefix,
            "slug, ",
            $prefix,
            "tenant_key, ",
            $prefix,
            "schema_name, ",
            $prefix,
            "owner_id, ",
            $prefix,
            "description, ",
            $prefix,
            "address, ",
            $prefix,
            "city, ",
            $prefix,
            "region, ",
            $prefix,
            "phone, ",
            $prefix,
            "email, ",
            $prefix,
            "legal_name, ",
            $prefix,
            "tax_id, ",
            $prefix,
            "is_active, ",
            $prefix,
            "created_at, ",
            $prefix,
            "updated_at"
        )
    };
}

/// A store as registered.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoreRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub tenant_key: String,
    pub schema_name: String,
    pub owner_id: i64,
    pub description: String,
    pub address: String,
    pub city: String,
    pub region: String,
    pub phone: String,
    pub email: String,
    pub legal_name: String,
    pub tax_id: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A store seen by one of its members: the registry row plus the member's role and counts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberStoreRow {
    #[sqlx(flatten)]
    pub store: StoreRow,
    pub role: String,
    pub owner_name: String,
    pub employee_count: i64,
    pub active_employee_count: i64,
}

impl MemberStoreRow {
    /// The member's role; rows are constrained to the four roles.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Cashier)
    }
}

/// The editable contact fields of a store.
#[derive(Debug, Clone, Default)]
pub struct StoreProfile {
    pub name: String,
    pub description: String,
    pub address: String,
    pub city: String,
    pub region: String,
    pub phone: String,
    pub email: String,
    pub legal_name: String,
    pub tax_id: String,
}

/// A change to a store's profile; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct StoreChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub legal_name: Option<String>,
    pub tax_id: Option<String>,
}

/// True when neither the slug nor the schema it maps to is used, by a store or by any
/// schema at all (a leftover schema must never be adopted by a new store).
#[tracing::instrument(skip_all, fields(store.slug = slug), err)]
pub async fn is_slug_free(conn: &mut PgConnection, slug: &str, schema_name: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select not exists (select 1 from public.stores where slug = $1 or schema_name = $2)
            and not exists (select 1 from pg_namespace where nspname = $2)",
    )
    .bind(slug)
    .bind(schema_name)
    .fetch_one(conn)
    .await
}

/// Waits until no other transaction is choosing a slug from `base`; held until commit.
/// Registrations of same-named stores then pick `base`, `base-2`, … without colliding.
pub async fn lock_slug_base(conn: &mut PgConnection, base: &str) -> sqlx::Result<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('kassa.store-slug:' || $1, 0))")
        .bind(base)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Registers a store. Taken slugs, keys or schema names violate `stores_*_key`.
#[tracing::instrument(skip_all, fields(store.slug = slug), err)]
pub async fn insert_store(
    conn: &mut PgConnection,
    owner_id: i64,
    slug: &str,
    tenant_key: &str,
    schema_name: &str,
    profile: &StoreProfile,
) -> sqlx::Result<StoreRow> {
    sqlx::query_as(concat!(
        "insert into public.stores (name, slug, tenant_key, schema_name, owner_id, description, address, city,
             region, phone, email, legal_name, tax_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         returning ",
        store_columns!("")
    ))
    .bind(&profile.name)
    .bind(slug)
    .bind(tenant_key)
    .bind(schema_name)
    .bind(owner_id)
    .bind(&profile.description)
    .bind(&profile.address)
    .bind(&profile.city)
    .bind(&profile.region)
    .bind(&profile.phone)
    .bind(&profile.email)
    .bind(&profile.legal_name)
    .bind(&profile.tax_id)
    .fetch_one(conn)
    .await
}

/// Makes `user_id` a member of `store_id` in `role`.
#[tracing::instrument(skip_all, fields(user.id = user_id, role = %role), err)]
pub async fn insert_membership(
    conn: &mut PgConnection,
    user_id: i64,
    store_id: i64,
    role: Role,
) -> sqlx::Result<()> {
    sqlx::query("insert into public.store_memberships (user_id, store_id, role) values ($1, $2, $3)")
        .bind(user_id)
        .bind(store_id)
        .bind(role.as_str())
        .execute(conn)
        .await
        .map(|_| ())
}

/// The part of every member-store query after the select list.
macro_rules! member_stores_from {
    () => {
        ", m.role, trim(o.first_name || ' ' || o.last_name) as owner_name,
           (select count(*) from public.store_memberships c where c.store_id = s.id) as employee_count,
           (select count(*) from public.store_memberships c where c.store_id = s.id and c.is_active)
               as active_employee_count
         from public.store_memberships m
         join public.stores s on s.id = m.store_id
         join public.users o on o.id = s.owner_id
         where m.user_id = $1 and m.is_active"
    };
}

/// Which of a member's stores to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFilter {
    /// Active stores only: what a POS app may open.
    ActiveOnly,
    /// Deactivated ones too: what an owner manages.
    IncludingDeactivated,
}

/// The stores where `user_id` actively works, oldest first.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn list_member_stores(
    conn: &mut PgConnection,
    user_id: i64,
    filter: StoreFilter,
) -> sqlx::Result<Vec<MemberStoreRow>> {
    sqlx::query_as(concat!(
        "select ",
        store_columns!("s."),
        member_stores_from!(),
        " and (s.is_active or $2) order by s.created_at, s.id"
    ))
    .bind(user_id)
    .bind(filter == StoreFilter::IncludingDeactivated)
    .fetch_all(conn)
    .await
}

/// Store `store_id` if `user_id` works there.
#[tracing::instrument(skip_all, fields(user.id = user_id, store.id = store_id), err)]
pub async fn find_member_store(
    conn: &mut PgConnection,
    user_id: i64,
    store_id: i64,
) -> sqlx::Result<Option<MemberStoreRow>> {
    sqlx::query_as(concat!("select ", store_columns!("s."), member_stores_from!(), " and s.id = $2"))
        .bind(user_id)
        .bind(store_id)
        .fetch_optional(conn)
        .await
}

/// Applies `changes` to store `store_id`.
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn update_store(
    conn: &mut PgConnection,
    store_id: i64,
    changes: &StoreChanges,
) -> sqlx::Result<()> {
    sqlx::query(
        "update public.stores set
             name = coalesce($2, name), description = coalesce($3, description),
             address = coalesce($4, address), city = coalesce($5, city), region = coalesce($6, region),
             phone = coalesce($7, phone), email = coalesce($8, email),
             legal_name = coalesce($9, legal_name), tax_id = coalesce($10, tax_id), updated_at = now()
         where id = $1",
    )
    .bind(store_id)
    .bind(&changes.name)
    .bind(&changes.description)
    .bind(&changes.address)
    .bind(&changes.city)
    .bind(&changes.region)
    .bind(&changes.phone)
    .bind(&changes.email)
    .bind(&changes.legal_name)
    .bind(&changes.tax_id)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Deactivates store `store_id`; its schema and rows stay (SPEC §6).
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn deactivate_store(conn: &mut PgConnection, store_id: i64) -> sqlx::Result<()> {
    sqlx::query("update public.stores set is_active = false, updated_at = now() where id = $1")
        .bind(store_id)
        .execute(conn)
        .await
        .map(|_| ())
}
