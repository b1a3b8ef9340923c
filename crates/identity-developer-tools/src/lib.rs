#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use identity_azd::{AzureDeveloperCliCredential, AzureDeveloperCliCredentialOptions};
use identity_azure_cli::{AzureCliCredential, AzureCliCredentialOptions};
use identity_core::{CredentialError, FailureKind, Platform, error::anchors, process::Executor};
use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

const NAME: &str = "DeveloperToolsCredential";
/// No tool has succeeded yet.
const UNDECIDED: usize = usize::MAX;

/// Options for [`DeveloperToolsCredential`], passed to each tool.
#[derive(Clone, Debug, Default)]
pub struct DeveloperToolsCredentialOptions {
    /// The tenant to ask each tool for.
    pub tenant_id: Option<String>,
    /// Runs the tools (default: tokio child processes).
    pub executor: Option<Arc<dyn Executor>>,
    /// How long each tool may run (default 10 s).
    pub process_timeout: Option<Duration>,
    /// Where environment variables and the time are read from.
    pub platform: Platform,
}

/// The Azure CLI, then the Azure Developer CLI: the first that gives a token
/// is used from then on.
pub struct DeveloperToolsCredential {
    tools: Vec<(&'static str, Arc<dyn TokenCredential>)>,
    chosen: AtomicUsize,
}

impl DeveloperToolsCredential {
    /// A credential trying `az`, then `azd`.
    ///
    /// # Errors
    /// An invalid tenant id.
    pub fn new(options: Option<DeveloperToolsCredentialOptions>) -> azure_core::Result<Arc<Self>> {
        let options = options.unwrap_or_default();
        let az = AzureCliCredential::new(Some(AzureCliCredentialOptions {
            tenant_id: options.tenant_id.clone(),
            executor: options.executor.clone(),
            process_timeout: options.process_timeout,
            platform: options.platform.clone(),
            ..Default::default()
        }))?;
        let azd = AzureDeveloperCliCredential::new(Some(AzureDeveloperCliCredentialOptions {
            tenant_id: options.tenant_id,
            executor: options.executor,
            process_timeout: options.process_timeout,
            platform: options.platform,
        }))?;
        Ok(Arc::new(Self {
            tools: vec![
                ("AzureCliCredential", az as Arc<dyn TokenCredential>),
                (
                    "AzureDeveloperCliCredential",
                    azd as Arc<dyn TokenCredential>,
                ),
            ],
            chosen: AtomicUsize::new(UNDECIDED),
        }))
    }
}

#[async_trait::async_trait]
impl TokenCredential for DeveloperToolsCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if let Some((_, tool)) = self.tools.get(self.chosen.load(Ordering::Acquire)) {
            return tool.get_token(scopes, options).await;
        }
        let mut reasons = Vec::new();
        let mut all_unavailable = true;
        for (index, (name, tool)) in self.tools.iter().enumerate() {
            match tool.get_token(scopes, options.clone()).await {
                Ok(token) => {
                    // Sticky: the tool that worked is the one used from now on.
                    let _ = self.chosen.compare_exchange(
                        UNDECIDED,
                        index,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                    return Ok(token);
                }
                Err(error) => {
                    let (unavailable, reason) = match CredentialError::find(&error) {
                        Some(details) => (details.is_unavailable(), details.message().to_owned()),
                        None => (false, error.to_string()),
                    };
                    all_unavailable &= unavailable;
                    reasons.push(format!("{name}: {reason}"));
                }
            }
        }
        let kind = if all_unavailable {
            FailureKind::Unavailable
        } else {
            FailureKind::Failed
        };
        Err(CredentialError::failed(
            NAME,
            format!(
                "no developer tool gave a token:\n  - {}",
                reasons.join("\n  - ")
            ),
        )
        .with_kind(kind)
        .with_fix("log in with `az login` or `azd auth login`")
        .with_anchor(anchors::DEVELOPER_TOOLS)
        .into_azure_error())
    }
}

impl fmt::Debug for DeveloperToolsCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chosen = self
            .tools
            .get(self.chosen.load(Ordering::Acquire))
            .map(|(name, _)| *name);
        f.debug_struct(NAME)
            .field("chosen", &chosen)
            .finish_non_exhaustive()
    }
}
