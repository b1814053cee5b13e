//! `GET /profile/`.

use axum::Json;

use crate::auth::forms::MeResponse;
use crate::auth::queries::caller_in_store;
use crate::error::ApiResult;
use crate::http::openapi::CallerInStoreRefusals;
use crate::tenant::conn::StoreScope;

/// The same as `GET /api/users/auth/me/`, at the path older apps call: who am I in this
/// store.
///
/// **Permissions**: active members of the store (403 `not_a_member` otherwise); also
/// answers for a member who must change their password.
#[utoipa::path(get, path = "/api/users/profile/", tag = "auth",
    security(("bearerAuth" = [], "tenantKey" = [])),
    responses(
        (status = 200, description = "The caller in the store of `X-Tenant-Key`, as `auth/me/` answers", body = MeResponse),
        CallerInStoreRefusals,
    ))]
pub async fn profile(scope: StoreScope) -> ApiResult<Json<MeResponse>> {
    caller_in_store(scope).await.map(Json)
}
