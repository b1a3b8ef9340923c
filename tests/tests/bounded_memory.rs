//! Hostile sizes cost bounded memory: a 10 MB token response (Entra and
//! managed identity) and 10 MB of `az` output are read no further than the
//! 1 MiB cap, so the peak heap growth during each `get_token` stays under
//! 4 MiB. Measured with a counting global allocator, in its own test binary,
//! one case at a time on a single-threaded runtime so nothing else allocates.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

use azure_core::http::RetryOptions;
use identity::{
    AzureCliCredential, AzureCliCredentialOptions, Env, ImdsRetryOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, Platform, TokenCredential,
};
use identity_emulator::{DEFAULT_CLIENT_SECRET, Emulator, Fault, FaultTarget};
use identity_tests::{client_options, secret_credential, standin_env};
use peakmem_alloc::{INSTRUMENTED_SYSTEM, PeakMemAlloc, PeakMemAllocTrait};
use std::{alloc::System, sync::Arc};

#[global_allocator]
static ALLOCATOR: &PeakMemAlloc<System> = &INSTRUMENTED_SYSTEM;

const TEN_MB: usize = 10 * 1024 * 1024;
const BOUND: usize = 4 * 1024 * 1024;

/// Peak heap growth while `credential` fails to get a token.
async fn peak_growth(credential: &Arc<dyn TokenCredential>) -> usize {
    ALLOCATOR.reset_peak_memory();
    let error = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .expect_err("an oversized answer is refused");
    let peak = ALLOCATOR.get_peak_memory();
    drop(error);
    peak
}

#[tokio::test(flavor = "current_thread")]
async fn oversized_answers_cost_bounded_memory() {
    let emulator = Emulator::start().await.unwrap();
    let mut options = client_options(&emulator);
    options.retry = RetryOptions::none();
    let secret: Arc<dyn TokenCredential> =
        secret_credential(options, DEFAULT_CLIENT_SECRET).unwrap();
    let managed: Arc<dyn TokenCredential> =
        ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            imds_retry: ImdsRetryOptions {
                max_retries: 0,
                ..Default::default()
            },
            platform: Platform::with_env(Env::from_vars([(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST".to_owned(),
                emulator.imds_host(),
            )])),
            ..Default::default()
        }))
        .unwrap();
    let az: Arc<dyn TokenCredential> = AzureCliCredential::new(Some(AzureCliCredentialOptions {
        platform: Platform::with_env(standin_env(&[("IDENTITY_STANDIN_MODE", "big")])),
        ..Default::default()
    }))
    .unwrap();

    // Warm up: connection pools, lazy statics, the first-use allocations of
    // each path, so the measured runs see only what the answer costs.
    emulator.set_default_fault(FaultTarget::Any, Some(Fault::Garbage));
    for credential in [&secret, &managed] {
        let _ = credential
            .get_token(&["https://warm.up/.default"], None)
            .await;
    }
    emulator.set_default_fault(FaultTarget::Any, Some(Fault::Oversized(TEN_MB)));

    let mut report = Vec::new();
    for (name, credential) in [
        ("ClientSecretCredential, 10 MB body", &secret),
        ("ManagedIdentityCredential, 10 MB body", &managed),
        ("AzureCliCredential, 10 MB stdout", &az),
    ] {
        let peak = peak_growth(credential).await;
        report.push(format!("{name}: peak heap growth {} KiB", peak / 1024));
        assert!(
            peak < BOUND,
            "{name}: the heap grew by {peak} bytes (bound {BOUND})"
        );
    }
    eprintln!("{}", report.join("\n"));
    emulator.shutdown().await;
}
