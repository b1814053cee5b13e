//! A thousand stores on four store connections: every store read is a statement of its own
//! store's schema, prepared on whichever connection serves the store's share, evicted and
//! prepared again as the statement cache turns over. Under a storm of reads, refusals and
//! requests cut off mid-flight, no answer ever shows another store's rows.

use std::sync::Arc;
use std::time::Duration;

use kassa::credentials::queries::{NewUser, insert_user};
use kassa::credentials::tokens::AccessTokens;
use kassa::registry::provision::{SlugChoice, StaffSeed, StoreOwner, provision_store};
use kassa::registry::queries::StoreProfile;
use kassa::registry::staff_account::StaffPassword;
use kassa::secrets::SecretSealer;
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{TEST_JWT_SECRET, TestApp, assert_pools_are_neutral};

const STORES: usize = 1_000;

/// A store of the fleet: its key and its owner's access token. Store `i`'s owner and their
/// employee row carry the marker `zz<i>marker`, which no other store's rows contain.
struct FleetStore {
    key: String,
    token: String,
}

/// Provisions `STORES` stores through the provisioning code (no HTTP, no hashing per
/// store), four at a time, each in its own transaction; a session and a token for each owner.
async fn provision_fleet(app: &TestApp) -> Vec<FleetStore> {
    let hash: String = sqlx::query_scalar("select 'not-a-password-hash'").fetch_one(&app.pool).await.unwrap();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers = (0..4).map(|_| {
        let (pool, next, hash) = (app.pool.clone(), Arc::clone(&next), hash.clone());
        tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= STORES {
                    return;
                }
                provision_one(&pool, n, &hash).await;
            }
        })
    });
    for worker in futures_util::future::join_all(workers).await {
        worker.unwrap();
    }
    owner_tokens(app).await
}

async fn provision_one(pool: &PgPool, n: usize, hash: &str) {
    let marker = format!("zz{n}marker");
    let mut tx = pool.begin().await.unwrap();
    let new = NewUser {
        username: &format!("fleet{n}"),
        password_hash: hash,
        first_name: &marker,
        last_name: "",
        email: "",
        phone: "",
    };
    let user = insert_user(&mut tx, &new).await.unwrap();
    let owner = StoreOwner { user_id: user.id, first_name: &marker, last_name: "", phone: "" };
    let profile = StoreProfile { name: format!("Fleet {n}"), ..StoreProfile::default() };
    let migrations: Vec<_> = kassa::db::migrate::TENANT_MIGRATIONS.migrations.iter().cloned().collect();
    let staff_password =
        StaffPassword { password: SecretString::from("Fleet-Staff-2026"), hash: hash.to_owned() };
    let sealer = SecretSealer::from_master(&SecretString::from(crate::helpers::TEST_JWT_SECRET));
    let staff = StaffSeed { password: &staff_password, sealer: &sealer };
    provision_store(&mut tx, &owner, &profile, &SlugChoice::FromName { field: "name" }, &migrations, staff)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A live session and an access token for every store's owner, store `i` (owner `fleet<i>`)
/// at index `i`.
async fn owner_tokens(app: &TestApp) -> Vec<FleetStore> {
    let rows: Vec<(uuid::Uuid, i64, String)> = sqlx::query_as(
        "with owners as (select s.owner_id, s.tenant_key, substr(u.username, 6)::int as n
                         from public.stores s join public.users u on u.id = s.owner_id),
              made as (insert into public.sessions (id, user_id, refresh_token_hash, expires_at)
                       select gen_random_uuid(), owner_id, sha256(random()::text::bytea), now() + interval '1 hour'
                       from owners returning id, user_id)
         select made.id, made.user_id, owners.tenant_key from made join owners on owners.owner_id = made.user_id
         order by owners.n",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    // Signed as the application signs, with the keys in the test's database.
    let config = crate::helpers::test_config(&[("ACCESS_TOKEN_TTL", "1h")]);
    let sealer = Arc::new(SecretSealer::from_master(&SecretString::from(TEST_JWT_SECRET)));
    let tokens = AccessTokens::new(&config, app.app_db.clone(), sealer);
    let mut stores = Vec::with_capacity(rows.len());
    for (session, user, key) in rows {
        stores.push(FleetStore {
            key,
            token: tokens
                .issue(user, session, kassa::credentials::tokens::SessionReach::default())
                .await
                .unwrap(),
        });
    }
    stores
}

/// Every store marker in `body`: the indexes of `zz<i>marker`.
fn markers_in(body: &str) -> Vec<usize> {
    body.match_indices("zz")
        .filter_map(|(at, _)| {
            let rest = &body[at + 2..];
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            rest[digits..].starts_with("marker").then(|| rest[..digits].parse().ok()).flatten()
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 200 with the store's own rows.
    Own,
    /// Another store's key: 403 not_a_member.
    Foreign,
    /// Cut off by the client mid-flight; if it answers at all, with its own rows.
    Cancelled,
}

#[tokio::test]
async fn a_thousand_stores_on_four_connections_never_cross() {
    // Four store connections, so each serves 250 stores; a statement cache far smaller than
    // that, so statements are evicted and prepared again all through the storm.
    let app = TestApp::spawn_with(&[
        ("DATABASE_POOL_SIZE", "4"),
        ("DATABASE_STORE_CONNECTIONS", "4"),
        ("DATABASE_STATEMENT_CACHE", "16"),
    ])
    .await;
    let stores = Arc::new(provision_fleet(&app).await);
    assert_eq!(stores.len(), STORES);
    let addr = app.serve().await;
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let paths = ["auth/me/", "employees/", "employees/1/", "employees/?search=zz"];

    let requests = (0..4_000).map(|n| {
        let (client, stores) = (client.clone(), Arc::clone(&stores));
        async move {
            // Stores spread over the whole fleet; consecutive requests on different shares.
            let home = (n * 7919) % STORES;
            let foreign = (home + 1 + n % (STORES - 1)) % STORES;
            let (key, expect) = match n % 10 {
                0 => (&stores[foreign].key, Expect::Foreign),
                1 | 2 => (&stores[home].key, Expect::Cancelled),
                _ => (&stores[home].key, Expect::Own),
            };
            let mut request = client
                .get(format!("http://{addr}/api/users/{}", paths[n / 10 % paths.len()]))
                .bearer_auth(&stores[home].token)
                .header("x-tenant-key", key);
            if expect == Expect::Cancelled {
                request = request.timeout(Duration::from_micros(200 + (n as u64 % 11) * 300));
            }
            let outcome = match request.send().await {
                Ok(response) => Some((response.status().as_u16(), response.text().await.unwrap_or_default())),
                Err(_) => None,
            };
            (home, expect, outcome)
        }
    });
    // 64 in flight at a time: far more than the 4 connections, yet within what the pool's
    // acquire timeout lets wait, with every request re-preparing its statement.
    let results: Vec<_> = futures_util::StreamExt::collect(futures_util::StreamExt::buffer_unordered(
        futures_util::stream::iter(requests),
        64,
    ))
    .await;

    let mut own_answers = 0;
    for (home, expect, outcome) in results {
        let Some((status, body)) = outcome else {
            assert_eq!(expect, Expect::Cancelled, "only requests the client cut off may go unanswered");
            continue;
        };
        let markers = markers_in(&body);
        assert!(markers.iter().all(|&marker| marker == home), "store {home}'s owner saw {markers:?}: {body}");
        match expect {
            Expect::Own | Expect::Cancelled => {
                assert_eq!(status, 200, "{body}");
                let body: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(body["tenant_key"], stores[home].key.as_str());
                assert!(markers.contains(&home), "store {home}'s own rows are missing: {body}");
                own_answers += 1;
            }
            Expect::Foreign => assert!(status == 403 && body.contains("not_a_member"), "{status} {body}"),
        }
    }
    assert!(own_answers >= 2_400, "only {own_answers} own-store reads were answered");

    // Every connection that served the storm is back outside any transaction, on the
    // default search_path; directly connected, kassa holds no backend beyond its pools'
    // (behind PgBouncer the backends are the pooler's to count).
    assert_pools_are_neutral(&app.app_db).await;
    if crate::helpers::pooler_url().is_some() {
        return;
    }
    let backends: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity where datname = current_database() and application_name = 'kassa'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(backends <= 8, "{backends} backends serve a pool of 4 + 4 connections");
}

#[test]
fn markers_are_read_whole() {
    assert_eq!(markers_in(r#"{"a":"zz12marker","b":"zz1marker zz marker zz3mark"}"#), vec![12, 1]);
}
