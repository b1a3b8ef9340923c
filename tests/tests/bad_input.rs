//! Hostile and broken endpoints: a clear error in bounded time, never a panic.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use identity::{ClientSecretCredential, CredentialError, TokenCredential};
use identity_emulator::{DEFAULT_CLIENT_SECRET, Emulator, Fault, FaultTarget};
use identity_tests::{client_options, secret_credential};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

const SCOPE: &str = "https://vault.azure.net/.default";
const TOKEN_PATH: &str = "/oauth2/v2.0/token";
/// What users are promised for a dead, hung or failing endpoint with default options.
const PROMISED_BOUND: Duration = Duration::from_secs(35);

fn credential(emulator: &Emulator) -> Arc<ClientSecretCredential> {
    secret_credential(client_options(emulator), DEFAULT_CLIENT_SECRET).unwrap()
}

/// Gets a token with a generous guard against hangs; returns the error text.
async fn error_text(credential: &ClientSecretCredential) -> String {
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        credential.get_token(&[SCOPE], None),
    )
    .await
    .expect("get_token must not hang");
    let error = result.expect_err("a broken response must not become a token");
    assert!(
        CredentialError::find(&error).is_some(),
        "not a CredentialError: {error:?}"
    );
    error.to_string()
}

#[tokio::test]
async fn broken_success_bodies_are_clear_errors() {
    let cases: Vec<(Fault, &str)> = vec![
        (Fault::Garbage, "not JSON"),
        (Fault::EmptyBody, "empty"),
        (Fault::InvalidUtf8, "not JSON"),
        (Fault::Oversized(10 * 1024 * 1024), "larger than"),
        (Fault::OmitField("access_token".into()), "no access_token"),
        (Fault::OmitField("expires_in".into()), "no expires_in"),
        (Fault::ExpiresIn((-5).into()), "positive"),
        (Fault::ExpiresIn("abc".into()), "whole number"),
        (Fault::ExpiresIn(serde_json::json!(1e12)), "days accepted"),
    ];
    let emulator = Emulator::start().await.unwrap();
    for (fault, expected) in cases {
        let shown = format!("{fault:?}");
        emulator.set_default_fault(FaultTarget::Token, Some(fault));
        let text = error_text(&credential(&emulator)).await;
        assert!(
            text.starts_with("ClientSecretCredential authentication failed"),
            "{shown}: {text}"
        );
        assert!(text.contains(expected), "{shown}: {text}");
        assert!(text.contains("HTTP 200"), "{shown}: {text}");
        assert!(
            text.len() < 1500,
            "{shown}: error text is {} bytes",
            text.len()
        );
    }
}

/// A proxy's or captive portal's page is labelled `text/html`: whatever the
/// body holds, it is not a token answer. Not retried: a retry gets the same page.
#[tokio::test]
async fn a_token_labelled_as_html_is_refused() {
    let emulator = Emulator::start().await.unwrap();
    emulator.push_faults(FaultTarget::Token, [Fault::WrongContentType]);
    let error = credential(&emulator)
        .get_token(&[SCOPE], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("labelled text/html, not JSON"), "{error}");
    assert!(error.contains("proxy or captive portal"), "{error}");
    assert_eq!(emulator.request_count("/oauth2/v2.0/token"), 1);
}

#[tokio::test]
async fn transient_faults_are_retried_and_recover() {
    let transient = vec![
        Fault::DropConnection,
        Fault::ResetMidBody,
        Fault::TruncatedBody,
        Fault::Status {
            status: 500,
            body: String::new(),
            headers: vec![],
        },
        Fault::Status {
            status: 429,
            body: String::new(),
            headers: vec![("Retry-After".into(), "1".into())],
        },
        Fault::Status {
            status: 503,
            body: String::new(),
            headers: vec![("Retry-After".into(), "1".into())],
        },
    ];
    for fault in transient {
        let shown = format!("{fault:?}");
        let emulator = Emulator::start().await.unwrap();
        emulator.push_faults(FaultTarget::Token, [fault]);
        let result = tokio::time::timeout(
            Duration::from_secs(20),
            credential(&emulator).get_token(&[SCOPE], None),
        )
        .await
        .expect("bounded");
        assert!(
            result.is_ok(),
            "{shown}: {:?}",
            result.err().map(|e| e.to_string())
        );
        assert_eq!(
            emulator.request_count(TOKEN_PATH),
            2,
            "{shown}: one failure, one retry"
        );
    }
}

#[tokio::test]
async fn non_retryable_errors_fail_at_once_with_status_and_excerpt() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_default_fault(
        FaultTarget::Token,
        Some(Fault::Status {
            status: 404,
            body: "<html>not here</html>".into(),
            headers: vec![],
        }),
    );
    let text = error_text(&credential(&emulator)).await;
    assert!(text.contains("HTTP 404 Not Found"), "{text}");
    assert!(text.contains("not here"), "{text}");
    assert_eq!(emulator.request_count(TOKEN_PATH), 1);
}

/// With default options, each of a 500 storm, a hung endpoint and a refused
/// connection ends within the promised bound with its cause in the error.
/// (Run together: each takes up to the 30 s deadline.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_options_bound_every_dead_endpoint() {
    let storm = Emulator::start().await.unwrap();
    storm.set_default_fault(
        FaultTarget::Token,
        Some(Fault::Status {
            status: 500,
            body: "storm".into(),
            headers: vec![],
        }),
    );
    let hung = Emulator::start().await.unwrap();
    hung.set_default_fault(FaultTarget::Token, Some(Fault::Hang));
    let refused = Emulator::start().await.unwrap();
    let refused_credential = credential(&refused);
    refused.shutdown().await;

    let timed = |credential: Arc<ClientSecretCredential>| async move {
        let started = Instant::now();
        let result = tokio::time::timeout(
            Duration::from_secs(60),
            credential.get_token(&[SCOPE], None),
        )
        .await
        .expect("get_token must end by itself");
        (
            started.elapsed(),
            result
                .expect_err("no token from a dead endpoint")
                .to_string(),
        )
    };
    let ((storm_time, storm_text), (hung_time, hung_text), (refused_time, refused_text)) = tokio::join!(
        timed(credential(&storm)),
        timed(credential(&hung)),
        timed(refused_credential),
    );

    assert!(
        storm_time <= PROMISED_BOUND,
        "500 storm took {storm_time:?}"
    );
    assert!(
        storm_text.contains("HTTP 500") || storm_text.contains("within 30 s"),
        "{storm_text}"
    );
    assert!(storm_text.contains("attempts"), "{storm_text}");
    assert!(storm.request_count(TOKEN_PATH) > 1, "the storm was retried");

    assert!(hung_time <= PROMISED_BOUND, "hang took {hung_time:?}");
    assert!(hung_text.contains("within 30 s"), "{hung_text}");
    assert!(hung_text.contains("no response within 10 s"), "{hung_text}");

    assert!(
        refused_time <= PROMISED_BOUND,
        "refused took {refused_time:?}"
    );
    assert!(
        refused_text.contains("could not reach") || refused_text.contains("within 30 s"),
        "{refused_text}"
    );
    for text in [&storm_text, &hung_text, &refused_text] {
        assert!(
            text.starts_with("ClientSecretCredential authentication failed"),
            "{text}"
        );
        assert!(text.contains("TROUBLESHOOTING.md#"), "{text}");
    }
}
