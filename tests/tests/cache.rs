//! Cache and concurrency behaviour, observed through the emulator's request log.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use azure_core::http::{ClientOptions, RetryOptions};
use identity::{ClientSecretCredential, TokenCredential};
use identity_emulator::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator, Fault, FaultTarget,
};
use identity_tests::{client_options, secret_credential};
use std::{sync::Arc, time::Duration};

fn credential_with(client_options: ClientOptions) -> Arc<ClientSecretCredential> {
    secret_credential(client_options, DEFAULT_CLIENT_SECRET).unwrap()
}

const TOKEN_PATH: &str = "/oauth2/v2.0/token";

/// Waits (bounded) until the emulator has seen `n` token requests.
async fn wait_for_requests(emulator: &Emulator, n: usize) -> usize {
    for _ in 0..500 {
        let seen = emulator.request_count(TOKEN_PATH);
        if seen >= n {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    emulator.request_count(TOKEN_PATH)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_callers_on_a_cold_key_send_one_request() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_latency(FaultTarget::Token, Duration::from_millis(100));
    let credential = credential_with(client_options(&emulator));
    let calls = (0..1000).map(|_| {
        let credential = Arc::clone(&credential);
        tokio::spawn(async move {
            credential
                .get_token(&["https://vault.azure.net/.default"], None)
                .await
        })
    });
    let tokens = futures::future::join_all(calls).await;
    let first = tokens[0].as_ref().unwrap().as_ref().unwrap().token.clone();
    for token in &tokens {
        assert_eq!(token.as_ref().unwrap().as_ref().unwrap().token, first);
    }
    assert_eq!(emulator.request_count(TOKEN_PATH), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_keys_are_fetched_in_parallel_and_cached_reads_do_not_wait() {
    let emulator = Emulator::start().await.unwrap();
    let credential = credential_with(client_options(&emulator));
    credential
        .get_token(&["https://cached.example/.default"], None)
        .await
        .unwrap();
    emulator.clear_requests();

    // Every new request now hangs: a cache that serialised misses would never
    // get past the first.
    emulator.set_default_fault(FaultTarget::Token, Some(Fault::Hang));
    let pending: Vec<_> = (0..100)
        .map(|i| {
            let credential = Arc::clone(&credential);
            tokio::spawn(async move {
                let scope = format!("https://service-{i}.example/.default");
                credential.get_token(&[&scope], None).await
            })
        })
        .collect();
    assert_eq!(
        wait_for_requests(&emulator, 100).await,
        100,
        "all 100 misses must be in flight at once"
    );

    // A cached key answers while 100 fetches hang (the bound only guards against a hang).
    let cached = tokio::time::timeout(
        Duration::from_secs(5),
        credential.get_token(&["https://cached.example/.default"], None),
    )
    .await
    .expect("a cached read must not wait behind other keys' fetches");
    assert!(cached.is_ok());
    for task in pending {
        task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_on_a_failing_endpoint_share_one_request_and_its_error() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_latency(FaultTarget::Token, Duration::from_millis(100));
    emulator.set_default_fault(
        FaultTarget::Token,
        Some(Fault::Status {
            status: 500,
            body: "upstream exploded".into(),
            headers: vec![],
        }),
    );
    let options = ClientOptions {
        retry: RetryOptions::none(),
        ..client_options(&emulator)
    };
    let credential = credential_with(options);
    let calls = (0..100).map(|_| {
        let credential = Arc::clone(&credential);
        tokio::spawn(async move {
            credential
                .get_token(&["https://vault.azure.net/.default"], None)
                .await
        })
    });
    for result in futures::future::join_all(calls).await {
        let text = result.unwrap().unwrap_err().to_string();
        assert!(text.contains("HTTP 500"), "{text}");
        assert!(text.contains("upstream exploded"), "{text}");
    }
    assert_eq!(emulator.request_count(TOKEN_PATH), 1);
}

#[tokio::test]
async fn scope_order_does_not_matter_and_tokens_are_refetched_after_expiry() {
    let emulator = Emulator::start().await.unwrap();
    let credential = credential_with(client_options(&emulator));
    let a = credential
        .get_token(&["https://a/.default", "offline_access"], None)
        .await
        .unwrap();
    let b = credential
        .get_token(&["offline_access", "https://a/.default"], None)
        .await
        .unwrap();
    assert_eq!(a.token, b.token);
    assert_eq!(emulator.request_count(TOKEN_PATH), 1);

    // The service asks for a refresh after 1 s (`refresh_in`): once past it,
    // callers still get the valid token at once while one refresh runs.
    emulator.set_token_lifetime(Duration::from_secs(3600), Some(Duration::from_secs(1)));
    let first = credential
        .get_token(&["https://short/.default"], None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = credential
        .get_token(&["https://short/.default"], None)
        .await
        .unwrap();
    assert_eq!(
        first.token, again.token,
        "the still-valid token is served at once"
    );
    assert!(
        wait_for_requests(&emulator, 3).await >= 3,
        "a refresh ran in the background"
    );
}

/// Many tasks, several tenants, scopes and CAE on and off, tokens expiring
/// during the run: every caller gets a token for exactly its own key, never an
/// expired one, and requests stay within one per key per token lifetime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_across_keys_never_get_another_keys_token() {
    use identity::TokenRequestExtras;
    const OTHER: &str = "c0ffee00-0000-4000-8000-00000000ca5e";
    let emulator = Emulator::start().await.unwrap();
    emulator.add_secret_app(OTHER, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET);
    // 11 s tokens are usable for 1 s (the cache stops 10 s before expiry).
    emulator.set_token_lifetime(Duration::from_secs(11), None);
    let credential = identity::ClientSecretCredential::new(
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID.into(),
        DEFAULT_CLIENT_SECRET.into(),
        Some(identity::ClientSecretCredentialOptions {
            client_options: client_options(&emulator),
            additionally_allowed_tenants: vec![OTHER.into()],
            ..Default::default()
        }),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for round in 0..6u64 {
        for i in 0..64u64 {
            let credential = Arc::clone(&credential);
            let emulator = emulator.clone();
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(round * 500 + i % 7)).await;
                let tenant = if i % 2 == 0 { DEFAULT_TENANT } else { OTHER };
                let resource = format!("https://r{}.stress.test", i % 8);
                let mut extras = TokenRequestExtras::new().tenant_id(tenant);
                if i % 3 == 0 {
                    extras = extras.enable_cae();
                }
                let token = credential
                    .get_token(
                        &[&format!("{resource}/.default")],
                        Some(extras.into_options()),
                    )
                    .await
                    .unwrap();
                let claims = emulator
                    .verify_access_token(token.token.secret())
                    .expect("never expired");
                assert_eq!(
                    (claims.tid.as_str(), claims.aud.as_str()),
                    (tenant, resource.as_str())
                );
                assert_eq!(
                    claims.xms_cc.is_some(),
                    i % 3 == 0,
                    "CAE tokens stay with CAE callers"
                );
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let keys = 2 * 8 * 2;
    let lifetimes = started.elapsed().as_secs() + 1;
    let requests = emulator.request_count(TOKEN_PATH);
    assert!(
        requests as u64 <= keys * (lifetimes + 1),
        "{requests} requests for {keys} keys over {lifetimes} s"
    );
}
