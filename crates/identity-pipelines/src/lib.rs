#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod oidc;

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use identity_client_assertion::{ClientAssertionCredential, ClientAssertionCredentialOptions};
use identity_core::{
    CredentialError,
    authority::validate_not_empty,
    error::anchors,
    http::{Limits, new_pipeline},
};
use oidc::OidcToken;
use std::{fmt, sync::Arc};

const NAME: &str = "AzurePipelinesCredential";

/// Options for [`AzurePipelinesCredential`].
#[derive(Clone, Debug, Default)]
pub struct AzurePipelinesCredentialOptions {
    /// Options of the underlying assertion credential (HTTP pipeline, cloud,
    /// platform); the OIDC request uses the same client options.
    pub credential_options: ClientAssertionCredentialOptions,
}

/// Authenticates an Azure Pipelines job as the app behind an Azure Resource
/// Manager service connection that uses workload identity federation.
pub struct AzurePipelinesCredential {
    inner: Arc<ClientAssertionCredential<OidcToken>>,
}

impl AzurePipelinesCredential {
    /// A credential for the service connection `service_connection_id`, whose
    /// app is `client_id` in `tenant_id`. `system_access_token` is the job's
    /// `System.AccessToken` (`$(System.AccessToken)` mapped into the step's
    /// environment). The OIDC endpoint comes from `SYSTEM_OIDCREQUESTURI`.
    ///
    /// # Errors
    /// An invalid tenant id, an empty client id, service connection id or
    /// access token, or `SYSTEM_OIDCREQUESTURI` not set (not in a pipeline:
    /// *unavailable*).
    pub fn new<T: Into<Secret>>(
        tenant_id: String,
        client_id: String,
        service_connection_id: &str,
        system_access_token: T,
        options: Option<AzurePipelinesCredentialOptions>,
    ) -> azure_core::Result<Arc<Self>> {
        let options = options.unwrap_or_default();
        let system_access_token = system_access_token.into();
        let checks = || -> Result<_, CredentialError> {
            validate_not_empty(NAME, "the service connection id", service_connection_id)?;
            validate_not_empty(
                NAME,
                "the system access token",
                system_access_token.secret(),
            )?;
            let endpoint = options.credential_options.platform.env.var("SYSTEM_OIDCREQUESTURI").ok_or_else(|| {
                CredentialError::unavailable(NAME, "SYSTEM_OIDCREQUESTURI is not set: this is not an Azure Pipelines job")
                    .with_fix("run in an Azure Pipelines task with a service connection, or use another credential")
                    .with_anchor(anchors::AZURE_PIPELINES)
            })?;
            let pipeline = new_pipeline(
                NAME,
                options.credential_options.client_options.clone(),
                Limits::default(),
            )?;
            OidcToken::new(
                &endpoint,
                service_connection_id,
                system_access_token.clone(),
                pipeline,
            )
        };
        let source = checks().map_err(CredentialError::into_azure_error)?;
        let inner = ClientAssertionCredential::for_credential(
            NAME,
            anchors::AZURE_PIPELINES,
            tenant_id,
            client_id,
            source,
            Some(options.credential_options),
        )?;
        Ok(Arc::new(Self { inner }))
    }
}

#[async_trait::async_trait]
impl TokenCredential for AzurePipelinesCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.inner.get_token(scopes, options).await
    }
}

// The system access token is never printed.
impl fmt::Debug for AzurePipelinesCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

#[cfg(test)]
mod tests;
