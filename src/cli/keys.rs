//! `kassa keys …`: the keys that sign access tokens (docs/contract.md §15). Every instance
//! reads the keys again within a quarter of `JWKS_MAX_AGE` (at most a minute), so what these
//! commands change reaches running servers without a restart.

use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde::Serialize;

use crate::cli::print_table;
use crate::config::SigningAlgorithm;
use crate::credentials::signing_keys::{self, KeyRow};
use crate::state::AppState;

/// `kassa keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the keys, newest first, with what each does now (pending, signing, verifying,
    /// retired).
    List {
        /// Print JSON (an array of keys) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a key that is published now and signs once verifiers have had one JWKS cache
    /// time to fetch it; the current key then verifies until its last token expires.
    Rotate {
        /// The new key's algorithm (default: SIGNING_ALGORITHM).
        #[arg(long, value_parser = parse_algorithm)]
        algorithm: Option<SigningAlgorithm>,
        /// Sign with the new key at once (a key that must go now): verifiers that cached the
        /// JWKS fetch it again when they meet its `kid`.
        #[arg(long)]
        now: bool,
    },
    /// Retire KID at once: it leaves the JWKS, every token it signed is refused, its private
    /// half is erased. When it was the one key that could sign, a new one signs at once.
    Retire {
        /// The key's id, as `list` shows it.
        kid: String,
    },
}

fn parse_algorithm(value: &str) -> Result<SigningAlgorithm, String> {
    SigningAlgorithm::parse(value).ok_or_else(|| format!("`{value}` is not EdDSA or ES256"))
}

/// Runs a `kassa keys` command.
pub async fn run(command: KeysCommand, app: &AppState) -> anyhow::Result<()> {
    match command {
        KeysCommand::List { json } => list(app, json).await,
        KeysCommand::Rotate { algorithm, now } => rotate(app, algorithm, now).await,
        KeysCommand::Retire { kid } => retire(app, &kid).await,
    }
}

/// A key as `list` shows it.
#[derive(Debug, Serialize)]
struct ListedKey {
    kid: String,
    algorithm: String,
    state: &'static str,
    created_at: DateTime<Utc>,
    signs_from: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

async fn list(app: &AppState, json: bool) -> anyhow::Result<()> {
    let mut conn = app.db.acquire().await?;
    let rows = signing_keys::list_all(&mut conn).await?;
    let now = Utc::now();
    let listed: Vec<ListedKey> = rows.iter().map(|row| listed(row, &rows, now)).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(());
    }
    let table: Vec<Vec<String>> = listed
        .into_iter()
        .map(|key| {
            vec![
                key.kid,
                key.algorithm,
                key.state.to_owned(),
                key.created_at.to_rfc3339(),
                key.signs_from.to_rfc3339(),
                key.retired_at.map(|at| at.to_rfc3339()).unwrap_or_default(),
            ]
        })
        .collect();
    print_table(&["KID", "ALGORITHM", "STATE", "CREATED", "SIGNS FROM", "RETIRED"], &table);
    Ok(())
}

/// `row` as listed at `now`, among `rows` (every key).
fn listed(row: &KeyRow, rows: &[KeyRow], now: DateTime<Utc>) -> ListedKey {
    let live_signers = rows.iter().filter(|other| other.retired_at.is_none() && other.signs_from <= now);
    let newest_signer = live_signers.max_by_key(|other| other.signs_from).map(|other| other.kid.as_str());
    let state = match () {
        () if row.retired_at.is_some() => "retired",
        () if row.signs_from > now => "pending",
        () if newest_signer == Some(row.kid.as_str()) => "signing",
        () => "verifying",
    };
    ListedKey {
        kid: row.kid.clone(),
        algorithm: row.algorithm.clone(),
        state,
        created_at: row.created_at,
        signs_from: row.signs_from,
        retired_at: row.retired_at,
    }
}

async fn rotate(app: &AppState, algorithm: Option<SigningAlgorithm>, now: bool) -> anyhow::Result<()> {
    let algorithm = algorithm.unwrap_or(app.config.signing_algorithm);
    let lead = if now { std::time::Duration::ZERO } else { app.tokens.publish_lead() };
    let mut conn = app.db.acquire().await?;
    let (kid, signs_from) = signing_keys::rotate(&mut conn, algorithm, lead, &app.sealer).await?;
    println!("{kid}: {} key published now, signs from {}", algorithm.as_str(), signs_from.to_rfc3339());
    Ok(())
}

async fn retire(app: &AppState, kid: &str) -> anyhow::Result<()> {
    let mut conn = app.db.acquire().await?;
    anyhow::ensure!(signing_keys::retire(&mut conn, kid).await?, "no key {kid} that is not retired already");
    println!("{kid}: retired; the tokens it signed are refused");
    let done = signing_keys::maintain(&mut conn, &app.tokens.schedule(), &app.sealer).await?;
    if let Some(created) = done.created {
        println!("{created}: no other key could sign, so this new one signs from now");
    }
    Ok(())
}
