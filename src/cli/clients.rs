//! `kassa clients …`: the platform's service clients (docs/contract.md §15), which call
//! `/oauth/introspect` and `/oauth/revoke`. They belong to the operator, not to any store.
//! A secret is printed once, when it is made, and kept only as its digest.

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;

use crate::cli::{describe_api_error, print_table};
use crate::credentials::tokens::OpaqueToken;
use crate::oauth::forms::{new_client_id, parse_client_name};
use crate::oauth::queries;
use crate::state::AppState;

/// `kassa clients …`.
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Make a confidential client NAME: prints its client id and its secret, once.
    Create {
        /// What the client is, e.g. `sales`; unique.
        name: String,
        /// Print only `{"client_id": …, "client_secret": …}` on stdout.
        #[arg(long)]
        json: bool,
    },
    /// List the clients (never their secrets).
    List,
    /// Give client NAME a new secret, printed once; the old one stops working at once.
    RotateSecret {
        name: String,
        /// Print only `{"client_id": …, "client_secret": …}` on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Delete client NAME: its secret stops working at once.
    Delete { name: String },
}

/// What `--json` prints: the credentials and nothing else.
#[derive(Serialize)]
struct Credentials<'a> {
    client_id: &'a str,
    client_secret: &'a str,
}

/// Runs a `kassa clients` command.
pub async fn run(command: ClientsCommand, app: &AppState) -> anyhow::Result<()> {
    match command {
        ClientsCommand::Create { name, json } => create(app, name, json).await,
        ClientsCommand::List => list(app).await,
        ClientsCommand::RotateSecret { name, json } => rotate_secret(app, &name, json).await,
        ClientsCommand::Delete { name } => delete(app, &name).await,
    }
}

async fn create(app: &AppState, name: String, json: bool) -> anyhow::Result<()> {
    let name = parse_client_name(name).map_err(describe_api_error)?;
    let secret = OpaqueToken::generate();
    let mut conn = app.db.acquire().await?;
    let client = match queries::insert_client(&mut conn, &name, &new_client_id(), &secret.digest()).await {
        Err(sqlx::Error::Database(db)) if db.constraint() == Some(queries::NAME_CONSTRAINT) => {
            anyhow::bail!("a client named {name:?} exists already")
        }
        inserted => inserted?,
    };
    print_credentials(&client.client_id, &secret, json, &format!("created client {}", client.name))
}

/// The credentials as `--json` prints them, or for people reading a terminal under `title`.
fn print_credentials(client_id: &str, secret: &OpaqueToken, json: bool, title: &str) -> anyhow::Result<()> {
    if json {
        let credentials = Credentials { client_id, client_secret: secret.expose() };
        println!("{}", serde_json::to_string(&credentials)?);
    } else {
        println!("{title}");
        println!("client_id:     {client_id}");
        println!("client_secret: {}", secret.expose());
        println!("The secret is shown this once; kassa keeps only its digest.");
    }
    Ok(())
}

async fn list(app: &AppState) -> anyhow::Result<()> {
    let mut conn = app.db.acquire().await?;
    let clients = queries::list_clients(&mut conn).await?;
    let rows: Vec<Vec<String>> = clients
        .into_iter()
        .map(|client| {
            vec![
                client.name,
                client.client_id,
                client.created_at.format("%Y-%m-%d %H:%M").to_string(),
                client.secret_rotated_at.format("%Y-%m-%d %H:%M").to_string(),
            ]
        })
        .collect();
    print_table(&["NAME", "CLIENT ID", "CREATED", "SECRET SET"], &rows);
    Ok(())
}

async fn rotate_secret(app: &AppState, name: &str, json: bool) -> anyhow::Result<()> {
    let secret = OpaqueToken::generate();
    let mut conn = app.db.acquire().await?;
    let client = queries::rotate_secret(&mut conn, name, &secret.digest())
        .await?
        .with_context(|| format!("no client named {name:?}"))?;
    print_credentials(&client.client_id, &secret, json, &format!("new secret of client {}", client.name))
}

async fn delete(app: &AppState, name: &str) -> anyhow::Result<()> {
    let mut conn = app.db.acquire().await?;
    if !queries::delete_client(&mut conn, name).await? {
        anyhow::bail!("no client named {name:?}");
    }
    println!("client {name} deleted; its secret no longer works");
    Ok(())
}
