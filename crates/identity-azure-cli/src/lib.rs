#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod output;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use identity_core::{
    CredentialError, Platform,
    authority::validate_tenant_id,
    cache::{RefreshRule, TokenCache},
    error::anchors,
    process::{DEFAULT_PROCESS_TIMEOUT, TokioExecutor, Tool, check_argument},
    scopes::validate_scopes,
};
use std::{ffi::OsString, fmt, sync::Arc, time::Duration};

pub use identity_core::process::Executor;

const NAME: &str = "AzureCliCredential";

pub(crate) const TOOL: Tool = Tool {
    credential: NAME,
    program: "az",
    install_hint: "install the Azure CLI (https://aka.ms/azure-cli) and run `az login`",
    output_hint: "run `az account get-access-token --output json` in a terminal; update the Azure CLI if its output looks different",
    anchor: anchors::AZURE_CLI,
};

/// Options for [`AzureCliCredential`].
#[derive(Clone, Debug, Default)]
pub struct AzureCliCredentialOptions {
    /// Ask `az` for a token in this tenant (`--tenant`).
    pub tenant_id: Option<String>,
    /// Ask `az` for a token for this subscription's tenant (`--subscription`,
    /// name or id). Not together with `tenant_id`.
    pub subscription: Option<String>,
    /// Runs `az` (default: a tokio child process).
    pub executor: Option<Arc<dyn Executor>>,
    /// How long `az` may run before it is killed (default 10 s).
    pub process_timeout: Option<Duration>,
    /// Where environment variables (`PATH` for finding `az`, and the
    /// environment `az` runs with) and the time are read from.
    pub platform: Platform,
}

/// Tokens from the Azure CLI: whoever is logged in with `az login`.
pub struct AzureCliCredential {
    inner: Arc<Inner>,
}

struct Inner {
    tenant_id: Option<String>,
    subscription: Option<String>,
    executor: Arc<dyn Executor>,
    timeout: Duration,
    platform: Platform,
    cache: TokenCache,
}

fn subscription_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ')
}

/// Scope characters the CLI credentials of every Azure SDK accept.
pub(crate) fn scope_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/')
}

impl AzureCliCredential {
    /// A credential that runs `az account get-access-token`.
    ///
    /// # Errors
    /// An invalid tenant id or subscription, or both given (`az` takes one).
    pub fn new(options: Option<AzureCliCredentialOptions>) -> azure_core::Result<Arc<Self>> {
        let options = options.unwrap_or_default();
        let checks = || -> Result<(), CredentialError> {
            if let Some(tenant) = &options.tenant_id {
                validate_tenant_id(NAME, tenant)?;
            }
            if let Some(subscription) = &options.subscription {
                check_argument(NAME, "the subscription", subscription, subscription_char)?;
            }
            if options.tenant_id.is_some() && options.subscription.is_some() {
                return Err(CredentialError::failed(
                    NAME,
                    "set tenant_id or subscription, not both: az takes one",
                )
                .with_anchor(anchors::AZURE_CLI));
            }
            Ok(())
        };
        checks().map_err(CredentialError::into_azure_error)?;
        Ok(Arc::new(Self {
            inner: Arc::new(Inner {
                cache: TokenCache::new(Arc::clone(&options.platform.clock), RefreshRule::Standard),
                tenant_id: options.tenant_id,
                subscription: options.subscription,
                executor: options.executor.unwrap_or_else(|| Arc::new(TokioExecutor)),
                timeout: options.process_timeout.unwrap_or(DEFAULT_PROCESS_TIMEOUT),
                platform: options.platform,
            }),
        }))
    }
}

impl Inner {
    fn arguments(&self, scope: &str, tenant: Option<&str>) -> Vec<OsString> {
        let mut args: Vec<OsString> = [
            "account",
            "get-access-token",
            "--output",
            "json",
            "--scope",
            scope,
        ]
        .iter()
        .map(OsString::from)
        .collect();
        if let Some(tenant) = tenant {
            args.extend(["--tenant".into(), tenant.into()]);
        } else if let Some(subscription) = &self.subscription {
            args.extend(["--subscription".into(), subscription.into()]);
        }
        args
    }

    async fn fetch(
        &self,
        scope: String,
        tenant: Option<String>,
    ) -> Result<identity_core::cache::FetchedToken, CredentialError> {
        // TZ=UTC: `expiresOn` (older CLIs give only that) is then UTC, not a
        // local time this process cannot reliably convert.
        let extra_env = vec![
            ("TZ".to_owned(), "UTC".to_owned()),
            ("AZURE_CORE_NO_COLOR".to_owned(), "true".to_owned()),
        ];
        let output = TOOL
            .run(
                self.executor.as_ref(),
                &self.platform.env,
                self.arguments(&scope, tenant.as_deref()),
                extra_env,
                self.timeout,
            )
            .await?;
        output::parse(&output, self.platform.clock.now())
    }
}

#[async_trait::async_trait]
impl TokenCredential for AzureCliCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let extras = identity_core::TokenRequestExtras::from_options(options.as_ref());
        if let Some(claims) = &extras.claims {
            return Err(claims_challenge(
                claims,
                extras
                    .tenant_id
                    .as_deref()
                    .or(self.inner.tenant_id.as_deref()),
            )
            .into_azure_error());
        }
        // The options' tenant was checked in `new`; a per-request one is checked here.
        if let Some(requested) = &extras.tenant_id {
            validate_tenant_id(NAME, requested).map_err(CredentialError::into_azure_error)?;
        }
        let tenant = extras
            .tenant_id
            .as_deref()
            .or(self.inner.tenant_id.as_deref());
        self.inner
            .cache
            .get_or_fetch(scopes, tenant, None, || {
                let checked = match scopes {
                    [scope] => validate_scopes(NAME, scopes)
                        .and_then(|()| check_argument(NAME, "the scope", scope, scope_char))
                        .map(|()| (*scope).to_owned()),
                    _ => Err(CredentialError::failed(
                        NAME,
                        format!(
                            "az takes exactly one scope per request; {} were requested",
                            scopes.len()
                        ),
                    )
                    .with_fix("ask for one resource's scope per get_token call")
                    .with_anchor(anchors::INVALID_INPUT)),
                };
                let inner = Arc::clone(&self.inner);
                let tenant = tenant.map(str::to_owned);
                async move { inner.fetch(checked?, tenant).await }
            })
            .await
    }
}

/// az cannot answer a claims challenge by itself: the user must sign in again
/// with the challenge, and the message gives the exact command.
fn claims_challenge(claims: &str, tenant: Option<&str>) -> CredentialError {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(claims);
    let mut command = format!("az login --claims-challenge {encoded}");
    if let Some(tenant) = tenant {
        command.push_str(&format!(" --tenant {tenant}"));
    }
    CredentialError::failed(
        NAME,
        "the resource asked for a claims challenge, which az can only answer by signing in again",
    )
    .with_fix(format!("run: {command}"))
    .with_anchor(anchors::AZURE_CLI)
}

impl fmt::Debug for AzureCliCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(NAME)
            .field("tenant_id", &self.inner.tenant_id)
            .field("subscription", &self.inner.subscription)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}
