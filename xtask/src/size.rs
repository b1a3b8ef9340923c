//! `cargo xtask size [app ...]`: builds the sample apps in `size/` from cold,
//! ours and the official crate's, in the same run, and prints units compiled,
//! cold release build time and binary bytes (release, and an lto/size
//! profile), with ratios ours/official.

use crate::run::root;
use std::{
    path::Path,
    process::{Command, Stdio},
    time::Instant,
};

/// (app, the official counterpart when there is one).
const APPS: &[(&str, Option<&str>)] = &[
    ("msi-ours", Some("msi-official")),
    ("secret-ours", Some("secret-official")),
    ("secret-ring-ours", Some("secret-official")),
    ("default-ours", None),
    ("blob-ours", Some("blob-official")),
];

struct Built {
    units: usize,
    seconds: f64,
    release_bytes: u64,
    size_bytes: u64,
}

fn build(app: &str) -> Result<Built, String> {
    let root = root();
    let manifest = root.join("size").join(app).join("Cargo.toml");
    let target = root.join("target").join("size").join(app);
    // Cold: nothing reused from an earlier run (the size profile then reuses
    // only build scripts and proc macros from the release build; its time is
    // not reported).
    let _ = std::fs::remove_dir_all(&target);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let run = |profile: &str| -> Result<(usize, f64), String> {
        eprintln!("$ cargo build --profile {profile} --manifest-path size/{app}/Cargo.toml");
        let started = Instant::now();
        let output = Command::new(&cargo)
            .args(["build", "--profile", profile, "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("could not run cargo: {e}"))?;
        let seconds = started.elapsed().as_secs_f64();
        let log = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(format!("building {app} failed:\n{log}"));
        }
        let units = log
            .lines()
            .filter(|l| l.trim_start().starts_with("Compiling"))
            .count();
        Ok((units, seconds))
    };
    let (units, seconds) = run("release")?;
    let binary = format!("size-{app}");
    let release_bytes = bytes(&target.join("release").join(&binary))?;
    run("size")?;
    let size_bytes = bytes(&target.join("size").join(&binary))?;
    Ok(Built {
        units,
        seconds,
        release_bytes,
        size_bytes,
    })
}

fn bytes(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn ratio(ours: f64, official: f64) -> String {
    if official > 0.0 {
        format!("{:.2}", ours / official)
    } else {
        "-".into()
    }
}

pub(crate) fn run(only: &[String]) -> Result<(), String> {
    let mut rows = Vec::new();
    for (app, official) in APPS {
        let name = app.trim_end_matches("-ours");
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let ours = build(app)?;
        let theirs = match official {
            Some(official) => Some(build(official)?),
            None => None,
        };
        rows.push((name, ours, theirs));
    }
    println!(
        "| app | units (ours / official) | cold release build s (ours / official, ratio) | release bytes (ours / official, ratio) | lto+z+strip bytes (ours / official, ratio) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, ours, theirs) in rows {
        match theirs {
            Some(t) => println!(
                "| {name} | {} / {} | {:.1} / {:.1} ({}) | {} / {} ({}) | {} / {} ({}) |",
                ours.units,
                t.units,
                ours.seconds,
                t.seconds,
                ratio(ours.seconds, t.seconds),
                ours.release_bytes,
                t.release_bytes,
                ratio(ours.release_bytes as f64, t.release_bytes as f64),
                ours.size_bytes,
                t.size_bytes,
                ratio(ours.size_bytes as f64, t.size_bytes as f64),
            ),
            None => println!(
                "| {name} | {} / - | {:.1} / - | {} / - | {} / - |",
                ours.units, ours.seconds, ours.release_bytes, ours.size_bytes
            ),
        }
    }
    Ok(())
}
