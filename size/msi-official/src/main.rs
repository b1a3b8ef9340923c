//! A service that authenticates with managed identity only (official crate).
use azure_core::credentials::TokenCredential;

#[tokio::main(flavor = "current_thread")]
async fn main() -> azure_core::Result<()> {
    let credential = azure_identity::ManagedIdentityCredential::new(None)?;
    let token = credential.get_token(&["https://management.azure.com/.default"], None).await?;
    println!("token expires {}", token.expires_on);
    Ok(())
}
