//! `kassa users …`: accounts as an operator manages them, through the same code paths as
//! the HTTP API (validation, password policy, hashing, provisioning, session revocation).

use std::io::IsTerminal;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{Acquire, PgConnection};

use crate::audit::{AuditAction, Changes};
use crate::auth::forms::{RegisterRequest, Registration};
use crate::auth::queries::insert_owner_with_store;
use crate::cli::{describe_api_error, print_table};
use crate::credentials::generate::generate_password;
use crate::credentials::queries as account_queries;
use crate::registry::provision::StaffSeed;
use crate::registry::staff_account::StaffPassword;
use crate::state::AppState;
use crate::validate::Form;

/// `kassa users …`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List accounts with the stores they work in and their roles there.
    List {
        /// Only usernames containing this text (any letter case).
        #[arg(long)]
        search: Option<String>,
    },
    /// Create a store owner with their first store: account, store, schema, employee
    /// profile, in one transaction (the same provisioning as registration).
    CreateOwner(CreateOwnerArgs),
    /// Set a new password for USERNAME and end all their sessions. Without --password the
    /// password is asked for on a terminal, or generated and printed otherwise.
    ResetPassword {
        /// The account, in any letter case.
        username: String,
        /// The new password (visible in the shell history: prefer the prompt).
        #[arg(long)]
        password: Option<String>,
        /// Generate a password and print it, even on a terminal.
        #[arg(long, conflicts_with = "password")]
        generate: bool,
        /// Make them choose a new password at their next sign-in.
        #[arg(long)]
        must_change: bool,
    },
    /// Let USERNAME sign in again.
    Activate {
        /// The account, in any letter case.
        username: String,
    },
    /// Stop USERNAME from signing in; their sessions end at once.
    Deactivate {
        /// The account, in any letter case.
        username: String,
    },
}

/// `kassa users create-owner`.
#[derive(Debug, Args)]
pub struct CreateOwnerArgs {
    /// Username for signing in: letters, digits and @.+-_ (unique in any letter case).
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub first_name: String,
    #[arg(long)]
    pub last_name: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// International format, e.g. +998901234567.
    #[arg(long)]
    pub phone: Option<String>,
    /// The first store's name; its slug is made from it unless --store-slug is given.
    #[arg(long)]
    pub store_name: String,
    /// [a-z][a-z0-9_-]{0,55}; taken → error.
    #[arg(long)]
    pub store_slug: Option<String>,
    /// The password (visible in the shell history: prefer the prompt). Without it the
    /// password is asked for on a terminal, or generated and printed otherwise.
    #[arg(long)]
    pub password: Option<String>,
}

/// Runs a `kassa users` command.
pub async fn run(command: UsersCommand, app: &AppState) -> anyhow::Result<()> {
    match command {
        UsersCommand::List { search } => list(app, search.as_deref()).await,
        UsersCommand::CreateOwner(args) => create_owner(app, args).await,
        UsersCommand::ResetPassword { username, password, generate, must_change } => {
            reset_password(app, &username, password, generate, must_change).await
        }
        UsersCommand::Activate { username } => set_active(app, &username, true).await,
        UsersCommand::Deactivate { username } => set_active(app, &username, false).await,
    }
}

async fn list(app: &AppState, search: Option<&str>) -> anyhow::Result<()> {
    let rows = account_queries::list_accounts(&app.db, search).await?;
    let table: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| {
            vec![
                row.id.to_string(),
                row.username,
                crate::credentials::full_name(&row.first_name, &row.last_name),
                yes_no(row.is_active),
                yes_no(row.must_change_password),
                row.stores,
            ]
        })
        .collect();
    print_table(&["ID", "USERNAME", "NAME", "ACTIVE", "MUST CHANGE", "STORES (slug:role)"], &table);
    Ok(())
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

async fn create_owner(app: &AppState, args: CreateOwnerArgs) -> anyhow::Result<()> {
    let (password, generated) = choose_password(args.password, false, &args.username, app)?;
    let request = RegisterRequest {
        username: Some(args.username),
        password: Some(password.expose_secret().to_owned()),
        password_confirm: Some(password.expose_secret().to_owned()),
        first_name: Some(args.first_name),
        last_name: args.last_name,
        middle_name: None,
        email: args.email,
        owner_phone: args.phone,
        store_name: Some(args.store_name),
        store_slug: args.store_slug,
        store_description: None,
        store_address: None,
        store_city: None,
        store_region: None,
        store_phone: None,
        store_email: None,
        store_legal_name: None,
        store_tax_id: None,
    };
    let registration =
        Registration::parse(request, &app.config.password_policy).map_err(describe_api_error)?;
    let password_hash = app.hasher.hash(registration.password.clone()).await?;
    let staff_password = StaffPassword::generate(&app.hasher, &app.config.password_policy)
        .await
        .map_err(describe_api_error)?;
    let staff = StaffSeed { password: &staff_password, sealer: &app.sealer };
    let mut conn = app.db.acquire().await?;
    let mut tx = conn.begin().await?;
    let (user, provisioned) =
        insert_owner_with_store(&mut tx, &registration, &password_hash, &app.tenant_migrations, staff)
            .await
            .map_err(describe_api_error)?;
    tx.commit().await?;
    let store = provisioned.store;
    println!("created owner {} (user {}) with store {} ({})", user.username, user.id, store.name, store.slug);
    println!("tenant key: {}", store.tenant_key);
    println!("schema:     {}", store.schema_name);
    if generated {
        println!("password:   {}", password.expose_secret());
    }
    // The owner reads it back later in the console or with `GET /stores/staff-credentials/`.
    println!("shared staff account: {}", provisioned.staff_credentials.username);
    Ok(())
}

async fn reset_password(
    app: &AppState,
    username: &str,
    password: Option<String>,
    generate: bool,
    must_change: bool,
) -> anyhow::Result<()> {
    let mut conn = app.db.acquire().await?;
    let account = account_queries::find_user_for_login(&mut conn, username)
        .await?
        .with_context(|| format!("no account named {username:?}"))?;
    drop(conn);
    let (password, generated) = choose_password(password, generate, username, app)?;
    let password_hash = app.hasher.hash(password.clone()).await?;

    let mut conn = app.db.acquire().await?;
    let mut tx = conn.begin().await?;
    account_queries::update_password_hash(&mut tx, account.id, &password_hash, must_change).await?;
    let ended = account_queries::revoke_user_sessions(&mut tx, account.id, None).await?;
    let mut changes = Changes::default();
    changes.field("must_change_password", &account.must_change_password, &must_change);
    record_in_every_store(&mut tx, account.id, AuditAction::EmployeePasswordReset, &changes).await?;
    tx.commit().await?;
    println!("password of {username} reset; {ended} session(s) ended");
    if generated {
        println!("new password: {}", password.expose_secret());
    }
    Ok(())
}

async fn set_active(app: &AppState, username: &str, active: bool) -> anyhow::Result<()> {
    let mut conn = app.db.acquire().await?;
    let mut tx = conn.begin().await?;
    let user_id = account_queries::set_account_active(&mut tx, username, active)
        .await?
        .with_context(|| format!("no account named {username:?}"))?;
    let ended =
        if active { 0 } else { account_queries::revoke_user_sessions(&mut tx, user_id, None).await? };
    tx.commit().await?;
    if active {
        println!("{username} may sign in again");
    } else {
        println!("{username} deactivated; {ended} session(s) ended");
    }
    Ok(())
}

/// An audit event about `user_id` in each store where they have an employee profile, with
/// no actor (the command line), in the caller's transaction.
async fn record_in_every_store(
    tx: &mut PgConnection,
    user_id: i64,
    action: AuditAction,
    changes: &Changes,
) -> anyhow::Result<()> {
    for schema in crate::registry::queries::member_store_schemas(tx, user_id).await? {
        let tables = crate::db::schema::SchemaName::parse(&schema)?.tables();
        if let Some(employee) = crate::staff::queries::find_employee_by_user(&tables, tx, user_id).await? {
            let event = crate::audit::queries::NewAuditEvent {
                actor_user_id: None,
                action,
                employee_id: Some(employee.id),
                changes: changes.clone(),
            };
            crate::audit::queries::record(&tables, tx, event).await?;
        }
    }
    Ok(())
}

/// The password to set: the one given, else typed at a terminal prompt (twice), else a
/// generated one; checked against the policy. The flag says whether it was generated (and
/// must be shown).
fn choose_password(
    given: Option<String>,
    generate: bool,
    username: &str,
    app: &AppState,
) -> anyhow::Result<(SecretString, bool)> {
    let policy = &app.config.password_policy;
    let password = match given {
        Some(password) => password,
        None if !generate && std::io::stdin().is_terminal() => {
            let first = rpassword::prompt_password(format!("new password for {username}: "))?;
            let second = rpassword::prompt_password("again: ")?;
            if first != second {
                bail!("the passwords do not match");
            }
            first
        }
        None => return Ok((generate_password(policy, &[username]), true)),
    };
    let mut form = Form::new();
    let password = form.new_password("password", Some(password), policy, &[username]);
    form.finish(()).map_err(describe_api_error)?;
    Ok((SecretString::from(password), false))
}
