#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod arc;
#[cfg(feature = "reqwest_rustls")]
mod fabric;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod response;
mod retry;
mod source;

pub use retry::ImdsRetryOptions;

use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    http::{ClientOptions, Context, Method, Pipeline, Request, RetryOptions, headers::HeaderName},
};
use identity_core::{
    Clock, CredentialError, Platform,
    cache::{FetchedToken, RefreshRule, TokenCache},
    error::anchors,
    http::{self, Exchange, Limits},
    scopes::{scope_to_resource, validate_scopes},
};
use source::Source;
use std::{
    fmt,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

const NAME: &str = "ManagedIdentityCredential";

/// Which user-assigned identity to use; `None` in the options means the
/// resource's system-assigned identity.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserAssignedId {
    /// By client (application) id.
    ClientId(String),
    /// By object (principal) id.
    ObjectId(String),
    /// By Azure resource id.
    ResourceId(String),
}

impl UserAssignedId {
    fn value(&self) -> &str {
        match self {
            Self::ClientId(v) | Self::ObjectId(v) | Self::ResourceId(v) => v,
        }
    }
}

/// Options for [`ManagedIdentityCredential`].
#[derive(Clone, Debug, Default)]
pub struct ManagedIdentityCredentialOptions {
    /// A user-assigned identity; `None` for the system-assigned one.
    pub user_assigned_id: Option<UserAssignedId>,
    /// Shorthand for `user_assigned_id: Some(UserAssignedId::ClientId(..))`;
    /// an error if it contradicts `user_assigned_id`.
    pub client_id: Option<String>,
    /// The HTTP pipeline's options (transport, policies; retry for every source
    /// but IMDS and Arc, which follow [`Self::imds_retry`]).
    pub client_options: ClientOptions,
    /// How IMDS and the Arc agent are retried.
    pub imds_retry: ImdsRetryOptions,
    /// The IMDS host (default `AZURE_POD_IDENTITY_AUTHORITY_HOST`, else
    /// `http://169.254.169.254`).
    pub imds_host: Option<String>,
    /// Where the Arc agent writes its challenge key files (default
    /// `/var/opt/azcmagent/tokens`, or `%PROGRAMDATA%\AzureConnectedMachineAgent\Tokens`).
    pub arc_token_directory: Option<PathBuf>,
    /// Probe IMDS quickly before the first token request, failing as
    /// *unavailable* within [`Self::probe_timeout`] when it does not answer.
    /// Chains (`DefaultAzureCredential`) turn this on.
    pub probe_first: bool,
    /// How long a probe waits (default 1 s).
    pub probe_timeout: Option<Duration>,
    /// Where environment variables and the time are read from.
    pub platform: Platform,
}

/// Tokens for the identity Azure gives the machine, container or app this runs
/// on. See the [crate documentation](crate).
pub struct ManagedIdentityCredential {
    inner: Arc<Inner>,
}

struct Inner {
    source: Source,
    user_assigned: Option<UserAssignedId>,
    pipeline: Pipeline,
    imds_retry: ImdsRetryOptions,
    probe_first: bool,
    probe_timeout: Duration,
    probed: AtomicBool,
    clock: Arc<dyn Clock>,
    cache: TokenCache,
}

/// Per-attempt limits for the identity endpoints (all local to the host).
const LIMITS: Limits = Limits {
    attempt_timeout: http::DEFAULT_ATTEMPT_TIMEOUT,
    deadline: http::DEFAULT_REQUEST_DEADLINE,
    max_body: http::MAX_RESPONSE_BYTES,
};
const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

impl ManagedIdentityCredential {
    /// Detects the managed identity source from the environment, once.
    ///
    /// # Errors
    /// When the environment names a source in a broken way (a malformed URL or
    /// thumbprint), when a user-assigned id is given to a source that cannot
    /// honour it, or when `client_id` contradicts `user_assigned_id`.
    pub fn new(options: Option<ManagedIdentityCredentialOptions>) -> azure_core::Result<Arc<Self>> {
        Self::build(options.unwrap_or_default()).map_err(CredentialError::into_azure_error)
    }

    fn build(options: ManagedIdentityCredentialOptions) -> Result<Arc<Self>, CredentialError> {
        let user_assigned = resolve_user_assigned(options.user_assigned_id, options.client_id)?;
        let source = Source::detect(
            &options.platform.env,
            options.imds_host.as_deref(),
            options.arc_token_directory.as_ref(),
        )?;
        source.check_user_assigned(user_assigned.as_ref())?;
        let mut client_options = options.client_options;
        if matches!(source, Source::Imds { .. } | Source::Arc { .. }) {
            // These follow IMDS's own retry rules (see `imds_retry`).
            client_options.retry = RetryOptions::none();
        }
        if let Source::ServiceFabric { thumbprint, .. } = &source {
            client_options.transport = Some(fabric_transport(*thumbprint)?);
        }
        let pipeline = http::new_pipeline(NAME, client_options, LIMITS)?;
        tracing::debug!(source = ?source, "managed identity source selected");
        let clock = Arc::clone(&options.platform.clock);
        Ok(Arc::new(Self {
            inner: Arc::new(Inner {
                source,
                user_assigned,
                pipeline,
                imds_retry: options.imds_retry,
                probe_first: options.probe_first,
                probe_timeout: options.probe_timeout.unwrap_or(DEFAULT_PROBE_TIMEOUT),
                probed: AtomicBool::new(false),
                cache: TokenCache::new(Arc::clone(&clock), RefreshRule::HalfLifeForLongLived),
                clock,
            }),
        }))
    }

    /// Which source was detected: "IMDS", "App Service", "Azure Arc",
    /// "Service Fabric", "Azure ML" or "Cloud Shell".
    pub fn source(&self) -> &'static str {
        self.inner.source.name()
    }

    /// Whether managed identity is available here, answered quickly: for IMDS,
    /// one request without `Metadata: true`, no retries, within the probe
    /// timeout (1 s by default); any HTTP answer means IMDS is there. Other
    /// sources are available by definition (the host set their variables).
    /// A success is remembered; a failure is not, so a later probe tries again.
    ///
    /// # Errors
    /// An *unavailable* error saying why (no answer in time, connection
    /// refused, Docker Desktop's "unreachable network").
    pub async fn probe(&self) -> azure_core::Result<()> {
        self.inner
            .probe()
            .await
            .map_err(CredentialError::into_azure_error)
    }
}

fn resolve_user_assigned(
    user_assigned: Option<UserAssignedId>,
    client_id: Option<String>,
) -> Result<Option<UserAssignedId>, CredentialError> {
    let client_id = client_id.filter(|c| !c.trim().is_empty());
    let contradiction = |detail: String| {
        CredentialError::failed(
            NAME,
            format!("client_id and user_assigned_id name different identities: {detail}"),
        )
        .with_fix("set only one of them")
        .with_anchor(anchors::MANAGED_IDENTITY)
    };
    match (user_assigned, client_id) {
        (Some(id), _) if id.value().trim().is_empty() => Err(CredentialError::failed(
            NAME,
            "the user-assigned id is empty",
        )
        .with_anchor(anchors::INVALID_INPUT)),
        (Some(UserAssignedId::ClientId(a)), Some(b)) if !a.eq_ignore_ascii_case(&b) => {
            Err(contradiction(format!("client id {a} and client_id {b}")))
        }
        (Some(id @ (UserAssignedId::ObjectId(_) | UserAssignedId::ResourceId(_))), Some(b)) => {
            Err(contradiction(format!("{id:?} and client_id {b}")))
        }
        (Some(id), _) => Ok(Some(id)),
        (None, Some(client_id)) => Ok(Some(UserAssignedId::ClientId(client_id))),
        (None, None) => Ok(None),
    }
}

#[cfg(feature = "reqwest_rustls")]
fn fabric_transport(thumbprint: [u8; 20]) -> Result<azure_core::http::Transport, CredentialError> {
    fabric::pinned_transport(thumbprint).map_err(|e| {
        CredentialError::failed(
            NAME,
            format!("cannot build the Service Fabric TLS client: {e}"),
        )
        .with_anchor(anchors::MANAGED_IDENTITY)
    })
}

#[cfg(not(feature = "reqwest_rustls"))]
fn fabric_transport(_: [u8; 20]) -> Result<azure_core::http::Transport, CredentialError> {
    Err(CredentialError::failed(
        NAME,
        "Service Fabric's endpoint needs certificate pinning, which needs the `reqwest_rustls` feature",
    )
    .with_fix("enable the `reqwest_rustls` feature of identity-msi (or of identity)")
    .with_anchor(anchors::NO_HTTP_CLIENT))
}

impl Inner {
    /// The request for `resource`, in the source's dialect.
    fn request(&self, resource: &str, arc_key: Option<&str>) -> Request {
        let mut url = self.source.endpoint();
        let (api_version, id_names): (Option<&str>, [Option<&str>; 3]) = match &self.source {
            Source::Imds { .. } => (
                Some("2018-02-01"),
                [Some("client_id"), Some("object_id"), Some("msi_res_id")],
            ),
            Source::Arc { .. } => (
                Some("2020-06-01"),
                [Some("client_id"), Some("object_id"), Some("msi_res_id")],
            ),
            Source::AppService { .. } => (
                Some("2019-08-01"),
                [Some("client_id"), Some("object_id"), Some("mi_res_id")],
            ),
            Source::AzureMl { .. } => (Some("2017-09-01"), [Some("clientid"), None, None]),
            Source::ServiceFabric { .. } => (Some("2019-07-01-preview"), [None, None, None]),
            Source::CloudShell { .. } => (None, [None, None, None]),
        };
        if let Some(api_version) = api_version {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("api-version", api_version)
                .append_pair("resource", resource);
            let id = self.user_assigned.as_ref().and_then(|id| {
                let (index, value) = match id {
                    UserAssignedId::ClientId(v) => (0, v),
                    UserAssignedId::ObjectId(v) => (1, v),
                    UserAssignedId::ResourceId(v) => (2, v),
                };
                id_names
                    .get(index)
                    .copied()
                    .flatten()
                    .map(|name| (name, value))
            });
            if let Some((name, value)) = id {
                query.append_pair(name, value);
            }
        }
        let method = if matches!(self.source, Source::CloudShell { .. }) {
            Method::Post
        } else {
            Method::Get
        };
        let mut request = Request::new(url, method);
        let mut header = |name: &'static str, value: String| {
            request.insert_header(HeaderName::from_static(name), value);
        };
        match &self.source {
            Source::Imds { .. } | Source::Arc { .. } => header("metadata", "true".into()),
            Source::AppService { secret, .. } => {
                header("x-identity-header", secret.clone());
                header("metadata", "true".into());
            }
            Source::AzureMl { secret, .. } | Source::ServiceFabric { secret, .. } => {
                header("secret", secret.clone());
            }
            Source::CloudShell { .. } => {
                header("metadata", "true".into());
                header("content-type", "application/x-www-form-urlencoded".into());
            }
        }
        if let Some(key) = arc_key {
            header("authorization", format!("Basic {key}"));
        }
        if matches!(self.source, Source::CloudShell { .. }) {
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("resource", resource)
                .finish();
            request.set_body(body);
        }
        request
    }

    async fn send(
        &self,
        ctx: &Context<'_>,
        request: &mut Request,
    ) -> Result<Exchange, CredentialError> {
        let endpoint = http::endpoint_for_display(request.url());
        let outcome = match self.source {
            Source::Imds { .. } | Source::Arc { .. } => {
                retry::send(
                    &self.pipeline,
                    ctx,
                    request,
                    LIMITS,
                    &self.imds_retry,
                    self.clock.as_ref(),
                )
                .await
            }
            _ => http::exchange(&self.pipeline, ctx, request, LIMITS).await,
        };
        outcome.map_err(|e| {
            let error = e.into_credential_error(NAME, &endpoint);
            let message = format!(
                "{} managed identity: {}",
                self.source.name(),
                error.message()
            );
            CredentialError::failed(NAME, message)
                .with_fix(
                    error
                        .fix()
                        .unwrap_or("check that this host's managed identity endpoint is running")
                        .to_owned(),
                )
                .with_anchor(anchors::MANAGED_IDENTITY)
        })
    }

    async fn fetch(
        &self,
        ctx: Context<'static>,
        resource: String,
    ) -> Result<FetchedToken, CredentialError> {
        if self.probe_first && !self.probed.load(Ordering::Relaxed) {
            self.probe().await?;
        }
        let mut request = self.request(&resource, None);
        let mut answer = self.send(&ctx, &mut request).await?;
        let mut arc_key = None;
        if let Source::Arc {
            token_directory, ..
        } = &self.source
        {
            let key = arc::key_from_challenge(&answer, token_directory)?;
            let mut authorized = self.request(&resource, Some(&key));
            answer = self.send(&ctx, &mut authorized).await?;
            arc_key = Some(key);
        }
        let result = if answer.status.is_success() {
            let echo = match (&self.source, &self.user_assigned) {
                (Source::Arc { .. }, Some(id)) => Some((
                    match id {
                        UserAssignedId::ClientId(_) => "client_id",
                        UserAssignedId::ObjectId(_) => "object_id",
                        UserAssignedId::ResourceId(_) => "msi_res_id",
                    },
                    id.value(),
                )),
                _ => None,
            };
            http::check_json_content_type(&answer.headers)
                .and_then(|()| response::parse_token(&answer.body, self.clock.now(), echo))
                .map_err(|why| {
                CredentialError::failed(
                    NAME,
                    format!(
                        "the {} managed identity endpoint {} answered {} without a usable token: {why}",
                        self.source.name(),
                        self.source.endpoint(),
                        http::describe_status(answer.status)
                    ),
                )
                .with_status(answer.status, None)
                .with_anchor(anchors::MANAGED_IDENTITY)
            })
        } else {
            Err(response::error_for(&self.source, &answer))
        };
        // Neither the host's secret nor the Arc key may leak through an echoing endpoint.
        result.map_err(|error| {
            let error = match self.source.secret() {
                Some(secret) => error.redacting(secret),
                None => error,
            };
            match &arc_key {
                Some(key) => error.redacting(key),
                None => error,
            }
        })
    }

    async fn probe(&self) -> Result<(), CredentialError> {
        // Only IMDS can be absent; its pipeline has no retry policy (see `build`).
        if !matches!(self.source, Source::Imds { .. }) || self.probed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut request = self.request("https://management.azure.com", None);
        // Without `Metadata: true`: IMDS answers 400 at once, which is enough.
        request
            .headers_mut()
            .remove(HeaderName::from_static("metadata"));
        let limits = Limits {
            attempt_timeout: self.probe_timeout,
            deadline: self.probe_timeout,
            ..LIMITS
        };
        let endpoint = self.source.endpoint();
        let unavailable = |why: String| {
            CredentialError::unavailable(NAME, format!("no managed identity endpoint answered at {endpoint}: {why}"))
                .with_fix("run on an Azure VM, VM scale set or AKS node with a managed identity, or use another credential")
                .with_anchor(anchors::MANAGED_IDENTITY)
        };
        match http::exchange(&self.pipeline, &Context::new(), &mut request, limits).await {
            Ok(answer)
                if u16::from(answer.status) == 403
                    && response::unreachable_network(&answer.body) =>
            {
                Err(unavailable(
                    "the network is unreachable (Docker Desktop answers 403 for IMDS)".into(),
                ))
            }
            Ok(_) => {
                self.probed.store(true, Ordering::Relaxed);
                Ok(())
            }
            Err(http::ExchangeError::Deadline { after, .. }) => Err(unavailable(format!(
                "no answer within {}",
                http::describe_duration(after)
            ))),
            Err(error) => Err(unavailable(
                error
                    .into_credential_error(NAME, endpoint.as_str())
                    .message()
                    .to_owned(),
            )),
        }
    }
}

#[async_trait::async_trait]
impl TokenCredential for ManagedIdentityCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        // Managed identity has one tenant: a requested tenant is ignored, as
        // the other Azure SDKs do. A claims challenge skips the cache.
        let fresh = identity_core::TokenRequestExtras::from_options(options.as_ref())
            .claims
            .is_some();
        let fetch = || {
            let checked = match scopes {
                    [scope] => validate_scopes(NAME, scopes).map(|()| scope_to_resource(scope).to_owned()),
                    _ => Err(CredentialError::failed(
                        NAME,
                        format!("managed identity takes exactly one scope; {} were requested", scopes.len()),
                    )
                    .with_fix("ask for one resource's scope per get_token call, such as https://vault.azure.net/.default")
                    .with_anchor(anchors::INVALID_INPUT)),
                };
            let inner = Arc::clone(&self.inner);
            let ctx = options
                .map(|o| o.method_options.context.into_owned())
                .unwrap_or_default();
            async move {
                match checked {
                    Ok(resource) => inner.fetch(ctx, resource).await,
                    Err(error) => Err(error),
                }
            }
        };
        if fresh {
            self.inner.cache.fetch_now(scopes, None, None, fetch).await
        } else {
            self.inner
                .cache
                .get_or_fetch(scopes, None, None, fetch)
                .await
        }
    }
}

// Secrets (identity header, MSI secret, Arc key) are never printed.
impl fmt::Debug for ManagedIdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(NAME)
            .field("source", &self.inner.source)
            .field("user_assigned_id", &self.inner.user_assigned)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
