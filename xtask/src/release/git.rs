//! The few git questions a release asks, answered by the `git` command.

use super::version::Version;
use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

#[derive(Debug, Clone)]
pub(crate) struct Git {
    dir: PathBuf,
}

impl Git {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn run(&self, args: &[&str]) -> Result<Output, String> {
        Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .output()
            .map_err(|e| format!("could not run git: {e}"))
    }

    fn stdout(&self, args: &[&str]) -> Result<String, String> {
        let output = self.run(args)?;
        if !output.status.success() {
            return Err(format!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        String::from_utf8(output.stdout)
            .map_err(|_| format!("`git {}` printed non-UTF-8", args.join(" ")))
    }

    /// Fails with the paths that differ when the tree has uncommitted
    /// changes or untracked files: a release commit holds only the release.
    pub(crate) fn require_clean(&self, command: &str) -> Result<(), String> {
        let status = self.stdout(&["status", "--porcelain"])?;
        let dirty: Vec<&str> = status.lines().collect();
        if dirty.is_empty() {
            return Ok(());
        }
        let shown: Vec<&str> = dirty.iter().take(5).map(|line| line.trim()).collect();
        let more = dirty.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        Err(format!(
            "`{command}` needs a clean working tree, and `git status --porcelain` lists {}{more}; \
             commit or stash those changes first",
            shown.join(", ")
        ))
    }

    /// The newest version among tags `<crate>-v<version>`, with its tag.
    pub(crate) fn last_release(
        &self,
        crate_name: &str,
    ) -> Result<Option<(Version, String)>, String> {
        let prefix = tag_prefix(crate_name);
        let listed = self.stdout(&["tag", "--list", &format!("{prefix}*")])?;
        Ok(listed
            .lines()
            .filter_map(|tag| {
                // `identity-v*` also lists `identity-v2-v0.1.0`; those do not parse.
                let version = tag.strip_prefix(&prefix)?.parse::<Version>().ok()?;
                Some((version, tag.to_owned()))
            })
            .max_by_key(|(version, _)| *version))
    }

    /// Whether anything under `path` differs between `tag` and HEAD.
    pub(crate) fn changed_since(&self, tag: &str, path: &Path) -> Result<bool, String> {
        let path = path.to_string_lossy();
        let args = ["diff", "--quiet", tag, "HEAD", "--", path.as_ref()];
        let output = self.run(&args)?;
        match output.status.code() {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            _ => Err(format!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )),
        }
    }

    pub(crate) fn tag_exists(&self, tag: &str) -> Result<bool, String> {
        let reference = format!("refs/tags/{tag}");
        Ok(self
            .run(&["rev-parse", "--quiet", "--verify", &reference])?
            .status
            .success())
    }

    /// An annotated tag on HEAD.
    pub(crate) fn create_tag(&self, tag: &str, message: &str) -> Result<(), String> {
        self.stdout(&["tag", "--annotate", tag, "--message", message])
            .map(|_| ())
    }
}

/// Tags are `<crate>-v<version>`, one per crate release.
pub(crate) fn tag_prefix(crate_name: &str) -> String {
    format!("{crate_name}-v")
}

pub(crate) fn tag_name(crate_name: &str, version: Version) -> String {
    format!("{}{version}", tag_prefix(crate_name))
}
