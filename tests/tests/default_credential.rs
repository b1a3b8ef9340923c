//! `DefaultAzureCredential` in the environments it is made for: each one set
//! up with the emulator and the az/azd stand-ins, nothing else.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use identity::{
    CredentialError, DefaultAzureCredential, DefaultAzureCredentialOptions, Env, Platform,
    TokenCredential,
};
use identity_emulator::{
    AssertionTrust, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator,
};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

const SCOPE: &str = "https://vault.azure.net/.default";

/// A port nothing listens on: "no IMDS here".
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The variables of a machine with nothing configured: no IMDS, no tools.
fn bare(emulator: &Emulator) -> Vec<(String, String)> {
    vec![
        ("AZURE_AUTHORITY_HOST".into(), emulator.authority_host()),
        (
            "AZURE_POD_IDENTITY_AUTHORITY_HOST".into(),
            format!("http://127.0.0.1:{}", closed_port()),
        ),
        ("PATH".into(), "/nonexistent".into()),
    ]
}

fn with_standins(mut vars: Vec<(String, String)>) -> Vec<(String, String)> {
    vars.retain(|(k, _)| k != "PATH");
    vars.push((
        "PATH".into(),
        format!("{}:/usr/bin:/bin", identity_tests::standins_dir().display()),
    ));
    vars
}

fn dac(vars: Vec<(String, String)>) -> azure_core::Result<Arc<DefaultAzureCredential>> {
    identity_tests::watch_logs();
    DefaultAzureCredential::new(Some(DefaultAzureCredentialOptions {
        platform: Platform::with_env(Env::from_vars(vars)),
        ..Default::default()
    }))
}

fn add(mut vars: Vec<(String, String)>, more: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.extend(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    vars
}

#[tokio::test]
async fn each_environment_gets_its_own_link() {
    let emulator = Emulator::start().await.unwrap();
    // A service principal in the environment.
    let sp = add(
        bare(&emulator),
        &[
            ("AZURE_TENANT_ID", DEFAULT_TENANT),
            ("AZURE_CLIENT_ID", DEFAULT_CLIENT_ID),
            ("AZURE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
        ],
    );
    let credential = dac(sp).unwrap();
    credential.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(credential.chosen(), Some("EnvironmentCredential"));

    // A Kubernetes pod with workload identity.
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "pod-app",
        AssertionTrust::FederatedSubject("system:serviceaccount:a:b".into()),
    );
    let dir = std::env::temp_dir().join(format!("identity-dac-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(
        &file,
        emulator.federated_token(
            "system:serviceaccount:a:b",
            "api://AzureADTokenExchange",
            Duration::from_secs(600),
        ),
    )
    .unwrap();
    let pod = add(
        bare(&emulator),
        &[
            ("AZURE_TENANT_ID", DEFAULT_TENANT),
            ("AZURE_CLIENT_ID", "pod-app"),
            ("AZURE_FEDERATED_TOKEN_FILE", &file.display().to_string()),
        ],
    );
    let credential = dac(pod).unwrap();
    credential.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(credential.chosen(), Some("WorkloadIdentityCredential"));
    std::fs::remove_dir_all(&dir).unwrap();

    // An App Service.
    let app = add(
        bare(&emulator),
        &[
            ("IDENTITY_ENDPOINT", &emulator.app_service_endpoint()),
            ("IDENTITY_HEADER", emulator.managed_identity_secret()),
        ],
    );
    let credential = dac(app).unwrap();
    credential.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(credential.chosen(), Some("ManagedIdentityCredential"));

    // A laptop with az logged in, no IMDS.
    let laptop = with_standins(bare(&emulator));
    let credential = dac(laptop).unwrap();
    assert_eq!(
        credential
            .get_token(&[SCOPE], None)
            .await
            .unwrap()
            .token
            .secret(),
        "standin-az-token"
    );
    assert_eq!(credential.chosen(), Some("AzureCliCredential"));
    let explained = credential.explain();
    assert!(explained.contains("EnvironmentCredential: skipped, unavailable: the environment does not configure a service principal"), "{explained}");
    assert!(
        explained.contains(
            "ManagedIdentityCredential: skipped, unavailable: no managed identity endpoint answered"
        ),
        "{explained}"
    );
    assert!(
        explained.contains("AzureCliCredential: chosen"),
        "{explained}"
    );
}

#[tokio::test]
async fn nothing_configured_fails_fast_with_every_reason() {
    let emulator = Emulator::start().await.unwrap();
    let credential = dac(bare(&emulator)).unwrap();
    let started = Instant::now();
    let error = credential.get_token(&[SCOPE], None).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "bounded: {elapsed:?}");
    assert!(identity::is_unavailable(&error), "{error}");
    let details = CredentialError::find(&error).unwrap();
    assert_eq!(details.credential(), "DefaultAzureCredential");
    let names: Vec<&str> = details.links().iter().map(|(n, _)| n.as_ref()).collect();
    assert_eq!(
        names,
        [
            "EnvironmentCredential",
            "WorkloadIdentityCredential",
            "ManagedIdentityCredential",
            "AzureCliCredential",
            "AzureDeveloperCliCredential"
        ]
    );
    let text = error.to_string();
    for reason in [
        "missing AZURE_TENANT_ID",
        "no tenant id",
        "no managed identity endpoint answered",
        "az is not installed",
        "azd is not installed",
    ] {
        assert_eq!(text.matches(reason).count(), 1, "{reason} once in:\n{text}");
    }
}

#[tokio::test]
async fn azure_token_credentials_narrows_the_chain() {
    let emulator = Emulator::start().await.unwrap();
    let sp_and_tools = with_standins(add(
        bare(&emulator),
        &[
            ("AZURE_TENANT_ID", DEFAULT_TENANT),
            ("AZURE_CLIENT_ID", DEFAULT_CLIENT_ID),
            ("AZURE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
        ],
    ));
    // dev: the tools only, even with a service principal configured.
    let dev = dac(add(
        sp_and_tools.clone(),
        &[("AZURE_TOKEN_CREDENTIALS", "dev")],
    ))
    .unwrap();
    dev.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(dev.chosen(), Some("AzureCliCredential"));
    assert!(
        dev.explain()
            .contains("EnvironmentCredential: left out (AZURE_TOKEN_CREDENTIALS=dev)")
    );
    // prod: never the tools.
    let prod = dac(add(
        sp_and_tools.clone(),
        &[("AZURE_TOKEN_CREDENTIALS", "prod")],
    ))
    .unwrap();
    prod.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(prod.chosen(), Some("EnvironmentCredential"));
    // One credential by name, any case.
    let one = dac(add(
        sp_and_tools.clone(),
        &[("AZURE_TOKEN_CREDENTIALS", " azureclicredential ")],
    ))
    .unwrap();
    one.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(one.chosen(), Some("AzureCliCredential"));
    // Invalid: an error listing the valid values.
    let error = dac(add(sp_and_tools, &[("AZURE_TOKEN_CREDENTIALS", "laptop")]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("\"laptop\" is not a valid value")
            && error.contains("dev, prod, EnvironmentCredential"),
        "{error}"
    );
}

#[tokio::test]
async fn a_broken_link_does_not_hide_a_working_later_one() {
    let emulator = Emulator::start().await.unwrap();
    // A malformed managed identity variable: that link cannot be set up.
    let broken = with_standins(add(bare(&emulator), &[("MSI_ENDPOINT", "not a url")]));
    let credential = dac(broken).unwrap();
    credential.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(credential.chosen(), Some("AzureCliCredential"));
    assert!(credential.explain().contains("ManagedIdentityCredential: skipped, unavailable: could not be set up: MSI_ENDPOINT is not an http(s) URL"), "{}", credential.explain());

    // But a configured service principal with a wrong secret stops the chain:
    // it is not silently replaced by the developer's own login.
    let wrong = with_standins(add(
        bare(&emulator),
        &[
            ("AZURE_TENANT_ID", DEFAULT_TENANT),
            ("AZURE_CLIENT_ID", DEFAULT_CLIENT_ID),
            ("AZURE_CLIENT_SECRET", "wrong-secret"),
        ],
    ));
    let error = dac(wrong)
        .unwrap()
        .get_token(&[SCOPE], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("AADSTS7000215") && error.contains("the chain stopped"),
        "{error}"
    );
    assert!(!error.contains("wrong-secret"), "{error}");
}
