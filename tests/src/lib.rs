//! Shared helpers for the end-to-end tests in `tests/`.
#![forbid(unsafe_code)]

mod log_watch;
pub use log_watch::{events_checked, leaks, watch_logs};

use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::TokenCredential,
    http::{
        ClientOptions, Context, Method, Pipeline, Request, StatusCode, Transport, Url,
        policies::{Policy, auth::BearerTokenAuthorizationPolicy},
    },
};
use identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use identity_emulator::{DEFAULT_CLIENT_ID, DEFAULT_TENANT, Emulator};
use std::sync::Arc;

pub use identity_emulator::loopback::LoopbackHttpsClient;

/// Client options pointing a credential at the emulator, as a custom cloud.
pub fn client_options(emulator: &Emulator) -> ClientOptions {
    watch_logs();
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = emulator.authority_host();
    ClientOptions {
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        ..Default::default()
    }
}

/// The emulator's default app as a `ClientSecretCredential` using `secret`,
/// with these client options (see [`client_options`]).
pub fn secret_credential(
    client_options: ClientOptions,
    secret: &str,
) -> azure_core::Result<Arc<ClientSecretCredential>> {
    watch_logs();
    ClientSecretCredential::new(
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID.into(),
        secret.to_owned().into(),
        Some(ClientSecretCredentialOptions {
            client_options,
            ..Default::default()
        }),
    )
}

/// The scope of the emulator's protected resource.
pub fn resource_scope(emulator: &Emulator) -> String {
    format!("{}/.default", emulator.resource_audience())
}

/// Calls the emulator's protected resource the way an Azure SDK client does:
/// through an azure_core pipeline with the bearer-token policy. Returns the status.
pub async fn call_protected_resource(
    emulator: &Emulator,
    credential: Arc<dyn TokenCredential>,
) -> azure_core::Result<StatusCode> {
    let policy = BearerTokenAuthorizationPolicy::new(credential, [resource_scope(emulator)]);
    send_to_resource(emulator, policy).await
}

/// GETs the protected resource through a pipeline holding `bearer`.
async fn send_to_resource(
    emulator: &Emulator,
    bearer: BearerTokenAuthorizationPolicy,
) -> azure_core::Result<StatusCode> {
    let bearer: Arc<dyn Policy> = Arc::new(bearer);
    let options = ClientOptions {
        transport: Some(Transport::new(Arc::new(LoopbackHttpsClient::new()))),
        ..Default::default()
    };
    let pipeline = Pipeline::new(
        Some("identity-tests"),
        Some("0"),
        options,
        vec![bearer],
        vec![],
        None,
    );
    // The bearer policy insists on https; the loopback client maps it to the
    // emulator's plain http.
    let url = Url::parse(&emulator.resource_url().replacen("http://", "https://", 1))?;
    let mut request = Request::new(url, Method::Get);
    let response = pipeline.send(&Context::new(), &mut request, None).await?;
    Ok(response.status())
}

/// The directory of the `az` and `azd` stand-ins (`tests/standins`): put it
/// first on a credential's `PATH`.
pub fn standins_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("standins")
}

/// An environment whose `PATH` starts with the stand-ins, plus `vars`
/// (such as `IDENTITY_STANDIN_MODE`).
pub fn standin_env(vars: &[(&str, &str)]) -> identity::Env {
    watch_logs();
    let mut all: Vec<(String, String)> = vec![(
        "PATH".into(),
        format!("{}:/usr/bin:/bin", standins_dir().display()),
    )];
    all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    identity::Env::from_vars(all)
}

/// As [`call_protected_resource`], with azure_core's claims-challenge hook
/// wired to [`identity::challenge::ClaimsChallenge`]: a 401 carrying a claims
/// challenge is answered with a fresh token and one retry.
pub async fn call_protected_resource_with_challenges(
    emulator: &Emulator,
    credential: Arc<dyn TokenCredential>,
) -> azure_core::Result<StatusCode> {
    let scope = resource_scope(emulator);
    let policy = BearerTokenAuthorizationPolicy::new(credential, [scope.clone()])
        .with_on_challenge(Arc::new(identity::challenge::ClaimsChallenge::new([scope])));
    send_to_resource(emulator, policy).await
}
