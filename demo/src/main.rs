//! `cargo xtask demo`: starts the loopback emulator, obtains a token through
//! every credential this workspace has, and calls the emulator's protected
//! resource with each, the way an Azure SDK client would. Prints a table; never
//! a token.

#![forbid(unsafe_code)]
// A demo reports on stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use azure_core::http::ClientMethodOptions;
use identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzureDeveloperCliCredential,
    AzureDeveloperCliCredentialOptions, AzurePipelinesCredential, AzurePipelinesCredentialOptions,
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
    ClientCertificateCredential, ClientCertificateCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, DefaultAzureCredential, DefaultAzureCredentialOptions,
    DeveloperToolsCredential, DeveloperToolsCredentialOptions, Env, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, Platform, SecretBytes, TokenCredential,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use identity_emulator::{
    AssertionTrust, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator,
    PIPELINES_ACCESS_TOKEN, pipelines_subject,
};
use identity_tests::{
    call_protected_resource, client_options, resource_scope, standin_env, standins_dir,
};
use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

/// A federated token as a workload would read it from its token file.
#[derive(Debug)]
struct FederatedToken(Emulator);

#[async_trait::async_trait]
impl ClientAssertion for FederatedToken {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        Ok(self.0.federated_token(
            "system:serviceaccount:demo:app",
            "api://AzureADTokenExchange",
            Duration::from_secs(600),
        ))
    }
}

/// A credential to exercise: its name, its endpoint, and the credential (or
/// why it could not be built).
type Candidate = (
    &'static str,
    String,
    azure_core::Result<Arc<dyn TokenCredential>>,
);

/// The emulator's environment as a credential's whole environment.
fn emulator_env(emulator: &Emulator, mut vars: Vec<(&'static str, String)>) -> Platform {
    vars.push(("AZURE_AUTHORITY_HOST", emulator.authority_host()));
    Platform::with_env(Env::from_vars(vars))
}

/// An app with a fresh certificate (PEM: certificate and key).
fn certificate_credential(emulator: &Emulator) -> azure_core::Result<Arc<dyn TokenCredential>> {
    let pem = emulator.add_certificate_app(DEFAULT_TENANT, "demo-certificate-app")?;
    ClientCertificateCredential::new(
        DEFAULT_TENANT.into(),
        "demo-certificate-app".into(),
        SecretBytes::new(pem),
        Some(ClientCertificateCredentialOptions {
            platform: emulator_env(emulator, vec![]),
            ..Default::default()
        }),
    )
    .map(|c| c as Arc<dyn TokenCredential>)
}

/// A pod's projected service account token, as AKS writes it.
fn workload_credential(
    emulator: &Emulator,
    dir: &std::path::Path,
) -> azure_core::Result<Arc<dyn TokenCredential>> {
    let subject = "system:serviceaccount:demo:web";
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "demo-workload-app",
        AssertionTrust::FederatedSubject(subject.into()),
    );
    std::fs::create_dir_all(dir)?;
    let file = dir.join("azure-identity-token");
    let token = emulator.federated_token(
        subject,
        "api://AzureADTokenExchange",
        Duration::from_secs(3600),
    );
    std::fs::write(&file, format!("{token}\n"))?;
    WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions {
            platform: emulator_env(
                emulator,
                vec![
                    ("AZURE_TENANT_ID", DEFAULT_TENANT.into()),
                    ("AZURE_CLIENT_ID", "demo-workload-app".into()),
                    ("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()),
                ],
            ),
            ..Default::default()
        },
        ..Default::default()
    }))
    .map(|c| c as Arc<dyn TokenCredential>)
}

/// When a real Azure CLI is installed, what it gives (it talks to Azure, not
/// the emulator, so it does not count towards the demo's result).
async fn real_az() {
    let Some(path) = identity::process::find_program(&Env::system(), "az") else {
        println!("\nNo real `az` on PATH: the stand-ins above play it.");
        return;
    };
    let outcome = match AzureCliCredential::new(None) {
        Ok(credential) => match credential
            .get_token(&["https://management.azure.com/.default"], None)
            .await
        {
            Ok(token) => format!("a token valid until {}", token.expires_on),
            Err(error) => error
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
        },
        Err(error) => error.to_string(),
    };
    println!("\nReal az at {}: {outcome}", path.display());
}

/// `DefaultAzureCredential` on a machine with exactly `vars` (plus the
/// emulator's authority and an IMDS address where nothing answers).
fn default_credential(
    emulator: &Emulator,
    mut vars: Vec<(&'static str, String)>,
) -> azure_core::Result<Arc<DefaultAzureCredential>> {
    let nothing_there = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9);
    vars.push((
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        format!("http://127.0.0.1:{nothing_there}"),
    ));
    if !vars.iter().any(|(k, _)| *k == "PATH") {
        vars.push(("PATH", "/nonexistent".into()));
    }
    DefaultAzureCredential::new(Some(DefaultAzureCredentialOptions {
        platform: emulator_env(emulator, vars),
        ..Default::default()
    }))
}

/// A token for the protected resource, from the emulator's default app.
async fn mint_token(emulator: &Emulator) -> String {
    let credential = ClientSecretCredential::new(
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID.into(),
        DEFAULT_CLIENT_SECRET.into(),
        Some(ClientSecretCredentialOptions {
            client_options: client_options(emulator),
            ..Default::default()
        }),
    );
    match credential {
        Ok(credential) => match credential
            .get_token(&[&resource_scope(emulator)], None)
            .await
        {
            Ok(token) => token.token.secret().to_owned(),
            Err(_) => String::new(),
        },
        Err(_) => String::new(),
    }
}

/// Developer tools with a logged-out `az` first on PATH and the azd stand-in after it.
fn developer_tools_credential(
    token: &str,
    scratch: &std::path::Path,
) -> azure_core::Result<Arc<dyn TokenCredential>> {
    let logged_out = scratch.join("logged-out-az");
    std::fs::create_dir_all(&logged_out)?;
    let az = logged_out.join("az");
    std::fs::write(
        &az,
        "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755))?;
    }
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        logged_out.display(),
        standins_dir().display()
    );
    DeveloperToolsCredential::new(Some(DeveloperToolsCredentialOptions {
        platform: Platform::with_env(Env::from_vars([
            ("PATH".to_owned(), path),
            ("IDENTITY_STANDIN_TOKEN".to_owned(), token.to_owned()),
        ])),
        ..Default::default()
    }))
    .map(|c| c as Arc<dyn TokenCredential>)
}

/// A pipeline job with a service connection.
fn pipelines_credential(emulator: &Emulator) -> azure_core::Result<Arc<dyn TokenCredential>> {
    let connection = "demo-service-connection";
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "demo-pipelines-app",
        AssertionTrust::FederatedSubject(pipelines_subject(connection)),
    );
    AzurePipelinesCredential::new(
        DEFAULT_TENANT.into(),
        "demo-pipelines-app".into(),
        connection,
        PIPELINES_ACCESS_TOKEN,
        Some(AzurePipelinesCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                platform: emulator_env(
                    emulator,
                    vec![("SYSTEM_OIDCREQUESTURI", emulator.pipelines_oidc_endpoint())],
                ),
                ..Default::default()
            },
        }),
    )
    .map(|c| c as Arc<dyn TokenCredential>)
}

/// A managed identity credential seeing only `vars` as its environment.
fn managed_identity(
    emulator: &Emulator,
    vars: Vec<(&'static str, String)>,
) -> azure_core::Result<Arc<dyn TokenCredential>> {
    ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        arc_token_directory: Some(emulator.arc_token_directory().to_path_buf()),
        platform: Platform::with_env(Env::from_vars(vars)),
        ..Default::default()
    }))
    .map(|c| c as Arc<dyn TokenCredential>)
}

struct Row {
    credential: &'static str,
    endpoint: String,
    millis: String,
    claims: String,
    resource: String,
}

async fn exercise(
    emulator: &Emulator,
    name: &'static str,
    endpoint: String,
    credential: Arc<dyn TokenCredential>,
) -> (Row, bool) {
    let scope = resource_scope(emulator);
    let started = Instant::now();
    let result = credential.get_token(&[&scope], None).await;
    let millis = format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0);
    match result {
        Ok(token) => {
            let claims = match emulator.verify_access_token(token.token.secret()) {
                Ok(c) => format!(
                    "aud={} appid={} tid={} lifetime={}s",
                    c.aud,
                    c.appid,
                    c.tid,
                    c.exp - c.iat
                ),
                Err(e) => format!("unverifiable token: {e}"),
            };
            let (resource, ok) = match call_protected_resource(emulator, credential).await {
                Ok(status) if status.is_success() => (format!("{} OK", u16::from(status)), true),
                Ok(status) => (format!("{} refused", u16::from(status)), false),
                Err(e) => (format!("failed: {e}"), false),
            };
            (
                Row {
                    credential: name,
                    endpoint,
                    millis,
                    claims,
                    resource,
                },
                ok,
            )
        }
        Err(e) => {
            let first_line = e.to_string().lines().next().unwrap_or_default().to_owned();
            (
                Row {
                    credential: name,
                    endpoint,
                    millis,
                    claims: first_line,
                    resource: "-".into(),
                },
                false,
            )
        }
    }
}

fn print_table(rows: &[Row]) {
    let headers = [
        "credential",
        "endpoint",
        "ms",
        "token claims",
        "protected resource",
    ];
    let cells: Vec<[&str; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.credential,
                r.endpoint.as_str(),
                r.millis.as_str(),
                r.claims.as_str(),
                r.resource.as_str(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: [&str; 5]| {
        let padded: Vec<String> = cols
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(headers);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    println!("|-{}-|", rule.join("-|-"));
    for row in cells {
        line(row);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let emulator = match Emulator::start().await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("could not start the emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Entra ID emulator at {} (tenant {DEFAULT_TENANT})\n",
        emulator.url()
    );
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "demo-federated-app",
        AssertionTrust::FederationIssuer,
    );

    let secret = ClientSecretCredential::new(
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID.into(),
        DEFAULT_CLIENT_SECRET.into(),
        Some(ClientSecretCredentialOptions {
            client_options: client_options(&emulator),
            ..Default::default()
        }),
    );
    let assertion = ClientAssertionCredential::new(
        DEFAULT_TENANT.into(),
        "demo-federated-app".into(),
        FederatedToken(emulator.clone()),
        Some(ClientAssertionCredentialOptions {
            client_options: client_options(&emulator),
            ..Default::default()
        }),
    );
    let entra = emulator.token_endpoint(DEFAULT_TENANT);
    let workload_dir = std::env::temp_dir().join(format!("identity-demo-{}", std::process::id()));
    let secret_header = || {
        (
            "IDENTITY_HEADER",
            emulator.managed_identity_secret().to_owned(),
        )
    };
    // The stand-ins print a token the emulator minted, so the protected
    // resource can accept what they return.
    let cli_token = mint_token(&emulator).await;
    let defaults: [(
        &'static str,
        azure_core::Result<Arc<DefaultAzureCredential>>,
    ); 3] = [
        (
            "a machine with service principal variables",
            default_credential(
                &emulator,
                vec![
                    ("AZURE_TENANT_ID", DEFAULT_TENANT.into()),
                    ("AZURE_CLIENT_ID", DEFAULT_CLIENT_ID.into()),
                    ("AZURE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET.into()),
                ],
            ),
        ),
        (
            "App Service",
            default_credential(
                &emulator,
                vec![
                    ("IDENTITY_ENDPOINT", emulator.app_service_endpoint()),
                    secret_header(),
                ],
            ),
        ),
        (
            "a laptop (no IMDS, az logged in)",
            default_credential(
                &emulator,
                vec![
                    (
                        "PATH",
                        format!("{}:/usr/bin:/bin", standins_dir().display()),
                    ),
                    ("IDENTITY_STANDIN_TOKEN", cli_token.clone()),
                ],
            ),
        ),
    ];
    let [sp_machine, app_service, laptop] = &defaults;
    let as_dyn = |built: &azure_core::Result<Arc<DefaultAzureCredential>>| match built {
        Ok(c) => Ok(Arc::clone(c) as Arc<dyn TokenCredential>),
        Err(e) => Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            e.to_string(),
        )),
    };
    let credentials: Vec<Candidate> = vec![
        (
            "ClientSecretCredential",
            entra.clone(),
            secret.map(|c| c as Arc<dyn TokenCredential>),
        ),
        (
            "ClientAssertionCredential",
            entra.clone(),
            assertion.map(|c| c as Arc<dyn TokenCredential>),
        ),
        (
            "ClientCertificateCredential",
            entra.clone(),
            certificate_credential(&emulator),
        ),
        (
            "WorkloadIdentityCredential",
            entra.clone(),
            workload_credential(&emulator, &workload_dir),
        ),
        (
            "AzurePipelinesCredential",
            format!("{} then {entra}", emulator.pipelines_oidc_endpoint()),
            pipelines_credential(&emulator),
        ),
        (
            "AzureCliCredential (stand-in az)",
            standins_dir().join("az").display().to_string(),
            AzureCliCredential::new(Some(AzureCliCredentialOptions {
                platform: Platform::with_env(standin_env(&[(
                    "IDENTITY_STANDIN_TOKEN",
                    &cli_token,
                )])),
                ..Default::default()
            }))
            .map(|c| c as Arc<dyn TokenCredential>),
        ),
        (
            "AzureDeveloperCliCredential (stand-in azd)",
            standins_dir().join("azd").display().to_string(),
            AzureDeveloperCliCredential::new(Some(AzureDeveloperCliCredentialOptions {
                platform: Platform::with_env(standin_env(&[(
                    "IDENTITY_STANDIN_TOKEN",
                    &cli_token,
                )])),
                ..Default::default()
            }))
            .map(|c| c as Arc<dyn TokenCredential>),
        ),
        (
            "DeveloperToolsCredential (az logged out, azd in)",
            standins_dir().display().to_string(),
            developer_tools_credential(&cli_token, &workload_dir),
        ),
        (
            "ManagedIdentityCredential (IMDS)",
            format!("{}/metadata/identity/oauth2/token", emulator.imds_host()),
            managed_identity(
                &emulator,
                vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.imds_host())],
            ),
        ),
        (
            "ManagedIdentityCredential (App Service)",
            emulator.app_service_endpoint(),
            managed_identity(
                &emulator,
                vec![
                    ("IDENTITY_ENDPOINT", emulator.app_service_endpoint()),
                    secret_header(),
                ],
            ),
        ),
        (
            "ManagedIdentityCredential (Azure Arc)",
            emulator.arc_endpoint(),
            managed_identity(
                &emulator,
                vec![
                    ("IDENTITY_ENDPOINT", emulator.arc_endpoint()),
                    ("IMDS_ENDPOINT", emulator.imds_host()),
                ],
            ),
        ),
        (
            "ManagedIdentityCredential (Service Fabric)",
            emulator.service_fabric_endpoint(),
            managed_identity(
                &emulator,
                vec![
                    ("IDENTITY_ENDPOINT", emulator.service_fabric_endpoint()),
                    secret_header(),
                    (
                        "IDENTITY_SERVER_THUMBPRINT",
                        emulator.service_fabric_thumbprint(),
                    ),
                ],
            ),
        ),
        (
            "ManagedIdentityCredential (Azure ML)",
            emulator.azure_ml_endpoint(),
            managed_identity(
                &emulator,
                vec![
                    ("MSI_ENDPOINT", emulator.azure_ml_endpoint()),
                    ("MSI_SECRET", emulator.managed_identity_secret().to_owned()),
                ],
            ),
        ),
        (
            "ManagedIdentityCredential (Cloud Shell)",
            emulator.cloud_shell_endpoint(),
            managed_identity(
                &emulator,
                vec![("MSI_ENDPOINT", emulator.cloud_shell_endpoint())],
            ),
        ),
        (
            "DefaultAzureCredential (service principal env)",
            "chain: see below".into(),
            as_dyn(&sp_machine.1),
        ),
        (
            "DefaultAzureCredential (App Service env)",
            "chain: see below".into(),
            as_dyn(&app_service.1),
        ),
        (
            "DefaultAzureCredential (laptop: no IMDS, az)",
            "chain: see below".into(),
            as_dyn(&laptop.1),
        ),
    ];

    let mut rows = Vec::new();
    let mut all_ok = true;
    for (name, endpoint, credential) in credentials {
        match credential {
            Ok(credential) => {
                let (row, ok) = exercise(&emulator, name, endpoint, credential).await;
                all_ok &= ok;
                rows.push(row);
            }
            Err(e) => {
                all_ok = false;
                rows.push(Row {
                    credential: name,
                    endpoint: "-".into(),
                    millis: "-".into(),
                    claims: e.to_string(),
                    resource: "-".into(),
                });
            }
        }
    }
    print_table(&rows);
    println!();
    for (environment, credential) in &defaults {
        if let Ok(credential) = credential {
            println!(
                "DefaultAzureCredential on {environment}: chose {}",
                credential.chosen().unwrap_or("nothing")
            );
        }
    }
    real_az().await;
    println!(
        "\n{} requests reached the emulator's token endpoints (Azure Arc takes two: challenge, then token).",
        emulator.request_count("/token")
    );
    let _ = std::fs::remove_dir_all(&workload_dir);
    emulator.shutdown().await;
    if all_ok {
        println!("Every credential obtained a token that the protected resource accepted.");
        ExitCode::SUCCESS
    } else {
        println!("Some credentials failed; see the table.");
        ExitCode::FAILURE
    }
}
