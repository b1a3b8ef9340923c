use super::*;
use identity_core::Env;
use identity_emulator::{AssertionTrust, DEFAULT_TENANT, Emulator};
use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

#[derive(Debug)]
struct Federated {
    jwt: String,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl ClientAssertion for Federated {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(format!("{}\n", self.jwt))
    }
}

#[derive(Debug)]
struct Broken;

#[async_trait::async_trait]
impl ClientAssertion for Broken {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Io,
            "token file /var/run/token is missing",
        ))
    }
}

fn options_for(emulator: &Emulator) -> ClientAssertionCredentialOptions {
    ClientAssertionCredentialOptions {
        platform: Platform::with_env(Env::from_vars([(
            "AZURE_AUTHORITY_HOST",
            emulator.authority_host(),
        )])),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_federated_assertion_is_exchanged_for_a_token_and_trimmed() {
    let emulator = Emulator::start().await.unwrap();
    emulator.add_assertion_app(DEFAULT_TENANT, "fed-app", AssertionTrust::FederationIssuer);
    let jwt = emulator.federated_token(
        "system:serviceaccount:ns:sa",
        "api://AzureADTokenExchange",
        Duration::from_secs(600),
    );
    let source = Federated {
        jwt: jwt.clone(),
        calls: AtomicUsize::new(0),
    };
    let credential = ClientAssertionCredential::new(
        DEFAULT_TENANT.into(),
        "fed-app".into(),
        source,
        Some(options_for(&emulator)),
    )
    .unwrap();
    let token = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap();
    let claims = emulator.verify_access_token(token.token.secret()).unwrap();
    assert_eq!(claims.appid, "fed-app");
    assert_eq!(claims.aud, "https://vault.azure.net");
    credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap();
    assert_eq!(
        credential.assertion.calls.load(Ordering::SeqCst),
        1,
        "cached: assertion asked once"
    );
    let sent = emulator.requests();
    let form = sent.iter().find(|r| r.path.ends_with("/token")).unwrap();
    assert_eq!(form.form_value("client_assertion"), Some(jwt.as_str()));
}

#[tokio::test]
async fn an_assertion_source_failure_is_reported_with_its_cause() {
    let credential = ClientAssertionCredential::new("t".into(), "c".into(), Broken, None).unwrap();
    let error = credential
        .get_token(&["s/.default"], None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with(
            "ClientAssertionCredential authentication failed: could not get a client assertion"
        ),
        "{text}"
    );
    assert!(text.contains("/var/run/token is missing"), "{text}");
}

#[tokio::test]
async fn errors_carry_the_wrapping_credentials_name() {
    let credential = ClientAssertionCredential::for_credential(
        "WorkloadIdentityCredential",
        "workload",
        "t".into(),
        "c".into(),
        Broken,
        None,
    )
    .unwrap();
    let error = credential
        .get_token(&["s/.default"], None)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("WorkloadIdentityCredential authentication failed")
    );
}
