#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "reqwest_rustls")]
mod proxy;
mod token_file;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use identity_client_assertion::{ClientAssertionCredential, ClientAssertionCredentialOptions};
use identity_core::{CredentialError, error::anchors};
use std::{fmt, path::PathBuf, sync::Arc, time::Duration};
use token_file::{SharedTokenFile, TokenFile};

const NAME: &str = "WorkloadIdentityCredential";

/// How long a read of the token file is reused. Kubernetes rotates projected
/// tokens at 80 % of their lifetime (at least an hour), so this is well inside.
pub const TOKEN_FILE_REREAD_AFTER: Duration = Duration::from_secs(5 * 60);

/// Options for [`WorkloadIdentityCredential`].
#[derive(Clone, Debug, Default)]
pub struct WorkloadIdentityCredentialOptions {
    /// Options of the underlying assertion credential (HTTP pipeline, cloud,
    /// and the platform environment and clock).
    pub credential_options: ClientAssertionCredentialOptions,
    /// The app's client id; default `AZURE_CLIENT_ID`.
    pub client_id: Option<String>,
    /// The tenant; default `AZURE_TENANT_ID`.
    pub tenant_id: Option<String>,
    /// The projected service account token; default `AZURE_FEDERATED_TOKEN_FILE`.
    pub token_file_path: Option<PathBuf>,
    /// Send token requests through the AKS identity-binding token proxy when
    /// `AZURE_KUBERNETES_TOKEN_PROXY` is set (with `AZURE_KUBERNETES_SNI_NAME`
    /// and `AZURE_KUBERNETES_CA_FILE` or `_CA_DATA`). Off by default; needs
    /// the `reqwest_rustls` feature. The proxy replaces
    /// `client_options.transport`.
    pub enable_proxy: bool,
}

/// Exchanges a Kubernetes service account token (a file the cluster keeps
/// fresh) for a Microsoft Entra ID token, as AKS workload identity sets up.
pub struct WorkloadIdentityCredential {
    inner: Arc<ClientAssertionCredential<SharedTokenFile>>,
    file: Arc<TokenFile>,
}

impl WorkloadIdentityCredential {
    /// A credential configured by `options`, else by `AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE` (and
    /// `AZURE_AUTHORITY_HOST` for the authority). The file is read when an
    /// assertion is needed, not here.
    ///
    /// # Errors
    /// An *unavailable* error naming what is missing when the tenant, client id
    /// or token file is not configured; a failed one for an invalid tenant id.
    pub fn new(
        options: Option<WorkloadIdentityCredentialOptions>,
    ) -> azure_core::Result<Arc<Self>> {
        let options = options.unwrap_or_default();
        let env = &options.credential_options.platform.env;
        let missing = |what: &str, variable: &str| {
            CredentialError::unavailable(NAME, format!("no {what}: set {variable} or the option"))
                .with_fix("on AKS, enable workload identity on the pod (label azure.workload.identity/use: \"true\") so the variables are injected")
                .with_anchor(anchors::WORKLOAD_IDENTITY)
                .into_azure_error()
        };
        let tenant_id = options
            .tenant_id
            .clone()
            .or_else(|| env.var("AZURE_TENANT_ID"))
            .ok_or_else(|| missing("tenant id", "AZURE_TENANT_ID"))?;
        let client_id = options
            .client_id
            .clone()
            .or_else(|| env.var("AZURE_CLIENT_ID"))
            .ok_or_else(|| missing("client id", "AZURE_CLIENT_ID"))?;
        let path = options
            .token_file_path
            .clone()
            .or_else(|| env.var("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from))
            .ok_or_else(|| missing("federated token file", "AZURE_FEDERATED_TOKEN_FILE"))?;
        let mut credential_options = options.credential_options;
        if options.enable_proxy {
            use_token_proxy(&mut credential_options)?;
        }
        let file = Arc::new(TokenFile::new(
            path,
            Arc::clone(&credential_options.platform.clock),
        ));
        let inner = ClientAssertionCredential::for_credential(
            NAME,
            anchors::WORKLOAD_IDENTITY,
            tenant_id,
            client_id,
            SharedTokenFile(Arc::clone(&file)),
            Some(credential_options),
        )?;
        Ok(Arc::new(Self { inner, file }))
    }
}

#[cfg(feature = "reqwest_rustls")]
fn use_token_proxy(options: &mut ClientAssertionCredentialOptions) -> azure_core::Result<()> {
    if let Some(proxy) = proxy::TokenProxy::from_env(&options.platform.env)
        .map_err(CredentialError::into_azure_error)?
    {
        options.client_options.transport = Some(azure_core::http::Transport::new(proxy));
    }
    Ok(())
}

#[cfg(not(feature = "reqwest_rustls"))]
fn use_token_proxy(_: &mut ClientAssertionCredentialOptions) -> azure_core::Result<()> {
    Err(CredentialError::failed(
        NAME,
        "the AKS token proxy needs the `reqwest_rustls` feature",
    )
    .with_anchor(anchors::WORKLOAD_IDENTITY)
    .into_azure_error())
}

#[async_trait::async_trait]
impl TokenCredential for WorkloadIdentityCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let retry_options = options.clone();
        match self.inner.get_token(scopes, options).await {
            // The service found the token expired: the cluster has rotated the
            // file since it was read. Read it again, once.
            Err(error)
                if CredentialError::find(&error).and_then(CredentialError::error_code)
                    == Some("700024") =>
            {
                self.file.forget();
                self.inner.get_token(scopes, retry_options).await
            }
            other => other,
        }
    }
}

impl fmt::Debug for WorkloadIdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(NAME)
            .field("client", &self.inner)
            .field("token_file", &self.file.path())
            .finish()
    }
}

#[cfg(test)]
mod tests;
