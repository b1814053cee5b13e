//! Registering a store owner: the validated request and the one transaction-scoped write
//! that both `POST /auth/register/` and `kassa users create-owner` use.

use secrecy::SecretString;
use sqlx::PgConnection;
use sqlx::migrate::Migration;

use crate::account::RegisterRequest;
use crate::auth::queries::{self, NewUser, UserRow};
use crate::config::PasswordPolicy;
use crate::db::error::ResultExt;
use crate::error::{ApiError, ApiResult};
use crate::i18n::Message;
use crate::stores::parse::{RawProfile, parse_slug_choice};
use crate::stores::provision::{ProvisionedStore, SlugChoice, StaffSeed, StoreOwner, provision_store};
use crate::stores::queries::{StoreFields, StoreProfile};
use crate::validate::{Form, MAX_NAME_CHARS};

/// A registration that passed validation.
pub struct Registration {
    pub username: String,
    pub password: SecretString,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub store: StoreProfile,
    pub slug: SlugChoice,
}

impl Registration {
    /// Every field checked at once; the password against the policy and its confirmation.
    pub fn parse(body: RegisterRequest, policy: &PasswordPolicy) -> ApiResult<Self> {
        let mut form = Form::new();
        let username = form.username("username", body.username);
        let password = form.new_password("password", body.password, policy, &[&username]);
        let confirmation = form.password("password_confirm", body.password_confirm);
        let first_name = form.required("first_name", body.first_name, MAX_NAME_CHARS);
        let last_name = form.optional("last_name", body.last_name, MAX_NAME_CHARS);
        let email = form.email("email", body.email);
        let phone = form.phone("owner_phone", body.owner_phone);
        let slug = parse_slug_choice(&mut form, "store_slug", body.store_slug);
        let store = RawProfile(StoreFields {
            name: body.store_name,
            description: body.store_description,
            address: body.store_address,
            city: body.store_city,
            region: body.store_region,
            phone: body.store_phone,
            email: body.store_email,
            legal_name: body.store_legal_name,
            tax_id: body.store_tax_id,
        })
        .parse(&mut form, "store_");
        if !confirmation.is_empty() && password != confirmation {
            form.add("password_confirm", Message::PasswordsDoNotMatch);
        }
        form.finish(Registration {
            username,
            password: SecretString::from(password),
            first_name,
            last_name,
            email,
            phone,
            store,
            slug,
        })
    }
}

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
