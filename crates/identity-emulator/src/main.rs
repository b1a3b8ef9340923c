//! `identity-emulator`: runs the emulator until Ctrl+C and prints the settings
//! that point an app at it.

#![forbid(unsafe_code)]
// A command-line tool reports on stdout and stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use identity_emulator::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator, EmulatorConfig,
};
use std::process::ExitCode;

const USAGE: &str = "usage: identity-emulator [--port PORT]\n\nServes Entra ID on 127.0.0.1 until Ctrl+C. PORT 0 (the default) picks a free port.";

fn parse_port(args: &[String]) -> Result<u16, String> {
    match args {
        [] => Ok(0),
        [flag, port] if flag == "--port" => port
            .parse()
            .map_err(|_| format!("'{port}' is not a port number")),
        _ => Err("unexpected arguments".into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let port = match parse_port(&args) {
        Ok(port) => port,
        Err(e) => {
            eprintln!("identity-emulator: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let emulator = match Emulator::start_with(EmulatorConfig { port }).await {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("identity-emulator: cannot start on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Entra ID emulator listening on {}\n", emulator.url());
    println!("Point an app at it (these are test values, not secrets):");
    println!("  AZURE_AUTHORITY_HOST={}", emulator.authority_host());
    println!("  AZURE_TENANT_ID={DEFAULT_TENANT}");
    println!("  AZURE_CLIENT_ID={DEFAULT_CLIENT_ID}");
    println!("  AZURE_CLIENT_SECRET={DEFAULT_CLIENT_SECRET}\n");
    println!(
        "Token endpoint:      {}",
        emulator.token_endpoint(DEFAULT_TENANT)
    );
    println!(
        "OIDC discovery:      {}/{DEFAULT_TENANT}/v2.0/.well-known/openid-configuration",
        emulator.url()
    );
    println!(
        "Protected resource:  {} (scope {}/.default)",
        emulator.resource_url(),
        emulator.resource_audience()
    );
    println!("Federation issuer:   {}\n", emulator.federation_issuer());
    println!("Press Ctrl+C to stop.");
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("identity-emulator: cannot wait for Ctrl+C: {e}");
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}
