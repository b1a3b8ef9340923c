//! Line-based edits of Cargo manifests: a crate's own version, and the
//! version of requirements on a crate. Only the quoted value changes, so
//! comments, layout and everything else stay as written.

use super::version::Version;
use std::ops::Range;

/// Sets `version = "..."` in the `[package]` table.
pub(crate) fn set_package_version(manifest: &str, version: Version) -> Result<String, String> {
    let mut table = String::new();
    let mut done = false;
    let mut lines = Vec::new();
    for line in manifest.split_inclusive('\n') {
        if let Some(name) = table_header(line) {
            table = name;
        } else if table == "package" && !done {
            match line.split_once('=').map(|(key, _)| key.trim()) {
                Some("version") => {
                    let range = value_range(line, "version").ok_or_else(|| {
                        format!("`{}` in [package] is not `version = \"...\"`", line.trim())
                    })?;
                    lines.push(replace(line, range, &version.to_string()));
                    done = true;
                    continue;
                }
                Some("version.workspace") => {
                    return Err(
                        "the crate inherits its version from the workspace; give it its own \
                         `version = \"x.y.z\"` in [package] so it can be released on its own"
                            .to_owned(),
                    );
                }
                _ => {}
            }
        }
        lines.push(line.to_owned());
    }
    if done {
        Ok(lines.concat())
    } else {
        Err("no `version = \"...\"` in [package]".to_owned())
    }
}

/// Sets the version of every requirement on `dependency` that states one, in
/// any dependency table (`[workspace.dependencies]`, `[dependencies]`,
/// `[dev-dependencies]`, `[target.'...'.dependencies]`, ...), in inline
/// (`name = { path = "..", version = "0.1.0" }`), dotted and table forms,
/// and under another name (`package = "name"`). A leading `=`, `^` or `~` is
/// kept. Returns the new text and how many requirements changed.
pub(crate) fn set_requirement(
    manifest: &str,
    dependency: &str,
    version: Version,
) -> Result<(String, usize), String> {
    let mut table = String::new();
    let mut changed = 0;
    let mut lines = Vec::new();
    for line in manifest.split_inclusive('\n') {
        if let Some(name) = table_header(line) {
            table = name;
            lines.push(line.to_owned());
            continue;
        }
        let range = if is_table_of(&table, dependency) {
            // [dependencies.name]: its `version = "..."` line.
            let key = line.split_once('=').map(|(key, _)| key.trim());
            if key == Some("version") {
                value_range(line, "version")
            } else {
                None
            }
        } else if is_dependency_table(&table) && names_dependency(line, dependency) {
            value_range(line, "version")
                .or_else(|| value_range(line, &format!("{dependency}.version")))
        } else {
            None
        };
        match range {
            Some(range) => {
                let old = line.get(range.clone()).unwrap_or_default();
                if old.contains([',', '<', '>', '*']) {
                    return Err(format!(
                        "the requirement `{old}` on {dependency} is not a single version; edit it by hand"
                    ));
                }
                let operator: String = old
                    .chars()
                    .take_while(|c| matches!(c, '=' | '^' | '~' | ' '))
                    .collect();
                let new = format!("{operator}{version}");
                if new != old {
                    changed += 1;
                }
                lines.push(replace(line, range, &new));
            }
            None => lines.push(line.to_owned()),
        }
    }
    Ok((lines.concat(), changed))
}

/// `[name]` or `[[name]]` on its own line, without spaces or quotes around
/// the dotted parts.
fn table_header(line: &str) -> Option<String> {
    let trimmed = line.trim();
    let inner = trimmed.strip_prefix('[')?;
    let end = inner.find(']')?;
    let inner = inner.get(..end)?.trim_start_matches('[');
    Some(
        inner
            .split('.')
            .map(|part| part.trim().trim_matches(['"', '\'']))
            .collect::<Vec<_>>()
            .join("."),
    )
}

fn is_dependency_table(table: &str) -> bool {
    table
        .rsplit('.')
        .next()
        .is_some_and(|last| last.ends_with("dependencies"))
}

/// `[dependencies.name]`, `[workspace.dependencies.name]`, ...
fn is_table_of(table: &str, dependency: &str) -> bool {
    table
        .strip_suffix(dependency)
        .and_then(|rest| rest.strip_suffix('.'))
        .is_some_and(is_dependency_table)
}

/// Whether a line of a dependency table declares `dependency`, by its key or
/// by `package = "dependency"`.
fn names_dependency(line: &str, dependency: &str) -> bool {
    let Some((key, _)) = line.split_once('=') else {
        return false;
    };
    let key = key.trim();
    let name = key
        .split('.')
        .next()
        .unwrap_or_default()
        .trim_matches(['"', '\'']);
    if name == dependency {
        return true;
    }
    value_range(line, "package")
        .and_then(|range| line.get(range))
        .is_some_and(|package| package == dependency)
}

/// The byte range of the quoted value of `key` in `line`, where `key` starts
/// the line or follows `{` or `,` (a key of an inline table) and is followed
/// by `=` and a basic string.
fn value_range(line: &str, key: &str) -> Option<Range<usize>> {
    for (at, _) in line.match_indices(key) {
        let before = line.get(..at)?.trim_end();
        let starts_key = before.is_empty() || before.ends_with('{') || before.ends_with(',');
        let after = line.get(at + key.len()..)?.trim_start();
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        if !starts_key || !value.starts_with('"') {
            continue;
        }
        let start = line.len() - value.len() + 1;
        let length = line.get(start..)?.find('"')?;
        return Some(start..start + length);
    }
    None
}

fn replace(line: &str, range: Range<usize>, value: &str) -> String {
    let before = line.get(..range.start).unwrap_or_default();
    let after = line.get(range.end..).unwrap_or_default();
    format!("{before}{value}{after}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: Version = Version::new(0, 2, 0);

    #[test]
    fn sets_the_package_version_and_nothing_else() {
        let manifest = "[package]\nname = \"a\"\nrust-version = \"1.88\"\nversion = \"0.1.0\" # ours\n\n[dependencies]\nb = { version = \"0.1.0\" }\n";
        let edited = set_package_version(manifest, V).unwrap();
        assert_eq!(
            edited,
            "[package]\nname = \"a\"\nrust-version = \"1.88\"\nversion = \"0.2.0\" # ours\n\n[dependencies]\nb = { version = \"0.1.0\" }\n"
        );
    }

    #[test]
    fn an_inherited_or_missing_version_is_an_error() {
        let inherited =
            set_package_version("[package]\nversion.workspace = true\n", V).unwrap_err();
        assert!(inherited.contains("its own"), "{inherited}");
        let missing = set_package_version("[package]\nname = \"a\"\n[x]\nversion = \"1.0.0\"\n", V);
        assert!(missing.is_err());
    }

    #[test]
    fn sets_workspace_requirements_in_inline_tables() {
        let manifest = "\
[workspace.package]
version = \"9.9.9\"

[workspace.dependencies]
# Our crates.
identity-core = { path = \"crates/identity-core\", version = \"0.1.0\" }
identity-core-extra = { path = \"crates/x\", version = \"0.1.0\" }
identity = { path = \"crates/identity\", version = \"0.1.0\", default-features = false }
serde = { version = \"1\", features = [\"derive\"] }
";
        let (edited, count) = set_requirement(manifest, "identity-core", V).unwrap();
        assert_eq!(count, 1);
        assert!(edited.contains(
            "identity-core = { path = \"crates/identity-core\", version = \"0.2.0\" }\n"
        ));
        assert!(
            edited.contains("identity-core-extra = { path = \"crates/x\", version = \"0.1.0\" }")
        );
        assert!(edited.contains("version = \"9.9.9\""));

        let (edited, count) = set_requirement(&edited, "identity", V).unwrap();
        assert_eq!(count, 1);
        assert!(edited.contains(
            "identity = { path = \"crates/identity\", version = \"0.2.0\", default-features = false }"
        ));
        assert!(edited.contains("serde = { version = \"1\", features = [\"derive\"] }"));
    }

    #[test]
    fn sets_crate_local_requirements_in_every_form() {
        let manifest = "\
[package]
name = \"x\"
version = \"0.1.0\"

[dependencies]
identity-core.workspace = true
core = { package = \"identity-core\", path = \"../core\", version = \"=0.1.0\" }

[dev-dependencies]
\"identity-core\" = { path = \"../core\", version=\"^0.1.0\" }

[target.'cfg(unix)'.build-dependencies]
identity-core.version = \"~0.1.0\"

[dependencies.identity-core]
path = \"../core\"
version = \"0.1.0\"
";
        let (edited, count) = set_requirement(manifest, "identity-core", V).unwrap();
        assert_eq!(count, 4);
        assert!(
            edited.contains("[package]\nname = \"x\"\nversion = \"0.1.0\"\n"),
            "{edited}"
        );
        assert!(edited.contains("version = \"=0.2.0\" }"));
        assert!(edited.contains("version=\"^0.2.0\" }"));
        assert!(edited.contains("identity-core.version = \"~0.2.0\""));
        assert!(edited.ends_with("path = \"../core\"\nversion = \"0.2.0\"\n"));
        assert!(edited.contains("identity-core.workspace = true"));
    }

    #[test]
    fn a_path_only_requirement_is_left_alone_and_a_range_is_refused() {
        let (edited, count) =
            set_requirement("[dependencies]\ncore = { path = \"../core\" }\n", "core", V).unwrap();
        assert_eq!(
            (edited.as_str(), count),
            ("[dependencies]\ncore = { path = \"../core\" }\n", 0)
        );
        let error = set_requirement(
            "[dependencies]\ncore = { version = \">=0.1, <0.3\" }\n",
            "core",
            V,
        )
        .unwrap_err();
        assert!(error.contains("by hand"), "{error}");
    }

    #[test]
    fn an_unchanged_requirement_is_not_counted() {
        let (_, count) = set_requirement(
            "[dependencies]\ncore = { version = \"0.2.0\" }\n",
            "core",
            V,
        )
        .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn preserves_crlf_line_endings() {
        let edited = set_package_version("[package]\r\nversion = \"0.1.0\"\r\n", V).unwrap();
        assert_eq!(edited, "[package]\r\nversion = \"0.2.0\"\r\n");
    }
}
