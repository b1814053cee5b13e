//! Checks that the application's pooled connections are left as they were found.

use std::time::Duration;

/// Checks every idle connection of every pool of `db`: default `search_path`, no open
/// transaction.
pub async fn assert_pools_are_neutral(db: &kassa::db::Db) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut held = Vec::new();
    for pool in db.pools() {
        held.extend(neutral_connections(pool).await);
    }
    assert!(!held.is_empty(), "the pools had idle connections to check");
}

/// Takes every idle connection of `pool` after checking it is neutral.
pub async fn neutral_connections(pool: &sqlx::PgPool) -> Vec<sqlx::pool::PoolConnection<sqlx::Postgres>> {
    let mut held = Vec::new();
    while let Some(mut conn) = pool.try_acquire() {
        // One simple-protocol message: also right through a transaction pooler.
        let row = sqlx::raw_sql("select current_setting('search_path')").fetch_one(&mut *conn).await.unwrap();
        let path: String = sqlx::Row::get(&row, 0);
        assert_eq!(path, "\"$user\", public");
        // SAVEPOINT fails with 25P01 outside a transaction block, and only there.
        let probe = sqlx::raw_sql("savepoint pool_probe").execute(&mut *conn).await;
        let code =
            probe.err().and_then(|e| e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned()));
        assert_eq!(code.as_deref(), Some("25P01"), "a pooled connection was left inside a transaction");
        held.push(conn);
    }
    held
}
