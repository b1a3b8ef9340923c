#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod selection;

use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    http::ClientOptions,
};
use identity_azd::{AzureDeveloperCliCredential, AzureDeveloperCliCredentialOptions};
use identity_azure_cli::{AzureCliCredential, AzureCliCredentialOptions};
use identity_chain::{ChainedTokenCredential, ChainedTokenCredentialOptions, LinkOutcome};
use identity_client_assertion::ClientAssertionCredentialOptions;
use identity_core::{CredentialError, Platform, error::anchors};
use identity_environment::{EnvironmentCredential, EnvironmentCredentialOptions};
use identity_msi::{ManagedIdentityCredential, ManagedIdentityCredentialOptions};
use identity_workload::{WorkloadIdentityCredential, WorkloadIdentityCredentialOptions};
use selection::{Link, Selection};
use std::{borrow::Cow, fmt, fmt::Write as _, sync::Arc, time::Duration};

pub use selection::AZURE_TOKEN_CREDENTIALS;

const NAME: &str = "DefaultAzureCredential";

/// Options for [`DefaultAzureCredential`].
#[derive(Clone, Debug, Default)]
pub struct DefaultAzureCredentialOptions {
    /// HTTP pipeline options for every link that talks to a service.
    pub client_options: ClientOptions,
    /// Leave out `EnvironmentCredential`.
    pub exclude_environment_credential: bool,
    /// Leave out `WorkloadIdentityCredential`.
    pub exclude_workload_identity_credential: bool,
    /// Leave out `ManagedIdentityCredential`.
    pub exclude_managed_identity_credential: bool,
    /// Leave out `AzureCliCredential`.
    pub exclude_azure_cli_credential: bool,
    /// Leave out `AzureDeveloperCliCredential`.
    pub exclude_azure_developer_cli_credential: bool,
    /// The user-assigned managed identity (client id); default `AZURE_CLIENT_ID`.
    pub managed_identity_client_id: Option<String>,
    /// Workload identity's client id; default `AZURE_CLIENT_ID`.
    pub workload_identity_client_id: Option<String>,
    /// Workload identity's tenant; default `AZURE_TENANT_ID`.
    pub workload_identity_tenant_id: Option<String>,
    /// The tenant the developer tools ask for.
    pub tenant_id: Option<String>,
    /// Tenants the Entra-based links may request tokens from besides their
    /// own, per request; `"*"` allows any (also `AZURE_ADDITIONALLY_ALLOWED_TENANTS`).
    pub additionally_allowed_tenants: Vec<String>,
    /// How long `az`/`azd` may run (default 10 s).
    pub process_timeout: Option<Duration>,
    /// Fail in `new` unless `AZURE_TOKEN_CREDENTIALS` is set.
    pub require_azure_token_credentials: bool,
    /// Where environment variables and the time are read from.
    pub platform: Platform,
}

/// Environment, workload identity, managed identity, then the Azure CLI and
/// the Azure Developer CLI: the first that is configured here gives the token,
/// and is kept. See the [crate documentation](crate).
pub struct DefaultAzureCredential {
    chain: Arc<ChainedTokenCredential>,
    selection: Selection,
}

/// A link that could not be set up: it reports *unavailable* with the reason.
#[derive(Debug)]
struct NotSetUp(CredentialError);

#[async_trait::async_trait]
impl TokenCredential for NotSetUp {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Err(self.0.clone().into_azure_error())
    }
}

fn set_up<C: TokenCredential + 'static>(
    link: Link,
    built: azure_core::Result<Arc<C>>,
) -> Arc<dyn TokenCredential> {
    match built {
        Ok(credential) => credential,
        Err(error) => {
            let reason = CredentialError::find(&error)
                .map_or_else(|| error.to_string(), |e| e.message().to_owned());
            Arc::new(NotSetUp(
                CredentialError::unavailable(link.name(), format!("could not be set up: {reason}"))
                    .with_anchor(anchors::DEFAULT),
            ))
        }
    }
}

impl DefaultAzureCredential {
    /// Builds the chain, once, from the options and the environment.
    ///
    /// # Errors
    /// An invalid `AZURE_TOKEN_CREDENTIALS` (the message lists the valid
    /// values), or none when `require_azure_token_credentials` is set, or
    /// every link excluded. Links that cannot be set up do not fail here: they
    /// report *unavailable* with their reason.
    pub fn new(options: Option<DefaultAzureCredentialOptions>) -> azure_core::Result<Arc<Self>> {
        let options = options.unwrap_or_default();
        let selection = Selection::decide(&options).map_err(CredentialError::into_azure_error)?;
        let env = &options.platform.env;
        let mut links: Vec<(Cow<'static, str>, Arc<dyn TokenCredential>)> = Vec::new();
        for link in selection.included() {
            let credential = match link {
                Link::Environment => set_up(
                    link,
                    EnvironmentCredential::new(Some(EnvironmentCredentialOptions {
                        client_options: options.client_options.clone(),
                        additionally_allowed_tenants: options.additionally_allowed_tenants.clone(),
                        platform: options.platform.clone(),
                    })),
                ),
                Link::WorkloadIdentity => set_up(
                    link,
                    WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                        credential_options: ClientAssertionCredentialOptions {
                            client_options: options.client_options.clone(),
                            additionally_allowed_tenants: options
                                .additionally_allowed_tenants
                                .clone(),
                            platform: options.platform.clone(),
                        },
                        client_id: options.workload_identity_client_id.clone(),
                        tenant_id: options.workload_identity_tenant_id.clone(),
                        ..Default::default()
                    })),
                ),
                Link::ManagedIdentity => set_up(
                    link,
                    ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                        client_id: options
                            .managed_identity_client_id
                            .clone()
                            .or_else(|| env.var("AZURE_CLIENT_ID")),
                        client_options: options.client_options.clone(),
                        // A laptop without IMDS moves on within a second, unless
                        // managed identity was asked for by name.
                        probe_first: !selection.named(Link::ManagedIdentity),
                        platform: options.platform.clone(),
                        ..Default::default()
                    })),
                ),
                Link::AzureCli => set_up(
                    link,
                    AzureCliCredential::new(Some(AzureCliCredentialOptions {
                        tenant_id: options.tenant_id.clone(),
                        process_timeout: options.process_timeout,
                        platform: options.platform.clone(),
                        ..Default::default()
                    })),
                ),
                Link::AzureDeveloperCli => set_up(
                    link,
                    AzureDeveloperCliCredential::new(Some(AzureDeveloperCliCredentialOptions {
                        tenant_id: options.tenant_id.clone(),
                        process_timeout: options.process_timeout,
                        platform: options.platform.clone(),
                        ..Default::default()
                    })),
                ),
            };
            links.push((Cow::Borrowed(link.name()), credential));
        }
        let chain = ChainedTokenCredential::new(
            links,
            Some(ChainedTokenCredentialOptions {
                sticky: true,
                // A developer tool's failure (an expired login) lets the next
                // tool try, as in the other Azure SDKs.
                pass_over_failures_of: vec![
                    Link::AzureCli.name().into(),
                    Link::AzureDeveloperCli.name().into(),
                ],
                ..Default::default()
            }),
        )?;
        tracing::debug!(links = ?chain.names().collect::<Vec<_>>(), selection = %selection.describe(), "DefaultAzureCredential set up");
        Ok(Arc::new(Self { chain, selection }))
    }

    /// The link in use, once one has given a token.
    pub fn chosen(&self) -> Option<&str> {
        self.chain.chosen()
    }

    /// Which link was chosen and why the others were skipped or left out:
    /// for "why is it using my CLI login?".
    pub fn explain(&self) -> String {
        let mut text = format!("{NAME} ({}):\n", self.selection.describe());
        for (name, outcome) in self.chain.last_attempt() {
            let what = match outcome {
                LinkOutcome::Chosen => "chosen: it gave the token".to_owned(),
                LinkOutcome::Unavailable(e) => format!("skipped, unavailable: {}", e.message()),
                LinkOutcome::Failed(e) => format!("failed: {}", e.message()),
                LinkOutcome::NotTried => match self.chain.chosen() {
                    Some(chosen) if chosen == name => "chosen earlier and kept".to_owned(),
                    _ => "not tried".to_owned(),
                },
                _ => "unknown".to_owned(),
            };
            let _ = writeln!(text, "  {name}: {what}");
        }
        for (link, why) in self.selection.left_out() {
            let _ = writeln!(text, "  {}: left out ({why})", link.name());
        }
        text
    }
}

#[async_trait::async_trait]
impl TokenCredential for DefaultAzureCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.chain.get_token(scopes, options).await.map_err(|error| match CredentialError::find(&error) {
            Some(chain) => chain
                .clone()
                .with_credential(NAME)
                .with_fix("configure one of the credentials above for this environment, or set AZURE_TOKEN_CREDENTIALS to the one you mean")
                .with_anchor(anchors::DEFAULT)
                .into_azure_error(),
            None => error,
        })
    }
}

impl fmt::Debug for DefaultAzureCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(NAME)
            .field("links", &self.chain.names().collect::<Vec<_>>())
            .field("chosen", &self.chain.chosen())
            .finish_non_exhaustive()
    }
}
