//! Release commands against real git repositories and real `cargo metadata`,
//! in temporary copies: the workspace's own manifests, and a tiny workspace
//! with a lock file.

use super::{
    fragments,
    git::Git,
    plan::{History, Reason, Scope, Survey},
    prepare::prepare,
    version::Version,
    workspace::Workspace,
};
use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicUsize, Ordering},
};

/// A directory under the system's temporary directory, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "xtask-{label}-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const DATE: &str = "2026-02-03";

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn init_repository(dir: &Path) {
    git(dir, &["init", "--quiet"]);
    for (key, value) in [
        ("user.name", "Release Test"),
        ("user.email", "release-test@example.invalid"),
        ("commit.gpgsign", "false"),
        ("tag.gpgsign", "false"),
    ] {
        git(dir, &["config", key, value]);
    }
    commit_all(dir, "initial");
}

fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "--all"]);
    git(
        dir,
        &["commit", "--quiet", "--allow-empty", "--message", message],
    );
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

/// The workspace's manifests and changelogs with stub sources: enough for
/// `cargo metadata --no-deps`, and a faithful copy of what prepare edits.
fn copy_of_this_workspace(dir: &Path) {
    let real = crate::run::root();
    fs::copy(real.join("Cargo.toml"), dir.join("Cargo.toml")).unwrap();
    let mut members: Vec<PathBuf> = fs::read_dir(real.join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("Cargo.toml").exists())
        .collect();
    members.extend(["xtask", "tests", "demo"].map(|m| real.join(m)));
    for member in members {
        let relative = member.strip_prefix(&real).unwrap();
        let copy = dir.join(relative);
        write(&copy.join("Cargo.toml"), &read(&member.join("Cargo.toml")));
        if member.join("CHANGELOG.md").exists() {
            write(
                &copy.join("CHANGELOG.md"),
                &read(&member.join("CHANGELOG.md")),
            );
        }
        write(&copy.join("src/lib.rs"), "");
        write(&copy.join("src/main.rs"), "fn main() {}\n");
    }
    write(&dir.join(".gitignore"), "target/\n");
    init_repository(dir);
}

/// The first release as it is meant to go: prepare (dates the draft
/// changelog sections), commit, then the tags publish makes.
fn release_everything(dir: &Path) {
    prepare(dir, &Scope::Pending, "2026-01-01").unwrap();
    commit_all(dir, "Release 0.1.0");
    let workspace = Workspace::load(dir).unwrap();
    for krate in &workspace.crates {
        let tag = format!("{}-v{}", krate.name, krate.version);
        git(dir, &["tag", "--annotate", &tag, "--message", &tag]);
    }
}

fn version_of(dir: &Path, name: &str) -> String {
    Workspace::load(dir)
        .unwrap()
        .find(name)
        .unwrap()
        .version
        .to_string()
}

#[test]
fn this_workspace_plans_a_first_release_of_every_crate_in_dependency_order() {
    let dir = TempDir::new("release-first");
    copy_of_this_workspace(dir.path());
    let survey = Survey::take(dir.path(), &Scope::Pending).unwrap();
    let names: Vec<&str> = survey.plan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"identity-core"));
    assert_eq!(names.last(), Some(&"identity"));
    assert!(
        !names.contains(&"xtask")
            && !names.contains(&"identity-tests")
            && !names.contains(&"identity-demo")
    );
    for krate in &survey.workspace.crates {
        let at = names.iter().position(|n| *n == krate.name).unwrap();
        for dependency in &krate.dependencies {
            let dependency_at = names.iter().position(|n| n == dependency).unwrap();
            assert!(dependency_at < at, "{dependency} after {}", krate.name);
        }
    }
    for step in &survey.plan.steps {
        assert_eq!(step.history, History::NeverReleased, "{}", step.name);
        assert_eq!(step.next, Some(step.current), "{}", step.name);
        assert_eq!(step.reasons, [Reason::FirstRelease]);
    }
    assert!(survey.plan.render().contains("never released"));
}

#[test]
fn prepare_bumps_versions_and_requirements_writes_changelogs_and_consumes_fragments() {
    let dir = TempDir::new("release-prepare");
    let root = dir.path();
    copy_of_this_workspace(root);
    release_everything(root);
    write(&root.join(".changelog/README.md"), "Not a fragment.\n");
    write(
        &root.join(".changelog/msi-rename.md"),
        "crates: identity-msi\nkind: breaking\n\nRenamed `ManagedIdentityCredentialOptions::endpoint`.\n",
    );
    write(
        &root.join(".changelog/core-claims.md"),
        "crates: identity-core, identity-chain\nkind: feature\n\nClaims challenges reach the token\nrequest.\n",
    );
    // A change with no fragment.
    write(&root.join("crates/identity-azd/src/lib.rs"), "// changed\n");
    commit_all(root, "changes after 0.1.0");

    let emulator_before = read(&root.join("crates/identity-emulator/CHANGELOG.md"));
    let plan = prepare(root, &Scope::Pending, DATE).unwrap().plan;
    let next = |name: &str| plan.find(name).unwrap().next.map(|v| v.to_string());
    assert_eq!(next("identity-core").as_deref(), Some("0.1.1"));
    assert_eq!(next("identity-msi").as_deref(), Some("0.2.0"));
    assert_eq!(
        next("identity-default").as_deref(),
        Some("0.2.0"),
        "breaking below is breaking above"
    );
    assert_eq!(next("identity").as_deref(), Some("0.2.0"));
    assert_eq!(next("identity-chain").as_deref(), Some("0.1.1"));
    assert_eq!(next("identity-azd").as_deref(), Some("0.1.1"));
    assert_eq!(
        next("identity-emulator"),
        None,
        "no internal dependency, no change"
    );

    // Manifests: own versions, and the workspace's requirements on them.
    assert_eq!(version_of(root, "identity-msi"), "0.2.0");
    assert_eq!(version_of(root, "identity-core"), "0.1.1");
    assert_eq!(version_of(root, "identity-emulator"), "0.1.0");
    let root_manifest = read(&root.join("Cargo.toml"));
    assert!(
        root_manifest
            .contains("identity-core = { path = \"crates/identity-core\", version = \"0.1.1\" }")
    );
    assert!(root_manifest.contains(
        "identity-msi = { path = \"crates/identity-msi\", version = \"0.2.0\", default-features = false }"
    ));
    assert!(root_manifest.contains(
        "identity-emulator = { path = \"crates/identity-emulator\", version = \"0.1.0\" }"
    ));

    // Changelogs.
    let msi = read(&root.join("crates/identity-msi/CHANGELOG.md"));
    let section = "## 0.2.0 (2026-02-03)\n\n### Breaking changes\n\n\
                   - Renamed `ManagedIdentityCredentialOptions::endpoint`.\n\n\
                   ### Dependencies\n\n- `identity-core` 0.1.1\n";
    assert!(msi.contains(section), "{msi}");
    assert!(
        msi.contains("- `identity-core` 0.1.1\n\n## 0.1.0 (2026-01-01)\n\nFirst release.\n"),
        "{msi}"
    );
    let chain = read(&root.join("crates/identity-chain/CHANGELOG.md"));
    assert!(
        chain.contains("### Features\n\n- Claims challenges reach the token\n  request.\n"),
        "{chain}"
    );
    let azd = read(&root.join("crates/identity-azd/CHANGELOG.md"));
    assert!(
        azd.contains(
            "No changelog fragment named this crate; see the commits since `identity-azd-v0.1.0`."
        ),
        "{azd}"
    );
    assert_eq!(
        read(&root.join("crates/identity-emulator/CHANGELOG.md")),
        emulator_before,
        "a crate not released keeps its changelog"
    );

    // Fragments: used ones gone, the README kept.
    assert!(!root.join(".changelog/msi-rename.md").exists());
    assert!(!root.join(".changelog/core-claims.md").exists());
    assert!(root.join(".changelog/README.md").exists());

    // After the release commit, every prepared crate waits for publish.
    commit_all(root, "Release");
    let survey = Survey::take(root, &Scope::Pending).unwrap();
    let msi = survey.plan.find("identity-msi").unwrap();
    assert_eq!(msi.reasons, [Reason::AwaitingPublish]);
    assert_eq!(msi.next, Some(Version::new(0, 2, 0)));
    assert!(!msi.prepares());
    let tags = survey.plan.tags();
    assert!(tags.contains(&"identity-msi-v0.2.0".to_owned()));
    assert!(!tags.iter().any(|t| t.starts_with("identity-emulator")));

    // Preparing again finds nothing new to write.
    let again = prepare(root, &Scope::Pending, "2026-02-04").unwrap();
    assert!(again.written.is_empty(), "{:?}", again.written);
    assert_eq!(git(root, &["status", "--porcelain"]), "");
}

#[test]
fn prepare_refuses_a_dirty_tree_and_changes_nothing() {
    let dir = TempDir::new("release-dirty");
    let root = dir.path();
    copy_of_this_workspace(root);
    release_everything(root);
    write(
        &root.join(".changelog/fix.md"),
        "crates: identity-core\nkind: fix\n\nA fix.\n",
    );
    let error = prepare(root, &Scope::Pending, DATE).unwrap_err();
    assert!(
        error.contains("clean working tree") && error.contains(".changelog/"),
        "{error}"
    );
    assert!(root.join(".changelog/fix.md").exists());
    assert_eq!(version_of(root, "identity-core"), "0.1.0");
}

#[test]
fn prepare_of_named_crates_moves_only_them_and_their_dependents() {
    let dir = TempDir::new("release-named");
    let root = dir.path();
    copy_of_this_workspace(root);
    release_everything(root);
    write(
        &root.join(".changelog/shared.md"),
        "crates: identity-chain, identity-msi\nkind: fix\n\nShared fix.\n",
    );
    commit_all(root, "a shared fragment");
    let scope = Scope::Named {
        crates: BTreeSet::from(["identity-chain".to_owned()]),
        bump: Some(super::version::Level::Minor),
    };
    let plan = prepare(root, &scope, DATE).unwrap().plan;
    let moved: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| s.next.map(|v| format!("{} {v}", s.name)))
        .collect();
    // identity-chain's dependents: the default credential and the umbrella.
    assert_eq!(
        moved,
        [
            "identity-chain 0.2.0",
            "identity-default 0.2.0",
            "identity 0.2.0"
        ]
    );
    assert_eq!(version_of(root, "identity-msi"), "0.1.0");
    // The fragment stays for identity-msi.
    assert_eq!(
        read(&root.join(".changelog/shared.md")),
        "crates: identity-msi\nkind: fix\n\nShared fix.\n"
    );
    let chain = read(&root.join("crates/identity-chain/CHANGELOG.md"));
    assert!(
        chain.contains("## 0.2.0 (2026-02-03)\n\n### Fixes\n\n- Shared fix.\n"),
        "{chain}"
    );
}

#[test]
fn first_release_prepare_dates_the_draft_sections_only() {
    let dir = TempDir::new("release-first-prepare");
    let root = dir.path();
    copy_of_this_workspace(root);
    let first = prepare(root, &Scope::Pending, DATE).unwrap();
    assert_eq!(
        first.written.len(),
        first.plan.steps.len(),
        "every changelog dated"
    );
    let core = read(&root.join("crates/identity-core/CHANGELOG.md"));
    assert!(core.contains("\n## 0.1.0 (2026-02-03)\n"), "{core}");
    assert!(!core.contains("unreleased"), "{core}");
    assert_eq!(version_of(root, "identity-core"), "0.1.0");
    assert_eq!(
        read(&root.join("Cargo.toml")),
        read(&crate::run::root().join("Cargo.toml"))
    );
    commit_all(root, "Release 0.1.0");
    let again = prepare(root, &Scope::Pending, "2026-02-04").unwrap();
    assert!(again.written.is_empty(), "{:?}", again.written);
}

/// A workspace of two crates with a crate-local requirement and a lock file,
/// to check the lock follows the new versions.
#[test]
fn prepare_updates_crate_local_requirements_and_the_lock_file() {
    let dir = TempDir::new("release-lock");
    let root = dir.path();
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"a\", \"b\"]\n",
    );
    write(
        &root.join("a/Cargo.toml"),
        "[package]\nname = \"a\"\nversion = \"1.0.0\"\nedition = \"2024\"\n",
    );
    write(
        &root.join("b/Cargo.toml"),
        "[package]\nname = \"b\"\nversion = \"0.3.0\"\nedition = \"2024\"\n\n\
         [dependencies]\na = { path = \"../a\", version = \"1.0.0\" }\n",
    );
    write(&root.join("a/src/lib.rs"), "");
    write(&root.join("b/src/lib.rs"), "");
    write(&root.join(".gitignore"), "target/\n");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let generated = Command::new(cargo)
        .args(["generate-lockfile", "--offline"])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(generated.success());
    init_repository(root);
    git(root, &["tag", "a-v1.0.0"]);
    git(root, &["tag", "b-v0.3.0"]);
    write(
        &root.join(".changelog/feature.md"),
        "crates: a\nkind: feature\n\nA feature.\n",
    );
    commit_all(root, "a feature");

    prepare(root, &Scope::Pending, DATE).unwrap();
    assert!(read(&root.join("a/Cargo.toml")).contains("version = \"1.1.0\""));
    assert!(read(&root.join("b/Cargo.toml")).contains("version = \"0.3.1\""));
    assert!(
        read(&root.join("b/Cargo.toml")).contains("a = { path = \"../a\", version = \"1.1.0\" }")
    );
    let lock = read(&root.join("Cargo.lock"));
    assert!(lock.contains("name = \"a\"\nversion = \"1.1.0\""), "{lock}");
    assert!(lock.contains("name = \"b\"\nversion = \"0.3.1\""), "{lock}");
    let b = read(&root.join("b/CHANGELOG.md"));
    assert!(b.starts_with("# Changelog\n"), "{b}");
    assert!(
        b.contains("## 0.3.1 (2026-02-03)\n\n### Dependencies\n\n- `a` 1.1.0\n"),
        "{b}"
    );
}

#[test]
fn git_reads_the_newest_release_tag_and_changes_since_it() {
    let dir = TempDir::new("release-git");
    let root = dir.path();
    write(&root.join("core/file"), "1\n");
    write(&root.join("other/file"), "1\n");
    init_repository(root);
    for tag in [
        "core-v0.1.0",
        "core-v0.10.0",
        "core-v0.9.0",
        "core-v2-v5.0.0",
        "core-extra-v9.0.0",
    ] {
        git(root, &["tag", tag]);
    }
    let repository = Git::new(root);
    assert_eq!(
        repository.last_release("core").unwrap(),
        Some((Version::new(0, 10, 0), "core-v0.10.0".to_owned()))
    );
    assert_eq!(repository.last_release("none").unwrap(), None);
    assert!(
        !repository
            .changed_since("core-v0.10.0", &root.join("core"))
            .unwrap()
    );
    write(&root.join("other/file"), "2\n");
    commit_all(root, "other");
    assert!(
        !repository
            .changed_since("core-v0.10.0", &root.join("core"))
            .unwrap()
    );
    write(&root.join("core/file"), "2\n");
    commit_all(root, "core");
    assert!(
        repository
            .changed_since("core-v0.10.0", &root.join("core"))
            .unwrap()
    );
    assert!(
        repository
            .changed_since("no-such-tag", &root.join("core"))
            .is_err()
    );

    assert!(!repository.tag_exists("core-v0.11.0").unwrap());
    repository
        .create_tag("core-v0.11.0", "core 0.11.0")
        .unwrap();
    assert!(repository.tag_exists("core-v0.11.0").unwrap());
    assert_eq!(
        git(root, &["cat-file", "-t", "core-v0.11.0"]).trim(),
        "tag",
        "annotated"
    );

    repository.require_clean("test").unwrap();
    write(&root.join("new"), "");
    let error = repository.require_clean("test").unwrap_err();
    assert!(
        error.contains("?? new") && error.contains("commit or stash"),
        "{error}"
    );
}

#[test]
fn fragments_name_only_publishable_crates() {
    let dir = TempDir::new("release-fragment-crates");
    let root = dir.path();
    copy_of_this_workspace(root);
    write(
        &root.join(".changelog/x.md"),
        "crates: xtask\nkind: fix\n\nNot published.\n",
    );
    let error = Survey::take(root, &Scope::Pending).unwrap_err();
    assert!(
        error.contains("`xtask` is not a publishable crate"),
        "{error}"
    );
    let named = Scope::Named {
        crates: BTreeSet::from(["identity-nope".to_owned()]),
        bump: None,
    };
    fs::remove_file(root.join(".changelog/x.md")).unwrap();
    let error = Survey::take(root, &named).unwrap_err();
    assert!(error.contains("`identity-nope`"), "{error}");
    assert!(fragments::load(root, &[]).unwrap().is_empty());
}
