//! Forgets cargo's unpacked copies of our own packages before a
//! `cargo publish --workspace --dry-run`.
//!
//! The dry run puts every package in a temporary local registry and builds
//! each against the others' packages, unpacked under
//! `$CARGO_HOME/registry/src/<registry>-<hash>/<name>-<version>`. The hash
//! comes from the registry's path, the same in every run from the same
//! checkout path, and cargo skips unpacking when that directory is already
//! there. On a machine whose cargo home outlives the checkout (a CI runner),
//! version 0.1.0 of a crate unpacked by an earlier run is then built in place
//! of today's package, and the check fails on code that is not ours any more
//! (or passes on code that is). Removing those directories first makes cargo
//! unpack today's packages. Our names are removed from every registry's
//! sources, since the temporary registry's directory name is cargo's business;
//! a copy removed from crates.io's is unpacked again from cargo's cache when
//! needed. Nothing else under the cargo home is touched.

use std::path::{Path, PathBuf};

/// The cargo home the child `cargo` will use: `$CARGO_HOME`, else
/// `$HOME/.cargo`.
pub(crate) fn cargo_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".cargo"))
}

/// Removes `<name>-<version>` for each given package from every registry's
/// unpacked sources under `cargo_home`; returns what it removed. A cargo home
/// without unpacked sources is fine: there is nothing stale to remove.
pub(crate) fn forget_unpacked(
    cargo_home: &Path,
    packages: &[(String, String)],
) -> Result<Vec<PathBuf>, String> {
    let sources = cargo_home.join("registry").join("src");
    let registries = match std::fs::read_dir(&sources) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("could not list {}: {e}", sources.display())),
    };
    let mut removed = Vec::new();
    for registry in registries {
        let registry =
            registry.map_err(|e| format!("could not list {}: {e}", sources.display()))?;
        for (name, version) in packages {
            let unpacked = registry.path().join(format!("{name}-{version}"));
            if !unpacked.is_dir() {
                continue;
            }
            std::fs::remove_dir_all(&unpacked)
                .map_err(|e| format!("could not remove stale {}: {e}", unpacked.display()))?;
            removed.push(unpacked);
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::forget_unpacked;
    use crate::release::tests::TempDir;
    use std::fs;

    #[test]
    fn removes_only_our_packages_at_our_versions_in_every_registry() {
        let home = TempDir::new("unpacked");
        let local = home.path().join("registry/src/-14cd1cce6819ff87");
        let crates_io = home
            .path()
            .join("registry/src/index.crates.io-1949cf8c6b5b557f");
        for dir in [
            local.join("identity-core-0.1.0"),
            local.join("identity-core-0.0.9"),
            crates_io.join("identity-core-0.1.0"),
            crates_io.join("serde-1.0.0"),
        ] {
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join(".cargo-ok"), r#"{"v":1}"#).unwrap();
        }

        let removed = forget_unpacked(
            home.path(),
            &[
                ("identity-core".to_owned(), "0.1.0".to_owned()),
                ("identity-msi".to_owned(), "0.1.0".to_owned()),
            ],
        )
        .unwrap();

        assert_eq!(
            removed,
            vec![
                local.join("identity-core-0.1.0"),
                crates_io.join("identity-core-0.1.0"),
            ]
        );
        assert!(!local.join("identity-core-0.1.0").exists());
        assert!(local.join("identity-core-0.0.9").is_dir());
        assert!(crates_io.join("serde-1.0.0").is_dir());
    }

    #[test]
    fn a_cargo_home_without_sources_has_nothing_to_forget() {
        let home = TempDir::new("unpacked-empty");
        let removed = forget_unpacked(
            home.path(),
            &[("identity-core".to_owned(), "0.1.0".to_owned())],
        )
        .unwrap();
        assert!(removed.is_empty());
    }
}
