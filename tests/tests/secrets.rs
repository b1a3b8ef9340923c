//! Secrets, assertions and tokens never reach logs, `Debug`, `Display` or
//! error text, whatever happens: success, Entra errors, garbage responses.
//! Every `tracing` event and span, ours and azure_core's, at every level, is
//! recorded and searched.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use azure_core::http::ClientMethodOptions;
use identity::{
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, TokenCredential,
};
use identity_emulator::{AssertionTrust, DEFAULT_TENANT, Emulator, Fault, FaultTarget};
use identity_tests::{client_options, resource_scope};
use std::{
    fmt::Write as _,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tracing::{
    Event, Metadata, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};

/// Records every event and span field as text.
#[derive(Default)]
struct Recorder {
    text: Mutex<String>,
    next_id: AtomicU64,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut text = self.text.lock().unwrap();
        text.push_str(span.metadata().name());
        span.record(&mut Fields(&mut text));
        text.push('\n');
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Fields(&mut self.text.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut text = self.text.lock().unwrap();
        text.push_str(event.metadata().target());
        event.record(&mut Fields(&mut text));
        text.push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

const SECRET: &str = "SECRET-7f3a9-do-not-print";

#[derive(Debug)]
struct Federated(Emulator, &'static str);

#[async_trait::async_trait]
impl ClientAssertion for Federated {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        Ok(self.0.federated_token(
            self.1,
            "api://AzureADTokenExchange",
            Duration::from_secs(600),
        ))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn nothing_secret_is_logged_printed_or_returned() {
    let recorder = Arc::new(Recorder::default());
    let _guard = tracing::subscriber::set_default(Arc::clone(&recorder));

    let emulator = Emulator::start().await.unwrap();
    emulator.add_secret_app(DEFAULT_TENANT, "logged-app", SECRET);
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "federated-app",
        AssertionTrust::FederatedSubject("sub-ok".into()),
    );
    let scope = resource_scope(&emulator);

    let secret_credential = ClientSecretCredential::new(
        DEFAULT_TENANT,
        "logged-app".into(),
        SECRET.into(),
        Some(ClientSecretCredentialOptions {
            client_options: client_options(&emulator),
            ..Default::default()
        }),
    )
    .unwrap();
    let assertion_credential = |subject| {
        ClientAssertionCredential::new(
            DEFAULT_TENANT.into(),
            "federated-app".into(),
            Federated(emulator.clone(), subject),
            Some(ClientAssertionCredentialOptions {
                client_options: client_options(&emulator),
                ..Default::default()
            }),
        )
        .unwrap()
    };
    let good_assertion = assertion_credential("sub-ok");

    let mut secrets = vec![SECRET.to_owned()];
    let mut shown = String::new();

    // Successes: the tokens themselves are secrets too.
    let token = secret_credential.get_token(&[&scope], None).await.unwrap();
    secrets.push(token.token.secret().to_owned());
    let token = good_assertion.get_token(&[&scope], None).await.unwrap();
    secrets.push(token.token.secret().to_owned());
    write!(shown, "{secret_credential:?} {good_assertion:?} {token:?}").unwrap();

    // Entra errors, and a service echoing the request back.
    let wrong_subject = assertion_credential("sub-wrong");
    let error = wrong_subject.get_token(&[&scope], None).await.unwrap_err();
    write!(shown, "{error} {error:?}").unwrap();
    emulator.set_default_fault(
        FaultTarget::Token,
        Some(Fault::Status {
            status: 400,
            body: format!("echo: client_secret={SECRET}"),
            headers: vec![],
        }),
    );
    let error = secret_credential
        .get_token(&["https://other/.default"], None)
        .await
        .unwrap_err();
    write!(shown, "{error} {error:?}").unwrap();
    for fault in [Fault::Garbage, Fault::OmitField("expires_in".into())] {
        emulator.set_default_fault(FaultTarget::Token, Some(fault));
        let error = secret_credential
            .get_token(&["https://third/.default"], None)
            .await
            .unwrap_err();
        write!(shown, "{error} {error:?}").unwrap();
    }

    // The assertions the emulator received are secrets as well.
    for request in emulator.requests() {
        if let Some(assertion) = request.form_value("client_assertion") {
            secrets.push(assertion.to_owned());
        }
    }
    let logged = recorder.text.lock().unwrap().clone();
    assert!(!logged.is_empty(), "the recorder saw the requests");
    for secret in &secrets {
        assert!(
            !logged.contains(secret.as_str()),
            "a secret was logged:\n{logged}"
        );
        assert!(
            !shown.contains(secret.as_str()),
            "a secret was shown:\n{shown}"
        );
    }
    // An echoed secret is not quoted back either: error bodies are excerpted, but
    // the echo came from a 400, so say what we expect explicitly.
    assert!(!shown.contains("SECRET-7f3a9"), "{shown}");
}

/// Every end-to-end test binary runs under `identity_tests::watch_logs`, a
/// global TRACE-level subscriber that fails any test whose code logs a known
/// secret or a JWT. This checks that it is on and sees the libraries' events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_runs_under_the_log_watcher() {
    let emulator = Emulator::start().await.unwrap();
    let options = client_options(&emulator);
    let before = identity_tests::events_checked();
    let credential =
        identity_tests::secret_credential(options, identity_emulator::DEFAULT_CLIENT_SECRET)
            .unwrap();
    credential
        .get_token(&[&resource_scope(&emulator)], None)
        .await
        .unwrap();
    assert!(
        identity_tests::events_checked() > before,
        "the watcher saw no event"
    );
    assert!(
        identity_tests::leaks().is_empty(),
        "{:?}",
        identity_tests::leaks()
    );
}
