//! `cargo xtask release prepare`: writes the plan into the tree (versions,
//! requirements, changelogs) and consumes the fragments, for a person to
//! review and commit.

use super::{
    changelog::{self, Entries},
    fragments::{self, Fragment},
    manifest,
    plan::{History, Plan, Reason, Scope, Step, Survey},
    version::Kind,
};
use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// What `prepare` did.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The plan it carried out.
    pub(crate) plan: Plan,
    /// The crates whose version, changelog or fragments it changed.
    pub(crate) written: BTreeSet<String>,
}

/// Prepares the release `scope` asks for in the workspace at `root`, dating
/// the changelog sections `date`. Refuses a dirty tree, so the result is
/// exactly the release's changes.
pub(crate) fn prepare(root: &Path, scope: &Scope, date: &str) -> Result<Prepared, String> {
    let git = super::git::Git::new(root);
    git.require_clean("cargo xtask release prepare")?;
    let survey = Survey::take(root, scope)?;
    let written = apply(&survey, date)?;
    refresh_lockfile(root)?;
    Ok(Prepared {
        plan: survey.plan,
        written,
    })
}

/// Computes every file's new text first, so a problem leaves the tree as it
/// was, then writes them and consumes the fragments. Returns the crates it
/// wrote for.
fn apply(survey: &Survey, date: &str) -> Result<BTreeSet<String>, String> {
    let mut edits = Edits::default();
    bump_versions(survey, &mut edits)?;
    add_changelog_sections(survey, date, &mut edits)?;
    for (path, text) in &edits.files {
        fs::write(path, text).map_err(|e| format!("could not write {}: {e}", path.display()))?;
    }
    consume_fragments(survey)?;
    Ok(edits.crates)
}

/// New file contents not written yet, and the crates they are for.
#[derive(Debug, Default)]
struct Edits {
    files: BTreeMap<PathBuf, String>,
    crates: BTreeSet<String>,
}

impl Edits {
    /// The file as edited so far.
    fn read(&self, path: &Path) -> Result<Option<String>, String> {
        if let Some(text) = self.files.get(path) {
            return Ok(Some(text.clone()));
        }
        match fs::read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("could not read {}: {e}", path.display())),
        }
    }

    fn read_existing(&self, path: &Path) -> Result<String, String> {
        self.read(path)?
            .ok_or_else(|| format!("{} does not exist", path.display()))
    }
}

/// Each bumped crate's own version, and every requirement on it.
fn bump_versions(survey: &Survey, edits: &mut Edits) -> Result<(), String> {
    for step in survey.plan.steps.iter().filter(|s| s.bumps()) {
        let Some(next) = step.next else { continue };
        let krate = survey
            .workspace
            .find(&step.name)
            .ok_or_else(|| format!("{} is in the plan but not in the workspace", step.name))?;
        let text = manifest::set_package_version(&edits.read_existing(&krate.manifest)?, next)
            .map_err(|e| format!("{}: {e}", krate.manifest.display()))?;
        edits.files.insert(krate.manifest.clone(), text);
        edits.crates.insert(step.name.clone());
        for path in &survey.workspace.manifests {
            let (text, changed) =
                manifest::set_requirement(&edits.read_existing(path)?, &step.name, next)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            if changed > 0 {
                edits.files.insert(path.clone(), text);
            }
        }
    }
    Ok(())
}

/// A section in the `CHANGELOG.md` of every crate the plan releases.
fn add_changelog_sections(survey: &Survey, date: &str, edits: &mut Edits) -> Result<(), String> {
    for step in survey.plan.steps.iter().filter(|s| s.prepares()) {
        let Some(next) = step.next else { continue };
        let Some(krate) = survey.workspace.find(&step.name) else {
            continue;
        };
        let path = krate.dir.join("CHANGELOG.md");
        let existing = edits.read(&path)?;
        let last_release = match &step.history {
            History::Released { version, .. } => Some(*version),
            History::NeverReleased => None,
        };
        let mut entries = entries_for(step, &survey.fragments);
        let has_section = existing.as_deref().is_some_and(|text| {
            changelog::top_version(text).is_some_and(|v| v == next.to_string())
                || changelog::top_is_draft(text, last_release)
        });
        if entries.is_empty() && !has_section && step.history == History::NeverReleased {
            entries.note = Some("First release.".to_owned());
        }
        let text = changelog::add_release(
            existing.as_deref(),
            &step.name,
            next,
            date,
            &entries,
            last_release,
        );
        if existing.as_deref() != Some(text.as_str()) {
            edits.files.insert(path, text);
            edits.crates.insert(step.name.clone());
        }
        if !step.fragments.is_empty() {
            edits.crates.insert(step.name.clone());
        }
    }
    Ok(())
}

/// Removes the crates released now from the fragments they used.
fn consume_fragments(survey: &Survey) -> Result<(), String> {
    let releasing: Vec<&Step> = survey.plan.steps.iter().filter(|s| s.prepares()).collect();
    let released: BTreeSet<String> = releasing.iter().map(|s| s.name.clone()).collect();
    let used: BTreeSet<usize> = releasing
        .iter()
        .flat_map(|s| s.fragments.iter().copied())
        .collect();
    for fragment in used.iter().filter_map(|i| survey.fragments.get(*i)) {
        fragments::consume(fragment, &released)?;
    }
    Ok(())
}

/// The changelog entries of one crate's release.
fn entries_for(step: &Step, all: &[Fragment]) -> Entries {
    let mut entries = Entries::default();
    for fragment in step.fragments.iter().filter_map(|i| all.get(*i)) {
        let list = match fragment.kind {
            Kind::Breaking => &mut entries.breaking,
            Kind::Feature => &mut entries.features,
            Kind::Fix => &mut entries.fixes,
        };
        list.push(fragment.text.clone());
    }
    if step.history != History::NeverReleased {
        entries.dependencies = step
            .dependency_updates
            .iter()
            .map(|(name, version)| format!("`{name}` {version}"))
            .collect();
    }
    if step.reasons.contains(&Reason::UnrecordedChange)
        && let History::Released { tag, .. } = &step.history
    {
        entries.note = Some(format!(
            "No changelog fragment named this crate; see the commits since `{tag}`."
        ));
    }
    entries
}

/// Brings `Cargo.lock` in line with the new versions (`cargo metadata`
/// resolves without compiling). No lock file, nothing to do.
pub(crate) fn refresh_lockfile(root: &Path) -> Result<(), String> {
    if !root.join("Cargo.lock").exists() {
        return Ok(());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(root)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo metadata` could not update Cargo.lock ({status}); the manifests are written, \
             run `cargo metadata --format-version 1 > /dev/null` to see why"
        ))
    }
}
