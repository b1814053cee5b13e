//! SQL for the store registry (`public.stores`) and memberships (`public.store_memberships`).

use sqlx::{AssertSqlSafe, PgConnection};

use crate::access::StoreRole;
use crate::db::schema::SchemaName;
use crate::registry::StoreDetails;

/// The registry columns, named once so every query selects the same shape (no `select *`:
/// docs/contract.md §2).
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
            "require_2fa_from_rank, ",
            $prefix,
            "created_at, ",
            $prefix,
            "updated_at"
        )
    };
}

/// A store seen by one of its members: the registry row plus the member's role and counts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberStoreRow {
    #[sqlx(flatten)]
    pub store: StoreDetails,
    /// The member's role as the store defines it (`public.store_role`).
    #[sqlx(flatten)]
    pub role: StoreRole,
    pub owner_name: String,
    pub employee_count: i64,
    pub active_employee_count: i64,
}

/// A store's editable fields: each a `String` in a whole profile ([`StoreProfile`]), an
/// `Option` in a change ([`StoreChanges`]).
#[derive(Debug, Clone, Default)]
pub struct StoreFields<T> {
    pub name: T,
    pub description: T,
    pub address: T,
    pub city: T,
    pub region: T,
    pub phone: T,
    pub email: T,
    pub legal_name: T,
    pub tax_id: T,
}

/// The editable fields of a new store.
pub type StoreProfile = StoreFields<String>;

/// A change to a store's profile; `None` keeps the current value.
pub type StoreChanges = StoreFields<Option<String>>;

/// The columns of [`StoreFields`], in the order [`bind_store_fields`] binds them.
macro_rules! store_field_columns {
    () => {
        "name, description, address, city, region, phone, email, legal_name, tax_id"
    };
}

/// Binds the fields of a [`StoreFields`] as the next nine parameters, in the order of
/// [`store_field_columns`].
macro_rules! bind_store_fields {
    ($query:expr, $fields:expr) => {
        $query
            .bind(&$fields.name)
            .bind(&$fields.description)
            .bind(&$fields.address)
            .bind(&$fields.city)
            .bind(&$fields.region)
            .bind(&$fields.phone)
            .bind(&$fields.email)
            .bind(&$fields.legal_name)
            .bind(&$fields.tax_id)
    };
}

/// True when neither the slug nor the schema it maps to is used, by a store or by any
/// schema at all (a leftover schema must never be adopted by a new store).
#[tracing::instrument(skip_all, fields(store.slug = slug), err)]
pub async fn is_slug_free(conn: &mut PgConnection, slug: &str, schema_name: &str) -> sqlx::Result<bool> {
    crate::db::query_scalar(
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
    crate::db::query("select pg_advisory_xact_lock(hashtextextended('kassa.store-slug:' || $1, 0))")
        .bind(base)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The highest `-<n>` suffix a store's slug carries on `base` (`base-2`, `base-17`, …);
/// `None` when there is none.
#[tracing::instrument(skip_all, fields(store.slug = base), err)]
pub async fn highest_slug_suffix(conn: &mut PgConnection, base: &str) -> sqlx::Result<Option<i64>> {
    crate::db::query_scalar(
        "select max(substring(slug from length($1) + 2)::bigint) from public.stores
         where slug like $1 || '-%' and substring(slug from length($1) + 2) ~ '^[0-9]{1,9}$'",
    )
    .bind(base)
    .fetch_one(conn)
    .await
}

/// Creates the empty schema of a new store; its tables are the tenant migrations' work.
#[tracing::instrument(skip_all, fields(schema = schema.as_str()), err)]
pub async fn create_schema(conn: &mut PgConnection, schema: &SchemaName) -> sqlx::Result<()> {
    sqlx::raw_sql(AssertSqlSafe(format!("create schema {}", schema.quoted()))).execute(conn).await.map(|_| ())
}

/// Holds the account `owner_id` against other store creations until the transaction ends,
/// so counting its stores and adding one cannot interleave with a parallel creation. `no key
/// update`: sign-ins (foreign keys into `users`) are not held up by it.
#[tracing::instrument(skip_all, fields(user.id = owner_id), err)]
pub async fn lock_owner_for_new_store(conn: &mut PgConnection, owner_id: i64) -> sqlx::Result<()> {
    crate::db::query("select 1 from public.users where id = $1 for no key update")
        .bind(owner_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// How many stores `owner_id` owns, deactivated ones included (they can come back).
/// Run after [`lock_owner_for_new_store`], in a statement of its own: a statement that waited
/// for the lock would still count with the snapshot it started with.
#[tracing::instrument(skip_all, fields(user.id = owner_id), err)]
pub async fn count_owned_stores(conn: &mut PgConnection, owner_id: i64) -> sqlx::Result<i64> {
    crate::db::query_scalar("select count(*) from public.stores where owner_id = $1")
        .bind(owner_id)
        .fetch_one(conn)
        .await
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
) -> sqlx::Result<StoreDetails> {
    let insert = crate::db::query_as(concat!(
        "insert into public.stores (",
        store_field_columns!(),
        ", slug, tenant_key, schema_name, owner_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         returning ",
        store_columns!("")
    ));
    bind_store_fields!(insert, profile)
        .bind(slug)
        .bind(tenant_key)
        .bind(schema_name)
        .bind(owner_id)
        .fetch_one(conn)
        .await
}

/// The part of every member-store query after the select list.
macro_rules! member_stores_from {
    () => {
        ", m.role, r.role_name, r.role_rank, r.role_permissions,
           trim(o.first_name || ' ' || o.last_name) as owner_name,
           (select count(*) from public.store_memberships c where c.store_id = s.id) as employee_count,
           (select count(*) from public.store_memberships c where c.store_id = s.id and c.is_active)
               as active_employee_count
         from public.store_memberships m
         join public.stores s on s.id = m.store_id
         join public.users o on o.id = s.owner_id
         left join lateral public.store_role(s.schema_name, m.role) r on true
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

/// The stores where `user_id` actively works, newest first (by the store's creation): the
/// apps open the first one at sign-in, and a person's newest store is where they went to
/// work last.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn list_member_stores(
    conn: &mut PgConnection,
    user_id: i64,
    filter: StoreFilter,
) -> sqlx::Result<Vec<MemberStoreRow>> {
    crate::db::query_as(concat!(
        "select ",
        store_columns!("s."),
        member_stores_from!(),
        " and (s.is_active or $2) order by s.created_at desc, s.id desc"
    ))
    .bind(user_id)
    .bind(filter == StoreFilter::IncludingDeactivated)
    .fetch_all(conn)
    .await
}

/// Store `store_id`, its row held until the transaction ends.
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn lock_store(conn: &mut PgConnection, store_id: i64) -> sqlx::Result<Option<StoreDetails>> {
    crate::db::query_as(concat!(
        "select ",
        store_columns!(""),
        " from public.stores where id = $1 for update"
    ))
    .bind(store_id)
    .fetch_optional(conn)
    .await
}

/// Store `store_id` if `user_id` works there.
#[tracing::instrument(skip_all, fields(user.id = user_id, store.id = store_id), err)]
pub async fn find_member_store(
    conn: &mut PgConnection,
    user_id: i64,
    store_id: i64,
) -> sqlx::Result<Option<MemberStoreRow>> {
    crate::db::query_as(concat!("select ", store_columns!("s."), member_stores_from!(), " and s.id = $2"))
        .bind(user_id)
        .bind(store_id)
        .fetch_optional(conn)
        .await
}

/// Applies `changes` to store `store_id`, and makes it active or not when `is_active` says.
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn update_store(
    conn: &mut PgConnection,
    store_id: i64,
    changes: &StoreChanges,
    is_active: Option<bool>,
) -> sqlx::Result<()> {
    // `$1`…`$9` are the fields in `bind_store_fields` order.
    let update = crate::db::query(
        "update public.stores set
             name = coalesce($1, name), description = coalesce($2, description),
             address = coalesce($3, address), city = coalesce($4, city), region = coalesce($5, region),
             phone = coalesce($6, phone), email = coalesce($7, email),
             legal_name = coalesce($8, legal_name), tax_id = coalesce($9, tax_id),
             is_active = coalesce($11, is_active), updated_at = now()
         where id = $10",
    );
    bind_store_fields!(update, changes).bind(store_id).bind(is_active).execute(conn).await.map(|_| ())
}

/// Sets store `store_id`'s two-step sign-in policy (docs/contract.md §16); `None` turns it off.
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn set_two_factor_policy(
    conn: &mut PgConnection,
    store_id: i64,
    from_rank: Option<i16>,
) -> sqlx::Result<()> {
    crate::db::query("update public.stores set require_2fa_from_rank = $2, updated_at = now() where id = $1")
        .bind(store_id)
        .bind(from_rank)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Deactivates store `store_id`; its schema and rows stay (docs/contract.md §6).
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn deactivate_store(conn: &mut PgConnection, store_id: i64) -> sqlx::Result<()> {
    crate::db::query("update public.stores set is_active = false, updated_at = now() where id = $1")
        .bind(store_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Brings back deactivated store `store_id`, as it was.
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn activate_store(conn: &mut PgConnection, store_id: i64) -> sqlx::Result<()> {
    crate::db::query("update public.stores set is_active = true, updated_at = now() where id = $1")
        .bind(store_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The schemas of the stores `user_id` is a member of (active or not), oldest first.
#[tracing::instrument(skip_all, fields(user.id = user_id), err)]
pub async fn member_store_schemas(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<String>> {
    crate::db::query_scalar(
        "select s.schema_name from public.store_memberships m join public.stores s on s.id = m.store_id
         where m.user_id = $1 order by s.id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// A store as the operator's fleet commands show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoreOverview {
    pub id: i64,
    pub name: String,
    pub tenant_key: String,
    pub slug: String,
    pub schema_name: String,
    pub owner_username: String,
    pub is_active: bool,
    /// The highest tenant migration in the schema's ledger; none when the schema or its
    /// ledger is missing.
    pub version: Option<i64>,
}

/// `select … from stores` with each schema's ledger version, read in the same statement:
/// `query_to_xml` runs the per-schema query inside PostgreSQL, so 10,000 stores cost one
/// round trip, and `to_regclass` skips schemas whose ledger is gone.
macro_rules! overview_select {
    () => {
        "select s.id, s.name, s.tenant_key, s.slug, s.schema_name, u.username as owner_username, s.is_active,
                case when to_regclass(quote_ident(s.schema_name) || '.schema_migrations') is null then null
                     else (xpath('/row/v/text()', query_to_xml(
                         format('select max(version) as v from %I.schema_migrations', s.schema_name),
                         false, true, '')))[1]::text::bigint
                end as version
         from public.stores s join public.users u on u.id = s.owner_id"
    };
}

/// Every store with its schema's migration version, oldest first.
#[tracing::instrument(skip_all, err)]
pub async fn fleet_overview(pool: &sqlx::PgPool) -> sqlx::Result<Vec<StoreOverview>> {
    crate::db::query_as(concat!(overview_select!(), " order by s.id")).fetch_all(pool).await
}

/// The store whose tenant key is `key`, active or not.
#[tracing::instrument(skip_all, err)]
pub async fn find_overview_by_key(pool: &sqlx::PgPool, key: &str) -> sqlx::Result<Option<StoreOverview>> {
    crate::db::query_as(concat!(overview_select!(), " where s.tenant_key = $1"))
        .bind(key)
        .fetch_optional(pool)
        .await
}

/// The store whose tenant key, or else whose slug, is `key_or_slug`, active or not. A key
/// wins when both match (a slug may be spelt like another store's key).
#[tracing::instrument(skip_all, err)]
pub async fn find_overview_by_key_or_slug(
    pool: &sqlx::PgPool,
    key_or_slug: &str,
) -> sqlx::Result<Option<StoreOverview>> {
    crate::db::query_as(concat!(
        overview_select!(),
        " where s.tenant_key = $1 or s.slug = $1 order by s.tenant_key = $1 desc limit 1"
    ))
    .bind(key_or_slug)
    .fetch_optional(pool)
    .await
}

/// Store `store_id`'s rows in the public registry as SQL that recreates them: its members'
/// (and owner's) accounts, the store, the memberships. PostgreSQL quotes every value
/// (`format('%L')`). Rows that exist are left alone (`on conflict do nothing`), and the
/// identity sequences are moved past the restored ids.
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn registry_rows_as_sql(pool: &sqlx::PgPool, store_id: i64) -> sqlx::Result<String> {
    let statements: Vec<String> = crate::db::query_scalar(
        "with people as (
             select user_id as id from public.store_memberships where store_id = $1
             union select owner_id from public.stores where id = $1)
         (select format('insert into public.users (id, username, password_hash, first_name, last_name, email, phone, is_active, must_change_password, created_at, updated_at) overriding system value values (%s, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L) on conflict do nothing;',
                       u.id, u.username, u.password_hash, u.first_name, u.last_name, u.email, u.phone,
                       u.is_active, u.must_change_password, u.created_at, u.updated_at)
          from public.users u join people p on p.id = u.id order by u.id)
         union all
         select format('insert into public.stores (id, name, slug, tenant_key, schema_name, owner_id, description, address, city, region, phone, email, legal_name, tax_id, is_active, created_at, updated_at) overriding system value values (%s, %L, %L, %L, %L, %s, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L) on conflict do nothing;',
                       s.id, s.name, s.slug, s.tenant_key, s.schema_name, s.owner_id, s.description, s.address,
                       s.city, s.region, s.phone, s.email, s.legal_name, s.tax_id, s.is_active, s.created_at,
                       s.updated_at)
         from public.stores s where s.id = $1
         union all
         (select format('insert into public.store_memberships (user_id, store_id, role, is_active, created_at, updated_at) values (%s, %s, %L, %L, %L, %L) on conflict do nothing;',
                       m.user_id, m.store_id, m.role, m.is_active, m.created_at, m.updated_at)
          from public.store_memberships m where m.store_id = $1 order by m.user_id)
         union all
         select format('insert into public.staff_accounts (store_id, user_id, password_ciphertext, created_at, password_changed_at) values (%s, %s, %L, %L, %L) on conflict do nothing;',
                       a.store_id, a.user_id, a.password_ciphertext, a.created_at, a.password_changed_at)
         from public.staff_accounts a where a.store_id = $1
         union all
         select format('select setval(pg_get_serial_sequence(%L, ''id''), (select max(id) from %s));',
                       'public.' || t, 'public.' || t)
         from unnest(array['users', 'stores']) t",
    )
    .bind(store_id)
    .fetch_all(pool)
    .await?;
    Ok(statements.join("\n") + "\n")
}

/// Deletes everything of store `store_id` in `public` (its schema is the caller's): the
/// sessions opened on its tills and by its shared staff account, its tills, its pairing
/// codes, its memberships and its registry row, in that order (each points at the next).
/// The accounts stay; the store's shared staff account is switched off first, since it
/// belongs to that store alone (its link goes with the registry row).
#[tracing::instrument(skip_all, fields(store.id = store_id), err)]
pub async fn delete_store_rows(conn: &mut PgConnection, store_id: i64) -> sqlx::Result<()> {
    const DELETES: [&str; 6] = [
        "update public.users set is_active = false
         where id in (select user_id from public.staff_accounts where store_id = $1)",
        // `store_id` is copied onto till sessions without a foreign key; `device_id` has one.
        "delete from public.sessions
         where store_id = $1 or device_id in (select id from public.devices where store_id = $1)",
        "delete from public.devices where store_id = $1",
        "delete from public.pairing_codes where store_id = $1",
        "delete from public.store_memberships where store_id = $1",
        "delete from public.stores where id = $1",
    ];
    for delete in DELETES {
        crate::db::query(delete).bind(store_id).execute(&mut *conn).await?;
    }
    Ok(())
}
