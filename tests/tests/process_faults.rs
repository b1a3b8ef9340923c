//! The fault matrix for the process credentials: `az` and `azd` stand-ins
//! that hang, crash, print garbage, print 10 MB, or print bytes that are not
//! UTF-8. With a 1 s process timeout, every case ends within 5 s with a
//! failure (not "unavailable": the tool is there and broke) that names the
//! credential and the fault, and never panics. All cases run at once.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzureDeveloperCliCredential,
    AzureDeveloperCliCredentialOptions, Platform, TokenCredential,
};
use identity_tests::standin_env;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

const BOUND: Duration = Duration::from_secs(5);
const PROCESS_TIMEOUT: Duration = Duration::from_secs(1);

/// Stand-in mode and what the error must say about it.
const FAULTS: &[(&str, &str)] = &[
    ("hang", "did not finish within 1 s and was stopped"),
    ("crash", "was killed by a signal"),
    ("garbage", "something other than a JSON object"),
    ("big", "more than 1048576 bytes"),
    ("non-utf8", "something other than a JSON object"),
    ("non-utf8-error", "exited with 1"),
];

fn credential(tool: &str, mode: &str) -> (&'static str, Arc<dyn TokenCredential>) {
    let platform = Platform::with_env(standin_env(&[("IDENTITY_STANDIN_MODE", mode)]));
    if tool == "az" {
        let credential = AzureCliCredential::new(Some(AzureCliCredentialOptions {
            process_timeout: Some(PROCESS_TIMEOUT),
            platform,
            ..Default::default()
        }))
        .unwrap();
        ("AzureCliCredential", credential)
    } else {
        let credential =
            AzureDeveloperCliCredential::new(Some(AzureDeveloperCliCredentialOptions {
                process_timeout: Some(PROCESS_TIMEOUT),
                platform,
                ..Default::default()
            }))
            .unwrap();
        ("AzureDeveloperCliCredential", credential)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_process_credential_survives_every_fault_within_5_s() {
    let mut cases = Vec::new();
    for tool in ["az", "azd"] {
        for (mode, expected) in FAULTS {
            cases.push(tokio::spawn(async move {
                let (name, credential) = credential(tool, mode);
                let started = Instant::now();
                let outcome = credential
                    .get_token(&["https://management.azure.com/.default"], None)
                    .await;
                (tool, *mode, *expected, name, outcome, started.elapsed())
            }));
        }
    }
    let mut problems = Vec::new();
    for case in cases {
        let (tool, mode, expected, name, outcome, elapsed) = case.await.expect("no case panics");
        let label = format!("{tool} / {mode}");
        if elapsed > BOUND {
            problems.push(format!("{label}: took {elapsed:?}"));
        }
        let Err(error) = outcome else {
            problems.push(format!("{label}: succeeded"));
            continue;
        };
        let text = error.to_string();
        if !text.contains(name) {
            problems.push(format!("{label}: does not name {name}: {text}"));
        }
        if !text.contains(expected) {
            problems.push(format!("{label}: does not say `{expected}`: {text}"));
        }
        if identity::is_unavailable(&error) {
            problems.push(format!("{label}: reported as unavailable: {text}"));
        }
        // stdout holds the token when there is one: never quoted.
        if text.contains("accessToken") || text.contains("xxxxxxxx") {
            problems.push(format!("{label}: quotes stdout: {text}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
