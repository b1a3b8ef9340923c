//! The real world behind publish: the crates.io sparse index (read with
//! `curl`), `cargo publish`, `git tag` and the clock.

use super::{
    git::Git,
    publish::{Effects, Registry},
    version::Version,
};
use serde_json::Value;
use std::{path::Path, process::Command, time::Duration};

/// The crates.io sparse index (what cargo itself reads).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CratesIoIndex;

impl Registry for CratesIoIndex {
    fn has_version(&self, name: &str, version: Version) -> Result<bool, String> {
        let url = format!("https://index.crates.io/{}", index_path(name));
        // The status code on a line of its own after the body; no cached copy,
        // since we poll for a version that just arrived.
        let output = Command::new("curl")
            .args([
                "--silent",
                "--show-error",
                "--location",
                "--max-time",
                "30",
                "--header",
                "Cache-Control: no-cache",
                "--write-out",
                "\n%{http_code}",
                &url,
            ])
            .output()
            .map_err(|e| format!("could not run curl (needed to read the crates.io index): {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "curl {url} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let body = String::from_utf8_lossy(&output.stdout);
        let (entries, status) = body.rsplit_once('\n').unwrap_or(("", body.as_ref()));
        match status.trim() {
            "200" => Ok(index_has_version(entries, version)),
            // Never published: crates.io answers 404 (403 from some mirrors).
            "404" | "403" => Ok(false),
            other => Err(format!("the crates.io index answered {other} for {url}")),
        }
    }
}

/// A crate's file in a sparse index: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd...`.
pub(crate) fn index_path(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", name.get(..1).unwrap_or_default()),
        _ => format!(
            "{}/{}/{name}",
            name.get(..2).unwrap_or_default(),
            name.get(2..4).unwrap_or_default()
        ),
    }
}

/// Whether an index file (one JSON object per line, one line per version)
/// lists `version`.
pub(crate) fn index_has_version(entries: &str, version: Version) -> bool {
    let wanted = version.to_string();
    entries
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .any(|entry| entry.get("vers").and_then(Value::as_str) == Some(wanted.as_str()))
}

/// `cargo publish`, `git tag` and sleeping, in the workspace at `root`.
#[derive(Debug)]
pub(crate) struct Live {
    git: Git,
}

impl Live {
    pub(crate) fn new(root: &Path) -> Self {
        Self {
            git: Git::new(root),
        }
    }
}

impl Effects for Live {
    fn publish(&mut self, name: &str, _version: Version) -> Result<(), String> {
        crate::run::cargo(&["publish", "--package", name], &[])
    }

    fn tag_exists(&self, tag: &str) -> Result<bool, String> {
        self.git.tag_exists(tag)
    }

    fn create_tag(&mut self, tag: &str, message: &str) -> Result<(), String> {
        eprintln!("$ git tag --annotate {tag} --message '{message}'");
        self.git.create_tag(tag, message)
    }

    fn sleep(&mut self, duration: Duration) {
        eprintln!("waiting {} s for the crates.io index", duration.as_secs());
        std::thread::sleep(duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_follow_the_name_length() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("identity-core"), "id/en/identity-core");
        assert_eq!(index_path("Serde"), "se/rd/serde");
    }

    #[test]
    fn finds_exact_versions_in_an_index_file() {
        let entries = concat!(
            r#"{"name":"identity","vers":"0.1.0","deps":[],"yanked":false}"#,
            "\n",
            r#"{"name":"identity","vers":"0.1.10","deps":[],"yanked":true}"#,
            "\n",
            "not json\n"
        );
        assert!(index_has_version(entries, Version::new(0, 1, 0)));
        assert!(
            index_has_version(entries, Version::new(0, 1, 10)),
            "yanked still counts"
        );
        assert!(!index_has_version(entries, Version::new(0, 1, 1)));
        assert!(!index_has_version("", Version::new(0, 1, 0)));
    }
}
