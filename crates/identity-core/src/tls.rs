//! The `rustls_ring` HTTP client: reqwest with rustls on the `ring` crypto
//! provider and the platform's certificate verifier. It builds faster and
//! smaller than azure_core's `reqwest_rustls` (rustls on aws-lc, a large C
//! build), for apps that bring no Azure SDK client of their own. Apps that do
//! should keep `reqwest_rustls`, so that one TLS stack serves both.

use crate::{CredentialError, error::anchors};
use azure_core::http::Transport;
use rustls_platform_verifier::BuilderVerifierExt;
use std::{sync::Arc, time::Duration};

/// How long to wait for a connection; the attempt timeout bounds the rest.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A transport over our own reqwest client with rustls on `ring`.
pub(crate) fn ring_transport(credential: &'static str) -> Result<Transport, CredentialError> {
    let failed = |what: String| {
        CredentialError::failed(credential, format!("could not set up TLS: {what}"))
            .with_fix("set ClientOptions.transport, or use the `reqwest_rustls` feature instead of `rustls_ring`")
            .with_anchor(anchors::NO_HTTP_CLIENT)
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // This feature builds reqwest without a crypto provider of its own, and
    // features unify: any other reqwest client in the app now needs a process
    // default provider, or it panics when built. Offer ours if none is set.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(BuilderVerifierExt::with_platform_verifier)
        .map_err(|e| failed(e.to_string()))?
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(CONNECT_TIMEOUT)
        // A token endpoint that redirects is misconfigured; never follow it
        // with a secret in the body.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| failed(e.to_string()))?;
    Ok(Transport::new(Arc::new(client)))
}
