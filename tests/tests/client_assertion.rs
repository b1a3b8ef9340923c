//! `ClientAssertionCredential` end to end: assertions signed by a key the test
//! generates (as a certificate credential would) and federated tokens, checked
//! by the emulator the way Entra checks them, and the resulting tokens accepted
//! by the protected resource.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use azure_core::http::ClientMethodOptions;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use identity::{
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions, CredentialError,
    TokenCredential,
};
use identity_emulator::{AssertionTrust, DEFAULT_TENANT, Emulator};
use identity_tests::{call_protected_resource, client_options, resource_scope};
use openssl::{hash::MessageDigest, pkey::PKey, rsa::Rsa, sign::Signer};
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

/// Signs its own assertion with an RSA key, as a certificate credential does,
/// and counts how often it is asked.
#[derive(Debug)]
struct KeySigned {
    key: PKey<openssl::pkey::Private>,
    client_id: String,
    audience: String,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl ClientAssertion for KeySigned {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        let claims = serde_json::json!({
            "iss": self.client_id, "sub": self.client_id, "aud": self.audience,
            "iat": now, "nbf": now, "exp": now + 600, "jti": format!("{now}-{}", self.calls.load(Ordering::SeqCst)),
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signer = Signer::new(MessageDigest::sha256(), &self.key).unwrap();
        signer.update(input.as_bytes()).unwrap();
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signer.sign_to_vec().unwrap())
        ))
    }
}

fn key() -> PKey<openssl::pkey::Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

fn credential<C: ClientAssertion + 'static>(
    emulator: &Emulator,
    client_id: &str,
    source: C,
) -> Arc<ClientAssertionCredential<C>> {
    ClientAssertionCredential::new(
        DEFAULT_TENANT.into(),
        client_id.into(),
        source,
        Some(ClientAssertionCredentialOptions {
            client_options: client_options(emulator),
            ..Default::default()
        }),
    )
    .unwrap()
}

#[tokio::test]
async fn a_key_signed_assertion_gets_a_token_the_resource_accepts() {
    let emulator = Emulator::start().await.unwrap();
    let key = key();
    let public_pem = key.public_key_to_pem().unwrap();
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "cert-app",
        AssertionTrust::PublicKeyPem(public_pem),
    );
    let source = KeySigned {
        key,
        client_id: "cert-app".into(),
        audience: emulator.token_endpoint(DEFAULT_TENANT),
        calls: AtomicUsize::new(0),
    };
    let credential = credential(&emulator, "cert-app", source);

    let token = credential
        .get_token(&[&resource_scope(&emulator)], None)
        .await
        .unwrap();
    let claims = emulator.verify_access_token(token.token.secret()).unwrap();
    assert_eq!(
        (claims.appid.as_str(), claims.appidacr.as_str()),
        ("cert-app", "2")
    );
    let status = call_protected_resource(
        &emulator,
        Arc::clone(&credential) as Arc<dyn TokenCredential>,
    )
    .await
    .unwrap();
    assert!(status.is_success(), "{status:?}");

    let sent = emulator.requests();
    let form = sent
        .iter()
        .find(|r| r.path.ends_with("/oauth2/v2.0/token"))
        .unwrap();
    assert_eq!(
        form.form_value("client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert_eq!(form.form_value("client_secret"), None);
}

#[tokio::test]
async fn the_assertion_is_made_per_request_not_per_call() {
    let emulator = Emulator::start().await.unwrap();
    let key = key();
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "cert-app",
        AssertionTrust::PublicKeyPem(key.public_key_to_pem().unwrap()),
    );
    let credential = credential(
        &emulator,
        "cert-app",
        KeySigned {
            key,
            client_id: "cert-app".into(),
            audience: emulator.token_endpoint(DEFAULT_TENANT),
            calls: AtomicUsize::new(0),
        },
    );
    for _ in 0..5 {
        credential
            .get_token(&["https://a/.default"], None)
            .await
            .unwrap();
    }
    credential
        .get_token(&["https://b/.default"], None)
        .await
        .unwrap();
    // Two scopes, two requests, two assertions: cached reads make none.
    assert_eq!(emulator.request_count("/oauth2/v2.0/token"), 2);
    let assertions: Vec<String> = emulator
        .requests()
        .iter()
        .filter_map(|r| r.form_value("client_assertion").map(str::to_owned))
        .collect();
    assert_eq!(assertions.len(), 2);
    assert_ne!(
        assertions[0], assertions[1],
        "a fresh assertion for each request"
    );
}

#[tokio::test]
async fn a_key_the_app_does_not_trust_is_refused_with_the_credentials_name() {
    let emulator = Emulator::start().await.unwrap();
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "cert-app",
        AssertionTrust::PublicKeyPem(key().public_key_to_pem().unwrap()),
    );
    let impostor = KeySigned {
        key: key(),
        client_id: "cert-app".into(),
        audience: emulator.token_endpoint(DEFAULT_TENANT),
        calls: AtomicUsize::new(0),
    };
    let error = credential(&emulator, "cert-app", impostor)
        .get_token(&["https://a/.default"], None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("ClientAssertionCredential"), "{text}");
    assert!(text.contains("AADSTS700027"), "{text}");
    assert!(
        text.contains("TROUBLESHOOTING.md#client-assertion"),
        "{text}"
    );
    assert_eq!(
        CredentialError::find(&error).unwrap().error_code(),
        Some("700027")
    );

    // The right key with the wrong audience: Entra's AADSTS50012.
    let key = key();
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "aud-app",
        AssertionTrust::PublicKeyPem(key.public_key_to_pem().unwrap()),
    );
    let wrong_audience = KeySigned {
        key,
        client_id: "aud-app".into(),
        audience: "https://login.microsoftonline.com/elsewhere/oauth2/v2.0/token".into(),
        calls: AtomicUsize::new(0),
    };
    let text = credential(&emulator, "aud-app", wrong_audience)
        .get_token(&["https://a/.default"], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("AADSTS50012"), "{text}");
    assert!(text.contains("audience"), "{text}");
}
