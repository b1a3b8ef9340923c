//! Service Fabric's identity endpoint uses a self-signed certificate. It is
//! accepted only if its SHA-1 thumbprint equals `IDENTITY_SERVER_THUMBPRINT`:
//! pinning, not "accept any certificate". No CA, host name or expiry check
//! applies, since the pin is the whole trust decision.

use azure_core::http::{HttpClient, Transport};
use rustls::{
    DigitallySignedStruct, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature},
    pki_types::{CertificateDer, ServerName, UnixTime},
};
use std::sync::Arc;

const THUMBPRINT_MISMATCH: &str =
    "the Service Fabric endpoint's certificate does not match IDENTITY_SERVER_THUMBPRINT";

#[derive(Debug)]
struct PinnedThumbprint {
    sha1: [u8; 20],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedThumbprint {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            end_entity.as_ref(),
        );
        // Constant time: the comparison should not tell an attacker how close it got.
        let difference = digest
            .as_ref()
            .iter()
            .zip(self.sha1)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if digest.as_ref().len() == self.sha1.len() && difference == 0 {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(THUMBPRINT_MISMATCH.into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// An HTTP client that trusts exactly the certificate with this thumbprint.
pub(crate) fn pinned_transport(sha1: [u8; 20]) -> Result<Transport, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedThumbprint {
        sha1,
        provider: Arc::clone(&provider),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .connect_timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let client: Arc<dyn HttpClient> = Arc::new(PinnedClient { client });
    Ok(Transport::new(client))
}

/// The pinned reqwest client, with a refused certificate reported as final:
/// retrying cannot change the server's certificate.
#[derive(Debug)]
struct PinnedClient {
    client: reqwest::Client,
}

#[async_trait::async_trait]
impl HttpClient for PinnedClient {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        self.client.execute_request(request).await.map_err(|error| {
            if identity_core::text::contains(
                &identity_core::http::error_chain(&error),
                THUMBPRINT_MISMATCH,
            ) {
                azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Other,
                    THUMBPRINT_MISMATCH,
                )
            } else {
                error
            }
        })
    }
}
