//! Changelog fragments: one file per change in `.changelog/`, naming the
//! crates it touches and its kind, so that parallel branches never edit the
//! same CHANGELOG lines and `prepare` knows how far to bump each crate.
//!
//! ```text
//! crates: identity-core, identity-msi
//! kind: fix
//!
//! Text of the entry, in Markdown.
//! ```

use super::version::Kind;
use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

/// The fragments' directory, relative to the workspace root.
pub(crate) const DIR: &str = ".changelog";
/// Explains the format; not a fragment.
const README: &str = "README.md";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fragment {
    pub(crate) path: PathBuf,
    pub(crate) crates: Vec<String>,
    pub(crate) kind: Kind,
    /// The entry's Markdown, without surrounding blank lines.
    pub(crate) text: String,
}

impl Fragment {
    pub(crate) fn names(&self, crate_name: &str) -> bool {
        self.crates.iter().any(|name| name == crate_name)
    }

    /// The file's name, for messages.
    pub(crate) fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Reads every fragment in `<root>/.changelog`, sorted by file name (the
/// order their entries appear in), and checks each names only crates in
/// `publishable`. No directory means no fragments.
pub(crate) fn load(root: &Path, publishable: &[&str]) -> Result<Vec<Fragment>, String> {
    let dir = root.join(DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("could not read {}: {e}", dir.display())),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("could not read {}: {e}", dir.display()))?
            .path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let is_fragment = path.is_file()
            && path.extension().is_some_and(|ext| ext == "md")
            && name.as_deref() != Some(README);
        if is_fragment {
            paths.push(path);
        }
    }
    paths.sort();
    let mut fragments = Vec::new();
    for path in paths {
        let content = fs::read_to_string(&path)
            .map_err(|e| format!("could not read {}: {e}", path.display()))?;
        let shown = format!("{DIR}/{}", path.file_name().unwrap_or_default().display());
        let (crates, kind, text) =
            parse(&content).map_err(|problem| format!("{shown}: {problem}"))?;
        if let Some(unknown) = crates.iter().find(|c| !publishable.contains(&c.as_str())) {
            return Err(format!(
                "{shown}: `{unknown}` is not a publishable crate of this workspace (publishable: {})",
                publishable.join(", ")
            ));
        }
        fragments.push(Fragment {
            path,
            crates,
            kind,
            text,
        });
    }
    Ok(fragments)
}

/// Splits a fragment into its crates, kind and text.
pub(crate) fn parse(content: &str) -> Result<(Vec<String>, Kind, String), String> {
    const FORMAT: &str = "a fragment starts with `crates: a, b` and `kind: breaking|feature|fix`, then a blank line and the text";
    let mut lines = content.lines();
    let mut crates: Option<Vec<String>> = None;
    let mut kind: Option<Kind> = None;
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!(
                "header line `{line}` is not `key: value`; {FORMAT}"
            ));
        };
        let value = value.trim();
        match key.trim() {
            "crates" if crates.is_none() => {
                let mut names: Vec<String> = Vec::new();
                for name in value.split([',', ' ', '\t']).filter(|n| !n.is_empty()) {
                    if !names.iter().any(|known| known == name) {
                        names.push(name.to_owned());
                    }
                }
                if names.is_empty() {
                    return Err(format!("`crates:` names no crate; {FORMAT}"));
                }
                crates = Some(names);
            }
            "kind" if kind.is_none() => kind = Some(value.parse()?),
            "crates" | "kind" => return Err(format!("`{}:` appears twice", key.trim())),
            other => return Err(format!("unknown header `{other}:`; {FORMAT}")),
        }
    }
    let (Some(crates), Some(kind)) = (crates, kind) else {
        return Err(format!("the header lacks `crates:` or `kind:`; {FORMAT}"));
    };
    let text = lines.collect::<Vec<_>>().join("\n").trim().to_owned();
    if text.is_empty() {
        return Err(format!("no text after the header; {FORMAT}"));
    }
    Ok((crates, kind, text))
}

/// The file content for a fragment.
pub(crate) fn render(crates: &[String], kind: Kind, text: &str) -> String {
    format!("crates: {}\nkind: {kind}\n\n{text}\n", crates.join(", "))
}

/// Marks `fragment` as written into the changelogs of `released`: the file is
/// deleted when no other crate is left, otherwise it keeps only the others,
/// so a fragment shared with a crate not released yet waits for that crate.
pub(crate) fn consume(fragment: &Fragment, released: &BTreeSet<String>) -> Result<(), String> {
    let remaining: Vec<String> = fragment
        .crates
        .iter()
        .filter(|name| !released.contains(*name))
        .cloned()
        .collect();
    let path = &fragment.path;
    if remaining.is_empty() {
        fs::remove_file(path).map_err(|e| format!("could not delete {}: {e}", path.display()))
    } else if remaining.len() < fragment.crates.len() {
        fs::write(path, render(&remaining, fragment.kind, &fragment.text))
            .map_err(|e| format!("could not write {}: {e}", path.display()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::tests::TempDir;

    #[test]
    fn parses_header_and_text() {
        let (crates, kind, text) = parse(
            "crates: identity-core, identity-msi\nkind: fix\n\nRetries IMDS on 410.\n\nFor 70 s.\n",
        )
        .unwrap();
        assert_eq!(crates, ["identity-core", "identity-msi"]);
        assert_eq!(kind, Kind::Fix);
        assert_eq!(text, "Retries IMDS on 410.\n\nFor 70 s.");
    }

    #[test]
    fn accepts_spaces_crlf_and_either_header_order() {
        let (crates, kind, text) =
            parse("kind:breaking\r\ncrates:  a b,,a \r\n\r\nText\r\n").unwrap();
        assert_eq!(crates, ["a", "b"]);
        assert_eq!(kind, Kind::Breaking);
        assert_eq!(text, "Text");
    }

    #[test]
    fn refuses_incomplete_or_unknown_headers() {
        let cases = [
            ("kind: fix\n\ntext", "lacks"),
            ("crates: a\n\ntext", "lacks"),
            ("crates:\nkind: fix\n\ntext", "names no crate"),
            ("crates: a\nkind: bugfix\n\ntext", "not one of"),
            (
                "crates: a\nkind: fix\ncrate: b\n\ntext",
                "unknown header `crate:`",
            ),
            ("crates: a\nkind: fix\nkind: fix\n\ntext", "twice"),
            ("crates: a\nkind: fix\n\n  \n", "no text"),
            ("crates: a\nkind: fix\njust text\n", "not `key: value`"),
        ];
        for (content, expected) in cases {
            let error = parse(content).unwrap_err();
            assert!(error.contains(expected), "{content:?}: {error}");
        }
    }

    #[test]
    fn loads_sorted_fragments_skipping_the_readme_and_other_files() {
        let dir = TempDir::new("fragments-load");
        let changelog = dir.path().join(DIR);
        fs::create_dir_all(&changelog).unwrap();
        fs::write(changelog.join("README.md"), "How to write a fragment.").unwrap();
        fs::write(changelog.join(".gitkeep"), "").unwrap();
        fs::write(changelog.join("b.md"), "crates: a\nkind: fix\n\nSecond.").unwrap();
        fs::write(
            changelog.join("a.md"),
            "crates: a, b\nkind: feature\n\nFirst.",
        )
        .unwrap();
        let fragments = load(dir.path(), &["a", "b"]).unwrap();
        let texts: Vec<&str> = fragments.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts, ["First.", "Second."]);
        assert!(fragments[0].names("b") && !fragments[1].names("b"));

        let error = load(dir.path(), &["a"]).unwrap_err();
        assert!(
            error.contains(".changelog/a.md") && error.contains("`b`"),
            "{error}"
        );
    }

    #[test]
    fn no_directory_means_no_fragments() {
        let dir = TempDir::new("fragments-none");
        assert_eq!(load(dir.path(), &["a"]).unwrap(), []);
    }

    #[test]
    fn consuming_keeps_the_crates_not_released() {
        let dir = TempDir::new("fragments-consume");
        let path = dir.path().join("shared.md");
        fs::write(&path, "crates: a, b, c\nkind: fix\n\nText.\n").unwrap();
        let fragment = Fragment {
            path: path.clone(),
            crates: vec!["a".into(), "b".into(), "c".into()],
            kind: Kind::Fix,
            text: "Text.".into(),
        };
        consume(&fragment, &BTreeSet::from(["b".to_owned()])).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "crates: a, c\nkind: fix\n\nText.\n"
        );

        consume(&fragment, &BTreeSet::from(["x".to_owned()])).unwrap();
        assert!(path.exists());

        consume(
            &fragment,
            &BTreeSet::from(["a".to_owned(), "b".to_owned(), "c".to_owned()]),
        )
        .unwrap();
        assert!(!path.exists());
    }
}
