//! Secret hygiene over every public type: each one is built holding secrets
//! (client secret, tokens, assertions, identity header, Arc key, Pipelines
//! system access token, certificate password) and formatted with `Debug`,
//! `{:#?}` and `Display` where it has one. None of the secrets may appear.
//! Credentials are formatted again after they fetched and cached tokens.
//!
//! `every_public_type_is_formatted` reads the crates' sources, so a new
//! public type fails the suite until it is added here.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::clone_on_ref_ptr
)]

use azure_core::{
    Bytes,
    http::{ClientMethodOptions, ClientOptions, StatusCode, headers::Headers},
    time::OffsetDateTime,
};
use identity::{
    AccessToken, AssertionAlgorithm, AzureCliCredential, AzureCliCredentialOptions,
    AzureDeveloperCliCredential, AzureDeveloperCliCredentialOptions, AzurePipelinesCredential,
    AzurePipelinesCredentialOptions, ChainedTokenCredential, ChainedTokenCredentialOptions,
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
    ClientCertificateCredential, ClientCertificateCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, CredentialError, DefaultAzureCredential,
    DefaultAzureCredentialOptions, DeveloperToolsCredential, DeveloperToolsCredentialOptions, Env,
    EnvironmentCredential, EnvironmentCredentialOptions, ImdsRetryOptions, LinkOutcome,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, ManualClock, Platform, Secret,
    SecretBytes, SystemClock, TokenCredential, TokenRequestExtras, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use identity_core::{
    AllowedTenants, FailureKind,
    authority::Authority,
    cache::{FetchedToken, RefreshRule, TokenCache},
    challenge::ClaimsChallenge,
    entra::{ClientAuth, ConfidentialClient, EntraClient, EntraErrorBody, Proof, TokenRequest},
    file::{SmallFileError, read_small_text},
    http::{Attempts, Exchange, ExchangeError, Limits},
    process::{ProcessError, ProcessOutput, ProcessRequest, TokioExecutor, Tool},
};
use identity_emulator::{
    AssertionTrust, DEFAULT_TENANT, Emulator, EmulatorConfig, Fault, FaultTarget,
    PIPELINES_ACCESS_TOKEN, pipelines_subject,
};
use identity_tests::{LoopbackHttpsClient, client_options, standin_env};
use openssl::{pkcs12::Pkcs12, pkey::PKey, x509::X509};
use std::{
    collections::BTreeSet,
    fmt::{Debug, Display},
    path::Path,
    sync::Arc,
    time::Duration,
};

const SECRET: &str = "hygiene-client-secret-5d1c";
const TOKEN: &str = "hygiene-access-token-9b3e";
const ASSERTION: &str = "hygiene-client-assertion-27af";
const CERT_PASSWORD: &str = "hygiene-certificate-password-c0de";
const IDENTITY_HEADER: &str = "hygiene-identity-header-4e8a";

/// What was formatted, and the secrets it must not show.
#[derive(Default)]
struct Shown {
    text: String,
    types: BTreeSet<&'static str>,
    secrets: Vec<String>,
}

impl Shown {
    fn debug(&mut self, name: &'static str, value: &dyn Debug) {
        self.types.insert(name);
        self.text
            .push_str(&format!("\n{name}: {value:?}\n{name}: {value:#?}"));
    }

    fn both(&mut self, name: &'static str, value: &(impl Debug + Display)) {
        self.debug(name, value);
        self.text.push_str(&format!("\n{name}: {value}"));
    }

    fn secret(&mut self, secret: impl Into<String>) {
        self.secrets.push(secret.into());
    }

    fn check(&self) {
        for secret in &self.secrets {
            assert!(secret.len() >= 8, "too short to search for: {secret}");
            if let Some(at) = self.text.find(secret.as_str()) {
                let start = self.text[..at].rfind('\n').unwrap_or(0);
                panic!(
                    "a secret is shown: …{}",
                    &self.text[start..(at + secret.len()).min(self.text.len())]
                );
            }
        }
    }
}

#[derive(Debug)]
struct FixedAssertion;

#[async_trait::async_trait]
impl ClientAssertion for FixedAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        Ok(ASSERTION.to_owned())
    }
}

/// A PKCS#12 file protected by [`CERT_PASSWORD`], for the certificate app the
/// emulator registered (whose PEM holds the key and certificate).
fn pkcs12_with_password(pem: &[u8]) -> Vec<u8> {
    let key = PKey::private_key_from_pem(pem).unwrap();
    let certificate = X509::from_pem(pem).unwrap();
    Pkcs12::builder()
        .name("hygiene")
        .pkey(&key)
        .cert(&certificate)
        .build2(CERT_PASSWORD)
        .unwrap()
        .to_der()
        .unwrap()
}

/// The parts below the credentials, built directly.
fn core_types(shown: &mut Shown) {
    let secret = Secret::new(SECRET.to_owned());
    shown.debug("Secret", &secret);
    shown.debug("SecretBytes", &SecretBytes::new(SECRET.as_bytes().to_vec()));
    let expires = OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
    let token = AccessToken::new(TOKEN.to_owned(), expires);
    shown.debug("AccessToken", &token);
    shown.debug("FetchedToken", &FetchedToken::new(token.clone()));
    let answer = format!(r#"{{"access_token":"{TOKEN}","expires_in":3600}}"#);
    let fields = identity_core::json::LooseObject::parse(answer.as_bytes()).unwrap();
    shown.debug("LooseObject", &fields);
    shown.debug("Loose", &fields.get("access_token"));
    shown.debug("Proof", &Proof::Secret(secret.clone()));
    shown.debug("Proof", &Proof::Assertion(ASSERTION.to_owned()));
    shown.debug("ClientAuth", &ClientAuth::Secret(&secret));
    shown.debug("ClientAuth", &ClientAuth::Assertion(ASSERTION));
    shown.debug(
        "TokenRequest",
        &TokenRequest {
            tenant: DEFAULT_TENANT,
            client_id: "app",
            scopes: &["https://vault.azure.net/.default"],
            claims: Some("{}"),
            auth: ClientAuth::Secret(&secret),
        },
    );
    let env = Env::from_vars([
        ("AZURE_CLIENT_SECRET".to_owned(), SECRET.to_owned()),
        ("IDENTITY_HEADER".to_owned(), IDENTITY_HEADER.to_owned()),
        (
            "SYSTEM_ACCESSTOKEN".to_owned(),
            PIPELINES_ACCESS_TOKEN.to_owned(),
        ),
        (
            "AZURE_CLIENT_CERTIFICATE_PASSWORD".to_owned(),
            CERT_PASSWORD.to_owned(),
        ),
    ]);
    shown.debug("Env", &env);
    let platform = Platform::with_env(env.clone());
    shown.debug("Platform", &platform);
    shown.debug("ManualClock", &ManualClock::new(OffsetDateTime::now_utc()));
    shown.debug("SystemClock", &SystemClock);
    shown.debug(
        "EntraClient",
        &EntraClient::new("Hygiene", "hygiene", ClientOptions::default(), &platform).unwrap(),
    );
    shown.debug(
        "ConfidentialClient",
        &ConfidentialClient::new(
            "Hygiene",
            "hygiene",
            DEFAULT_TENANT.into(),
            "app".into(),
            ClientOptions::default(),
            &[],
            &platform,
        )
        .unwrap(),
    );
    shown.debug(
        "Authority",
        &Authority::parse("https://login.microsoftonline.com").unwrap(),
    );
    shown.debug("AllowedTenants", &AllowedTenants::default());
    let cache = TokenCache::new(Arc::new(SystemClock), RefreshRule::default());
    shown.debug("TokenCache", &cache);
    shown.debug("RefreshRule", &RefreshRule::HalfLifeForLongLived);
    shown.debug(
        "TokenRequestExtras",
        &TokenRequestExtras::new()
            .tenant_id(DEFAULT_TENANT)
            .claims("{}"),
    );
    shown.debug(
        "ClaimsChallenge",
        &ClaimsChallenge::new(["https://x/.default"]),
    );
    shown.debug("Limits", &Limits::default());
    shown.debug("Attempts", &Attempts::default());
    shown.debug(
        "Exchange",
        &Exchange {
            status: StatusCode::Ok,
            headers: Headers::new(),
            body: Bytes::from(format!(r#"{{"access_token":"{TOKEN}"}}"#)),
            attempts: 1,
        },
    );
    shown.debug(
        "ExchangeError",
        &ExchangeError::Deadline {
            after: Duration::from_secs(30),
            attempts: 3,
            last: Some("connection refused".into()),
        },
    );
    shown.debug(
        "EntraErrorBody",
        &EntraErrorBody {
            error: Some("invalid_client".into()),
            ..Default::default()
        },
    );
    // A secret file's refusals, made by reading real files that hold a secret.
    let secret_file =
        std::env::temp_dir().join(format!("identity-hygiene-small-{}", std::process::id()));
    std::fs::write(&secret_file, TOKEN).unwrap();
    let too_large = read_small_text(&secret_file, 4).unwrap_err();
    assert!(matches!(too_large, SmallFileError::TooLarge(4)));
    shown.both("SmallFileError", &too_large);
    std::fs::write(&secret_file, [TOKEN.as_bytes(), &[0xff]].concat()).unwrap();
    let not_text = read_small_text(&secret_file, 1024).unwrap_err();
    assert!(matches!(not_text, SmallFileError::NotText));
    shown.both("SmallFileError", &not_text);
    std::fs::remove_file(&secret_file).unwrap();
    let error = CredentialError::failed("Hygiene", "it failed").with_fix("do this");
    shown.both("CredentialError", &error);
    shown.debug("FailureKind", &FailureKind::Unavailable);
    shown.debug(
        "ProcessRequest",
        &ProcessRequest {
            program: "az".into(),
            // Arguments are shown: the credentials pass only scopes, tenants
            // and subscriptions as arguments, never a secret.
            args: vec!["--scope".into(), "https://x/.default".into()],
            env: Some(vec![("AZURE_CLIENT_SECRET".into(), SECRET.into())]),
            extra_env: vec![("IDENTITY_HEADER".into(), IDENTITY_HEADER.into())],
            current_dir: "/".into(),
            timeout: Duration::from_secs(1),
            max_output: 1024,
        },
    );
    shown.debug(
        "ProcessOutput",
        &ProcessOutput {
            status: Some(0),
            stdout: format!(r#"{{"accessToken":"{TOKEN}"}}"#).into_bytes(),
            stderr: SECRET.as_bytes().to_vec(),
        },
    );
    shown.both(
        "ProcessError",
        &ProcessError::TimedOut(Duration::from_secs(1)),
    );
    shown.debug("TokioExecutor", &TokioExecutor);
    shown.debug(
        "Tool",
        &Tool {
            credential: "Hygiene",
            program: "az",
            install_hint: "install it",
            output_hint: "run it",
            anchor: "hygiene",
        },
    );
    shown.debug("UserAssignedId", &UserAssignedId::ClientId("id".into()));
    shown.debug("ImdsRetryOptions", &ImdsRetryOptions::default());
    shown.debug("AssertionAlgorithm", &AssertionAlgorithm::Rs256);
    shown.debug(
        "ChainedTokenCredentialOptions",
        &ChainedTokenCredentialOptions::default(),
    );
    shown.debug("LinkOutcome", &LinkOutcome::Failed(error));
    shown.debug("LoopbackHttpsClient", &LoopbackHttpsClient::new());
    shown.debug("EmulatorConfig", &EmulatorConfig::default());
    shown.debug("Fault", &Fault::Garbage);
    shown.debug("FaultTarget", &FaultTarget::Token);
    shown.debug(
        "AssertionTrust",
        &AssertionTrust::FederatedSubject("subject".into()),
    );
    shown.secret(SECRET);
    shown.secret(TOKEN);
    shown.secret(ASSERTION);
    shown.secret(IDENTITY_HEADER);
    shown.secret(CERT_PASSWORD);
    shown.secret(PIPELINES_ACCESS_TOKEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_public_type_shows_a_secret() {
    let mut shown = Shown::default();
    core_types(&mut shown);

    let emulator = Emulator::start().await.unwrap();
    emulator.add_secret_app(DEFAULT_TENANT, "hygiene-secret", SECRET);
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "hygiene-pipeline",
        AssertionTrust::FederatedSubject(pipelines_subject("sc")),
    );
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "hygiene-pod",
        AssertionTrust::FederationIssuer,
    );
    let pem = emulator
        .add_certificate_app(DEFAULT_TENANT, "hygiene-cert")
        .unwrap();
    let identity = emulator.add_user_assigned_identity("hygiene-identity");
    shown.debug("ManagedIdentity", &identity);
    let scope = "https://vault.azure.net/.default";
    let authority = emulator.authority_host();
    let with_authority = |mut vars: Vec<(&str, String)>| {
        vars.push(("AZURE_AUTHORITY_HOST", authority.clone()));
        Platform::with_env(Env::from_vars(
            vars.into_iter().map(|(k, v)| (k.to_owned(), v)),
        ))
    };

    let secret_options = ClientSecretCredentialOptions {
        client_options: client_options(&emulator),
        ..Default::default()
    };
    shown.debug("ClientSecretCredentialOptions", &secret_options);
    let secret = ClientSecretCredential::new(
        DEFAULT_TENANT,
        "hygiene-secret".into(),
        SECRET.to_owned().into(),
        Some(secret_options),
    )
    .unwrap();

    let certificate_options = ClientCertificateCredentialOptions {
        password: Some(Secret::new(CERT_PASSWORD.to_owned())),
        send_certificate_chain: true,
        platform: with_authority(vec![]),
        ..Default::default()
    };
    shown.debug("ClientCertificateCredentialOptions", &certificate_options);
    let certificate = ClientCertificateCredential::new(
        DEFAULT_TENANT.into(),
        "hygiene-cert".into(),
        SecretBytes::new(pkcs12_with_password(&pem)),
        Some(certificate_options),
    )
    .unwrap();

    let assertion_options = ClientAssertionCredentialOptions {
        client_options: client_options(&emulator),
        ..Default::default()
    };
    shown.debug("ClientAssertionCredentialOptions", &assertion_options);
    // Entra refuses this assertion: the credential is formatted after a failure.
    let assertion = ClientAssertionCredential::new(
        DEFAULT_TENANT.into(),
        "hygiene-pod".into(),
        FixedAssertion,
        Some(assertion_options),
    )
    .unwrap();

    let token_file = std::env::temp_dir().join(format!("identity-hygiene-{}", std::process::id()));
    let federated = emulator.federated_token(
        "system:serviceaccount:h:h",
        "api://AzureADTokenExchange",
        Duration::from_secs(600),
    );
    std::fs::write(&token_file, &federated).unwrap();
    shown.secret(federated);
    let workload_options = WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions {
            platform: with_authority(vec![]),
            ..Default::default()
        },
        client_id: Some("hygiene-pod".into()),
        tenant_id: Some(DEFAULT_TENANT.into()),
        token_file_path: Some(token_file.clone()),
        ..Default::default()
    };
    shown.debug("WorkloadIdentityCredentialOptions", &workload_options);
    let workload = WorkloadIdentityCredential::new(Some(workload_options)).unwrap();

    let pipelines_options = AzurePipelinesCredentialOptions {
        credential_options: ClientAssertionCredentialOptions {
            platform: with_authority(vec![(
                "SYSTEM_OIDCREQUESTURI",
                emulator.pipelines_oidc_endpoint(),
            )]),
            ..Default::default()
        },
    };
    shown.debug("AzurePipelinesCredentialOptions", &pipelines_options);
    let pipelines = AzurePipelinesCredential::new(
        DEFAULT_TENANT.into(),
        "hygiene-pipeline".into(),
        "sc",
        PIPELINES_ACCESS_TOKEN,
        Some(pipelines_options),
    )
    .unwrap();

    let msi_options = ManagedIdentityCredentialOptions {
        user_assigned_id: Some(UserAssignedId::ClientId(identity.client_id.clone())),
        platform: with_authority(vec![
            ("IDENTITY_ENDPOINT", emulator.app_service_endpoint()),
            (
                "IDENTITY_HEADER",
                emulator.managed_identity_secret().to_owned(),
            ),
        ]),
        ..Default::default()
    };
    shown.debug("ManagedIdentityCredentialOptions", &msi_options);
    shown.secret(emulator.managed_identity_secret());
    let app_service = ManagedIdentityCredential::new(Some(msi_options)).unwrap();
    let arc = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        arc_token_directory: Some(emulator.arc_token_directory().to_owned()),
        platform: with_authority(vec![
            ("IDENTITY_ENDPOINT", emulator.arc_endpoint()),
            ("IMDS_ENDPOINT", emulator.imds_host()),
        ]),
        ..Default::default()
    }))
    .unwrap();

    let standin = standin_env(&[("IDENTITY_STANDIN_TOKEN", TOKEN)]);
    let az_options = AzureCliCredentialOptions {
        platform: Platform::with_env(standin.clone()),
        ..Default::default()
    };
    shown.debug("AzureCliCredentialOptions", &az_options);
    let az = AzureCliCredential::new(Some(az_options)).unwrap();
    let azd_options = AzureDeveloperCliCredentialOptions {
        platform: Platform::with_env(standin.clone()),
        ..Default::default()
    };
    shown.debug("AzureDeveloperCliCredentialOptions", &azd_options);
    let azd = AzureDeveloperCliCredential::new(Some(azd_options)).unwrap();
    let tools_options = DeveloperToolsCredentialOptions {
        platform: Platform::with_env(standin.clone()),
        ..Default::default()
    };
    shown.debug("DeveloperToolsCredentialOptions", &tools_options);
    let tools = DeveloperToolsCredential::new(Some(tools_options)).unwrap();

    let secret_env = || {
        with_authority(vec![
            ("AZURE_TENANT_ID", DEFAULT_TENANT.into()),
            ("AZURE_CLIENT_ID", "hygiene-secret".into()),
            ("AZURE_CLIENT_SECRET", SECRET.into()),
        ])
    };
    let environment_options = EnvironmentCredentialOptions {
        platform: secret_env(),
        ..Default::default()
    };
    shown.debug("EnvironmentCredentialOptions", &environment_options);
    let environment = EnvironmentCredential::new(Some(environment_options)).unwrap();
    let default_options = DefaultAzureCredentialOptions {
        platform: secret_env(),
        ..Default::default()
    };
    shown.debug("DefaultAzureCredentialOptions", &default_options);
    let default = DefaultAzureCredential::new(Some(default_options)).unwrap();
    let chain = ChainedTokenCredential::from_credentials(
        vec![assertion.clone(), secret.clone()],
        Some(ChainedTokenCredentialOptions {
            continue_on_failure: true,
            ..Default::default()
        }),
    )
    .unwrap();

    let credentials: Vec<(&'static str, Arc<dyn TokenCredential>, bool)> = vec![
        ("ClientSecretCredential", secret.clone(), true),
        ("ClientCertificateCredential", certificate.clone(), true),
        ("ClientAssertionCredential", assertion.clone(), false),
        ("WorkloadIdentityCredential", workload.clone(), true),
        ("AzurePipelinesCredential", pipelines.clone(), true),
        ("ManagedIdentityCredential", app_service.clone(), true),
        ("ManagedIdentityCredential", arc.clone(), true),
        ("AzureCliCredential", az.clone(), true),
        ("AzureDeveloperCliCredential", azd.clone(), true),
        ("DeveloperToolsCredential", tools.clone(), true),
        ("EnvironmentCredential", environment.clone(), true),
        ("DefaultAzureCredential", default.clone(), true),
        ("ChainedTokenCredential", chain.clone(), true),
    ];
    for (name, credential, succeeds) in &credentials {
        match credential.get_token(&[scope], None).await {
            Ok(token) => {
                assert!(succeeds, "{name} was expected to fail");
                shown.secret(token.token.secret());
                shown.debug("AccessToken", &token);
            }
            Err(error) => {
                assert!(!succeeds, "{name}: {error}");
                shown.both("azure_core::Error", &error);
            }
        }
    }
    // Formatted holding cached tokens.
    shown.debug("ClientSecretCredential", &secret);
    shown.debug("ClientCertificateCredential", &certificate);
    shown.debug("ClientAssertionCredential", &assertion);
    shown.debug("WorkloadIdentityCredential", &workload);
    shown.debug("AzurePipelinesCredential", &pipelines);
    shown.debug("ManagedIdentityCredential", &app_service);
    shown.debug("ManagedIdentityCredential", &arc);
    shown.debug("AzureCliCredential", &az);
    shown.debug("AzureDeveloperCliCredential", &azd);
    shown.debug("DeveloperToolsCredential", &tools);
    shown.debug("EnvironmentCredential", &environment);
    shown.debug("DefaultAzureCredential", &default);
    shown.debug("ChainedTokenCredential", &chain);

    // What reached the emulator is secret too: assertions, Arc's key, the
    // Pipelines OIDC request's bearer token.
    for request in emulator.requests() {
        for field in ["client_assertion", "client_secret"] {
            if let Some(value) = request.form_value(field) {
                shown.secret(value);
            }
        }
        if let Some((_, value)) = request.headers.iter().find(|(k, _)| k == "authorization") {
            let credential = value.split_once(' ').map_or(value.as_str(), |(_, v)| v);
            if credential.len() >= 8 {
                shown.secret(credential);
            }
        }
        shown.debug("LoggedRequest", &request);
    }
    shown.debug("Emulator", &emulator);
    let issued = secret.get_token(&[scope], None).await.unwrap();
    let claims = emulator.verify_access_token(issued.token.secret()).unwrap();
    shown.debug("AccessTokenClaims", &claims);
    shown.check();
    std::fs::remove_file(token_file).unwrap();
}

/// Public types whose values cannot hold anything secret and have no
/// constructor a test can reach, with the reason.
const NOT_FORMATTED: &[(&str, &str)] = &[(
    "Lookup",
    "the cache's answer to one lookup: a cached token (AccessToken, formatted above), a wait, or an error",
)];

#[test]
fn every_public_type_is_formatted() {
    // Names this file formats: every `shown.debug("Name"` / `shown.both("Name"`.
    let this = include_str!("debug_hygiene.rs");
    let formatted: BTreeSet<&str> = this
        .split("shown.")
        .filter_map(|rest| {
            let rest = rest
                .strip_prefix("debug(")
                .or_else(|| rest.strip_prefix("both("))?;
            rest.trim_start().strip_prefix('"')?.split('"').next()
        })
        .collect();
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let mut missing = Vec::new();
    for name in public_types(&crates) {
        if !formatted.contains(name.as_str()) && !NOT_FORMATTED.iter().any(|(n, _)| *n == name) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "public types not formatted by no_public_type_shows_a_secret: {missing:?}"
    );
}

/// `pub struct X` / `pub enum X` in every crate's `src`, tests and fuzzing
/// entry points aside.
fn public_types(dir: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n == "tests" || n == "target")
            {
                continue;
            }
            names.extend(public_types(&path));
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.ends_with("tests.rs")
            && !path.ends_with("fuzzing.rs")
        {
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests sit at the end of a file, after `#[cfg(test)]`.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for line in text.lines() {
                let line = line.trim_start();
                for kind in ["pub struct ", "pub enum "] {
                    if let Some(rest) = line.strip_prefix(kind) {
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        names.insert(name);
                    }
                }
            }
        }
    }
    names
}
