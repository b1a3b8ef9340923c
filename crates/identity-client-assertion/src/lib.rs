#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use azure_core::http::{ClientMethodOptions, ClientOptions};
use identity_core::{
    AccessToken, CredentialError, Platform, TokenCredential, TokenRequestOptions,
    entra::{ConfidentialClient, Proof},
    error::anchors,
    http::error_chain,
};
use std::{fmt, sync::Arc};

pub use identity_core::ClientAssertion;

const NAME: &str = "ClientAssertionCredential";

/// Options for [`ClientAssertionCredential`].
#[derive(Clone, Debug, Default)]
pub struct ClientAssertionCredentialOptions {
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

/// Authenticates an application with an assertion from a [`ClientAssertion`]:
/// a federated token (workload identity, a managed identity token for
/// `api://AzureADTokenExchange`, a CI system's OIDC token) or a signed JWT.
///
/// The assertion is requested only when a token must be fetched; tokens are
/// cached per scopes.
pub struct ClientAssertionCredential<C> {
    client: Arc<ConfidentialClient>,
    assertion: Arc<C>,
}

impl<C: ClientAssertion + 'static> ClientAssertionCredential<C> {
    /// A credential for `client_id` in `tenant_id` proving itself with `assertion`.
    pub fn new(
        tenant_id: String,
        client_id: String,
        assertion: C,
        options: Option<ClientAssertionCredentialOptions>,
    ) -> azure_core::Result<Arc<Self>> {
        Self::for_credential(
            NAME,
            anchors::CLIENT_ASSERTION,
            tenant_id,
            client_id,
            assertion,
            options,
        )
    }

    /// As [`new`](Self::new), for a credential built on this one (workload
    /// identity, Azure Pipelines) that reports errors under its own `name` and
    /// troubleshooting `anchor`.
    pub fn for_credential(
        name: &'static str,
        anchor: &'static str,
        tenant_id: String,
        client_id: String,
        assertion: C,
        options: Option<ClientAssertionCredentialOptions>,
    ) -> azure_core::Result<Arc<Self>> {
        let options = options.unwrap_or_default();
        let client = ConfidentialClient::new(
            name,
            anchor,
            tenant_id,
            client_id,
            options.client_options,
            &options.additionally_allowed_tenants,
            &options.platform,
        )?;
        Ok(Arc::new(Self {
            client: Arc::new(client),
            assertion: Arc::new(assertion),
        }))
    }
}

#[async_trait::async_trait]
impl<C: ClientAssertion + 'static> TokenCredential for ClientAssertionCredential<C> {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let name = self.client.credential();
        self.client
            .get_token(scopes, options, || {
                let assertion = Arc::clone(&self.assertion);
                move |context| async move {
                    let options = ClientMethodOptions { context };
                    match assertion.secret(Some(options)).await {
                        Ok(jwt) if !jwt.trim().is_empty() => {
                            Ok(Proof::Assertion(jwt.trim().to_owned()))
                        }
                        Ok(_) => Err(CredentialError::failed(
                            name,
                            "the client assertion is empty",
                        )
                        .with_fix("make the ClientAssertion return a signed JWT")
                        .with_anchor(anchors::CLIENT_ASSERTION)),
                        // A source built on our own parts (a token file, an
                        // OIDC endpoint) already explains itself: pass it on.
                        Err(error) => Err(match CredentialError::find(&error) {
                            Some(explained) => explained.clone(),
                            None => CredentialError::failed(
                                name,
                                format!(
                                    "could not get a client assertion: {}",
                                    error_chain(&error)
                                ),
                            )
                            .with_anchor(anchors::CLIENT_ASSERTION)
                            .with_source(error),
                        }),
                    }
                }
            })
            .await
    }
}

impl<C: fmt::Debug> fmt::Debug for ClientAssertionCredential<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.client, f)
    }
}

#[cfg(test)]
mod tests;
