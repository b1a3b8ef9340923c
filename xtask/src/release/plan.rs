//! The release plan: for every publishable crate, in dependency order, where
//! it stands against its last release tag and the version it would get.
//!
//! Rules (docs/RELEASING.md explains them to people):
//! - a crate never tagged is released as its current version;
//! - a released crate with fragments takes the heaviest fragment's bump; one
//!   that changed with no fragment takes a patch;
//! - a crate whose dependency gets a new version has its requirement raised,
//!   so it is released too: a patch when the new version is compatible with
//!   the old requirement, a breaking bump when it is not (our crates expose
//!   their dependencies' types, so a break below is a break above);
//! - `--bump` sets the bump of the crates it names;
//! - a version already above the last tag (prepared, not yet published)
//!   stays, unless the rules above ask for more.

use super::{
    fragments::{self, Fragment},
    git::{Git, tag_name},
    version::{Kind, Level, Version},
    workspace::{Crate, Workspace},
};
use std::{collections::BTreeSet, fmt::Write as _, path::Path};

/// A crate's release history, from its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum History {
    NeverReleased,
    Released {
        version: Version,
        tag: String,
        /// Whether its directory differs between the tag and HEAD.
        changed: bool,
    },
}

/// Which crates start a release of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every crate with fragments or changes, and every crate never released.
    Pending,
    /// Only these, each released even with nothing pending, with this bump
    /// when given.
    Named {
        crates: BTreeSet<String>,
        bump: Option<Level>,
    },
}

impl Scope {
    fn names(&self, name: &str) -> bool {
        match self {
            Self::Pending => false,
            Self::Named { crates, .. } => crates.contains(name),
        }
    }

    fn covers(&self, name: &str) -> bool {
        matches!(self, Self::Pending) || self.names(name)
    }
}

/// Why a crate is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reason {
    FirstRelease,
    /// Its version is above its last tag already.
    AwaitingPublish,
    Fragments {
        count: usize,
        heaviest: Kind,
    },
    /// Changed since its tag, and no fragment says how.
    UnrecordedChange,
    Dependency {
        name: String,
        version: Version,
        breaking: bool,
    },
    Named,
    Bump(Level),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::FirstRelease => f.write_str("first release"),
            Self::AwaitingPublish => f.write_str("prepared, not yet published"),
            Self::Fragments { count: 1, heaviest } => write!(f, "1 fragment ({heaviest})"),
            Self::Fragments { count, heaviest } => {
                write!(f, "{count} fragments (heaviest: {heaviest})")
            }
            Self::UnrecordedChange => f.write_str("changed, no fragment: patch"),
            Self::Dependency {
                name,
                version,
                breaking,
            } => {
                let how = if *breaking { "breaking" } else { "compatible" };
                write!(f, "needs {name} {version} ({how})")
            }
            Self::Named => f.write_str("named: patch"),
            Self::Bump(level) => write!(f, "--bump {level}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) name: String,
    pub(crate) current: Version,
    pub(crate) history: History,
    /// The version it would be released as; `None`: not released.
    pub(crate) next: Option<Version>,
    pub(crate) reasons: Vec<Reason>,
    /// Indices of the fragments its changelog takes (only when released).
    pub(crate) fragments: Vec<usize>,
    /// Our crates it depends on that get a new version, so a new requirement.
    pub(crate) dependency_updates: Vec<(String, Version)>,
}

impl Step {
    /// Whether the manifest's version changes.
    pub(crate) fn bumps(&self) -> bool {
        self.next.is_some_and(|next| next != self.current)
    }

    /// Whether `prepare` has anything to write for this crate.
    pub(crate) fn prepares(&self) -> bool {
        self.next.is_some()
            && (self.bumps()
                || !self.fragments.is_empty()
                || !self.dependency_updates.is_empty()
                || self.history == History::NeverReleased)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) steps: Vec<Step>,
}

/// Everything a release decision reads: the workspace, the fragments, the
/// tags, and the plan made from them.
#[derive(Debug, Clone)]
pub(crate) struct Survey {
    pub(crate) workspace: Workspace,
    pub(crate) fragments: Vec<Fragment>,
    pub(crate) plan: Plan,
}

impl Survey {
    pub(crate) fn take(root: &Path, scope: &Scope) -> Result<Self, String> {
        let workspace = Workspace::load(root)?;
        let names = workspace.names();
        if let Scope::Named { crates, .. } = scope
            && let Some(unknown) = crates.iter().find(|c| !names.contains(&c.as_str()))
        {
            return Err(format!(
                "`{unknown}` is not a publishable crate of this workspace (publishable: {})",
                names.join(", ")
            ));
        }
        let fragments = fragments::load(&workspace.root, &names)?;
        let histories = histories(&Git::new(&workspace.root), &workspace.crates)?;
        let plan = compute(&workspace.crates, &histories, &fragments, scope)?;
        Ok(Self {
            workspace,
            fragments,
            plan,
        })
    }
}

/// Reads each crate's history from its tags.
pub(crate) fn histories(git: &Git, crates: &[Crate]) -> Result<Vec<History>, String> {
    crates
        .iter()
        .map(|krate| {
            Ok(match git.last_release(&krate.name)? {
                None => History::NeverReleased,
                Some((version, tag)) => History::Released {
                    changed: git.changed_since(&tag, &krate.dir)?,
                    version,
                    tag,
                },
            })
        })
        .collect()
}

/// Plans `crates` (in dependency order, `histories` alongside).
pub(crate) fn compute(
    crates: &[Crate],
    histories: &[History],
    fragments: &[Fragment],
    scope: &Scope,
) -> Result<Plan, String> {
    let mut steps: Vec<Step> = Vec::with_capacity(crates.len());
    for (krate, history) in crates.iter().zip(histories) {
        let step = plan_one(krate, history, fragments, scope, &steps)?;
        steps.push(step);
    }
    Ok(Plan { steps })
}

fn plan_one(
    krate: &Crate,
    history: &History,
    fragments: &[Fragment],
    scope: &Scope,
    earlier: &[Step],
) -> Result<Step, String> {
    let own_fragments: Vec<usize> = fragments
        .iter()
        .enumerate()
        .filter(|(_, f)| f.names(&krate.name))
        .map(|(i, _)| i)
        .collect();
    let heaviest = own_fragments
        .iter()
        .filter_map(|i| fragments.get(*i))
        .map(|f| f.kind)
        .max();
    let bump = match scope {
        Scope::Named { bump, .. } if scope.names(&krate.name) => *bump,
        _ => None,
    };
    let mut step = Step {
        name: krate.name.clone(),
        current: krate.version,
        history: history.clone(),
        next: None,
        reasons: Vec::new(),
        fragments: Vec::new(),
        dependency_updates: Vec::new(),
    };

    let History::Released {
        version: last,
        tag,
        changed,
        ..
    } = history
    else {
        // Never released: nothing on the registry to bump from.
        if scope.covers(&krate.name) {
            step.next = Some(bump.map_or(krate.version, |level| krate.version.bumped(level)));
            step.reasons.push(Reason::FirstRelease);
            step.reasons.extend(bump.map(Reason::Bump));
            step.fragments = own_fragments;
        }
        return Ok(step);
    };
    let last = *last;
    if krate.version < last {
        return Err(format!(
            "{} is at {} but its tag {tag} is newer; a version never goes back, so set the \
             manifest to {last} or above",
            krate.name, krate.version
        ));
    }
    let awaiting_publish = krate.version > last;

    let mut kind: Option<Kind> = None;
    for dependency in &krate.dependencies {
        let Some(dep) = earlier.iter().find(|s| &s.name == dependency) else {
            continue;
        };
        if let Some(new) = dep.next.filter(|_| dep.bumps()) {
            let breaking = !dep.current.caret_accepts(new);
            kind = kind.max(Some(if breaking { Kind::Breaking } else { Kind::Fix }));
            step.dependency_updates.push((dependency.clone(), new));
            step.reasons.push(Reason::Dependency {
                name: dependency.clone(),
                version: new,
                breaking,
            });
        }
    }
    let unrecorded = *changed && !awaiting_publish && own_fragments.is_empty();
    let starts_itself = scope.names(&krate.name)
        || (scope.covers(&krate.name) && (heaviest.is_some() || unrecorded));
    let released = starts_itself || awaiting_publish || kind.is_some();
    if !released {
        return Ok(step);
    }

    if awaiting_publish {
        step.reasons.insert(0, Reason::AwaitingPublish);
    }
    if let Some(heaviest) = heaviest {
        kind = kind.max(Some(heaviest));
        step.reasons.push(Reason::Fragments {
            count: own_fragments.len(),
            heaviest,
        });
    } else if unrecorded {
        kind = kind.max(Some(Kind::Fix));
        step.reasons.push(Reason::UnrecordedChange);
    } else if scope.names(&krate.name) && kind.is_none() && bump.is_none() && !awaiting_publish {
        kind = Some(Kind::Fix);
        step.reasons.push(Reason::Named);
    }
    let level = match bump {
        Some(level) => {
            step.reasons.push(Reason::Bump(level));
            Some(level)
        }
        None => kind.map(|k| k.level_from(last)),
    };
    let bumped = level.map(|level| last.bumped(level));
    let prepared = awaiting_publish.then_some(krate.version);
    step.next = bumped.max(prepared);
    step.fragments = own_fragments;
    Ok(step)
}

impl Plan {
    #[cfg(test)]
    pub(crate) fn find(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// The table `cargo xtask release plan` prints.
    pub(crate) fn render(&self) -> String {
        let rows: Vec<[String; 5]> = self
            .steps
            .iter()
            .map(|step| {
                let changed = match &step.history {
                    History::NeverReleased => "never released".to_owned(),
                    History::Released {
                        tag, changed: true, ..
                    } => format!("yes, since {tag}"),
                    History::Released {
                        tag,
                        changed: false,
                        ..
                    } => format!("no, since {tag}"),
                };
                let next = step.next.map_or_else(|| "-".to_owned(), |v| v.to_string());
                let why = if step.reasons.is_empty() {
                    "nothing to release".to_owned()
                } else {
                    step.reasons
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                [
                    step.name.clone(),
                    step.current.to_string(),
                    changed,
                    next,
                    why,
                ]
            })
            .collect();
        let header = ["crate", "version", "changed", "next", "why"].map(str::to_owned);
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.len());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(widths) {
                let _ = write!(line, "{cell:width$}  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Tags `publish` would make: `<crate>-v<version>` for each release.
    pub(crate) fn tags(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|s| s.next.map(|v| tag_name(&s.name, v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn krate(name: &str, version: &str, dependencies: &[&str]) -> Crate {
        Crate {
            name: name.to_owned(),
            version: version.parse().unwrap(),
            manifest: PathBuf::from(format!("/w/{name}/Cargo.toml")),
            dir: PathBuf::from(format!("/w/{name}")),
            dependencies: dependencies.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    fn released(version: &str, changed: bool) -> History {
        History::Released {
            version: version.parse().unwrap(),
            tag: format!("x-v{version}"),
            changed,
        }
    }

    fn fragment(crates: &[&str], kind: Kind) -> Fragment {
        Fragment {
            path: PathBuf::from("/w/.changelog/f.md"),
            crates: crates.iter().map(|c| (*c).to_owned()).collect(),
            kind,
            text: "Text.".to_owned(),
        }
    }

    /// core <- msi <- umbrella, core <- chain <- umbrella.
    fn crates(version: &str) -> Vec<Crate> {
        vec![
            krate("core", version, &[]),
            krate("chain", version, &["core"]),
            krate("msi", version, &["core"]),
            krate("umbrella", version, &["chain", "msi", "core"]),
        ]
    }

    fn next_versions(plan: &Plan) -> Vec<String> {
        plan.steps
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s.name,
                    s.next.map_or("-".to_owned(), |v| v.to_string())
                )
            })
            .collect()
    }

    #[test]
    fn never_released_crates_go_out_as_they_are() {
        let plan = compute(
            &crates("0.1.0"),
            &vec![History::NeverReleased; 4],
            &[],
            &Scope::Pending,
        )
        .unwrap();
        assert_eq!(
            next_versions(&plan),
            ["core 0.1.0", "chain 0.1.0", "msi 0.1.0", "umbrella 0.1.0"]
        );
        assert!(
            plan.steps
                .iter()
                .all(|s| s.reasons == [Reason::FirstRelease] && !s.bumps())
        );
        let table = plan.render();
        assert!(
            table.starts_with("crate     version  changed         next   why\n"),
            "{table}"
        );
        assert!(
            table.contains("\ncore      0.1.0    never released  0.1.0  first release\n"),
            "{table}"
        );
    }

    #[test]
    fn unchanged_released_crates_stay() {
        let histories = vec![released("0.1.0", false); 4];
        let plan = compute(&crates("0.1.0"), &histories, &[], &Scope::Pending).unwrap();
        assert_eq!(
            next_versions(&plan),
            ["core -", "chain -", "msi -", "umbrella -"]
        );
        assert!(plan.steps.iter().all(|s| !s.prepares()));
        assert!(plan.render().contains("nothing to release"));
    }

    #[test]
    fn a_compatible_fix_in_core_patches_its_dependents() {
        let histories = vec![released("0.1.0", false); 4];
        let fragments = [
            fragment(&["core"], Kind::Feature),
            fragment(&["core"], Kind::Fix),
        ];
        let plan = compute(&crates("0.1.0"), &histories, &fragments, &Scope::Pending).unwrap();
        assert_eq!(
            next_versions(&plan),
            ["core 0.1.1", "chain 0.1.1", "msi 0.1.1", "umbrella 0.1.1"]
        );
        let umbrella = plan.find("umbrella").unwrap();
        assert_eq!(
            umbrella.dependency_updates,
            [
                ("chain".to_owned(), Version::new(0, 1, 1)),
                ("msi".to_owned(), Version::new(0, 1, 1)),
                ("core".to_owned(), Version::new(0, 1, 1))
            ]
        );
        assert_eq!(plan.find("core").unwrap().fragments, [0, 1]);
        assert_eq!(
            plan.find("core").unwrap().reasons,
            [Reason::Fragments {
                count: 2,
                heaviest: Kind::Feature
            }]
        );
    }

    #[test]
    fn a_breaking_change_in_core_breaks_its_dependents() {
        let histories = vec![released("0.1.3", false); 4];
        let fragments = [
            fragment(&["core"], Kind::Breaking),
            fragment(&["msi"], Kind::Fix),
        ];
        let plan = compute(&crates("0.1.3"), &histories, &fragments, &Scope::Pending).unwrap();
        assert_eq!(
            next_versions(&plan),
            ["core 0.2.0", "chain 0.2.0", "msi 0.2.0", "umbrella 0.2.0"]
        );
        let msi = plan.find("msi").unwrap();
        assert!(msi.reasons.contains(&Reason::Dependency {
            name: "core".into(),
            version: Version::new(0, 2, 0),
            breaking: true
        }));
    }

    #[test]
    fn from_one_on_features_bump_minor_and_dependents_patch() {
        let histories = vec![released("1.2.3", false); 4];
        let fragments = [fragment(&["msi"], Kind::Feature)];
        let plan = compute(&crates("1.2.3"), &histories, &fragments, &Scope::Pending).unwrap();
        assert_eq!(
            next_versions(&plan),
            ["core -", "chain -", "msi 1.3.0", "umbrella 1.2.4"]
        );
    }

    #[test]
    fn a_change_without_a_fragment_is_a_patch_and_says_so() {
        let histories = vec![
            released("0.1.0", true),
            released("0.1.0", false),
            released("0.1.0", false),
            released("0.1.0", false),
        ];
        let plan = compute(&crates("0.1.0"), &histories, &[], &Scope::Pending).unwrap();
        assert_eq!(
            plan.find("core").unwrap().reasons,
            [Reason::UnrecordedChange]
        );
        assert_eq!(plan.find("core").unwrap().next, Some(Version::new(0, 1, 1)));
    }

    #[test]
    fn named_crates_start_releases_others_only_follow_their_dependencies() {
        let histories = vec![
            released("0.1.0", false),
            released("0.1.0", true),
            released("0.1.0", false),
            released("0.1.0", false),
        ];
        let fragments = [fragment(&["chain"], Kind::Breaking)];
        let scope = Scope::Named {
            crates: BTreeSet::from(["msi".to_owned()]),
            bump: None,
        };
        let plan = compute(&crates("0.1.0"), &histories, &fragments, &scope).unwrap();
        // chain has a breaking fragment but is not named, and nothing below it moves.
        assert_eq!(
            next_versions(&plan),
            ["core -", "chain -", "msi 0.1.1", "umbrella 0.1.1"]
        );
        assert_eq!(plan.find("msi").unwrap().reasons, [Reason::Named]);
    }

    #[test]
    fn a_crate_pulled_in_takes_its_own_fragments_too() {
        let histories = vec![released("0.1.0", false); 4];
        let fragments = [fragment(&["umbrella"], Kind::Breaking)];
        let scope = Scope::Named {
            crates: BTreeSet::from(["msi".to_owned()]),
            bump: None,
        };
        let plan = compute(&crates("0.1.0"), &histories, &fragments, &scope).unwrap();
        let umbrella = plan.find("umbrella").unwrap();
        assert_eq!(umbrella.next, Some(Version::new(0, 2, 0)));
        assert_eq!(umbrella.fragments, [0]);
    }

    #[test]
    fn bump_overrides_the_computed_level_of_named_crates() {
        let histories = vec![released("0.1.0", false); 4];
        let fragments = [fragment(&["core"], Kind::Breaking)];
        let scope = Scope::Named {
            crates: BTreeSet::from(["core".to_owned()]),
            bump: Some(Level::Patch),
        };
        let plan = compute(&crates("0.1.0"), &histories, &fragments, &scope).unwrap();
        assert_eq!(
            next_versions(&plan),
            ["core 0.1.1", "chain 0.1.1", "msi 0.1.1", "umbrella 0.1.1"]
        );
        assert!(
            plan.find("core")
                .unwrap()
                .reasons
                .contains(&Reason::Bump(Level::Patch))
        );

        let major = Scope::Named {
            crates: BTreeSet::from(["msi".to_owned()]),
            bump: Some(Level::Major),
        };
        let plan = compute(&crates("0.1.0"), &histories, &[], &major).unwrap();
        assert_eq!(
            next_versions(&plan),
            ["core -", "chain -", "msi 1.0.0", "umbrella 0.2.0"]
        );
    }

    #[test]
    fn a_prepared_version_waits_for_publish_and_is_not_bumped_twice() {
        let histories = vec![
            released("0.1.0", true),
            released("0.1.0", true),
            released("0.1.0", true),
            released("0.1.0", true),
        ];
        let plan = compute(&crates("0.1.1"), &histories, &[], &Scope::Pending).unwrap();
        assert_eq!(
            next_versions(&plan),
            ["core 0.1.1", "chain 0.1.1", "msi 0.1.1", "umbrella 0.1.1"]
        );
        assert!(
            plan.steps
                .iter()
                .all(|s| s.reasons == [Reason::AwaitingPublish] && !s.prepares())
        );

        // A breaking fragment arriving after prepare raises it further.
        let fragments = [fragment(&["core"], Kind::Breaking)];
        let plan = compute(&crates("0.1.1"), &histories, &fragments, &Scope::Pending).unwrap();
        assert_eq!(
            next_versions(&plan),
            ["core 0.2.0", "chain 0.2.0", "msi 0.2.0", "umbrella 0.2.0"]
        );
    }

    #[test]
    fn a_version_below_its_tag_is_an_error() {
        let error = compute(
            &[krate("core", "0.1.0", &[])],
            &[released("0.2.0", false)],
            &[],
            &Scope::Pending,
        )
        .unwrap_err();
        assert!(error.contains("never goes back"), "{error}");
    }

    #[test]
    fn first_releases_follow_the_scope_and_the_bump() {
        let scope = Scope::Named {
            crates: BTreeSet::from(["core".to_owned()]),
            bump: Some(Level::Minor),
        };
        let plan = compute(
            &crates("0.1.0"),
            &vec![History::NeverReleased; 4],
            &[],
            &scope,
        )
        .unwrap();
        assert_eq!(
            next_versions(&plan),
            ["core 0.2.0", "chain -", "msi -", "umbrella -"]
        );
        assert_eq!(plan.tags(), ["core-v0.2.0"]);
    }
}
