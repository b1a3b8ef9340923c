//! The Azure CLI: 100 sequential `get_token` calls through a stand-in `az`
//! that takes 300 ms (`tests/standins/az`), ours against the official
//! `AzureCliCredential`. The official crate runs `/bin/sh -c "cd /bin && az ..."`
//! through its `Executor`; the bench's executor runs exactly that, with the
//! stand-ins first on the child's PATH.

use azure_core::credentials::TokenCredential;
use identity::{AzureCliCredential, AzureCliCredentialOptions, Env, Platform};
use std::{
    ffi::OsStr,
    io,
    path::PathBuf,
    process::Output,
    sync::Arc,
    time::{Duration, Instant},
};

const CALLS: usize = 100;
const DELAY: &str = "0.3";

fn standins() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/standins")
}

fn child_path() -> String {
    format!("{}:/usr/local/bin:/usr/bin:/bin", standins().display())
}

/// The official `Executor`, with the stand-ins on the child's PATH.
#[derive(Debug)]
struct StandinExecutor;

#[async_trait::async_trait]
impl azure_identity::Executor for StandinExecutor {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> io::Result<Output> {
        tokio::process::Command::new(program)
            .args(args)
            .env("PATH", child_path())
            .env("IDENTITY_STANDIN_DELAY", DELAY)
            .output()
            .await
    }
}

async fn sequential(credential: &dyn TokenCredential) -> Duration {
    let started = Instant::now();
    for _ in 0..CALLS {
        credential.get_token(&["https://management.azure.com/.default"], None).await.expect("a token from the stand-in");
    }
    started.elapsed()
}

pub(crate) async fn rows(rows: &mut Vec<[String; 4]>) {
    let ours = AzureCliCredential::new(Some(AzureCliCredentialOptions {
        platform: Platform::with_env(Env::from_vars([
            ("PATH", child_path()),
            ("IDENTITY_STANDIN_DELAY", DELAY.to_owned()),
        ])),
        ..Default::default()
    }))
    .expect("our credential");
    let official = azure_identity::AzureCliCredential::new(Some(azure_identity::AzureCliCredentialOptions {
        executor: Some(Arc::new(StandinExecutor)),
        ..Default::default()
    }))
    .expect("official credential");
    let ours = sequential(ours.as_ref()).await;
    let official = sequential(official.as_ref()).await;
    rows.push([
        format!("{CALLS} sequential `get_token`, az taking 300 ms: wall time (s)"),
        format!("{:.2}", ours.as_secs_f64()),
        format!("{:.2}", official.as_secs_f64()),
        crate::ratio(ours.as_secs_f64(), official.as_secs_f64()),
    ]);
}
