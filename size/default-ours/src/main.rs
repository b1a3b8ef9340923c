//! An app using DefaultAzureCredential (our crate; the official 1.0.0 has none).
use azure_core::credentials::TokenCredential;

#[tokio::main(flavor = "current_thread")]
async fn main() -> azure_core::Result<()> {
    let credential = identity_default::DefaultAzureCredential::new(None)?;
    let token = credential.get_token(&["https://management.azure.com/.default"], None).await?;
    println!("token expires {}", token.expires_on);
    Ok(())
}
