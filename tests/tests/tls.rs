//! https is verified against the platform's roots, so the emulator's
//! self-signed certificate is refused during the handshake: nothing is sent,
//! the error says why (once), and it is not retried. Checked for the client a
//! credential builds for itself (ours with `rustls_ring`, which wins when a
//! build enables it, else azure_core's) and for azure_core's `reqwest_rustls`
//! client handed in as the transport, the default for most apps.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    http::{ClientOptions, Transport},
};
use identity::TokenCredential;
use identity_emulator::{DEFAULT_CLIENT_SECRET, Emulator};
use identity_tests::secret_credential;
use std::{sync::Arc, time::Instant};

async fn refused_before_anything_is_sent(transport: Option<Transport>) {
    let emulator = Emulator::start().await.unwrap();
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = emulator.https_url();
    let options = ClientOptions {
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        transport,
        ..Default::default()
    };
    let credential = secret_credential(options, DEFAULT_CLIENT_SECRET).unwrap();
    let started = Instant::now();
    let error = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        error.matches("certificate is not trusted").count(),
        1,
        "{error}"
    );
    assert!(error.contains("ClientSecretCredential"), "{error}");
    // Final at once: azure_core's retry policy would otherwise back off and retry.
    assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
    assert!(emulator.requests().is_empty(), "a request got through");
}

#[tokio::test]
async fn the_credentials_own_client_refuses_an_untrusted_certificate() {
    refused_before_anything_is_sent(None).await;
}

#[tokio::test]
async fn azure_cores_client_refuses_an_untrusted_certificate() {
    let client = azure_core::http::new_http_client(None);
    refused_before_anything_is_sent(Some(Transport::new(client))).await;
}
