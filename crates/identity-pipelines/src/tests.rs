//! Against the emulator's Pipelines OIDC endpoint and token endpoint.

use super::*;
use identity_core::{Env, Platform};
use identity_emulator::{
    AssertionTrust, DEFAULT_TENANT, Emulator, Fault, FaultTarget, PIPELINES_ACCESS_TOKEN,
    pipelines_subject,
};

const CONNECTION: &str = "3b7a1c5e-0000-4000-8000-service-conn";

fn credential(emulator: &Emulator, access_token: &str) -> Arc<AzurePipelinesCredential> {
    let env = Env::from_vars([
        ("SYSTEM_OIDCREQUESTURI", emulator.pipelines_oidc_endpoint()),
        ("AZURE_AUTHORITY_HOST", emulator.authority_host()),
    ]);
    AzurePipelinesCredential::new(
        DEFAULT_TENANT.into(),
        "pipelines-app".into(),
        CONNECTION,
        access_token.to_owned(),
        Some(AzurePipelinesCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                platform: Platform::with_env(env),
                ..Default::default()
            },
        }),
    )
    .unwrap()
}

async fn setup() -> Emulator {
    let emulator = Emulator::start().await.unwrap();
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "pipelines-app",
        AssertionTrust::FederatedSubject(pipelines_subject(CONNECTION)),
    );
    emulator
}

#[tokio::test]
async fn the_oidc_token_is_exchanged_for_an_entra_token() {
    let emulator = setup().await;
    let token = credential(&emulator, PIPELINES_ACCESS_TOKEN)
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .unwrap();
    let claims = emulator.verify_access_token(token.token.secret()).unwrap();
    assert_eq!(claims.appid, "pipelines-app");
    let log = emulator.requests();
    let oidc = log
        .iter()
        .find(|r| r.path == "/pipelines/oidctoken")
        .unwrap();
    assert_eq!(oidc.method, "POST");
    assert_eq!(oidc.query_value("api-version"), Some("7.1"));
    assert_eq!(oidc.query_value("serviceConnectionId"), Some(CONNECTION));
    assert_eq!(oidc.header("x-tfs-fedauthredirect"), Some("Suppress"));
}

#[tokio::test]
async fn oidc_failures_carry_the_request_ids_and_never_the_access_token() {
    let emulator = setup().await;
    let error = credential(&emulator, "wrong-system-access-token")
        .get_token(&["https://a/.default"], None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("401") && text.contains("x-vss-e2eid: ") && text.contains("x-msedge-ref: "),
        "{text}"
    );
    assert!(
        text.contains("System.AccessToken"),
        "the fix says what to check: {text}"
    );
    assert!(!text.contains("wrong-system-access-token"), "{text}");

    emulator.set_default_fault(
        FaultTarget::PathPrefix("/pipelines".into()),
        Some(Fault::Status {
            status: 500,
            body: format!("echo Bearer {PIPELINES_ACCESS_TOKEN}"),
            headers: vec![
                ("x-vss-e2eid".into(), "e2e-123".into()),
                ("x-msedge-ref".into(), "Ref A: 42".into()),
            ],
        }),
    );
    // Retries off, so the test sees the final 500 at once (by default it is retried).
    let env = Env::from_vars([
        ("SYSTEM_OIDCREQUESTURI", emulator.pipelines_oidc_endpoint()),
        ("AZURE_AUTHORITY_HOST", emulator.authority_host()),
    ]);
    let mut credential_options = ClientAssertionCredentialOptions {
        platform: Platform::with_env(env),
        ..Default::default()
    };
    credential_options.client_options.retry = azure_core::http::RetryOptions::none();
    let options = AzurePipelinesCredential::new(
        DEFAULT_TENANT.into(),
        "pipelines-app".into(),
        CONNECTION,
        PIPELINES_ACCESS_TOKEN,
        Some(AzurePipelinesCredentialOptions { credential_options }),
    )
    .unwrap();
    let error = options
        .get_token(&["https://b/.default"], None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("500")
            && text.contains("x-vss-e2eid: e2e-123")
            && text.contains("x-msedge-ref: Ref A: 42"),
        "{text}"
    );
    assert!(!text.contains(PIPELINES_ACCESS_TOKEN), "{text}");
    assert!(!format!("{options:?}").contains(PIPELINES_ACCESS_TOKEN));
}

#[test]
fn outside_a_pipeline_it_is_unavailable() {
    let options = AzurePipelinesCredentialOptions {
        credential_options: ClientAssertionCredentialOptions {
            platform: Platform::with_env(Env::from_vars(Vec::<(String, String)>::new())),
            ..Default::default()
        },
    };
    let error = AzurePipelinesCredential::new("t".into(), "c".into(), "sc", "token", Some(options))
        .unwrap_err();
    assert!(identity_core::is_unavailable(&error), "{error}");
    let error =
        AzurePipelinesCredential::new("t".into(), "c".into(), "", "token", None).unwrap_err();
    assert!(
        error.to_string().contains("service connection id"),
        "{error}"
    );
}
