//! The code in `../shared/seeds/` compiles and works against our umbrella
//! crate imported as `azure_identity`, the one-line switch users make.
//! Placeholders are replaced by the emulator's values; the shapes are the
//! seeds' own. Later credentials add their snippets here.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// The seeds' code as users write it, `"...".into()` and `.clone()` included.
#![allow(
    clippy::useless_conversion,
    clippy::clone_on_ref_ptr,
    clippy::redundant_clone
)]

// What `azure_identity = { package = "identity", ... }` does in a user's Cargo.toml.
use identity as azure_identity;

use azure_core::credentials::TokenCredential;
use identity_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator};
use identity_tests::client_options;

/// `azure-identity-rust-skill.md`, section `ClientSecretCredential`.
#[tokio::test]
async fn client_secret_credential_as_the_skill_writes_it() -> azure_core::Result<()> {
    let emulator = Emulator::start().await.unwrap();
    use azure_identity::ClientSecretCredential;

    let credential = ClientSecretCredential::new(
        DEFAULT_TENANT.into(),
        DEFAULT_CLIENT_ID.into(),
        DEFAULT_CLIENT_SECRET.into(),
        None,
    )?;
    // "Clone credentials: credentials are Arc-wrapped and cheap to clone."
    let shared: std::sync::Arc<dyn TokenCredential> = credential.clone();
    let _ = shared;

    // The seed passes `None`; here the options point it at the emulator.
    let credential = ClientSecretCredential::new(
        DEFAULT_TENANT.into(),
        DEFAULT_CLIENT_ID.into(),
        DEFAULT_CLIENT_SECRET.into(),
        Some(azure_identity::ClientSecretCredentialOptions {
            client_options: client_options(&emulator),
            ..Default::default()
        }),
    )?;
    let token = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await?;
    assert!(emulator.verify_access_token(token.token.secret()).is_ok());
    Ok(())
}

/// `azure-identity-rust-skill.md`, section `ManagedIdentityCredential`, and the
/// server example of `authenticate-rust-apps-overview.md`.
#[tokio::test]
async fn managed_identity_as_the_seeds_write_it() -> azure_core::Result<()> {
    use azure_identity::{
        ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    };
    // System-assigned managed identity (constructing sends nothing).
    let credential = ManagedIdentityCredential::new(None)?;
    let _ = credential;
    // User-assigned managed identity
    let options = ManagedIdentityCredentialOptions {
        client_id: Some("<user-assigned-mi-client-id>".into()),
        ..Default::default()
    };
    let _credential = ManagedIdentityCredential::new(Some(options))?;

    // The overview's shape, pointed at the emulator's IMDS so it really works.
    let emulator = Emulator::start().await.unwrap();
    let identity = emulator.add_user_assigned_identity("seed-identity");
    let user_assigned_id: Option<UserAssignedId> =
        Some(identity.client_id.clone()).map(|id| UserAssignedId::ClientId(id.clone()));
    let credential_options = ManagedIdentityCredentialOptions {
        user_assigned_id,
        platform: azure_identity::Platform::with_env(azure_identity::Env::from_vars([(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            emulator.imds_host(),
        )])),
        ..Default::default()
    };
    let credential = ManagedIdentityCredential::new(Some(credential_options))?;
    let token = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await?;
    let claims = emulator.verify_access_token(token.token.secret()).unwrap();
    assert_eq!(claims.appid, identity.client_id);
    Ok(())
}

/// `azure-identity-rust-skill.md`, section `DeveloperToolsCredential`: the
/// credential handed to Key Vault's stable `SecretClient` as the seed does,
/// then working through the az stand-in.
#[tokio::test]
async fn developer_tools_as_the_skill_writes_it() -> azure_core::Result<()> {
    use azure_identity::DeveloperToolsCredential;

    use azure_security_keyvault_secrets::SecretClient;

    let credential = DeveloperToolsCredential::new(None)?;
    let client = SecretClient::new(
        "https://my-vault.vault.azure.net/",
        credential.clone(),
        None,
    )?;
    let _ = client;

    let credential =
        DeveloperToolsCredential::new(Some(azure_identity::DeveloperToolsCredentialOptions {
            platform: azure_identity::Platform::with_env(identity_tests::standin_env(&[])),
            ..Default::default()
        }))?;
    let token = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await?;
    assert_eq!(token.token.secret(), "standin-az-token");
    Ok(())
}

/// `authenticate-rust-apps-overview.md`: each credential handed to Key Vault's
/// stable `SecretClient` exactly as the overview writes it. The vault name the
/// overview reads from `AZURE_KEYVAULT_NAME` is given here; the rest is the
/// overview's code. Constructing sends nothing, so no vault is needed.
#[tokio::test]
async fn the_overviews_key_vault_examples_compile_and_construct()
-> Result<(), Box<dyn std::error::Error>> {
    let key_vault_name = String::from("https://my-vault.vault.azure.net/");

    {
        use azure_identity::AzureCliCredential;
        use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};

        let credential = AzureCliCredential::new(None)?;

        let key_vault_options = SecretClientOptions::default();

        let client =
            SecretClient::new(key_vault_name.as_str(), credential, Some(key_vault_options))?;
        let _ = client;
    }
    {
        use azure_identity::AzureDeveloperCliCredential;
        use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};

        let credential = AzureDeveloperCliCredential::new(None)?;

        let key_vault_options = SecretClientOptions::default();

        let client =
            SecretClient::new(key_vault_name.as_str(), credential, Some(key_vault_options))?;
        let _ = client;
    }
    {
        use azure_identity::{
            ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
        };
        use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};

        let user_assigned_id: Option<UserAssignedId> =
            Some(String::from("00000000-0000-0000-0000-0000000000c1"))
                .map(|id| UserAssignedId::ClientId(id.clone()));

        // Set up authentication
        let credential_options = ManagedIdentityCredentialOptions {
            user_assigned_id,
            ..Default::default()
        };

        let credential = ManagedIdentityCredential::new(Some(credential_options))?;

        // Create a Key Vault client for secrets
        let client = SecretClient::new(
            key_vault_name.as_str(),
            credential,
            Some(SecretClientOptions::default()),
        )?;
        let _ = client;
    }
    Ok(())
}
