//! The Entra credentials' own TLS client (`rustls_ring`, on in the workspace
//! test build): https is verified against the platform's roots, so the
//! emulator's self-signed certificate is refused during the handshake:
//! nothing is sent, the error says why, and it is not retried.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    http::ClientOptions,
};
use identity::TokenCredential;
use identity_emulator::{DEFAULT_CLIENT_SECRET, Emulator};
use identity_tests::secret_credential;
use std::{sync::Arc, time::Instant};

#[tokio::test]
async fn an_untrusted_certificate_is_refused_before_anything_is_sent() {
    let emulator = Emulator::start().await.unwrap();
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = emulator.https_url();
    let options = ClientOptions {
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        ..Default::default()
    };
    let credential = secret_credential(options, DEFAULT_CLIENT_SECRET).unwrap();
    let started = Instant::now();
    let error = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("certificate is not trusted"), "{error}");
    assert!(error.contains("ClientSecretCredential"), "{error}");
    // Final at once: azure_core's retry policy would otherwise back off and retry.
    assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
    assert!(emulator.requests().is_empty(), "a request got through");
}
