//! The workspace as `cargo metadata` sees it: its publishable crates in
//! dependency order, and the manifests that may hold requirements on them.

use super::{order::dependency_order, version::Version};
use serde_json::Value;
use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Crate {
    pub(crate) name: String,
    pub(crate) version: Version,
    pub(crate) manifest: PathBuf,
    /// The crate's directory: what "changed since the last release" looks at.
    pub(crate) dir: PathBuf,
    /// Workspace crates it needs to build (normal and build dependencies;
    /// dev-dependencies are not published, and may form cycles).
    pub(crate) dependencies: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub(crate) root: PathBuf,
    /// Publishable crates, dependencies first.
    pub(crate) crates: Vec<Crate>,
    /// The root manifest and every member's: where requirements on our
    /// crates are written.
    pub(crate) manifests: Vec<PathBuf>,
}

impl Workspace {
    /// Runs `cargo metadata --no-deps` (no resolution, no network) on the
    /// workspace at `root`.
    pub(crate) fn load(root: &Path) -> Result<Self, String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let output = Command::new(cargo)
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(root)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("could not run cargo metadata: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`cargo metadata` failed in {} ({}); fix the manifests it names",
                root.display(),
                output.status
            ));
        }
        let json = String::from_utf8(output.stdout)
            .map_err(|_| "cargo metadata printed non-UTF-8 output".to_owned())?;
        Self::from_metadata(&json)
    }

    /// Reads the output of `cargo metadata --format-version 1`.
    pub(crate) fn from_metadata(json: &str) -> Result<Self, String> {
        let metadata: Value = serde_json::from_str(json)
            .map_err(|e| format!("cargo metadata printed unreadable JSON: {e}"))?;
        let root = PathBuf::from(text_field(&metadata, "workspace_root")?);
        let member_ids: BTreeSet<&str> = array_field(&metadata, "workspace_members")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let members: Vec<&Value> = array_field(&metadata, "packages")?
            .iter()
            .filter(|p| {
                p.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| member_ids.contains(id))
            })
            .collect();
        let member_names: BTreeSet<&str> = members
            .iter()
            .filter_map(|p| p.get("name").and_then(Value::as_str))
            .collect();

        let mut manifests = vec![root.join("Cargo.toml")];
        let mut publishable = Vec::new();
        let mut unpublishable = BTreeSet::new();
        for package in &members {
            let name = text_field(package, "name")?;
            let manifest = PathBuf::from(text_field(package, "manifest_path")?);
            manifests.push(manifest.clone());
            if !is_publishable_to_crates_io(package) {
                unpublishable.insert(name.to_owned());
                continue;
            }
            let version: Version = text_field(package, "version")?
                .parse()
                .map_err(|e| format!("{name}: {e}"))?;
            let mut dependencies: Vec<String> = Vec::new();
            for dependency in array_field(package, "dependencies")? {
                let dep_name = text_field(dependency, "name")?;
                let is_path = dependency.get("path").is_some_and(Value::is_string);
                let is_dev = dependency.get("kind").and_then(Value::as_str) == Some("dev");
                if is_path
                    && !is_dev
                    && member_names.contains(dep_name)
                    && !dependencies.iter().any(|d| d == dep_name)
                {
                    dependencies.push(dep_name.to_owned());
                }
            }
            let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
            publishable.push(Crate {
                name: name.to_owned(),
                version,
                manifest,
                dir,
                dependencies,
            });
        }
        for krate in &publishable {
            if let Some(private) = krate
                .dependencies
                .iter()
                .find(|d| unpublishable.contains(*d))
            {
                return Err(format!(
                    "{} depends on {private}, which is not published (publish = false); \
                     publish it too or make it a dev-dependency",
                    krate.name
                ));
            }
        }
        let graph: Vec<(String, Vec<String>)> = publishable
            .iter()
            .map(|c| (c.name.clone(), c.dependencies.clone()))
            .collect();
        let order = dependency_order(&graph)?;
        let crates = order
            .iter()
            .filter_map(|name| publishable.iter().find(|c| &c.name == name).cloned())
            .collect();
        manifests.sort();
        manifests.dedup();
        Ok(Self {
            root,
            crates,
            manifests,
        })
    }

    pub(crate) fn find(&self, name: &str) -> Option<&Crate> {
        self.crates.iter().find(|c| c.name == name)
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        self.crates.iter().map(|c| c.name.as_str()).collect()
    }
}

/// `publish` is null (anywhere) or a list of registries; `[]` means never.
fn is_publishable_to_crates_io(package: &Value) -> bool {
    match package.get("publish") {
        None | Some(Value::Null) => true,
        Some(Value::Array(registries)) => {
            registries.iter().any(|r| r.as_str() == Some("crates-io"))
        }
        Some(_) => false,
    }
}

fn text_field<'a>(value: &'a Value, key: &str) -> Result<&'a str, String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("cargo metadata output lacks the text field `{key}`"))
}

fn array_field<'a>(value: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("cargo metadata output lacks the list `{key}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, publish: &str, deps: &str) -> String {
        format!(
            r#"{{"name":"{name}","version":"0.1.0","id":"path+file:///w/{name}#0.1.0",
               "manifest_path":"/w/{name}/Cargo.toml","publish":{publish},"dependencies":[{deps}]}}"#
        )
    }

    fn dep(name: &str, kind: &str, path: bool) -> String {
        let path = if path {
            format!(r#","path":"/w/{name}""#)
        } else {
            String::new()
        };
        format!(r#"{{"name":"{name}","kind":{kind}{path}}}"#)
    }

    fn metadata(packages: &[String]) -> String {
        let ids: Vec<String> = packages
            .iter()
            .map(|p| {
                let name = p.split('"').nth(3).unwrap();
                format!(r#""path+file:///w/{name}#0.1.0""#)
            })
            .collect();
        format!(
            r#"{{"workspace_root":"/w","workspace_members":[{}],"packages":[{}]}}"#,
            ids.join(","),
            packages.join(",")
        )
    }

    #[test]
    fn keeps_publishable_crates_in_order_with_normal_and_build_edges_only() {
        let json = metadata(&[
            package(
                "msi",
                "null",
                &[
                    dep("core", "null", true),
                    dep("emulator", r#""dev""#, true),
                    dep("serde", "null", false),
                ]
                .join(","),
            ),
            package("emulator", "null", &dep("core", "null", true)),
            package("core", "null", &dep("gen", r#""build""#, true)),
            package("gen", r#"["crates-io"]"#, ""),
            package("xtask", "[]", &dep("core", "null", true)),
        ]);
        let workspace = Workspace::from_metadata(&json).unwrap();
        assert_eq!(workspace.names(), ["gen", "core", "emulator", "msi"]);
        let msi = workspace.find("msi").unwrap();
        assert_eq!(msi.dependencies, ["core"]);
        assert_eq!(msi.dir, PathBuf::from("/w/msi"));
        assert_eq!(workspace.manifests.len(), 6, "root and every member");
    }

    #[test]
    fn a_publishable_crate_may_not_need_an_unpublished_one() {
        let json = metadata(&[
            package("core", "null", &dep("tests", "null", true)),
            package("tests", "[]", ""),
        ]);
        let error = Workspace::from_metadata(&json).unwrap_err();
        assert!(error.contains("core depends on tests"), "{error}");
    }
}
