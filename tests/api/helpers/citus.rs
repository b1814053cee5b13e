//! The harness on a Citus coordinator (`DATABASE_URL` at one, as `.ci/citus` runs the suite).
//!
//! Citus keeps its metadata per database, and refuses to clone a database it runs in (its
//! maintenance daemon stays connected to it). So each test database is cloned on the
//! coordinator from a template without the extension, as on one server; then the same
//! name is created on every worker, the extension created on every node, and the workers
//! added, which takes about a second per test.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::{drop_stale_databases, execute};

/// The nodes of a Citus cluster, as its coordinator lists them.
pub struct CitusNodes {
    /// The coordinator's host and port, as the workers reach it.
    coordinator: (String, u16),
    /// Each worker's maintenance database.
    workers: Vec<PgConnectOptions>,
}

impl CitusNodes {
    /// The cluster behind `admin`, or `None` when it is not a Citus coordinator with workers.
    pub async fn detect(admin: &PgConnectOptions) -> Option<CitusNodes> {
        let mut conn = PgConnection::connect_with(admin).await.expect("connect to the test server");
        let citus: bool = sqlx::query_scalar("select to_regproc('citus_version') is not null")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if !citus {
            return None;
        }
        let workers: Vec<(String, i32)> = sqlx::query_as(
            "select nodename, nodeport from pg_dist_node where groupid <> 0 and noderole = 'primary' order by nodeid",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        if workers.is_empty() {
            return None;
        }
        let port = |port: i32| u16::try_from(port).expect("a TCP port");
        Some(CitusNodes {
            coordinator: (admin.get_host().to_owned(), admin.get_port()),
            workers: workers.into_iter().map(|(host, p)| admin.clone().host(&host).port(port(p))).collect(),
        })
    }

    /// Drops the test databases earlier runs left on the workers.
    pub async fn drop_stale(&self) {
        for worker in &self.workers {
            let mut conn = PgConnection::connect_with(worker).await.expect("connect to a Citus worker");
            drop_stale_databases(&mut conn, "with (force)").await;
            conn.close().await.unwrap();
        }
    }

    /// Makes database `name`, just cloned on the coordinator, a Citus database over every node.
    pub async fn join(&self, name: &str) {
        for worker in &self.workers {
            let mut conn = PgConnection::connect_with(worker).await.expect("connect to a Citus worker");
            execute(&mut conn, format!("create database \"{name}\""))
                .await
                .expect("create the worker's database");
            conn.close().await.unwrap();
            let mut conn = PgConnection::connect_with(&worker.clone().database(name)).await.unwrap();
            execute(&mut conn, "create extension citus".to_owned()).await.expect("create citus on a worker");
            conn.close().await.unwrap();
        }
        let coordinator =
            self.workers[0].clone().host(&self.coordinator.0).port(self.coordinator.1).database(name);
        let mut conn = PgConnection::connect_with(&coordinator).await.unwrap();
        execute(&mut conn, "create extension citus".to_owned())
            .await
            .expect("create citus on the coordinator");
        sqlx::query("select citus_set_coordinator_host($1, $2)")
            .bind(&self.coordinator.0)
            .bind(i32::from(self.coordinator.1))
            .execute(&mut conn)
            .await
            .expect("register the coordinator");
        for worker in &self.workers {
            sqlx::query("select citus_add_node($1, $2)")
                .bind(worker.get_host())
                .bind(i32::from(worker.get_port()))
                .execute(&mut conn)
                .await
                .expect("add a worker");
        }
        conn.close().await.unwrap();
    }
}
