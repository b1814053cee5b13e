//! What a flood of made-up `X-Tenant-Key`s costs: no registry lookup off store-scoped
//! routes, one per distinct key on them, and no eviction of the stores in use.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use futures_util::StreamExt;
use kassa::tenant::cache::StoreCache;

use crate::helpers::TestApp;

const ME: &str = "/api/users/auth/me/";

/// A well-formed key no store has: it passes the shape check and reaches the registry.
fn made_up_key(index: usize) -> String {
    format!("flood-{index}_{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

async fn spawn_with_cache() -> (TestApp, Arc<StoreCache>) {
    let cache = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&cache);
    let app =
        TestApp::spawn_customized(&[], move |state| *slot.lock().unwrap() = Some(state.stores.clone())).await;
    let cache = cache.lock().unwrap().take().expect("the state was customized");
    (app, cache)
}

async fn get_with_key(app: &TestApp, path: &str, key: &str, token: Option<&str>) -> StatusCode {
    let mut request = Request::get(path).header("x-tenant-key", key);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    app.send(request.body(Body::empty()).unwrap()).await.status
}

#[tokio::test]
async fn keys_sent_to_public_routes_cost_no_registry_lookup() {
    let (app, cache) = spawn_with_cache().await;
    let owner = app.register_owner("keys_public", "Ключи").await;
    let before = cache.registry_lookups();
    let statuses: Vec<StatusCode> = futures_util::stream::iter(0..2_000)
        .map(|i| {
            let (app, token) = (&app, owner.token.as_str());
            async move {
                let key = made_up_key(i);
                match i % 3 {
                    0 => get_with_key(app, "/healthz", &key, None).await,
                    1 => get_with_key(app, "/api/users/roles/", &key, None).await,
                    _ => get_with_key(app, "/api/users/auth/my-stores/", &key, Some(token)).await,
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "public routes ignore the key");
    assert_eq!(cache.registry_lookups(), before, "a key on a route that needs no store is never looked up");
}

#[tokio::test]
async fn unknown_keys_never_evict_a_known_store() {
    let (app, cache) = spawn_with_cache().await;
    let owner = app.register_owner("keys_flood", "Наводнение").await;
    let known = owner.key();
    assert_eq!(get_with_key(&app, ME, &known, Some(&owner.token)).await, StatusCode::OK);
    assert!(cache.holds(&known));
    let before = cache.registry_lookups();

    // More distinct keys than the cache of unknown keys holds; each is asked twice in a row,
    // and the second ask is answered from the cache.
    let distinct = 12_000;
    let refused: usize = futures_util::stream::iter(0..distinct)
        .map(|i| {
            let (app, token) = (&app, owner.token.as_str());
            async move {
                let key = made_up_key(i);
                let first = get_with_key(app, ME, &key, Some(token)).await;
                let again = get_with_key(app, ME, &key, Some(token)).await;
                usize::from(first == StatusCode::FORBIDDEN) + usize::from(again == StatusCode::FORBIDDEN)
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .sum();
    assert_eq!(refused, 2 * distinct, "every made-up key is 403 invalid_tenant_key");
    let lookups = cache.registry_lookups() - before;
    assert_eq!(lookups, distinct as u64, "one registry lookup per distinct key, none for a repeat");

    assert!(cache.holds(&known), "the flood evicted a store in use");
    let response = app.scoped(Method::GET, ME, &owner.token, &known, None).await;
    assert_eq!(response.json(StatusCode::OK)["tenant_key"], known.as_str());
}
