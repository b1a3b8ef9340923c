//! `ClientSecretCredential` end to end: a token from the emulator, accepted by its
//! protected resource through azure_core's bearer-token policy.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use identity::{
    ClientSecretCredential, ClientSecretCredentialOptions, CredentialError, TokenCredential,
};
use identity_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator};
use identity_tests::{call_protected_resource, client_options, resource_scope, secret_credential};
use std::sync::Arc;

fn credential(emulator: &Emulator, secret: &'static str) -> Arc<ClientSecretCredential> {
    secret_credential(client_options(emulator), secret).unwrap()
}

#[tokio::test]
async fn token_is_accepted_by_the_protected_resource() {
    let emulator = Emulator::start().await.unwrap();
    let credential = credential(&emulator, DEFAULT_CLIENT_SECRET);
    let status = call_protected_resource(
        &emulator,
        Arc::clone(&credential) as Arc<dyn TokenCredential>,
    )
    .await
    .unwrap();
    assert_eq!(u16::from(status), 200);

    let token = credential
        .get_token(&[&resource_scope(&emulator)], None)
        .await
        .unwrap();
    let claims = emulator.verify_access_token(token.token.secret()).unwrap();
    assert_eq!(claims.tid, DEFAULT_TENANT);
    assert_eq!(claims.appid, DEFAULT_CLIENT_ID);
    assert_eq!(
        claims.iss,
        format!("https://sts.windows.net/{DEFAULT_TENANT}/")
    );
    assert!(token.expires_on > azure_core::time::OffsetDateTime::now_utc());
    // The policy's request and ours shared one token request.
    assert_eq!(emulator.request_count("/oauth2/v2.0/token"), 1);

    let sent = emulator.requests();
    let form = sent
        .iter()
        .find(|r| r.path.ends_with("/oauth2/v2.0/token"))
        .unwrap();
    assert_eq!(form.method, "POST");
    assert_eq!(form.form_value("grant_type"), Some("client_credentials"));
    assert_eq!(
        form.form_value("client_secret"),
        Some(DEFAULT_CLIENT_SECRET)
    );
    assert_eq!(
        form.form_value("scope"),
        Some(resource_scope(&emulator).as_str())
    );
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_by_the_resource() {
    let emulator = Emulator::start().await.unwrap();
    let credential = credential(&emulator, DEFAULT_CLIENT_SECRET);
    let token = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap();
    let claims = emulator.verify_access_token(token.token.secret()).unwrap();
    assert_eq!(claims.aud, "https://vault.azure.net");
    assert_ne!(claims.aud, emulator.resource_audience());
}

#[tokio::test]
async fn wrong_secret_names_the_credential_and_the_aadsts_code() {
    let emulator = Emulator::start().await.unwrap();
    let credential = credential(&emulator, "definitely-wrong");
    let error = credential
        .get_token(&[&resource_scope(&emulator)], None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("ClientSecretCredential"), "{text}");
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(text.contains("TROUBLESHOOTING.md#client-secret"), "{text}");
    assert!(!text.contains("definitely-wrong"), "{text}");
    let details = CredentialError::find(&error).unwrap();
    assert!(!details.is_unavailable());
    assert_eq!(details.error_code(), Some("7000215"));
}

#[tokio::test]
async fn unknown_tenant_and_client_are_explained() {
    let emulator = Emulator::start().await.unwrap();
    let options = || {
        Some(ClientSecretCredentialOptions {
            client_options: client_options(&emulator),
            ..Default::default()
        })
    };
    let unknown_tenant = ClientSecretCredential::new(
        "no-such-tenant",
        DEFAULT_CLIENT_ID.into(),
        "s".into(),
        options(),
    )
    .unwrap();
    let text = unknown_tenant
        .get_token(&["https://x/.default"], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("AADSTS90002"), "{text}");
    assert!(text.contains("To fix:"), "{text}");

    let unknown_client =
        ClientSecretCredential::new(DEFAULT_TENANT, "nobody".into(), "s".into(), options())
            .unwrap();
    let text = unknown_client
        .get_token(&["https://x/.default"], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("AADSTS700016"), "{text}");
}
