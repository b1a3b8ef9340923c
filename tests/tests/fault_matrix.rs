//! The fault matrix: every HTTP credential against every way its endpoint can
//! misbehave, each case against its own emulator, all at once. The
//! credentials: client secret, certificate, workload identity, Azure Pipelines
//! (faults on Entra, and on the pipeline's OIDC endpoint), and managed identity
//! on IMDS, App Service, Azure Arc, Service Fabric (pinned TLS), Azure ML and
//! Cloud Shell.
//!
//! - `every_credential_survives_every_fault_within_15_s`: retries off. Each
//!   case ends within 15 s (the 10 s per-attempt timeout bounds the hung
//!   endpoint) with an error that names the credential and the fault, quotes
//!   no secret or token, and never panics. A 10 MB body is read no further
//!   than the 1 MiB cap (`bounded_memory.rs` measures the allocation).
//! - `retries_match_the_policy`: two fast retries (Arc, Service Fabric and the
//!   OIDC endpoint aside: their crates test their retries). The emulator's log shows
//!   exactly the attempts the policy allows: 3 for statuses azure_core retries
//!   (429, 500, 503) and transport failures (a dropped connection, a body cut
//!   short or reset), 3 for IMDS's own list (410 included), 1 for everything
//!   a retry cannot fix.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use azure_core::http::{ClientOptions, FixedRetryOptions, RetryOptions};
use identity::{
    AzurePipelinesCredential, AzurePipelinesCredentialOptions, ClientAssertionCredentialOptions,
    ClientCertificateCredential, ClientCertificateCredentialOptions, Env, ImdsRetryOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, Platform, SecretBytes,
    TokenCredential, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use identity_emulator::{
    AssertionTrust, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator, Fault, FaultTarget,
    PIPELINES_ACCESS_TOKEN, pipelines_subject,
};
use identity_tests::{client_options, secret_credential};
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

const BOUND: Duration = Duration::from_secs(15);
/// Retries in `retries_match_the_policy`.
const FAST_RETRIES: u32 = 2;

/// How a case's credential retries.
#[derive(Clone, Copy, Debug)]
enum Retries {
    Off,
    Fast,
}

impl Retries {
    fn options(self) -> RetryOptions {
        match self {
            Self::Off => RetryOptions::none(),
            Self::Fast => RetryOptions::fixed(FixedRetryOptions {
                delay: azure_core::time::Duration::milliseconds(50),
                max_retries: FAST_RETRIES,
                max_total_elapsed: azure_core::time::Duration::seconds(30),
            }),
        }
    }

    fn imds(self) -> ImdsRetryOptions {
        ImdsRetryOptions {
            max_retries: match self {
                Self::Off => 0,
                Self::Fast => FAST_RETRIES,
            },
            initial_delay: Duration::from_millis(50),
            gone_retry_duration: Duration::ZERO,
            ..Default::default()
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Secret,
    Certificate,
    Workload,
    Pipelines,
    ImdsManagedIdentity,
    AppServiceManagedIdentity,
    ArcManagedIdentity,
    ServiceFabricManagedIdentity,
    AzureMlManagedIdentity,
    CloudShellManagedIdentity,
    /// Azure Pipelines with the faults on its OIDC endpoint, not Entra's.
    PipelinesOidc,
}

impl Kind {
    const ALL: [Self; 11] = [
        Self::Secret,
        Self::Certificate,
        Self::Workload,
        Self::Pipelines,
        Self::ImdsManagedIdentity,
        Self::AppServiceManagedIdentity,
        Self::ArcManagedIdentity,
        Self::ServiceFabricManagedIdentity,
        Self::AzureMlManagedIdentity,
        Self::CloudShellManagedIdentity,
        Self::PipelinesOidc,
    ];

    fn is_managed_identity(self) -> bool {
        matches!(
            self,
            Self::ImdsManagedIdentity
                | Self::AppServiceManagedIdentity
                | Self::ArcManagedIdentity
                | Self::ServiceFabricManagedIdentity
                | Self::AzureMlManagedIdentity
                | Self::CloudShellManagedIdentity
        )
    }

    fn name(self) -> &'static str {
        match self {
            Self::Secret => "ClientSecretCredential",
            Self::Certificate => "ClientCertificateCredential",
            Self::Workload => "WorkloadIdentityCredential",
            Self::Pipelines | Self::PipelinesOidc => "AzurePipelinesCredential",
            _ => "ManagedIdentityCredential",
        }
    }

    fn target(self) -> FaultTarget {
        match self {
            _ if self.is_managed_identity() => FaultTarget::ManagedIdentity,
            Self::PipelinesOidc => FaultTarget::PathPrefix("/pipelines".into()),
            _ => FaultTarget::Token,
        }
    }

    /// The credential, retrying as `retries` says, pointed at `emulator`.
    fn credential(self, emulator: &Emulator, retries: Retries) -> Arc<dyn TokenCredential> {
        let mut options = client_options(emulator);
        options.retry = retries.options();
        let env = |vars: Vec<(&str, String)>| {
            let mut all: Vec<(String, String)> =
                vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            all.push(("AZURE_AUTHORITY_HOST".into(), emulator.authority_host()));
            Platform::with_env(Env::from_vars(all))
        };
        let assertion_options = |platform: Platform| ClientAssertionCredentialOptions {
            client_options: ClientOptions {
                retry: retries.options(),
                ..Default::default()
            },
            platform,
            ..Default::default()
        };
        match self {
            Self::Secret => secret_credential(options, DEFAULT_CLIENT_SECRET).unwrap(),
            Self::Certificate => {
                let pem = emulator
                    .add_certificate_app(DEFAULT_TENANT, "matrix-cert")
                    .unwrap();
                ClientCertificateCredential::new(
                    DEFAULT_TENANT.into(),
                    "matrix-cert".into(),
                    SecretBytes::new(pem),
                    Some(ClientCertificateCredentialOptions {
                        client_options: ClientOptions {
                            retry: retries.options(),
                            ..Default::default()
                        },
                        platform: env(vec![]),
                        ..Default::default()
                    }),
                )
                .unwrap()
            }
            Self::Workload => {
                emulator.add_assertion_app(
                    DEFAULT_TENANT,
                    "matrix-pod",
                    AssertionTrust::FederationIssuer,
                );
                let file = workload_token_file(emulator);
                std::fs::write(
                    &file,
                    emulator.federated_token(
                        "system:serviceaccount:m:m",
                        "api://AzureADTokenExchange",
                        Duration::from_secs(600),
                    ),
                )
                .unwrap();
                WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                    credential_options: assertion_options(env(vec![
                        ("AZURE_TENANT_ID", DEFAULT_TENANT.into()),
                        ("AZURE_CLIENT_ID", "matrix-pod".into()),
                        ("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()),
                    ])),
                    ..Default::default()
                }))
                .unwrap()
            }
            Self::Pipelines | Self::PipelinesOidc => {
                emulator.add_assertion_app(
                    DEFAULT_TENANT,
                    "matrix-pipeline",
                    AssertionTrust::FederatedSubject(pipelines_subject("sc")),
                );
                AzurePipelinesCredential::new(
                    DEFAULT_TENANT.into(),
                    "matrix-pipeline".into(),
                    "sc",
                    PIPELINES_ACCESS_TOKEN,
                    Some(AzurePipelinesCredentialOptions {
                        credential_options: assertion_options(env(vec![(
                            "SYSTEM_OIDCREQUESTURI",
                            emulator.pipelines_oidc_endpoint(),
                        )])),
                    }),
                )
                .unwrap()
            }
            _ => {
                let secret = emulator.managed_identity_secret().to_owned();
                let vars = match self {
                    Self::ImdsManagedIdentity => {
                        vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.imds_host())]
                    }
                    Self::AppServiceManagedIdentity => vec![
                        ("IDENTITY_ENDPOINT", emulator.app_service_endpoint()),
                        ("IDENTITY_HEADER", secret),
                    ],
                    Self::ArcManagedIdentity => vec![
                        ("IDENTITY_ENDPOINT", emulator.arc_endpoint()),
                        ("IMDS_ENDPOINT", emulator.imds_host()),
                    ],
                    Self::ServiceFabricManagedIdentity => vec![
                        ("IDENTITY_ENDPOINT", emulator.service_fabric_endpoint()),
                        ("IDENTITY_HEADER", secret),
                        (
                            "IDENTITY_SERVER_THUMBPRINT",
                            emulator.service_fabric_thumbprint(),
                        ),
                    ],
                    Self::AzureMlManagedIdentity => vec![
                        ("MSI_ENDPOINT", emulator.azure_ml_endpoint()),
                        ("MSI_SECRET", secret),
                    ],
                    _ => vec![("MSI_ENDPOINT", emulator.cloud_shell_endpoint())],
                };
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    client_options: ClientOptions {
                        retry: retries.options(),
                        ..Default::default()
                    },
                    imds_retry: retries.imds(),
                    arc_token_directory: Some(emulator.arc_token_directory().to_owned()),
                    platform: env(vars),
                    ..Default::default()
                }))
                .unwrap()
            }
        }
    }
}

/// A way for an endpoint to misbehave.
#[derive(Clone, Debug)]
enum Case {
    /// The emulator injects this fault.
    Fault(Fault),
    /// Nothing listens on the port any more.
    Refused,
}

/// Each case, and words the error must contain to say what happened (any one).
fn cases() -> Vec<(&'static str, Case, &'static [&'static str])> {
    let status = |status: u16, headers: Vec<(String, String)>| {
        Case::Fault(Fault::Status {
            status,
            body: "matrix".into(),
            headers,
        })
    };
    vec![
        ("500", status(500, vec![]), &["HTTP 500"]),
        (
            "503 with Retry-After",
            status(503, vec![("Retry-After".into(), "1".into())]),
            &["HTTP 503"],
        ),
        ("429", status(429, vec![]), &["HTTP 429"]),
        ("410", status(410, vec![]), &["HTTP 410"]),
        (
            "connection refused",
            Case::Refused,
            &["refused", "could not connect"],
        ),
        (
            "connection dropped",
            Case::Fault(Fault::DropConnection),
            &["connection", "closed"],
        ),
        (
            "reset mid-body",
            Case::Fault(Fault::ResetMidBody),
            &["was cut off"],
        ),
        (
            "truncated body",
            Case::Fault(Fault::TruncatedBody),
            &["was cut off"],
        ),
        (
            "hung",
            Case::Fault(Fault::Hang),
            &["within 10 s", "timed out", "did not answer"],
        ),
        (
            "garbage",
            Case::Fault(Fault::Garbage),
            &["not JSON", "not a JSON"],
        ),
        ("empty body", Case::Fault(Fault::EmptyBody), &["empty"]),
        (
            "10 MB body",
            Case::Fault(Fault::Oversized(10 * 1024 * 1024)),
            &["1048576", "1 MiB", "larger than"],
        ),
        (
            "invalid UTF-8",
            Case::Fault(Fault::InvalidUtf8),
            &["not JSON", "not a JSON"],
        ),
        (
            "wrong content type",
            Case::Fault(Fault::WrongContentType),
            &["text/html"],
        ),
        (
            "no access_token",
            Case::Fault(Fault::OmitField("access_token".into())),
            &["access_token"],
        ),
        (
            "expires_in negative",
            Case::Fault(Fault::ExpiresIn((-5).into())),
            &["expires_in"],
        ),
        (
            "expires_in absurd",
            Case::Fault(Fault::ExpiresIn(serde_json::json!(1e12))),
            &["expires_in", "30 days"],
        ),
    ]
}

/// The workload identity case's token file (removed when the case ends).
fn workload_token_file(emulator: &Emulator) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "identity-matrix-{}-{}",
        std::process::id(),
        emulator.port()
    ))
}

/// Binds the port of `url` without listening on it: connecting is refused.
/// `None` in the unlikely case another case's emulator took the port first.
fn hold_port(url: &str) -> Option<tokio::net::TcpSocket> {
    let address: SocketAddr = url.split("://").nth(1)?.parse().ok()?;
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind(address).ok()?;
    Some(socket)
}

/// Cases run at once: enough to finish in about the time of the slowest
/// (hung) ones, few enough to keep ports and file descriptors in check.
const CONCURRENT_CASES: usize = 48;

/// Runs `run_case` once a slot among [`CONCURRENT_CASES`] is free.
fn spawn_case(
    slots: &Arc<tokio::sync::Semaphore>,
    kind: Kind,
    name: &'static str,
    case: Case,
    retries: Retries,
) -> tokio::task::JoinHandle<Outcome> {
    let slots = Arc::clone(slots);
    tokio::spawn(async move {
        let _slot = slots.acquire_owned().await.expect("never closed");
        run_case(kind, name, case, retries).await
    })
}

/// What one case produced.
struct Outcome {
    label: String,
    result: Result<(), String>,
    elapsed: Duration,
    /// Requests the faulted endpoint received.
    attempts: usize,
    /// Secrets this case's credential held or was sent.
    secrets: Vec<String>,
    /// The credential's and the outcome's `Debug`, after the case.
    debug: String,
}

async fn run_case(kind: Kind, name: &'static str, case: Case, retries: Retries) -> Outcome {
    let emulator = Emulator::start().await.unwrap();
    let credential = kind.credential(&emulator, retries);
    // For "refused": the emulator's ports stay bound, not listening, so no
    // other case's emulator can take them meanwhile, and a connection is refused.
    let mut held = Vec::new();
    match &case {
        Case::Fault(fault) => emulator.set_default_fault(kind.target(), Some(fault.clone())),
        Case::Refused => {
            emulator.clone().shutdown().await;
            held.extend(
                [emulator.url(), emulator.https_url()]
                    .iter()
                    .filter_map(|url| hold_port(url)),
            );
        }
    }
    let started = Instant::now();
    let outcome = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await;
    let elapsed = started.elapsed();
    emulator.clone().shutdown().await;
    let target = kind.target();
    let requests = emulator.requests();
    let attempts = requests.iter().filter(|r| target.matches(&r.path)).count();
    let mut secrets = vec![
        DEFAULT_CLIENT_SECRET.to_owned(),
        PIPELINES_ACCESS_TOKEN.to_owned(),
        emulator.managed_identity_secret().to_owned(),
    ];
    secrets.extend(
        requests
            .iter()
            .filter_map(|r| r.form_value("client_assertion"))
            .map(str::to_owned),
    );
    drop(held);
    if matches!(kind, Kind::Workload) {
        let _ = std::fs::remove_file(workload_token_file(&emulator));
    }
    Outcome {
        label: format!("{kind:?} / {name}"),
        debug: format!("{credential:?} {outcome:?}"),
        result: outcome.map(|_| ()).map_err(|e| e.to_string()),
        elapsed,
        attempts,
        secrets,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_credential_survives_every_fault_within_15_s() {
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_CASES));
    let mut running = Vec::new();
    for kind in Kind::ALL {
        for (name, case, words) in cases() {
            running.push((
                kind,
                name,
                words,
                spawn_case(&slots, kind, name, case, Retries::Off),
            ));
        }
    }
    let mut problems = Vec::new();
    for (kind, name, words, handle) in running {
        let outcome = handle.await.expect("no case panics");
        let label = &outcome.label;
        if outcome.elapsed > BOUND {
            problems.push(format!("{label}: took {:?}", outcome.elapsed));
        }
        let text = match outcome.result {
            // A managed identity answer carries expires_on, so expires_in is
            // not read; the OIDC answer has neither field.
            Ok(())
                if (kind.is_managed_identity() || matches!(kind, Kind::PipelinesOidc))
                    && name.starts_with("expires_in") =>
            {
                continue;
            }
            Ok(()) if matches!(kind, Kind::PipelinesOidc) && name == "no access_token" => {
                continue;
            }
            Ok(()) => {
                problems.push(format!("{label}: succeeded"));
                continue;
            }
            Err(text) => text,
        };
        if !text.contains(kind.name()) {
            problems.push(format!("{label}: does not name the credential: {text}"));
        }
        // Arc's first answer must be its challenge: whatever else comes back
        // is reported as a missing challenge.
        let arc_challenge = matches!(kind, Kind::ArcManagedIdentity)
            && (text.contains("should challenge with 401") || text.contains("no `Basic realm="));
        if !words.iter().any(|w| text.contains(w)) && !arc_challenge {
            problems.push(format!("{label}: does not say {words:?}: {text}"));
        }
        // Tokens and assertions are JWTs; none belongs in an error.
        if text.contains("eyJ") {
            problems.push(format!("{label}: quotes a JWT: {text}"));
        }
        for secret in &outcome.secrets {
            if text.contains(secret.as_str()) {
                problems.push(format!("{label}: quotes a secret: {text}"));
            }
            if outcome.debug.contains(secret.as_str()) {
                problems.push(format!("{label}: Debug shows a secret"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The attempts `kind`'s policy allows for this case, with two retries.
fn allowed_attempts(kind: Kind, case: &str) -> usize {
    let all = 1 + FAST_RETRIES as usize;
    match case {
        // azure_core's list (408, 429, 500, 502, 503, 504, I/O errors), and
        // IMDS's own (404, 410, 429, 5xx, connection failures).
        // A body cut off after the headers fails its attempt too: the per-try
        // policy reads the body, so it is retried like an I/O error.
        "500"
        | "503 with Retry-After"
        | "429"
        | "connection dropped"
        | "reset mid-body"
        | "truncated body" => all,
        "410" if matches!(kind, Kind::ImdsManagedIdentity) => all,
        // Anything else is an answer a retry would not change.
        _ => 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_match_the_policy() {
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_CASES));
    let mut running = Vec::new();
    // Arc (a challenge first), Service Fabric (pinned TLS) and the OIDC
    // endpoint have their own retry tests in their crates.
    let counted_kinds = [
        Kind::Secret,
        Kind::Certificate,
        Kind::Workload,
        Kind::Pipelines,
        Kind::ImdsManagedIdentity,
        Kind::AppServiceManagedIdentity,
        Kind::AzureMlManagedIdentity,
        Kind::CloudShellManagedIdentity,
    ];
    for kind in counted_kinds {
        for (name, case, _) in cases() {
            // Hung and refused endpoints are counted by time, not requests.
            if matches!(name, "hung" | "connection refused") {
                continue;
            }
            running.push((
                kind,
                name,
                spawn_case(&slots, kind, name, case, Retries::Fast),
            ));
        }
    }
    let mut problems = Vec::new();
    let mut counted = 0;
    for (kind, name, handle) in running {
        let outcome = handle.await.expect("no case panics");
        let expected = allowed_attempts(kind, name);
        counted += 1;
        // What the error says matches what the emulator saw.
        let said = format!("{expected} attempts");
        if expected > 1
            && !outcome
                .result
                .as_ref()
                .is_err_and(|text| text.contains(&said))
        {
            problems.push(format!(
                "{}: error does not say {said}: {:?}",
                outcome.label, outcome.result
            ));
        }
        if outcome.attempts != expected {
            problems.push(format!(
                "{}: {} requests, the policy allows {expected} ({:?})",
                outcome.label, outcome.attempts, outcome.result
            ));
        }
    }
    assert!(counted > 80, "{counted} cases");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
