//! Managed identity: how fast "no managed identity here" is known, and how
//! many requests a burst of callers sends. The official crate's IMDS address
//! is fixed (169.254.169.254); a redirecting transport sends those requests to
//! a loopback port instead, so nothing leaves the machine.

use azure_core::{
    credentials::TokenCredential,
    http::{AsyncRawResponse, ClientOptions, HttpClient, Request, Transport, new_http_client},
};
use identity::{Env, ImdsRetryOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions, Platform};
use identity_emulator::{Emulator, FaultTarget};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// Sends requests for 169.254.169.254 to 127.0.0.1:`port`; refuses any other
/// non-loopback host.
#[derive(Debug)]
struct RedirectImds {
    port: u16,
    inner: Arc<dyn HttpClient>,
}

#[async_trait::async_trait]
impl HttpClient for RedirectImds {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut redirected = request.clone();
        let url = redirected.url_mut();
        match url.host_str() {
            Some("169.254.169.254") => {
                let _ = url.set_host(Some("127.0.0.1"));
                let _ = url.set_port(Some(self.port));
            }
            Some("127.0.0.1" | "localhost") => {}
            other => {
                return Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Io,
                    format!("bench transport refuses {other:?}"),
                ));
            }
        }
        self.inner.execute_request(&redirected).await
    }
}

fn redirect_to(port: u16) -> ClientOptions {
    ClientOptions {
        transport: Some(Transport::new(Arc::new(RedirectImds { port, inner: new_http_client(None) }))),
        ..Default::default()
    }
}

fn ours(port: u16, retry: ImdsRetryOptions) -> Arc<ManagedIdentityCredential> {
    ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        imds_host: Some(format!("http://127.0.0.1:{port}")),
        imds_retry: retry,
        // Neither App Service nor Arc variables: IMDS, as on a VM.
        platform: Platform::with_env(Env::from_vars(Vec::<(String, String)>::new())),
        ..Default::default()
    }))
    .expect("our credential")
}

fn official(port: u16) -> Arc<azure_identity::ManagedIdentityCredential> {
    azure_identity::ManagedIdentityCredential::new(Some(azure_identity::ManagedIdentityCredentialOptions {
        client_options: redirect_to(port),
        ..Default::default()
    }))
    .expect("official credential")
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

const SCOPE: &str = "https://management.azure.com/.default";

pub(crate) async fn rows(emulator: &Emulator, rows: &mut Vec<[String; 4]>) {
    // No IMDS at all: a closed port.
    let port = closed_port();
    let started = Instant::now();
    let probe = ours(port, ImdsRetryOptions::default()).probe().await;
    let ours_probe = started.elapsed();
    assert!(probe.is_err(), "the probe finds nothing on a closed port");
    let started = Instant::now();
    let failed = ours(port, ImdsRetryOptions::default()).get_token(&[SCOPE], None).await;
    let ours_fail = started.elapsed();
    assert!(failed.is_err());
    let started = Instant::now();
    let failed = official(port).get_token(&[SCOPE], None).await;
    let official_fail = started.elapsed();
    assert!(failed.is_err());
    rows.push([
        "no IMDS (closed port): ours `probe()` vs official `get_token` failing (s)".into(),
        secs(ours_probe),
        secs(official_fail),
        crate::ratio(ours_probe.as_secs_f64(), official_fail.as_secs_f64()),
    ]);
    rows.push([
        "no IMDS (closed port): `get_token` failing, default retries (s)".into(),
        secs(ours_fail),
        secs(official_fail),
        crate::ratio(ours_fail.as_secs_f64(), official_fail.as_secs_f64()),
    ]);

    // An IMDS that accepts connections and never answers: ours only (the
    // official crate waits out reqwest's 60 s read timeout on every attempt).
    emulator.clear_faults();
    emulator.set_default_fault(FaultTarget::ManagedIdentity, Some(identity_emulator::Fault::Hang));
    let started = Instant::now();
    let probe = ours(emulator.port(), ImdsRetryOptions::default()).probe().await;
    let hung_probe = started.elapsed();
    assert!(probe.is_err());
    rows.push(["hung IMDS: ours `probe()` (s; official: no probe)".into(), secs(hung_probe), "-".into(), "-".into()]);

    // 1000 concurrent callers, 50 ms IMDS.
    emulator.clear_faults();
    emulator.clear_requests();
    emulator.set_latency(FaultTarget::ManagedIdentity, Duration::from_millis(50));
    let ours_requests = burst(ours(emulator.port(), ImdsRetryOptions::default()), emulator).await;
    emulator.clear_requests();
    let official_requests = burst(official(emulator.port()), emulator).await;
    emulator.clear_faults();
    rows.push([
        "1000 callers, managed identity (IMDS, 50 ms): token requests".into(),
        ours_requests.to_string(),
        official_requests.to_string(),
        crate::ratio(ours_requests as f64, official_requests as f64),
    ]);
}

async fn burst(credential: Arc<dyn TokenCredential>, emulator: &Emulator) -> usize {
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let credential = Arc::clone(&credential);
            tokio::spawn(async move { credential.get_token(&[SCOPE], None).await.is_ok() })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap_or(false), "every caller gets a token");
    }
    emulator.request_count("/metadata/identity")
}
