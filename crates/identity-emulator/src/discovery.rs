//! OIDC discovery and JWKS, for the token issuer (per tenant) and for the
//! emulator's federation issuer.

use crate::{reply::Reply, state::Shared};
use serde_json::json;

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) fn tenant_configuration(shared: &Shared, tenant: &str) -> Reply {
    let base = &shared.base_url;
    Reply::json(
        200,
        &json!({
            "issuer": format!("{base}/{tenant}/v2.0"),
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
            "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
            "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "emulator",
            "cloud_instance_name": "emulator",
        }),
    )
}

/// MSAL's instance discovery (`GET /common/discovery/instance`): the
/// emulator is its own, only, alias.
pub(crate) fn instance_discovery(shared: &Shared) -> Reply {
    let host = shared.base_url.trim_start_matches("http://");
    Reply::json(
        200,
        &json!({
            "tenant_discovery_endpoint": format!("{}/common/v2.0/.well-known/openid-configuration", shared.base_url),
            "api-version": "1.1",
            "metadata": [{ "preferred_network": host, "preferred_cache": host, "aliases": [host] }],
        }),
    )
}

/// `GET /{tenant}/discovery/v2.0/keys`: the keys that sign access tokens.
pub(crate) fn token_keys(shared: &Shared) -> Reply {
    Reply::json(200, &json!({ "keys": [shared.token_key.jwk()] }))
}

/// `GET /federation/.well-known/openid-configuration`.
pub(crate) fn federation_configuration(shared: &Shared) -> Reply {
    let issuer = shared.federation_issuer();
    Reply::json(
        200,
        &json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/keys"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }),
    )
}

/// `GET /federation/keys`.
pub(crate) fn federation_keys(shared: &Shared) -> Reply {
    Reply::json(200, &json!({ "keys": [shared.federation_key.jwk()] }))
}
