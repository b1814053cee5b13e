//! Provisioning a store: registry rows, schema, tenant tables, the owner's employee row and
//! the store's shared staff account, all inside the caller's transaction (docs/contract.md §2: a failure leaves nothing behind).
//!
//! Order matters for Citus-style sharding later: the schema is created on its own before
//! any of its tables, and nothing in it points into `public`.

use sqlx::PgConnection;
use sqlx::migrate::Migration;

use crate::access::Role;
use crate::credentials::queries::UserRow;
use crate::db::error::ResultExt;
use crate::db::migrate::migrate_tenant_schema;
use crate::db::schema::SchemaName;
use crate::error::{ApiError, ApiResult};
use crate::random::random_hex;
use crate::registry::StoreDetails;
use crate::registry::queries::{self as store_queries, StoreProfile};
use crate::registry::slug;
use crate::registry::staff_account::{StaffCredentials, StaffPassword, create_staff_account};
use crate::secrets::SecretSealer;
use crate::staff::queries::{EmployeeRow, NewEmployee, insert_employee, insert_membership};

/// How the new store's slug is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlugChoice {
    /// Given by the user (already validated); a taken one is a 409 on `field`.
    Chosen { slug: String, field: &'static str },
    /// Made from the store's name; a taken one gets a `-<n>` suffix. `field` is reported in
    /// the rare race the suffix search cannot see (another store's chosen slug committing
    /// between our check and our insert).
    FromName { field: &'static str },
}

/// The owner-to-be, as their employee row will show them.
#[derive(Debug, Clone)]
pub struct StoreOwner<'a> {
    pub user_id: i64,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone: &'a str,
}

impl<'a> From<&'a UserRow> for StoreOwner<'a> {
    fn from(user: &'a UserRow) -> Self {
        StoreOwner {
            user_id: user.id,
            first_name: &user.first_name,
            last_name: &user.last_name,
            phone: &user.phone,
        }
    }
}

/// What the new store's shared staff account is made with: its password, hashed before the
/// transaction opened, and the sealer that keeps it readable for the owner.
#[derive(Clone, Copy)]
pub struct StaffSeed<'a> {
    pub password: &'a StaffPassword,
    pub sealer: &'a SecretSealer,
}

/// What provisioning created.
#[derive(Debug, Clone)]
pub struct ProvisionedStore {
    pub store: StoreDetails,
    pub owner_employee: EmployeeRow,
    /// The shared staff account, its password in the clear for the one answer that shows it.
    pub staff_credentials: StaffCredentials,
}

/// Creates a store owned by `owner`, inside the caller's open transaction: its registry row,
/// its schema, migrated, and its first rows, written through the new store's `StoreTables`.
pub async fn provision_store(
    tx: &mut PgConnection,
    owner: &StoreOwner<'_>,
    profile: &StoreProfile,
    choice: &SlugChoice,
    tenant_migrations: &[Migration],
    staff: StaffSeed<'_>,
) -> ApiResult<ProvisionedStore> {
    let started = std::time::Instant::now();
    let (slug, schema) = claim_slug(tx, &profile.name, choice).await?;
    let taken = || ApiError::SlugTaken { field: slug_field(choice) };
    let tenant_key = format!("{slug}_{}", random_hex(4));
    let store = store_queries::insert_store(tx, owner.user_id, &slug, &tenant_key, schema.as_str(), profile)
        .await
        .on_any_constraint(&["stores_slug_key", "stores_schema_name_key", "stores_tenant_key_key"], |_| {
            taken()
        })?;
    insert_membership(tx, owner.user_id, store.id, Role::Owner.as_str()).await?;
    store_queries::create_schema(tx, &schema).await?;
    migrate_tenant_schema(tx, &schema, tenant_migrations).await?;
    let tables = schema.tables();
    let owner_employee = insert_employee(
        &tables,
        tx,
        &NewEmployee {
            user_id: Some(owner.user_id),
            role: Role::Owner.as_str(),
            first_name: owner.first_name,
            last_name: owner.last_name,
            phone: owner.phone,
            position: "",
            sex: None,
            hired_at: None,
        },
    )
    .await?;
    let staff_credentials = create_staff_account(&tables, tx, &store, staff.password, staff.sealer).await?;
    tracing::info!(store.slug = %slug, store.schema = %schema, "provisioned a store");
    crate::http::metrics::METRICS.store_provisioned(started.elapsed());
    Ok(ProvisionedStore { store, owner_employee, staff_credentials })
}

fn slug_field(choice: &SlugChoice) -> &'static str {
    match choice {
        SlugChoice::Chosen { field, .. } | SlugChoice::FromName { field } => field,
    }
}

/// Picks the slug and schema, holding a transaction-scoped lock on the slug's base so that
/// concurrent registrations of same-named stores queue instead of colliding.
async fn claim_slug(
    tx: &mut PgConnection,
    name: &str,
    choice: &SlugChoice,
) -> ApiResult<(String, SchemaName)> {
    match choice {
        SlugChoice::Chosen { slug, field } => {
            store_queries::lock_slug_base(tx, slug).await?;
            let schema = SchemaName::for_slug(slug).map_err(|_| ApiError::SlugTaken { field })?;
            if store_queries::is_slug_free(tx, slug, schema.as_str()).await? {
                Ok((slug.clone(), schema))
            } else {
                Err(ApiError::SlugTaken { field })
            }
        }
        SlugChoice::FromName { .. } => {
            let base = slug::from_name(name);
            store_queries::lock_slug_base(tx, &base).await?;
            let mut attempt = 1;
            loop {
                let candidate = slug::candidate(&base, attempt);
                let schema = SchemaName::for_slug(&candidate).map_err(ApiError::internal)?;
                if store_queries::is_slug_free(tx, &candidate, schema.as_str()).await? {
                    return Ok((candidate, schema));
                }
                attempt = if attempt == 1 { next_free_suffix(tx, &base).await? } else { attempt + 1 };
            }
        }
    }
}

/// One past the highest `-<n>` suffix already used on `base`, so a popular name costs two
/// queries, not one per existing store.
async fn next_free_suffix(tx: &mut PgConnection, base: &str) -> ApiResult<u32> {
    let highest = store_queries::highest_slug_suffix(tx, base).await?;
    Ok(u32::try_from(highest.unwrap_or(1).max(1) + 1).unwrap_or(u32::MAX))
}
