//! `GET /profile/`.

use axum::Json;

use crate::auth::forms::MeResponse;
use crate::auth::queries::caller_in_store;
use crate::error::{ApiResult, ErrorBody};
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
        (status = 400, description = "missing_tenant_key (answered before the token is looked at, as the peer does)", body = ErrorBody),
        (status = 401, description = "not_authenticated, token_invalid or token_expired: no valid access token", body = ErrorBody),
        (status = 403, description = "invalid_tenant_key, inactive_tenant or not_a_member", body = ErrorBody),
    ))]
pub async fn profile(scope: StoreScope) -> ApiResult<Json<MeResponse>> {
    caller_in_store(scope).await.map(Json)
}
