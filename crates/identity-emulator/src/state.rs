//! What the emulator knows: its directory of tenants and apps, token
//! lifetimes, the request log and the fault plan. One mutex, never held
//! across an await.

use crate::{faults::FaultPlan, jwt::SigningKey, log::LoggedRequest, msi::MachineIdentities};
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

/// How an app proves itself with a client assertion instead of a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssertionTrust {
    /// A certificate or public key, PEM. The app signs its own assertion
    /// (RS256 or PS256) with `iss` and `sub` equal to its client id and `aud`
    /// the token endpoint, as a certificate credential does.
    PublicKeyPem(Vec<u8>),
    /// A federated credential trusting the emulator's own OIDC issuer
    /// ([`Emulator::federation_issuer`](crate::Emulator::federation_issuer))
    /// for any subject, audience `api://AzureADTokenExchange`.
    FederationIssuer,
    /// As [`AssertionTrust::FederationIssuer`], for this subject only.
    FederatedSubject(String),
}

/// The audience Entra expects in federated tokens.
pub(crate) const EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// A registered application (service principal) in one tenant.
#[derive(Debug, Default)]
pub(crate) struct App {
    pub(crate) secrets: Vec<String>,
    pub(crate) trusts: Vec<AssertionTrust>,
    /// The service principal's object id, the `oid` and `sub` of its tokens.
    pub(crate) principal_id: String,
}

#[derive(Debug, Default)]
pub(crate) struct Tenant {
    /// Keyed by lower-case client id.
    pub(crate) apps: HashMap<String, App>,
}

/// Lifetimes of the tokens the token endpoint issues.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TokenLifetime {
    pub(crate) expires_in: Duration,
    pub(crate) refresh_in: Option<Duration>,
}

#[derive(Debug)]
pub(crate) struct State {
    /// Keyed by lower-case tenant id.
    pub(crate) tenants: HashMap<String, Tenant>,
    pub(crate) lifetime: TokenLifetime,
    pub(crate) log: VecDeque<LoggedRequest>,
    pub(crate) faults: FaultPlan,
    pub(crate) identities: MachineIdentities,
    /// The protected resource answers tokens issued without claims with a
    /// claims challenge (as a CAE-enabled resource does after an event).
    pub(crate) resource_challenges: bool,
}

impl State {
    pub(crate) fn new(arc_directory: std::path::PathBuf) -> Self {
        Self {
            identities: MachineIdentities::new(arc_directory),
            resource_challenges: false,
            tenants: HashMap::new(),
            lifetime: TokenLifetime {
                expires_in: Duration::from_secs(3599),
                refresh_in: None,
            },
            log: VecDeque::new(),
            faults: FaultPlan::default(),
        }
    }

    pub(crate) fn tenant_mut(&mut self, tenant: &str) -> &mut Tenant {
        self.tenants.entry(tenant.to_ascii_lowercase()).or_default()
    }

    pub(crate) fn app_mut(&mut self, tenant: &str, client_id: &str) -> &mut App {
        self.tenant_mut(tenant)
            .apps
            .entry(client_id.to_ascii_lowercase())
            .or_insert_with(|| App {
                principal_id: uuid::Uuid::new_v4().to_string(),
                ..App::default()
            })
    }

    pub(crate) fn app(&self, tenant: &str, client_id: &str) -> Option<&App> {
        self.tenants
            .get(&tenant.to_ascii_lowercase())?
            .apps
            .get(&client_id.to_ascii_lowercase())
    }
}

/// Everything the request handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// `http://127.0.0.1:{port}`, no trailing slash.
    pub(crate) base_url: String,
    pub(crate) token_key: Arc<SigningKey>,
    pub(crate) federation_key: Arc<SigningKey>,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(
        base_url: String,
        token_key: Arc<SigningKey>,
        federation_key: Arc<SigningKey>,
        arc_directory: std::path::PathBuf,
    ) -> Self {
        Self {
            base_url,
            token_key,
            federation_key,
            state: Mutex::new(State::new(arc_directory)),
        }
    }

    /// The state; a panic elsewhere never leaves it unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A token from the federation issuer; empty if signing fails.
    pub(crate) fn federated_token(
        &self,
        subject: &str,
        audience: &str,
        lifetime: Duration,
    ) -> String {
        let now = crate::entra::now_secs();
        let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = serde_json::json!({
            "iss": self.federation_issuer(),
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now.saturating_add(lifetime),
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        self.federation_key.sign(&claims).unwrap_or_default()
    }

    pub(crate) fn federation_issuer(&self) -> String {
        format!("{}/federation", self.base_url)
    }

    pub(crate) fn token_issuer(tenant: &str) -> String {
        format!("https://sts.windows.net/{tenant}/")
    }
}
