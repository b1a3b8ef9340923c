//! The fault matrix: every HTTP credential against every way its endpoint can
//! misbehave. Each case runs against its own emulator, all at once; with
//! retries off, each must end within 15 s (the 10 s per-attempt timeout bounds
//! the hung endpoint) with an error naming the credential, and never panic.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use azure_core::http::{ClientOptions, RetryOptions};
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
    sync::Arc,
    time::{Duration, Instant},
};

const BOUND: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug)]
enum Kind {
    Secret,
    Certificate,
    Workload,
    Pipelines,
    ImdsManagedIdentity,
    AppServiceManagedIdentity,
}

impl Kind {
    const ALL: [Self; 6] = [
        Self::Secret,
        Self::Certificate,
        Self::Workload,
        Self::Pipelines,
        Self::ImdsManagedIdentity,
        Self::AppServiceManagedIdentity,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Secret => "ClientSecretCredential",
            Self::Certificate => "ClientCertificateCredential",
            Self::Workload => "WorkloadIdentityCredential",
            Self::Pipelines => "AzurePipelinesCredential",
            Self::ImdsManagedIdentity | Self::AppServiceManagedIdentity => {
                "ManagedIdentityCredential"
            }
        }
    }

    fn target(self) -> FaultTarget {
        match self {
            Self::ImdsManagedIdentity | Self::AppServiceManagedIdentity => {
                FaultTarget::ManagedIdentity
            }
            _ => FaultTarget::Token,
        }
    }

    /// The credential, with retries off, pointed at `emulator`.
    fn credential(self, emulator: &Emulator) -> Arc<dyn TokenCredential> {
        let mut options = client_options(emulator);
        options.retry = RetryOptions::none();
        let env = |vars: Vec<(&str, String)>| {
            let mut all: Vec<(String, String)> =
                vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            all.push(("AZURE_AUTHORITY_HOST".into(), emulator.authority_host()));
            Platform::with_env(Env::from_vars(all))
        };
        let assertion_options = |platform: Platform| ClientAssertionCredentialOptions {
            client_options: ClientOptions {
                retry: RetryOptions::none(),
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
                            retry: RetryOptions::none(),
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
                let file = std::env::temp_dir().join(format!(
                    "identity-matrix-{}-{}",
                    std::process::id(),
                    emulator.port()
                ));
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
            Self::Pipelines => {
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
            Self::ImdsManagedIdentity | Self::AppServiceManagedIdentity => {
                let vars = match self {
                    Self::ImdsManagedIdentity => {
                        vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.imds_host())]
                    }
                    _ => vec![
                        ("IDENTITY_ENDPOINT", emulator.app_service_endpoint()),
                        (
                            "IDENTITY_HEADER",
                            emulator.managed_identity_secret().to_owned(),
                        ),
                    ],
                };
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    client_options: ClientOptions {
                        retry: RetryOptions::none(),
                        ..Default::default()
                    },
                    imds_retry: ImdsRetryOptions {
                        max_retries: 0,
                        gone_retry_duration: Duration::ZERO,
                        ..Default::default()
                    },
                    platform: env(vars),
                    ..Default::default()
                }))
                .unwrap()
            }
        }
    }
}

fn faults() -> Vec<(&'static str, Fault)> {
    let status = |status: u16, headers: Vec<(String, String)>| Fault::Status {
        status,
        body: "matrix".into(),
        headers,
    };
    vec![
        ("500", status(500, vec![])),
        (
            "503 with Retry-After",
            status(503, vec![("Retry-After".into(), "1".into())]),
        ),
        ("429", status(429, vec![])),
        ("410", status(410, vec![])),
        ("connection dropped", Fault::DropConnection),
        ("reset mid-body", Fault::ResetMidBody),
        ("truncated body", Fault::TruncatedBody),
        ("hung", Fault::Hang),
        ("garbage", Fault::Garbage),
        ("empty body", Fault::EmptyBody),
        ("10 MB body", Fault::Oversized(10 * 1024 * 1024)),
        ("invalid UTF-8", Fault::InvalidUtf8),
        ("no access_token", Fault::OmitField("access_token".into())),
        ("expires_in negative", Fault::ExpiresIn((-5).into())),
        (
            "expires_in absurd",
            Fault::ExpiresIn(serde_json::json!(1e12)),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_credential_survives_every_fault() {
    let mut cases = Vec::new();
    for kind in Kind::ALL {
        for (fault_name, fault) in faults() {
            cases.push(tokio::spawn(async move {
                let emulator = Emulator::start().await.unwrap();
                let credential = kind.credential(&emulator);
                emulator.set_default_fault(kind.target(), Some(fault));
                let started = Instant::now();
                let outcome = credential
                    .get_token(&["https://vault.azure.net/.default"], None)
                    .await;
                let elapsed = started.elapsed();
                emulator.shutdown().await;
                (
                    kind,
                    fault_name,
                    outcome.map(|_| ()).map_err(|e| e.to_string()),
                    elapsed,
                )
            }));
        }
    }
    let mut problems = Vec::new();
    for case in cases {
        let (kind, fault, outcome, elapsed) = case.await.expect("no case panics");
        let label = format!("{kind:?} / {fault}");
        if elapsed > BOUND {
            problems.push(format!("{label}: took {elapsed:?}"));
        }
        match outcome {
            // expires_in is not part of managed identity answers that carry expires_on.
            Ok(())
                if matches!(
                    kind,
                    Kind::ImdsManagedIdentity | Kind::AppServiceManagedIdentity
                ) && fault.starts_with("expires_in") => {}
            Ok(()) => problems.push(format!("{label}: succeeded")),
            Err(text) if !text.contains(kind.name()) => problems.push(format!(
                "{label}: error does not name the credential: {text}"
            )),
            Err(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
