//! The [`Emulator`] handle: start, configure, inspect, stop.

use crate::{
    AccessTokenClaims, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT,
    faults::{Fault, FaultTarget},
    jwt::process_keys,
    log::LoggedRequest,
    resource,
    server::serve,
    state::{AssertionTrust, Shared},
};
use serde_json::json;
use std::{
    io,
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

/// How to start an [`Emulator`].
#[derive(Clone, Debug, Default)]
pub struct EmulatorConfig {
    /// The port on 127.0.0.1; 0 (the default) picks a free one.
    pub port: u16,
}

/// A running emulator on 127.0.0.1. Clones share the server; it stops on
/// [`Emulator::shutdown`] or when the last clone is dropped.
///
/// It starts with one tenant, [`DEFAULT_TENANT`], holding one app,
/// [`DEFAULT_CLIENT_ID`], whose secret is [`DEFAULT_CLIENT_SECRET`].
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Running>,
}

struct Running {
    shared: Arc<Shared>,
    address: SocketAddr,
    stop: watch::Sender<bool>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Starts an emulator on an ephemeral port of 127.0.0.1.
    ///
    /// # Errors
    /// When no port can be bound or no signing key generated.
    pub async fn start() -> io::Result<Self> {
        Self::start_with(EmulatorConfig::default()).await
    }

    /// Starts an emulator as `config` says.
    ///
    /// # Errors
    /// When the port cannot be bound or no signing key generated.
    pub async fn start_with(config: EmulatorConfig) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let address = listener.local_addr()?;
        let (token_key, federation_key) = process_keys().map_err(io::Error::other)?;
        let shared = Arc::new(Shared::new(
            format!("http://{address}"),
            token_key,
            federation_key,
        ));
        shared
            .lock()
            .app_mut(DEFAULT_TENANT, DEFAULT_CLIENT_ID)
            .secrets
            .push(DEFAULT_CLIENT_SECRET.to_owned());
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(listener, Arc::clone(&shared), stopped));
        Ok(Self {
            inner: Arc::new(Running {
                shared,
                address,
                stop,
                server: Mutex::new(Some(server)),
            }),
        })
    }

    /// Stops accepting connections and closes open ones (hung requests included).
    pub async fn shutdown(self) {
        let _ = self.inner.stop.send(true);
        let server = self
            .inner
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(server) = server {
            let _ = server.await;
        }
    }

    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        self.inner.shared.base_url.clone()
    }

    /// The port the emulator listens on.
    pub fn port(&self) -> u16 {
        self.inner.address.port()
    }

    /// The authority host to give a credential (`ClientOptions.cloud` or
    /// `AZURE_AUTHORITY_HOST`): the emulator's URL.
    pub fn authority_host(&self) -> String {
        self.url()
    }

    /// The token endpoint for `tenant`.
    pub fn token_endpoint(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.url())
    }

    /// Registers a tenant with no apps (a tenant the directory knows).
    pub fn add_tenant(&self, tenant: &str) {
        self.inner.shared.lock().tenant_mut(tenant);
    }

    /// Registers an app in `tenant` (both created when new) with a client secret.
    /// An app may hold several secrets.
    pub fn add_secret_app(&self, tenant: &str, client_id: &str, secret: &str) {
        self.inner
            .shared
            .lock()
            .app_mut(tenant, client_id)
            .secrets
            .push(secret.to_owned());
    }

    /// Registers an app in `tenant` (both created when new) that proves itself
    /// with client assertions trusted as `trust` says. An app may hold several trusts.
    pub fn add_assertion_app(&self, tenant: &str, client_id: &str, trust: AssertionTrust) {
        self.inner
            .shared
            .lock()
            .app_mut(tenant, client_id)
            .trusts
            .push(trust);
    }

    /// The issuer of [`Emulator::federated_token`]s, with OIDC discovery at
    /// `{issuer}/.well-known/openid-configuration`.
    pub fn federation_issuer(&self) -> String {
        self.inner.shared.federation_issuer()
    }

    /// A token from the emulator's federation issuer, as a Kubernetes service
    /// account token or a GitHub/Azure Pipelines OIDC token would be: a client
    /// assertion for apps registered with [`AssertionTrust::FederationIssuer`]
    /// or [`AssertionTrust::FederatedSubject`]. Empty if signing fails.
    pub fn federated_token(&self, subject: &str, audience: &str, lifetime: Duration) -> String {
        let now = crate::entra::now_secs();
        let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = json!({
            "iss": self.federation_issuer(),
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now.saturating_add(lifetime),
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        self.federated_token_with_claims(&claims)
    }

    /// A token from the emulator's federation issuer with exactly these
    /// claims, for testing how bad ones are refused (an `exp` in the past, a
    /// foreign `iss`, a missing `sub`). Empty if signing fails.
    pub fn federated_token_with_claims(&self, claims: &serde_json::Value) -> String {
        self.inner
            .shared
            .federation_key
            .sign(claims)
            .unwrap_or_default()
    }

    /// Sets the lifetime of tokens issued from now on, and whether the token
    /// endpoint sends `refresh_in` (the service's hint to refresh early).
    pub fn set_token_lifetime(&self, expires_in: Duration, refresh_in: Option<Duration>) {
        let mut state = self.inner.shared.lock();
        state.lifetime.expires_in = expires_in;
        state.lifetime.refresh_in = refresh_in;
    }

    /// Verifies an access token this emulator issued (signature, `nbf`, `exp`)
    /// and returns its claims.
    ///
    /// # Errors
    /// Why the token is not acceptable.
    pub fn verify_access_token(&self, token: &str) -> Result<AccessTokenClaims, String> {
        resource::verify(&self.inner.shared, token)
    }

    /// The protected resource's URL: `GET` it with `Authorization: Bearer
    /// {token}` for a token whose audience is [`Emulator::resource_audience`].
    pub fn resource_url(&self) -> String {
        format!("{}{}", self.url(), resource::PATH)
    }

    /// The audience the protected resource requires; ask for
    /// `{audience}/.default`.
    pub fn resource_audience(&self) -> &'static str {
        resource::AUDIENCE
    }

    /// Every request received so far (the latest 100 000), oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.inner.shared.lock().log.iter().cloned().collect()
    }

    /// How many logged requests have a path containing `path_contains`.
    pub fn request_count(&self, path_contains: &str) -> usize {
        self.inner
            .shared
            .lock()
            .log
            .iter()
            .filter(|r| r.path.contains(path_contains))
            .count()
    }

    /// Forgets the logged requests.
    pub fn clear_requests(&self) {
        self.inner.shared.lock().log.clear();
    }

    /// Queues one-shot faults: each matching request takes the next one.
    pub fn push_faults(&self, target: FaultTarget, faults: impl IntoIterator<Item = Fault>) {
        self.inner.shared.lock().faults.push(target, faults);
    }

    /// Sets (or with `None` clears) the fault every matching request gets once
    /// the queued ones are used up.
    pub fn set_default_fault(&self, target: FaultTarget, fault: Option<Fault>) {
        self.inner.shared.lock().faults.set_default(target, fault);
    }

    /// Delays every matching request by `latency` (zero clears it).
    pub fn set_latency(&self, target: FaultTarget, latency: Duration) {
        self.inner.shared.lock().faults.set_latency(target, latency);
    }

    /// Clears queued and default faults and latencies.
    pub fn clear_faults(&self) {
        self.inner.shared.lock().faults = crate::faults::FaultPlan::default();
    }
}
