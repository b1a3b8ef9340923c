use super::*;
use identity_core::{CredentialError, Env, error::anchors};
use identity_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator};

fn options_for(emulator: &Emulator) -> ClientSecretCredentialOptions {
    ClientSecretCredentialOptions {
        platform: Platform::with_env(Env::from_vars([(
            "AZURE_AUTHORITY_HOST",
            emulator.authority_host(),
        )])),
        ..Default::default()
    }
}

#[tokio::test]
async fn gets_a_token_from_the_emulator_and_caches_it() {
    let emulator = Emulator::start().await.unwrap();
    let credential = ClientSecretCredential::new(
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID.into(),
        Secret::new(DEFAULT_CLIENT_SECRET),
        Some(options_for(&emulator)),
    )
    .unwrap();
    let scope = format!("{}/.default", emulator.resource_audience());
    let token = credential.get_token(&[&scope], None).await.unwrap();
    let claims = emulator.verify_access_token(token.token.secret()).unwrap();
    assert_eq!(claims.aud, emulator.resource_audience());
    assert_eq!(claims.appid, DEFAULT_CLIENT_ID);
    let again = credential.get_token(&[&scope], None).await.unwrap();
    assert_eq!(again.token, token.token);
    assert_eq!(emulator.request_count("/oauth2/v2.0/token"), 1);
}

#[tokio::test]
async fn a_wrong_secret_names_the_credential_and_the_aadsts_code() {
    let emulator = Emulator::start().await.unwrap();
    let credential = ClientSecretCredential::new(
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID.into(),
        Secret::new("not-the-secret"),
        Some(options_for(&emulator)),
    )
    .unwrap();
    let error = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("ClientSecretCredential authentication failed"),
        "{text}"
    );
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(text.contains("#client-secret"), "{text}");
    assert!(!text.contains("not-the-secret"), "{text}");
    let details = CredentialError::find(&error).unwrap();
    assert_eq!(details.error_code(), Some("7000215"));
    assert_eq!(details.status().map(u16::from), Some(401));
}

#[test]
fn construction_validates_input() {
    let bad_tenant =
        ClientSecretCredential::new("a/b", "c".into(), Secret::new("s"), None).unwrap_err();
    assert!(bad_tenant.to_string().contains("tenant id"), "{bad_tenant}");
    let empty_secret =
        ClientSecretCredential::new("t", "c".into(), Secret::new(""), None).unwrap_err();
    assert!(empty_secret.to_string().contains("client secret is empty"));
    let empty_client =
        ClientSecretCredential::new("t", " ".into(), Secret::new("s"), None).unwrap_err();
    assert!(empty_client.to_string().contains("client id is empty"));
    let http = ClientSecretCredential::new(
        "t",
        "c".into(),
        Secret::new("s"),
        Some(ClientSecretCredentialOptions {
            platform: Platform::with_env(Env::from_vars([(
                "AZURE_AUTHORITY_HOST",
                "http://login.example.test",
            )])),
            ..Default::default()
        }),
    )
    .unwrap_err();
    assert_eq!(
        CredentialError::find(&http).unwrap().anchor(),
        anchors::AUTHORITY
    );
}

#[tokio::test]
async fn empty_or_smuggled_scopes_are_refused_before_any_request() {
    let credential = ClientSecretCredential::new("t", "c".into(), Secret::new("s"), None).unwrap();
    assert!(credential.get_token(&[], None).await.is_err());
    assert!(credential.get_token(&["a b"], None).await.is_err());
}

#[test]
fn debug_never_shows_the_secret() {
    let credential = ClientSecretCredential::new(
        "tenant",
        "client".into(),
        Secret::new("hunter2-secret"),
        None,
    )
    .unwrap();
    let shown = format!("{credential:?}");
    assert!(shown.contains("ClientSecretCredential"), "{shown}");
    assert!(shown.contains("client"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}
