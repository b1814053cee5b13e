//! Citus, when `DATABASE_URL` is a Citus coordinator (docs/operations.md, "Running on Citus").
//!
//! kassa needs no setting for it: with `citus.enable_schema_based_sharding` on, every new
//! store's schema is placed whole on a worker by Citus itself. What is here is for the
//! operator: telling Citus is there, and distributing the schemas made before.

use sqlx::PgPool;

/// The Citus version string (`citus_version()`), or `None` on a plain PostgreSQL server
/// (or a database without the extension).
pub async fn version(pool: &PgPool) -> sqlx::Result<Option<String>> {
    // One transaction, so the two statements (each a parse, then an execute) stay on one
    // server connection behind a transaction pooler. `citus_version()` cannot be named where
    // the extension is missing (the statement would fail to plan): ask whether it exists first.
    let mut tx = pool.begin().await?;
    let present: bool =
        crate::db::query_scalar("select to_regproc('citus_version') is not null").fetch_one(&mut *tx).await?;
    let version = match present {
        true => Some(crate::db::query_scalar("select citus_version()").fetch_one(&mut *tx).await?),
        false => None,
    };
    tx.commit().await?;
    Ok(version)
}

/// Store schemas (oldest store first) that are not distributed schemas yet: those made
/// before schema-based sharding was on, or before the server was a Citus coordinator.
pub async fn undistributed_schemas(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    crate::db::query_scalar(
        "select s.schema_name from public.stores s \
         join pg_namespace n on n.nspname = s.schema_name \
         where not exists (select 1 from pg_dist_schema d where d.schemaid = n.oid) \
         order by s.id",
    )
    .fetch_all(pool)
    .await
}

/// Turns `schema` into a distributed schema, placed whole on a worker by Citus
/// (`citus_schema_distribute`). Its own transaction: Citus copies the tables' data.
pub async fn distribute_schema(pool: &PgPool, schema: &str) -> sqlx::Result<()> {
    crate::db::query("select citus_schema_distribute($1::regnamespace)")
        .bind(schema)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Where each store schema's tables sit: `(schema, worker "host:port")`, one row per
/// distributed store schema (its tables are colocated, so on one node).
pub async fn placements(pool: &PgPool) -> sqlx::Result<Vec<(String, String)>> {
    crate::db::query_as(
        "select distinct s.schema_name, sh.nodename || ':' || sh.nodeport \
         from public.stores s \
         join pg_namespace n on n.nspname = s.schema_name \
         join pg_class c on c.relnamespace = n.oid \
         join citus_shards sh on sh.table_name = c.oid \
         order by 1",
    )
    .fetch_all(pool)
    .await
}
