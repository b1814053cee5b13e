//! The bodies of `/.well-known/`.

use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 7517 JSON Web Key Set: the public keys that verify kassa's access tokens, by `kid`.
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkSet {
    /// Each key as an RFC 7517 JWK: `kty` `OKP` (`crv` `Ed25519`, `x`) or `EC` (`crv`
    /// `P-256`, `x`, `y`), with `kid`, `alg` and `use` `sig`.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<jsonwebtoken::jwk::Jwk>,
}

/// What kassa offers to services that verify its tokens. kassa is not a full OpenID
/// provider (it signs no ID tokens and has no authorization endpoint); the fields are the
/// discovery document's (OpenID Connect Discovery 1.0, RFC 8414) for what it does offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoveryDocument {
    /// The `iss` of every access token.
    pub issuer: &'static str,
    pub jwks_uri: String,
    /// RFC 7662 token introspection, for registered service clients.
    pub introspection_endpoint: String,
    /// RFC 7009 token revocation, for registered service clients.
    pub revocation_endpoint: String,
    pub introspection_endpoint_auth_methods_supported: [&'static str; 1],
    pub revocation_endpoint_auth_methods_supported: [&'static str; 1],
    /// The algorithms kassa's access tokens may be signed with.
    pub id_token_signing_alg_values_supported: [&'static str; 2],
    /// Same as above: the access tokens' algorithms (RFC 9068's name for it).
    pub access_token_signing_alg_values_supported: [&'static str; 2],
    pub token_endpoint_auth_methods_supported: [&'static str; 1],
}
