//! A service that authenticates with managed identity only (our crate).
use azure_core::credentials::TokenCredential;

#[tokio::main(flavor = "current_thread")]
async fn main() -> azure_core::Result<()> {
    let credential = identity_msi::ManagedIdentityCredential::new(None)?;
    let token = credential.get_token(&["https://management.azure.com/.default"], None).await?;
    println!("token expires {}", token.expires_on);
    Ok(())
}
