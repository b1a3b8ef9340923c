//! A service principal with a client secret (our crate, `rustls_ring`).
use azure_core::credentials::TokenCredential;

#[tokio::main(flavor = "current_thread")]
async fn main() -> azure_core::Result<()> {
    let secret = std::env::var("AZURE_CLIENT_SECRET").unwrap_or_default();
    let credential = identity_client_secret::ClientSecretCredential::new("tenant", "client".into(), secret.into(), None)?;
    let token = credential.get_token(&["https://management.azure.com/.default"], None).await?;
    println!("token expires {}", token.expires_on);
    Ok(())
}
