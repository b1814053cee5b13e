//! Each store's shared staff account, `<slug>_staff`: the account the POS apps sign a
//! store's tills in with when they have not moved to paired tills with PINs.
//!
//! It is made with its store (registration, `POST /stores/`) and by `kassa migrate` for
//! stores made before, in the same transaction as whatever made it. It is linked to its
//! store by id (`public.staff_accounts`), never found by its name: a user who merely holds
//! a name like it is nobody's staff account. It is a member of that store alone, in the
//! built-in role `staff`, and its sessions are bound to that store (`credentials::reach`), so it
//! cannot reach the account-wide routes (stores, its own password, other stores).
//!
//! Its password is random, hashed like every password, and also sealed with the key
//! derived from `SECRET_KEY` (`secrets`) so the store's owner can read it back; the clear
//! password is stored nowhere and logged never.

pub mod queries;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;

use crate::access::Role;
use crate::config::PasswordPolicy;
use crate::credentials::generate::generate_password;
use crate::credentials::hasher::PasswordHasher;
use crate::credentials::queries::{NewUser, insert_user, username_exists};
use crate::db::schema::{SchemaName, StoreTables};
use crate::error::{ApiError, ApiResult};
use crate::i18n::{Message, current_lang};
use crate::registry::StoreDetails;
use crate::secrets::SecretSealer;
use crate::staff::queries::{NewEmployee, insert_employee, insert_membership};
use crate::validate::username::STAFF_SUFFIX;
use queries::StaffAccountRow;

/// The staff account's first name; its last name is the store's name.
pub const STAFF_FIRST_NAME: &str = "Сотрудники";

/// A new password for a staff account, hashed before any transaction opens (argon2 is slow
/// and must hold no pooled connection).
pub struct StaffPassword {
    pub password: SecretString,
    pub hash: String,
}

impl StaffPassword {
    /// A random password of readable characters (no `0 O 1 l I`), at least 12 of them and
    /// long enough for `policy`, with its hash.
    pub async fn generate(hasher: &PasswordHasher, policy: &PasswordPolicy) -> ApiResult<StaffPassword> {
        let password = generate_password(policy, &[]);
        let hash = hasher.hash(password.clone()).await.map_err(ApiError::internal)?;
        Ok(StaffPassword { password, hash })
    }
}

/// What the sealed password of store `store_id` is bound to: a sealed value copied onto
/// another store's row does not open there.
#[must_use]
pub fn seal_context(store_id: i64) -> String {
    format!("staff password of store {store_id}")
}

/// Creates `store`'s staff account inside the caller's transaction, `tables` being the
/// store's: the account, its membership and employee row in role `staff`, and
/// the link holding the sealed password. Returns the credentials to hand to the owner.
pub async fn create_staff_account(
    tables: &StoreTables,
    tx: &mut PgConnection,
    store: &StoreDetails,
    password: &StaffPassword,
    sealer: &SecretSealer,
) -> ApiResult<StaffCredentials> {
    let username = free_staff_username(tx, &store.slug).await?;
    let user = insert_user(
        tx,
        &NewUser {
            username: &username,
            password_hash: &password.hash,
            first_name: STAFF_FIRST_NAME,
            last_name: &store.name,
            email: "",
            phone: "",
        },
    )
    .await?;
    insert_membership(tx, user.id, store.id, Role::Staff.as_str()).await?;
    let employee = NewEmployee {
        user_id: Some(user.id),
        role: Role::Staff.as_str(),
        first_name: STAFF_FIRST_NAME,
        last_name: &store.name,
        phone: "",
        position: "",
        sex: None,
        hired_at: None,
    };
    insert_employee(tables, tx, &employee).await?;
    let sealed = sealer.seal(&password.password, &seal_context(store.id)).map_err(ApiError::internal)?;
    queries::insert_link(tx, store.id, user.id, &sealed).await?;
    tracing::info!(store.id = store.id, user.id = user.id, "created the store's shared staff account");
    Ok(StaffCredentials {
        full_name: crate::credentials::full_name(STAFF_FIRST_NAME, &store.name),
        username,
        password: Some(password.password.expose_secret().to_owned()),
        is_active: true,
        note: Message::StaffAccountNote.text(current_lang()).into_owned(),
    })
}

/// Gives every store that has no staff account one (stores made before staff accounts
/// existed): each in a transaction of its own, holding the store's row so two runs at once
/// make one account. Idempotent; returns how many were made. Runs after the store schemas
/// are migrated (their `staff` role comes with them).
pub async fn create_missing_staff_accounts(
    db: &crate::db::Db,
    hasher: &PasswordHasher,
    policy: &PasswordPolicy,
    sealer: &SecretSealer,
) -> ApiResult<usize> {
    let mut created = 0;
    for store in queries::stores_without_staff_account(db).await? {
        let password = StaffPassword::generate(hasher, policy).await?;
        let mut tx = db.begin().await?;
        let Some(details) = crate::registry::queries::lock_store(&mut tx, store.id).await? else { continue };
        if queries::find_by_store(&mut tx, store.id).await?.is_some() {
            continue;
        }
        let schema = SchemaName::parse(&details.schema_name).map_err(ApiError::internal)?;
        create_staff_account(&schema.tables(), &mut tx, &details, &password, sealer).await?;
        tx.commit().await?;
        created += 1;
    }
    Ok(created)
}

/// `<slug>_staff`, or, when an account made before the name was reserved holds it,
/// `<slug>_2_staff`, `<slug>_3_staff`… (the first free one, so the choice is the same
/// wherever it is made).
async fn free_staff_username(tx: &mut PgConnection, slug: &str) -> ApiResult<String> {
    for attempt in 1..=100 {
        let candidate = staff_username(slug, attempt);
        if !username_exists(tx, &candidate).await? {
            return Ok(candidate);
        }
    }
    Err(ApiError::internal(anyhow::anyhow!("no free staff account username for store {slug}")))
}

fn staff_username(slug: &str, attempt: u32) -> String {
    match attempt {
        1 => format!("{slug}{STAFF_SUFFIX}"),
        n => format!("{slug}_{n}{STAFF_SUFFIX}"),
    }
}

/// The staff account as its store's owner sees it, password included (the answer that
/// carries it is `no-store`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffCredentials {
    #[schema(example = "moi-magazin_staff")]
    pub username: String,
    /// Null only when it cannot be read back (`SECRET_KEY` changed since it was set): rotate it.
    #[schema(example = "Kq7m-x3Rt-Hb9w")]
    pub password: Option<String>,
    #[schema(example = "Сотрудники Мой Магазин")]
    pub full_name: String,
    /// False when the owner switched it off (or deactivated it in the store): it cannot
    /// sign in.
    pub is_active: bool,
    pub note: String,
}

impl StaffCredentials {
    /// The credentials of `row`, its password opened with `sealer`.
    #[must_use]
    pub fn open(row: &StaffAccountRow, store_id: i64, sealer: &SecretSealer) -> StaffCredentials {
        match sealer.open(&row.password_ciphertext, &seal_context(store_id)) {
            Ok(password) => {
                Self::describe(row, Some(password.expose_secret().to_owned()), Message::StaffAccountNote)
            }
            Err(error) => {
                tracing::warn!(store.id = store_id, %error, "a staff password could not be opened");
                Self::describe(row, None, Message::StaffPasswordUnreadable)
            }
        }
    }

    /// The credentials of `row` with `password` (when it is to be shown) and `note`.
    #[must_use]
    pub fn describe(row: &StaffAccountRow, password: Option<String>, note: Message) -> StaffCredentials {
        StaffCredentials {
            username: row.username.clone(),
            password,
            full_name: crate::credentials::full_name(&row.first_name, &row.last_name),
            is_active: row.is_active,
            note: note.text(current_lang()).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_name_is_the_slug_and_later_ones_count_up() {
        assert_eq!(staff_username("moi-magazin", 1), "moi-magazin_staff");
        assert_eq!(staff_username("moi-magazin", 2), "moi-magazin_2_staff");
        assert!(crate::validate::username::is_reserved(&staff_username("a", 7)));
    }
}
