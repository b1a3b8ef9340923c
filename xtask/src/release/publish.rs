//! `cargo xtask release publish`: uploads every crate whose version is not on
//! the registry yet, dependencies first, waiting for each to show in the
//! index before its dependents, and tags each release `<crate>-v<version>`.
//!
//! The registry, cargo, git and the clock are behind [`Registry`] and
//! [`Effects`], so tests run the whole sequence without a network.

use super::{fragments::Fragment, git::tag_name, version::Version};
use std::time::Duration;

/// Answers whether a version of a crate is on the registry (yanked or not:
/// either way it cannot be uploaded again).
pub(crate) trait Registry {
    fn has_version(&self, name: &str, version: Version) -> Result<bool, String>;
}

/// What publishing does to the world.
pub(crate) trait Effects {
    fn publish(&mut self, name: &str, version: Version) -> Result<(), String>;
    fn tag_exists(&self, tag: &str) -> Result<bool, String>;
    /// Tags HEAD.
    fn create_tag(&mut self, tag: &str, message: &str) -> Result<(), String>;
    fn sleep(&mut self, duration: Duration);
}

/// How long to wait for an upload to appear in the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wait {
    pub(crate) poll: Duration,
    pub(crate) timeout: Duration,
}

impl Wait {
    /// cargo itself waits up to a minute after an upload; this covers a
    /// slower index.
    pub(crate) const DEFAULT: Self = Self {
        poll: Duration::from_secs(10),
        timeout: Duration::from_secs(300),
    };
}

/// What publish does with one crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Publish {
        name: String,
        version: Version,
    },
    /// Already on the registry; tag it if the tag is missing (an interrupted
    /// run that uploaded but did not tag).
    Skip {
        name: String,
        version: Version,
        tagged: bool,
    },
}

/// Decides, before anything is uploaded, what happens to each crate (in
/// dependency order), and refuses when a release is not ready: a fragment
/// still names a crate about to go out (its changelog lacks the entry), its
/// `CHANGELOG.md` (read by `changelog`) has no dated section for the version
/// (it was never prepared), or its tag already exists (it would not mark what
/// is uploaded).
pub(crate) fn preflight(
    crates: &[(String, Version)],
    fragments: &[Fragment],
    changelog: &dyn Fn(&str) -> Option<String>,
    registry: &dyn Registry,
    effects: &dyn Effects,
) -> Result<Vec<Action>, String> {
    let mut actions = Vec::new();
    for (name, version) in crates {
        let tag = tag_name(name, *version);
        if registry.has_version(name, *version)? {
            actions.push(Action::Skip {
                name: name.clone(),
                version: *version,
                tagged: effects.tag_exists(&tag)?,
            });
            continue;
        }
        if let Some(fragment) = fragments.iter().find(|f| f.names(name)) {
            return Err(format!(
                "{name} {version} is not on crates.io yet, but .changelog/{} still names it: \
                 run `cargo xtask release prepare`, review and commit, then publish",
                fragment.file_name()
            ));
        }
        if !changelog(name).is_some_and(|text| prepared(&text, *version)) {
            return Err(format!(
                "{name} {version} is not on crates.io yet, and its CHANGELOG.md has no dated \
                 `## {version} (<date>)` section on top: it was not prepared. Run `cargo xtask \
                 release prepare` (with --bump or the crate's name if it has no fragment), \
                 review and commit, then publish"
            ));
        }
        if effects.tag_exists(&tag)? {
            return Err(format!(
                "{name} {version} is not on crates.io, yet the tag {tag} exists; if it is stale \
                 (say, from a failed attempt), delete it with `git tag -d {tag}` and run again"
            ));
        }
        actions.push(Action::Publish {
            name: name.clone(),
            version: *version,
        });
    }
    Ok(actions)
}

/// Whether `changelog`'s top section is the dated one `release prepare`
/// writes for `version`, not a draft.
fn prepared(changelog: &str, version: Version) -> bool {
    let top = changelog.lines().find(|line| line.starts_with("## "));
    top.is_some_and(|line| !line.contains("(unreleased)"))
        && super::changelog::top_version(changelog) == Some(version.to_string().as_str())
}

/// Carries out `actions` in order. Returns the tags made.
pub(crate) fn publish(
    actions: &[Action],
    registry: &dyn Registry,
    effects: &mut dyn Effects,
    wait: Wait,
) -> Result<Vec<String>, String> {
    let mut tags = Vec::new();
    for action in actions {
        match action {
            Action::Skip { tagged: true, .. } => {}
            Action::Skip {
                name,
                version,
                tagged: false,
            } => {
                let tag = tag_name(name, *version);
                effects.create_tag(&tag, &format!("{name} {version}"))?;
                tags.push(tag);
            }
            Action::Publish { name, version } => {
                effects.publish(name, *version)?;
                wait_for(name, *version, registry, effects, wait)?;
                let tag = tag_name(name, *version);
                effects.create_tag(&tag, &format!("{name} {version}"))?;
                tags.push(tag);
            }
        }
    }
    Ok(tags)
}

/// Polls until `version` shows in the index, so dependents resolve it.
fn wait_for(
    name: &str,
    version: Version,
    registry: &dyn Registry,
    effects: &mut dyn Effects,
    wait: Wait,
) -> Result<(), String> {
    let mut waited = Duration::ZERO;
    loop {
        if registry.has_version(name, version)? {
            return Ok(());
        }
        if waited >= wait.timeout {
            return Err(format!(
                "{name} {version} was uploaded but is not in the crates.io index after {} s; \
                 once it shows, run `cargo xtask release publish` again (it skips what is \
                 published and tags it)",
                wait.timeout.as_secs()
            ));
        }
        effects.sleep(wait.poll);
        waited += wait.poll;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{cell::RefCell, collections::BTreeMap, path::PathBuf};

    /// A registry where a published version shows after `delay` polls.
    #[derive(Default)]
    struct FakeRegistry {
        present: RefCell<BTreeMap<String, i32>>,
        delay: i32,
        queries: RefCell<Vec<String>>,
    }

    impl FakeRegistry {
        fn with(published: &[&str]) -> Self {
            let registry = Self::default();
            for id in published {
                registry.present.borrow_mut().insert((*id).to_owned(), 0);
            }
            registry
        }

        fn upload(&self, id: String) {
            self.present.borrow_mut().insert(id, self.delay);
        }
    }

    impl Registry for FakeRegistry {
        fn has_version(&self, name: &str, version: Version) -> Result<bool, String> {
            let id = format!("{name}@{version}");
            self.queries.borrow_mut().push(id.clone());
            let mut present = self.present.borrow_mut();
            Ok(match present.get_mut(&id) {
                Some(0) => true,
                Some(polls_left) => {
                    *polls_left -= 1;
                    false
                }
                None => false,
            })
        }
    }

    struct FakeWorld<'a> {
        registry: &'a FakeRegistry,
        tags: Vec<String>,
        log: Vec<String>,
        fail_publishing: Option<&'static str>,
    }

    impl<'a> FakeWorld<'a> {
        fn new(registry: &'a FakeRegistry, tags: &[&str]) -> Self {
            Self {
                registry,
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                log: Vec::new(),
                fail_publishing: None,
            }
        }
    }

    impl Effects for FakeWorld<'_> {
        fn publish(&mut self, name: &str, version: Version) -> Result<(), String> {
            if self.fail_publishing == Some(name) {
                return Err(format!("cargo publish -p {name} failed"));
            }
            self.log.push(format!("cargo publish -p {name}"));
            self.registry.upload(format!("{name}@{version}"));
            Ok(())
        }

        fn tag_exists(&self, tag: &str) -> Result<bool, String> {
            Ok(self.tags.iter().any(|t| t == tag))
        }

        fn create_tag(&mut self, tag: &str, message: &str) -> Result<(), String> {
            self.log.push(format!("git tag {tag} -m '{message}'"));
            self.tags.push(tag.to_owned());
            Ok(())
        }

        fn sleep(&mut self, duration: Duration) {
            self.log.push(format!("sleep {}", duration.as_secs()));
        }
    }

    fn crates(list: &[(&str, &str)]) -> Vec<(String, Version)> {
        list.iter()
            .map(|(name, version)| ((*name).to_owned(), version.parse().unwrap()))
            .collect()
    }

    const WAIT: Wait = Wait {
        poll: Duration::from_secs(10),
        timeout: Duration::from_secs(30),
    };

    /// Every crate's changelog as `release prepare` leaves it, for the
    /// versions these tests use.
    fn dated(name: &str) -> Option<String> {
        let version = if name == "umbrella" { "0.2.0" } else { "0.1.0" };
        Some(format!(
            "# Changelog\n\n## {version} (2026-01-01)\n\n- First.\n"
        ))
    }

    #[test]
    fn refuses_a_crate_whose_changelog_was_not_prepared() {
        let registry = FakeRegistry::with(&["core@0.1.0"]);
        let world = FakeWorld::new(&registry, &["core-v0.1.0"]);
        let order = crates(&[("core", "0.1.0"), ("msi", "0.1.0")]);
        for changelog in [
            Some("# Changelog\n\n## 0.1.0 (unreleased)\n\nFirst.\n".to_owned()),
            Some("# Changelog\n\n## 0.0.9 (2026-01-01)\n".to_owned()),
            Some("# Changelog\n".to_owned()),
            None,
        ] {
            let error =
                preflight(&order, &[], &|_| changelog.clone(), &registry, &world).unwrap_err();
            assert!(
                error.contains("msi 0.1.0") && error.contains("prepare"),
                "{error}"
            );
        }
        // Already on crates.io: its changelog no longer matters.
        let order = crates(&[("core", "0.1.0")]);
        assert!(preflight(&order, &[], &|_| None, &registry, &world).is_ok());
    }

    #[test]
    fn publishes_in_order_skips_published_versions_waits_and_tags() {
        let registry = FakeRegistry {
            delay: 1,
            ..FakeRegistry::with(&["core@0.1.0"])
        };
        let mut world = FakeWorld::new(&registry, &["core-v0.1.0"]);
        let order = crates(&[("core", "0.1.0"), ("msi", "0.1.0"), ("umbrella", "0.2.0")]);
        let actions = preflight(&order, &[], &dated, &registry, &world).unwrap();
        let tags = publish(&actions, &registry, &mut world, WAIT).unwrap();
        assert_eq!(tags, ["msi-v0.1.0", "umbrella-v0.2.0"]);
        assert_eq!(
            world.log,
            [
                "cargo publish -p msi",
                "sleep 10",
                "git tag msi-v0.1.0 -m 'msi 0.1.0'",
                "cargo publish -p umbrella",
                "sleep 10",
                "git tag umbrella-v0.2.0 -m 'umbrella 0.2.0'",
            ]
        );
    }

    #[test]
    fn a_published_version_without_its_tag_gets_the_tag() {
        let registry = FakeRegistry::with(&["core@0.1.0"]);
        let mut world = FakeWorld::new(&registry, &[]);
        let actions = preflight(
            &crates(&[("core", "0.1.0")]),
            &[],
            &dated,
            &registry,
            &world,
        )
        .unwrap();
        assert_eq!(
            actions,
            [Action::Skip {
                name: "core".into(),
                version: Version::new(0, 1, 0),
                tagged: false
            }]
        );
        publish(&actions, &registry, &mut world, WAIT).unwrap();
        assert_eq!(world.log, ["git tag core-v0.1.0 -m 'core 0.1.0'"]);
    }

    #[test]
    fn a_version_that_never_shows_stops_before_its_dependents() {
        let registry = FakeRegistry {
            delay: 100,
            ..FakeRegistry::default()
        };
        let mut world = FakeWorld::new(&registry, &[]);
        let order = crates(&[("core", "0.1.0"), ("msi", "0.1.0")]);
        let actions = preflight(&order, &[], &dated, &registry, &world).unwrap();
        let error = publish(&actions, &registry, &mut world, WAIT).unwrap_err();
        assert!(
            error.contains("core 0.1.0 was uploaded") && error.contains("again"),
            "{error}"
        );
        assert_eq!(
            world.log,
            ["cargo publish -p core", "sleep 10", "sleep 10", "sleep 10"]
        );
    }

    #[test]
    fn a_failed_upload_stops_everything_after_it() {
        let registry = FakeRegistry::default();
        let mut world = FakeWorld::new(&registry, &[]);
        world.fail_publishing = Some("msi");
        let order = crates(&[("core", "0.1.0"), ("msi", "0.1.0"), ("umbrella", "0.2.0")]);
        let actions = preflight(&order, &[], &dated, &registry, &world).unwrap();
        let error = publish(&actions, &registry, &mut world, WAIT).unwrap_err();
        assert!(error.contains("msi"), "{error}");
        assert_eq!(
            world.log,
            [
                "cargo publish -p core",
                "git tag core-v0.1.0 -m 'core 0.1.0'"
            ]
        );
    }

    #[test]
    fn refuses_a_crate_with_pending_fragments_or_a_stale_tag() {
        let registry = FakeRegistry::with(&["core@0.1.0"]);
        let fragment = Fragment {
            path: PathBuf::from("/w/.changelog/arc.md"),
            crates: vec!["core".into(), "msi".into()],
            kind: super::super::version::Kind::Fix,
            text: "Text.".into(),
        };
        let world = FakeWorld::new(&registry, &["msi-v0.1.0"]);
        let order = crates(&[("core", "0.1.0"), ("msi", "0.1.0")]);
        let error = preflight(&order, &[fragment], &dated, &registry, &world).unwrap_err();
        assert!(
            error.contains("arc.md") && error.contains("prepare"),
            "{error}"
        );

        let error = preflight(&order, &[], &dated, &registry, &world).unwrap_err();
        assert!(error.contains("git tag -d msi-v0.1.0"), "{error}");
        assert!(world.log.is_empty(), "nothing happened before the refusal");
    }
}
