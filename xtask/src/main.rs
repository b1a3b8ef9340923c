//! `cargo xtask`: workspace automation (std, and `serde_json` to read `cargo
//! metadata`).
//!
//! - `ci`: every check `.ci/run` makes (fmt, clippy, tests, docs, dependency
//!   rules, packaging).
//! - `demo`: the main job: tokens from every credential against the emulator.
//! - `bench`: performance figures, ours against the official `azure_identity`.
//! - `fuzz`: a smoke run of every `cargo fuzz` target (nightly).
//! - `size`: build cost and binary size of sample apps, ours against the official crate.
//! - `release`: plan, prepare and publish independent crate releases (docs/RELEASING.md).

#![forbid(unsafe_code)]
// A command-line tool reports on stdout/stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod ci;
mod fuzz;
mod release;
mod run;
mod size;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci       run every check CI runs (fmt, clippy, tests, docs, dependency rules, packaging)
  demo     start the emulator and obtain a token through every credential
  bench    measure ours against the official azure_identity (release build)
  size     cold builds of sample apps, ours and the official crate's: units, seconds, bytes
           (cargo xtask size [msi] [secret] [secret-ring] [default] [blob])
  fuzz     a smoke run of every cargo-fuzz target (nightly + cargo-fuzz)
           (cargo xtask fuzz [--seconds N] [target...])
  release  independent crate releases (docs/RELEASING.md):
           release plan    [--bump patch|minor|major] [crate...]   what would be released, in order
           release prepare [--bump patch|minor|major] [crate...]   bump versions, write changelogs
           release publish [--dry-run]                             upload to crates.io in order, tag
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("demo") => run::cargo(
            &["run", "--quiet", "--package", "identity-demo", "--"],
            rest,
        ),
        Some("bench") => run::cargo(
            &[
                "run",
                "--release",
                "--quiet",
                "--manifest-path",
                "bench/Cargo.toml",
                "--",
            ],
            rest,
        ),
        Some("size") => size::run(rest),
        Some("fuzz") => fuzz::run(rest),
        Some("release") => release::run(rest),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
