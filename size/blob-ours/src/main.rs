//! A service that reads a blob with a managed identity (our crate).
use azure_core::http::Url;
use azure_storage_blob::BlobClient;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let credential = identity_msi::ManagedIdentityCredential::new(None)?;
    let url = Url::parse("https://account.blob.core.windows.net/container/blob.txt")?;
    let client = BlobClient::new(url, Some(credential), None)?;
    let blob = client.download(None).await?;
    let bytes = blob.body.collect().await?;
    println!("downloaded {} bytes", bytes.len());
    Ok(())
}
