//! `DefaultAzureCredential` on a laptop: no service principal, no workload
//! identity, no IMDS, `az` logged in. How long until the CLI link answers?
//! (The official crate 1.0.0 has no `DefaultAzureCredential`.)

use azure_core::credentials::TokenCredential;
use identity::{DefaultAzureCredential, DefaultAzureCredentialOptions, Env, Platform};
use identity_emulator::{Emulator, Fault, FaultTarget};
use std::{path::PathBuf, time::Instant};

fn standins() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/standins")
}

async fn time_to_cli(imds_host: String) -> f64 {
    let credential = DefaultAzureCredential::new(Some(DefaultAzureCredentialOptions {
        platform: Platform::with_env(Env::from_vars([
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST".to_owned(), imds_host),
            ("PATH".to_owned(), format!("{}:/usr/bin:/bin", standins().display())),
        ])),
        ..Default::default()
    }))
    .expect("DefaultAzureCredential");
    let started = Instant::now();
    credential.get_token(&["https://management.azure.com/.default"], None).await.expect("a token from the az stand-in");
    assert_eq!(credential.chosen(), Some("AzureCliCredential"));
    started.elapsed().as_secs_f64()
}

pub(crate) async fn rows(emulator: &Emulator, rows: &mut Vec<[String; 4]>) {
    let refused = {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("its address").port();
        time_to_cli(format!("http://127.0.0.1:{port}")).await
    };
    emulator.clear_faults();
    emulator.set_default_fault(FaultTarget::ManagedIdentity, Some(Fault::Hang));
    let hung = time_to_cli(emulator.imds_host()).await;
    emulator.clear_faults();
    rows.push([
        "DefaultAzureCredential reaching az, IMDS refusing connections (s)".into(),
        format!("{refused:.3}"),
        "-".into(),
        "-".into(),
    ]);
    rows.push([
        "DefaultAzureCredential reaching az, IMDS never answering (s)".into(),
        format!("{hung:.3}"),
        "-".into(),
        "-".into(),
    ]);
}
