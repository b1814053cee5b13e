//! Liveness and readiness probes for orchestrators and load balancers.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::Db;

use crate::error::{ApiResult, ErrorBody};

/// The body of a healthy probe.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process is up and serving HTTP. Never touches the database.
///
/// **Permissions**: none.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = HealthStatus)))]
pub async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// Readiness: the database answers a query within two seconds.
///
/// **Permissions**: none.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = HealthStatus),
        (status = 503, description = "The database is unreachable", body = ErrorBody),
    ))]
pub async fn readyz(State(db): State<Db>) -> ApiResult<Json<HealthStatus>> {
    crate::db::pool::ping(&db).await?;
    Ok(Json(HealthStatus { status: "ok" }))
}
