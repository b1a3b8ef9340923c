//! The source of client assertions for [`ClientAssertionCredential`]-style credentials.
//!
//! [`ClientAssertionCredential`]: https://docs.rs/identity-client-assertion

use azure_core::http::ClientMethodOptions;
use std::fmt;

/// Supplies a signed JWT that proves the application's identity to Entra ID
/// (a federated token, a certificate-signed assertion, a managed identity token
/// for the `api://AzureADTokenExchange` audience, ...).
///
/// Same shape as the official `azure_identity::ClientAssertion`, so existing
/// implementations move over unchanged.
#[async_trait::async_trait]
pub trait ClientAssertion: Send + Sync + fmt::Debug {
    /// Returns the assertion. Called whenever a token must be requested; cache
    /// inside the implementation when producing one is expensive.
    async fn secret(&self, options: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String>;
}
