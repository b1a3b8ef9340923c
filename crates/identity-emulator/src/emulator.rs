//! The [`Emulator`] handle: start, configure, inspect, stop.

use crate::{
    AccessTokenClaims, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT,
    faults::{Fault, FaultTarget},
    jwt::process_keys,
    log::LoggedRequest,
    msi::{self, MANAGED_IDENTITY_SECRET, ManagedIdentity},
    resource,
    server::serve,
    state::{AssertionTrust, Shared},
};
use std::{
    io,
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
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
    /// The Service Fabric endpoint's own https listener.
    fabric_address: SocketAddr,
    fabric_thumbprint: String,
    tls_certificate: Vec<u8>,
    arc_directory: PathBuf,
    stop: watch::Sender<bool>,
    servers: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        // Best effort: the Arc key files are the emulator's own.
        let _ = std::fs::remove_dir_all(&self.arc_directory);
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
        let fabric_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let fabric_address = fabric_listener.local_addr()?;
        let fabric_tls = crate::tls::self_signed().map_err(io::Error::other)?;
        let (token_key, federation_key) = process_keys().map_err(io::Error::other)?;
        let arc_directory = std::env::temp_dir().join(format!(
            "identity-emulator-{}-{}",
            std::process::id(),
            address.port()
        ));
        let shared = Arc::new(Shared::new(
            format!("http://{address}"),
            token_key,
            federation_key,
            arc_directory.clone(),
        ));
        shared
            .lock()
            .app_mut(DEFAULT_TENANT, DEFAULT_CLIENT_ID)
            .secrets
            .push(DEFAULT_CLIENT_SECRET.to_owned());
        let (stop, stopped) = watch::channel(false);
        let servers = vec![
            tokio::spawn(serve(listener, None, Arc::clone(&shared), stopped.clone())),
            tokio::spawn(serve(
                fabric_listener,
                Some(fabric_tls.acceptor),
                Arc::clone(&shared),
                stopped,
            )),
        ];
        Ok(Self {
            inner: Arc::new(Running {
                shared,
                address,
                fabric_address,
                fabric_thumbprint: fabric_tls.thumbprint,
                tls_certificate: fabric_tls.pem,
                arc_directory,
                stop,
                servers: Mutex::new(servers),
            }),
        })
    }

    /// Stops accepting connections and closes open ones (hung requests included).
    pub async fn shutdown(self) {
        let _ = self.inner.stop.send(true);
        let servers = std::mem::take(
            &mut *self
                .inner
                .servers
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for server in servers {
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

    /// Registers an app that authenticates with a new self-signed RSA
    /// certificate, and returns the certificate and its private key as one PEM
    /// (what `ClientCertificateCredential` reads). A test value: never use it
    /// outside tests.
    ///
    /// # Errors
    /// When openssl cannot make the key or certificate.
    pub fn add_certificate_app(&self, tenant: &str, client_id: &str) -> io::Result<Vec<u8>> {
        let (certificate, key) =
            crate::tls::rsa_app_certificate(client_id).map_err(io::Error::other)?;
        self.add_assertion_app(
            tenant,
            client_id,
            AssertionTrust::PublicKeyPem(certificate.clone()),
        );
        let mut pem = certificate;
        pem.extend(key);
        Ok(pem)
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
        self.inner
            .shared
            .federated_token(subject, audience, lifetime)
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

    /// Makes the protected resource refuse tokens issued without claims with a
    /// claims challenge (`WWW-Authenticate: Bearer ... error="insufficient_claims",
    /// claims="<base64>"`), as a CAE-enabled resource does after a revocation
    /// event. Tokens requested with the challenge's claims are then accepted.
    pub fn set_resource_claims_challenge(&self, enabled: bool) {
        self.inner.shared.lock().resource_challenges = enabled;
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

    /// The IMDS host, for `AZURE_POD_IDENTITY_AUTHORITY_HOST`: IMDS answers at
    /// `{host}/metadata/identity/oauth2/token`.
    pub fn imds_host(&self) -> String {
        self.url()
    }

    /// `IDENTITY_ENDPOINT` for App Service, Functions and Container Apps
    /// (with `IDENTITY_HEADER` = [`MANAGED_IDENTITY_SECRET`]).
    pub fn app_service_endpoint(&self) -> String {
        format!("{}{}", self.url(), msi::APP_SERVICE_PATH)
    }

    /// `IDENTITY_ENDPOINT` for Azure Arc (with `IMDS_ENDPOINT` set to anything).
    pub fn arc_endpoint(&self) -> String {
        format!("{}{}", self.url(), msi::ARC_PATH)
    }

    /// `MSI_ENDPOINT` for Azure ML (with `MSI_SECRET` = [`MANAGED_IDENTITY_SECRET`]).
    pub fn azure_ml_endpoint(&self) -> String {
        format!("{}{}", self.url(), msi::AZURE_ML_PATH)
    }

    /// `MSI_ENDPOINT` for Cloud Shell (alone).
    pub fn cloud_shell_endpoint(&self) -> String {
        format!("{}{}", self.url(), msi::CLOUD_SHELL_PATH)
    }

    /// `IDENTITY_ENDPOINT` for Service Fabric: https, with a self-signed
    /// certificate whose thumbprint is [`Emulator::service_fabric_thumbprint`].
    pub fn service_fabric_endpoint(&self) -> String {
        format!(
            "https://{}{}",
            self.inner.fabric_address,
            msi::SERVICE_FABRIC_PATH
        )
    }

    /// The emulator over https (every endpoint answers there too), with a
    /// self-signed certificate for `localhost`, 127.0.0.1 and
    /// [`crate::TLS_SERVER_NAME`]: for testing proxies and custom trust roots.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.inner.fabric_address)
    }

    /// The https listener's certificate (PEM), to trust as the only root.
    pub fn tls_certificate_pem(&self) -> Vec<u8> {
        self.inner.tls_certificate.clone()
    }

    /// `IDENTITY_SERVER_THUMBPRINT`: the SHA-1 of the Service Fabric
    /// endpoint's certificate, upper-case hex.
    pub fn service_fabric_thumbprint(&self) -> String {
        self.inner.fabric_thumbprint.clone()
    }

    /// `SYSTEM_OIDCREQUESTURI` for Azure Pipelines: trades
    /// [`crate::PIPELINES_ACCESS_TOKEN`] for an OIDC token whose subject is
    /// [`crate::pipelines_subject`] of the service connection.
    pub fn pipelines_oidc_endpoint(&self) -> String {
        format!("{}{}", self.url(), crate::pipelines::PATH)
    }

    /// The value for `IDENTITY_HEADER` / `MSI_SECRET`.
    pub fn managed_identity_secret(&self) -> &'static str {
        MANAGED_IDENTITY_SECRET
    }

    /// The machine's system-assigned identity, if it has one.
    pub fn system_assigned_identity(&self) -> Option<ManagedIdentity> {
        self.inner.shared.lock().identities.system.clone()
    }

    /// Gives the machine a system-assigned identity, or takes it away (IMDS
    /// then answers 400 "Identity not found", as Azure does).
    pub fn set_system_assigned_identity(&self, enabled: bool) {
        let mut state = self.inner.shared.lock();
        match (enabled, state.identities.system.is_some()) {
            (true, false) => state.identities.system = Some(ManagedIdentity::generate("system")),
            (false, true) => state.identities.system = None,
            _ => {}
        }
    }

    /// Assigns a new user-assigned identity to the machine and returns its ids.
    pub fn add_user_assigned_identity(&self, name: &str) -> ManagedIdentity {
        let identity = ManagedIdentity::generate(name);
        self.inner
            .shared
            .lock()
            .identities
            .user_assigned
            .push(identity.clone());
        identity
    }

    /// Sets the lifetime of managed identity tokens (24 h by default, as Azure's).
    pub fn set_managed_identity_token_lifetime(&self, lifetime: Duration) {
        let secs = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        self.inner.shared.lock().identities.lifetime_secs = secs;
    }

    /// The directory Arc challenge key files are written to: give it to the
    /// credential as its Arc token directory.
    pub fn arc_token_directory(&self) -> &Path {
        &self.inner.arc_directory
    }

    /// Makes the Arc endpoint announce `path` as the challenge key file
    /// (`None`: a fresh file in [`Emulator::arc_token_directory`]), for
    /// testing what clients refuse to read.
    pub fn set_arc_challenge_path(&self, path: Option<PathBuf>) {
        self.inner.shared.lock().identities.arc_realm_override = path;
    }

    /// Clears queued and default faults and latencies.
    pub fn clear_faults(&self) {
        self.inner.shared.lock().faults = crate::faults::FaultPlan::default();
    }
}
