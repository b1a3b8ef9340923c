#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use azure_core::http::ClientOptions;
use identity_core::{
    AccessToken, Platform, Secret, TokenCredential, TokenRequestOptions,
    authority::validate_not_empty,
    entra::{ConfidentialClient, Proof},
    error::anchors,
};
use std::{fmt, sync::Arc};

const NAME: &str = "ClientSecretCredential";

/// Options for [`ClientSecretCredential`].
#[derive(Clone, Debug, Default)]
pub struct ClientSecretCredentialOptions {
    /// HTTP pipeline options: transport, retry, policies, and `cloud` to choose
    /// the authority (else `AZURE_AUTHORITY_HOST`, else the public cloud).
    pub client_options: ClientOptions,
    /// Tenants this credential may request tokens from besides its own, per
    /// request (`TokenRequestExtras::tenant_id`); `"*"` allows any. Also read
    /// from `AZURE_ADDITIONALLY_ALLOWED_TENANTS` (`;`-separated).
    pub additionally_allowed_tenants: Vec<String>,
    /// Where environment variables and the time are read from.
    pub platform: Platform,
}

/// Authenticates a service principal with a client secret.
///
/// Tokens are cached per scopes; concurrent requests for one key send one
/// request, and tokens are refreshed before they expire.
pub struct ClientSecretCredential {
    client: Arc<ConfidentialClient>,
    secret: Arc<Secret>,
}

impl ClientSecretCredential {
    /// A credential for `client_id` in `tenant_id`, authenticating with `secret`.
    ///
    /// Fails when the tenant id is malformed, the client id or secret is empty,
    /// the authority host is unusable, or no HTTP client is available.
    pub fn new(
        tenant_id: &str,
        client_id: String,
        secret: Secret,
        options: Option<ClientSecretCredentialOptions>,
    ) -> azure_core::Result<Arc<Self>> {
        let options = options.unwrap_or_default();
        validate_not_empty(NAME, "the client secret", secret.secret())?;
        let client = ConfidentialClient::new(
            NAME,
            anchors::CLIENT_SECRET,
            tenant_id.to_owned(),
            client_id,
            options.client_options,
            &options.additionally_allowed_tenants,
            &options.platform,
        )?;
        Ok(Arc::new(Self {
            client: Arc::new(client),
            secret: Arc::new(secret),
        }))
    }
}

#[async_trait::async_trait]
impl TokenCredential for ClientSecretCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.client
            .get_token(scopes, options, || {
                let secret = Arc::clone(&self.secret);
                move |_| async move { Ok(Proof::Secret(Secret::clone(&secret))) }
            })
            .await
    }
}

// The secret is never printed.
impl fmt::Debug for ClientSecretCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.client, f)
    }
}

#[cfg(test)]
mod tests;
