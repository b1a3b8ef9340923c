//! `cargo xtask fuzz [--seconds N] [target...]`: a smoke run of every `cargo
//! fuzz` target (nightly), seeded from `fuzz/seeds`, with a summary table.
//! Not part of `cargo xtask ci`: it needs the nightly toolchain and cargo-fuzz.

use crate::run::root;
use std::{
    path::Path,
    process::{Command, Stdio},
};

/// Every target in `fuzz/fuzz_targets`.
const TARGETS: &[&str] = &[
    "entra_response",
    "challenge",
    "msi_response",
    "arc_challenge",
    "az_output",
    "azd_output",
    "certificate",
];

const DEFAULT_SECONDS: u32 = 60;

/// One target's smoke run.
struct Outcome {
    target: &'static str,
    runs: Option<u64>,
    seconds: Option<u64>,
    corpus: usize,
    verdict: String,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let (seconds, chosen) = parse_args(args)?;
    check_tools()?;
    let fuzz_dir = root().join("fuzz");
    seed_certificates(&fuzz_dir.join("corpus").join("certificate"))?;
    let mut outcomes = Vec::new();
    for target in chosen {
        outcomes.push(run_target(&fuzz_dir, target, seconds)?);
    }
    report(&outcomes);
    if outcomes.iter().any(|o| o.verdict != "no crash") {
        return Err("a fuzz target failed: see fuzz/artifacts/ for the input".into());
    }
    Ok(())
}

/// `[--seconds N] [target...]`: the seconds per target and the targets (all
/// when none is named).
fn parse_args(args: &[String]) -> Result<(u32, Vec<&'static str>), String> {
    let mut seconds = DEFAULT_SECONDS;
    let mut chosen: Vec<&'static str> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            seconds = args
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or("--seconds needs a whole number")?;
        } else if let Some(target) = TARGETS.iter().find(|t| **t == arg) {
            chosen.push(target);
        } else {
            return Err(format!(
                "unknown fuzz target `{arg}`; targets: {}",
                TARGETS.join(", ")
            ));
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.to_vec();
    }
    Ok((seconds, chosen))
}

/// The summary table, in Markdown.
fn report(outcomes: &[Outcome]) {
    println!();
    println!(
        "| target | seconds | runs | runs/s | corpus | result |\n|---|---:|---:|---:|---:|---|"
    );
    for o in outcomes {
        let rate = match (o.runs, o.seconds) {
            (Some(runs), Some(s)) if s > 0 => (runs / s).to_string(),
            _ => "?".into(),
        };
        let shown = |v: Option<u64>| v.map_or_else(|| "?".into(), |v| v.to_string());
        println!(
            "| {} | {} | {} | {rate} | {} | {} |",
            o.target,
            shown(o.seconds),
            shown(o.runs),
            o.corpus,
            o.verdict
        );
    }
}

/// A `cargo` that runs the nightly toolchain, whatever started xtask.
fn nightly_cargo() -> Command {
    let mut command = Command::new("cargo");
    command
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env("RUSTUP_TOOLCHAIN", "nightly");
    command
}

fn check_tools() -> Result<(), String> {
    let works = |args: &[&str]| {
        nightly_cargo()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !works(&["--version"]) {
        return Err("the nightly toolchain is needed: rustup toolchain install nightly".into());
    }
    if !works(&["fuzz", "--version"]) {
        return Err("cargo-fuzz is needed: cargo install --locked cargo-fuzz".into());
    }
    Ok(())
}

fn run_target(fuzz_dir: &Path, target: &'static str, seconds: u32) -> Result<Outcome, String> {
    let corpus = fuzz_dir.join("corpus").join(target);
    std::fs::create_dir_all(&corpus)
        .map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
    let seeds = fuzz_dir.join("seeds").join(target);
    let mut command = nightly_cargo();
    command
        .current_dir(fuzz_dir)
        .args(["fuzz", "run", target])
        .arg(&corpus);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    command.args([
        "--",
        &format!("-max_total_time={seconds}"),
        // Bodies are capped at 1 MiB in the product; 64 KiB finds the same bugs faster.
        "-max_len=65536",
        "-timeout=10",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
    ]);
    eprintln!("$ cargo +nightly fuzz run {target} ({seconds} s)");
    let output = command
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("could not run cargo fuzz: {e}"))?;
    let log = String::from_utf8_lossy(&output.stderr);
    // Keep the tail for the reader: the crash report or the final statistics.
    let tail: Vec<&str> = log.lines().rev().take(25).collect();
    for line in tail.iter().rev() {
        eprintln!("  {line}");
    }
    let runs = find_number(&log, "Done ", " runs")
        .or_else(|| find_number(&log, "stat::number_of_executed_units: ", "\n"));
    let seconds_taken = find_number(&log, " runs in ", " second");
    let corpus_size = std::fs::read_dir(&corpus).map(Iterator::count).unwrap_or(0);
    let verdict = if output.status.success() {
        "no crash".to_owned()
    } else if log.contains("ERROR: libFuzzer") || log.contains("panicked") {
        "CRASH".to_owned()
    } else {
        format!("failed to run ({})", output.status)
    };
    Ok(Outcome {
        target,
        runs,
        seconds: seconds_taken,
        corpus: corpus_size,
        verdict,
    })
}

/// The number between the last `before` and the following `after` in `text`.
fn find_number(text: &str, before: &str, after: &str) -> Option<u64> {
    let start = text.rfind(before)? + before.len();
    let rest = text.get(start..)?;
    let end = rest.find(after)?;
    rest.get(..end)?.trim().parse().ok()
}

/// Real certificate files for the certificate target, made with the
/// `openssl` command (kept out of git: they hold private keys). The first
/// byte of each picks the password the target passes (see the target).
fn seed_certificates(corpus: &Path) -> Result<(), String> {
    std::fs::create_dir_all(corpus)
        .map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
    if corpus.join("seed-pem").exists() {
        return Ok(());
    }
    let work = std::env::temp_dir().join(format!("identity-fuzz-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let openssl = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(&work)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("the certificate seeds need the openssl command: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("openssl {} failed", args.join(" ")))
        }
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-subj",
        "/CN=identity-fuzz",
    ])?;
    openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        "key.pem",
        "-out",
        "key-encrypted.pem",
        "-passout",
        "pass:fuzz-password",
    ])?;
    openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        "key.pem",
        "-in",
        "cert.pem",
        "-out",
        "with-password.p12",
        "-passout",
        "pass:fuzz-password",
    ])?;
    openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        "key.pem",
        "-in",
        "cert.pem",
        "-out",
        "no-password.p12",
        "-passout",
        "pass:",
    ])?;
    let read = |name: &str| std::fs::read(work.join(name)).map_err(|e| format!("{name}: {e}"));
    let seed = |name: &str, password_choice: u8, parts: &[Vec<u8>]| {
        let mut bytes = vec![password_choice];
        for part in parts {
            bytes.extend_from_slice(part);
        }
        std::fs::write(corpus.join(name), bytes).map_err(|e| format!("{name}: {e}"))
    };
    seed("seed-pem", 0, &[read("cert.pem")?, read("key.pem")?])?;
    seed(
        "seed-pem-encrypted",
        2,
        &[read("key-encrypted.pem")?, read("cert.pem")?],
    )?;
    seed("seed-p12-password", 2, &[read("with-password.p12")?])?;
    seed("seed-p12-no-password", 1, &[read("no-password.p12")?])?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments_choose_seconds_and_targets() {
        assert_eq!(
            parse_args(&[]).unwrap(),
            (DEFAULT_SECONDS, TARGETS.to_vec())
        );
        assert_eq!(
            parse_args(&args(&["--seconds", "5", "az_output", "certificate"])).unwrap(),
            (5, vec!["az_output", "certificate"])
        );
        assert!(
            parse_args(&args(&["--seconds"]))
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            parse_args(&args(&["nope"]))
                .unwrap_err()
                .contains("az_output")
        );
    }

    #[test]
    fn every_target_has_a_file_and_seeds_or_generated_seeds() {
        let fuzz = root().join("fuzz");
        for target in TARGETS {
            assert!(
                fuzz.join("fuzz_targets")
                    .join(format!("{target}.rs"))
                    .is_file(),
                "{target}"
            );
            // The certificate seeds are generated (they hold private keys).
            if *target != "certificate" {
                assert!(fuzz.join("seeds").join(target).is_dir(), "{target}");
            }
        }
    }

    #[test]
    fn libfuzzer_statistics_are_read() {
        let log =
            "#2 INITED\nDone 118705 runs in 6 second(s)\nstat::number_of_executed_units: 118705\n";
        assert_eq!(find_number(log, "Done ", " runs"), Some(118_705));
        assert_eq!(find_number(log, " runs in ", " second"), Some(6));
        assert_eq!(find_number("crashed", "Done ", " runs"), None);
    }
}
