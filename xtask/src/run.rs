//! Running cargo and other tools, echoing each command.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
};

/// The workspace root (xtask's parent directory).
pub(crate) fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs `cargo <args> <extra>` in the workspace root; fails on a non-zero exit.
pub(crate) fn cargo(args: &[&str], extra: &[String]) -> Result<(), String> {
    cargo_with_env(args, extra, &[])
}

/// As [`cargo`], with extra environment variables.
pub(crate) fn cargo_with_env(
    args: &[&str],
    extra: &[String],
    env: &[(&str, &str)],
) -> Result<(), String> {
    let mut command = Command::new(cargo_program());
    command.args(args).args(extra).current_dir(root());
    for (k, v) in env {
        command.env(k, v);
    }
    let shown = format!("cargo {} {}", args.join(" "), extra.join(" "));
    eprintln!("$ {}", shown.trim_end());
    let status = command
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", shown.trim_end()))
    }
}

/// Runs `cargo <args>` and returns its stdout.
pub(crate) fn cargo_output(args: &[&str]) -> Result<String, String> {
    eprintln!("$ cargo {}", args.join(" "));
    let output = Command::new(cargo_program())
        .args(args)
        .current_dir(root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo {}` failed ({})",
            args.join(" "),
            output.status
        ));
    }
    String::from_utf8(output.stdout).map_err(|_| "cargo printed non-UTF-8 output".to_owned())
}

/// Whether a cargo subcommand such as `deny` is installed.
pub(crate) fn has_cargo_tool(tool: &str) -> bool {
    Command::new(cargo_program())
        .args([tool, "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
