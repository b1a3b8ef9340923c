//! `cargo xtask bench`: our `ClientSecretCredential` against the official
//! `azure_identity` 1.0.0 one, both against the same loopback emulator, in
//! the same run, with the same transport. Prints a Markdown table of figures
//! and ratios for `docs/PERFORMANCE.md`.
//!
//! Scenarios (the emulator adds 50 ms to every token request where noted):
//! - cached read: `get_token` on a warm cache, median of rounds, ns per call;
//! - cold burst: 1000 concurrent callers on one cold scope: requests sent, wall time;
//! - distinct scopes: 100 scopes fetched concurrently (50 ms): wall time;
//! - failing endpoint: 100 concurrent callers, every request a 500, no
//!   retries (50 ms): requests sent, wall time;
//! - head-of-line: a cached read while another scope's fetch is in flight (50 ms).

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod default;
mod msi;

use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::TokenCredential,
    http::{ClientOptions, RetryOptions, Transport},
};
use identity_emulator::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator, Fault, FaultTarget,
    loopback::LoopbackHttpsClient,
};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

const LATENCY: Duration = Duration::from_millis(50);
const CACHED_ROUNDS: usize = 9;
const CACHED_CALLS_PER_ROUND: u32 = 100_000;
const BURST_CALLERS: usize = 1000;
const DISTINCT_SCOPES: usize = 100;
const FAILING_CALLERS: usize = 100;
const HEAD_OF_LINE_ROUNDS: usize = 9;
const TOKEN_PATH: &str = "/oauth2/v2.0/token";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Library {
    Ours,
    Official,
}

impl Library {
    const BOTH: [Self; 2] = [Self::Ours, Self::Official];
}

fn client_options(emulator: &Emulator, retries: bool) -> ClientOptions {
    // The official crate requires an https authority; the loopback transport
    // sends https://127.0.0.1 as plain http. Both libraries get the same one.
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = emulator.authority_host().replacen("http://", "https://", 1);
    let mut options = ClientOptions {
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        transport: Some(Transport::new(Arc::new(LoopbackHttpsClient::new()))),
        ..Default::default()
    };
    if !retries {
        options.retry = RetryOptions::none();
    }
    options
}

fn credential(library: Library, emulator: &Emulator, retries: bool) -> Arc<dyn TokenCredential> {
    let client_options = client_options(emulator, retries);
    match library {
        Library::Ours => identity::ClientSecretCredential::new(
            DEFAULT_TENANT,
            DEFAULT_CLIENT_ID.into(),
            DEFAULT_CLIENT_SECRET.into(),
            Some(identity::ClientSecretCredentialOptions { client_options, ..Default::default() }),
        )
        .expect("our credential"),
        Library::Official => azure_identity::ClientSecretCredential::new(
            DEFAULT_TENANT,
            DEFAULT_CLIENT_ID.into(),
            DEFAULT_CLIENT_SECRET.into(),
            Some(azure_identity::ClientSecretCredentialOptions { client_options }),
        )
        .expect("official credential"),
    }
}

/// The least any correct cached `get_token` can do through the
/// `TokenCredential` trait: box the future, read the clock to check expiry,
/// and return an owned copy of the token. Measured so the figures can say how
/// much of each library's cost is its own.
#[derive(Debug)]
struct Floor(azure_core::credentials::AccessToken);

#[async_trait::async_trait]
impl TokenCredential for Floor {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        let now = std::time::SystemTime::now();
        if now < std::time::SystemTime::from(self.0.expires_on) {
            Ok(self.0.clone())
        } else {
            Err(azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, "expired"))
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn reset(emulator: &Emulator) {
    emulator.clear_faults();
    emulator.clear_requests();
}

/// Nanoseconds per cached `get_token`, one round.
async fn cached_round(credential: &dyn TokenCredential) -> f64 {
    let scope = ["https://cached.bench.test/.default"];
    let started = Instant::now();
    for _ in 0..CACHED_CALLS_PER_ROUND {
        let token = credential.get_token(&scope, None).await.expect("cached token");
        std::hint::black_box(token);
    }
    started.elapsed().as_nanos() as f64 / f64::from(CACHED_CALLS_PER_ROUND)
}

struct Burst {
    requests: usize,
    wall: Duration,
    failures: usize,
}

/// `callers` concurrent `get_token`s, over `scopes` (caller i asks for scope i % scopes).
async fn burst(credential: Arc<dyn TokenCredential>, emulator: &Emulator, callers: usize, scopes: usize) -> Burst {
    let started = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|i| {
            let credential = Arc::clone(&credential);
            tokio::spawn(async move {
                let scope = format!("https://scope{}.bench.test/.default", i % scopes);
                credential.get_token(&[&scope], None).await.is_ok()
            })
        })
        .collect();
    let mut failures = 0;
    for task in tasks {
        if !task.await.unwrap_or(false) {
            failures += 1;
        }
    }
    Burst { requests: emulator.request_count(TOKEN_PATH), wall: started.elapsed(), failures }
}

/// A cached read's latency while another scope's fetch is in flight.
async fn head_of_line(credential: Arc<dyn TokenCredential>, emulator: &Emulator) -> Vec<f64> {
    let cached = ["https://cached.bench.test/.default"];
    credential.get_token(&cached, None).await.expect("warm");
    emulator.set_latency(FaultTarget::Token, LATENCY);
    let mut samples = Vec::new();
    for round in 0..HEAD_OF_LINE_ROUNDS {
        let other = Arc::clone(&credential);
        let fetch = tokio::spawn(async move {
            let scope = format!("https://other{round}.bench.test/.default");
            let _ = other.get_token(&[&scope], None).await;
        });
        // Let the other fetch take whatever lock it takes.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let started = Instant::now();
        credential.get_token(&cached, None).await.expect("cached");
        samples.push(started.elapsed().as_secs_f64() * 1e6);
        let _ = fetch.await;
    }
    samples
}

pub(crate) fn ratio(ours: f64, official: f64) -> String {
    if official <= 0.0 {
        return "-".into();
    }
    format!("{:.3}", ours / official)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let emulator = Emulator::start().await.expect("emulator");
    if std::env::args().any(|a| a == "--cached-only") {
        // For profilers: our cached read alone, for a while.
        let ours = credential(Library::Ours, &emulator, true);
        let mut rounds = Vec::new();
        for _ in 0..50 {
            rounds.push(cached_round(ours.as_ref()).await);
        }
        println!("cached get_token: {:.0} ns/call (median of {})", median(rounds), 50);
        return;
    }
    let mut rows: Vec<[String; 4]> = Vec::new();

    // Cached read: interleave rounds so drift hits both alike.
    let ours = credential(Library::Ours, &emulator, true);
    let official = credential(Library::Official, &emulator, true);
    // The floor gets a token of the same length as the emulator's.
    let sample = ours.get_token(&["https://cached.bench.test/.default"], None).await.expect("sample token");
    let floor = Floor(sample);
    let (mut ours_ns, mut official_ns, mut floor_ns) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..CACHED_ROUNDS {
        ours_ns.push(cached_round(ours.as_ref()).await);
        official_ns.push(cached_round(official.as_ref()).await);
        floor_ns.push(cached_round(&floor).await);
    }
    let (o, f, floor) = (median(ours_ns), median(official_ns), median(floor_ns));
    rows.push(["cached `get_token` (ns/call, median)".into(), format!("{o:.0}"), format!("{f:.0}"), ratio(o, f)]);
    rows.push([
        format!("cached `get_token` above the trait's floor of {floor:.0} ns (ns/call)"),
        format!("{:.0}", o - floor),
        format!("{:.0}", f - floor),
        ratio(o - floor, f - floor),
    ]);

    // Cold burst: requests sent and wall time.
    let mut cold = Vec::new();
    for library in Library::BOTH {
        reset(&emulator);
        emulator.set_latency(FaultTarget::Token, LATENCY);
        cold.push(burst(credential(library, &emulator, true), &emulator, BURST_CALLERS, 1).await);
    }
    let [ours_cold, official_cold] = [&cold[0], &cold[1]];
    rows.push([
        format!("{BURST_CALLERS} callers, one cold scope: token requests"),
        ours_cold.requests.to_string(),
        official_cold.requests.to_string(),
        ratio(ours_cold.requests as f64, official_cold.requests as f64),
    ]);
    rows.push([
        format!("{BURST_CALLERS} callers, one cold scope: wall time (ms)"),
        format!("{:.0}", ms(ours_cold.wall)),
        format!("{:.0}", ms(official_cold.wall)),
        ratio(ms(ours_cold.wall), ms(official_cold.wall)),
    ]);

    // Distinct scopes.
    let mut distinct = Vec::new();
    for library in Library::BOTH {
        reset(&emulator);
        emulator.set_latency(FaultTarget::Token, LATENCY);
        distinct.push(burst(credential(library, &emulator, true), &emulator, DISTINCT_SCOPES, DISTINCT_SCOPES).await);
    }
    rows.push([
        format!("{DISTINCT_SCOPES} scopes at once, 50 ms endpoint: wall time (ms)"),
        format!("{:.0}", ms(distinct[0].wall)),
        format!("{:.0}", ms(distinct[1].wall)),
        ratio(ms(distinct[0].wall), ms(distinct[1].wall)),
    ]);

    // Failing endpoint.
    let mut failing = Vec::new();
    for library in Library::BOTH {
        reset(&emulator);
        emulator.set_latency(FaultTarget::Token, LATENCY);
        emulator.set_default_fault(
            FaultTarget::Token,
            Some(Fault::Status { status: 500, body: "bench: failing endpoint".into(), headers: vec![] }),
        );
        let result = burst(credential(library, &emulator, false), &emulator, FAILING_CALLERS, 1).await;
        assert_eq!(result.failures, FAILING_CALLERS, "{library:?}: every caller should see the failure");
        failing.push(result);
    }
    rows.push([
        format!("{FAILING_CALLERS} callers, failing endpoint, no retries: token requests"),
        failing[0].requests.to_string(),
        failing[1].requests.to_string(),
        ratio(failing[0].requests as f64, failing[1].requests as f64),
    ]);
    rows.push([
        format!("{FAILING_CALLERS} callers, failing endpoint, no retries: wall time (ms)"),
        format!("{:.0}", ms(failing[0].wall)),
        format!("{:.0}", ms(failing[1].wall)),
        ratio(ms(failing[0].wall), ms(failing[1].wall)),
    ]);

    // Head-of-line blocking.
    let mut blocked = Vec::new();
    for library in Library::BOTH {
        reset(&emulator);
        blocked.push(median(head_of_line(credential(library, &emulator, true), &emulator).await));
    }
    rows.push([
        "cached read while another scope is fetched (µs, median)".into(),
        format!("{:.1}", blocked[0]),
        format!("{:.1}", blocked[1]),
        ratio(blocked[0], blocked[1]),
    ]);

    msi::rows(&emulator, &mut rows).await;
    cli::rows(&mut rows).await;
    default::rows(&emulator, &mut rows).await;

    println!("| scenario | identity | azure_identity 1.0.0 | ratio (ours / official) |");
    println!("|---|---:|---:|---:|");
    for [scenario, ours, official, ratio] in rows {
        println!("| {scenario} | {ours} | {official} | {ratio} |");
    }
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("\n{cores} cores; release build; emulator on 127.0.0.1; both credentials share one transport type.");
    emulator.shutdown().await;
}
