//! Each crate's `CHANGELOG.md`: one `## <version> (<date>)` section per
//! release, newest on top, with the entries grouped by kind.

use super::version::Version;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a release section lists, in the order it lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Entries {
    pub(crate) breaking: Vec<String>,
    pub(crate) features: Vec<String>,
    pub(crate) fixes: Vec<String>,
    /// Our crates whose new versions this release requires.
    pub(crate) dependencies: Vec<String>,
    /// A sentence under the heading, for a release with no fragment.
    pub(crate) note: Option<String>,
}

impl Entries {
    pub(crate) fn is_empty(&self) -> bool {
        self.subsections().iter().all(|(_, items)| items.is_empty()) && self.note.is_none()
    }

    fn subsections(&self) -> [(&'static str, &[String]); 4] {
        [
            ("Breaking changes", &self.breaking),
            ("Features", &self.features),
            ("Fixes", &self.fixes),
            ("Dependencies", &self.dependencies),
        ]
    }
}

/// The changelog with `version`'s section added. When the top section is
/// already `version`'s (a release prepared twice before publishing), or a
/// draft of the next release (`## 0.1.0 (unreleased)`, whatever version it
/// guessed), the entries join it and its heading becomes `## <version>
/// (<date>)`, rather than a second section for one release.
pub(crate) fn add_release(
    existing: Option<&str>,
    crate_name: &str,
    version: Version,
    date: &str,
    entries: &Entries,
    last_release: Option<Version>,
) -> String {
    let text = existing.map_or_else(|| new_file(crate_name), str::to_owned);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let heading = format!("## {version} ({date})");
    let top = lines.iter().position(|line| line.starts_with("## "));
    let top_is_this_version = top_version(&text).is_some_and(|v| v == version.to_string());
    let top_is_draft = top_is_draft(&text, last_release);
    match top {
        Some(at) if top_is_this_version || top_is_draft => {
            if entries.is_empty() && !top_is_draft {
                return text;
            }
            if let Some(line) = lines.get_mut(at) {
                *line = heading;
            }
            merge_into_section(&mut lines, at, entries);
        }
        Some(at) => {
            let section = render_section(&heading, entries);
            lines.splice(at..at, section);
        }
        None => {
            while lines.last().is_some_and(|line| line.trim().is_empty()) {
                lines.pop();
            }
            lines.push(String::new());
            lines.extend(render_section(&heading, entries));
        }
    }
    while lines.last().is_some_and(|line| line.trim().is_empty()) {
        lines.pop();
    }
    lines.join("\n") + "\n"
}

/// The version in the top `## <version> (...)` heading.
pub(crate) fn top_version(text: &str) -> Option<&str> {
    text.lines()
        .find(|line| line.starts_with("## "))?
        .split_whitespace()
        .nth(1)
}

/// Whether the top section is a draft of the next release: `## <version>
/// (unreleased)`, unless that version was released already (a draft left
/// undated then is not this release's).
pub(crate) fn top_is_draft(text: &str, last_release: Option<Version>) -> bool {
    let marked = text
        .lines()
        .find(|line| line.starts_with("## "))
        .is_some_and(|line| line.contains("(unreleased)"));
    let drafted = top_version(text).and_then(|v| v.parse::<Version>().ok());
    marked
        && match (drafted, last_release) {
            (Some(drafted), Some(last)) => drafted > last,
            _ => true,
        }
}

fn new_file(crate_name: &str) -> String {
    format!(
        "# Changelog\n\nAll notable changes to `{crate_name}`, newest first. Entries come from the\n\
         repository's `.changelog/` fragments (see its docs/RELEASING.md).\n"
    )
}

/// A whole section, ending with a blank line.
fn render_section(heading: &str, entries: &Entries) -> Vec<String> {
    let mut lines = vec![heading.to_owned(), String::new()];
    if let Some(note) = &entries.note {
        lines.push(note.clone());
        lines.push(String::new());
    }
    for (title, items) in entries.subsections() {
        if items.is_empty() {
            continue;
        }
        lines.push(format!("### {title}"));
        lines.push(String::new());
        for item in items {
            lines.extend(bullet(item));
        }
        lines.push(String::new());
    }
    lines
}

/// A list item; later lines are indented to stay in it.
fn bullet(text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .map(|(i, line)| match (i, line.trim().is_empty()) {
            (0, _) => format!("- {line}"),
            (_, true) => String::new(),
            (_, false) => format!("  {line}"),
        })
        .collect()
}

/// Adds entries to the section whose heading is at `heading_at`: each item
/// goes at the end of its `### ` subsection, or a new subsection at the end of
/// the section; a note goes under the heading.
fn merge_into_section(lines: &mut Vec<String>, heading_at: usize, entries: &Entries) {
    let section_end = |lines: &[String]| {
        lines
            .iter()
            .enumerate()
            .skip(heading_at + 1)
            .find(|(_, line)| line.starts_with("## "))
            .map_or(lines.len(), |(at, _)| at)
    };
    if let Some(note) = &entries.note {
        lines.splice(
            heading_at + 1..heading_at + 1,
            [String::new(), note.clone()],
        );
    }
    let titles = entries.subsections().map(|(title, _)| title);
    for (title, items) in entries.subsections() {
        if items.is_empty() {
            continue;
        }
        let end = section_end(lines);
        let subsection_heading = format!("### {title}");
        let found = (heading_at + 1..end).find(|at| {
            lines
                .get(*at)
                .is_some_and(|line| line.trim_end() == subsection_heading)
        });
        let bullets: Vec<String> = items.iter().flat_map(|item| bullet(item)).collect();
        match found {
            Some(sub_at) => {
                let sub_end = (sub_at + 1..end)
                    .find(|at| lines.get(*at).is_some_and(|line| line.starts_with("### ")))
                    .unwrap_or(end);
                let insert_at = last_text_line(lines, sub_at, sub_end) + 1;
                lines.splice(insert_at..insert_at, bullets);
            }
            None => {
                // Before the first subsection that comes later in the usual
                // order, else at the end of the section.
                let later: Vec<String> = titles
                    .iter()
                    .skip_while(|t| **t != title)
                    .skip(1)
                    .map(|t| format!("### {t}"))
                    .collect();
                let before = (heading_at + 1..end).find(|at| {
                    lines
                        .get(*at)
                        .is_some_and(|line| later.iter().any(|l| l == line.trim_end()))
                });
                match before {
                    Some(at) => {
                        let mut block = vec![subsection_heading, String::new()];
                        block.extend(bullets);
                        block.push(String::new());
                        lines.splice(at..at, block);
                    }
                    None => {
                        let insert_at = last_text_line(lines, heading_at, end) + 1;
                        let mut block = vec![String::new(), subsection_heading, String::new()];
                        block.extend(bullets);
                        lines.splice(insert_at..insert_at, block);
                    }
                }
            }
        }
    }
    // Keep one blank line before the next section.
    let end = section_end(lines);
    if end < lines.len()
        && lines
            .get(end - 1)
            .is_some_and(|line| !line.trim().is_empty())
    {
        lines.insert(end, String::new());
    }
}

/// The last non-blank line in `from..to` (`from` itself when all are blank).
fn last_text_line(lines: &[String], from: usize, to: usize) -> usize {
    (from..to)
        .rev()
        .find(|at| lines.get(*at).is_some_and(|line| !line.trim().is_empty()))
        .unwrap_or(from)
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let (year, month, day) = civil_date(seconds / 86_400);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: Version = Version::new(0, 2, 0);

    fn fixes(items: &[&str]) -> Entries {
        Entries {
            fixes: items.iter().map(|s| (*s).to_owned()).collect(),
            ..Entries::default()
        }
    }

    #[test]
    fn dates_from_days_since_the_epoch() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_454), (2026, 1, 1));
        assert_eq!(civil_date(20_818), (2026, 12, 31));
        assert_eq!(today().len(), 10);
    }

    #[test]
    fn a_new_section_goes_on_top_grouped_by_kind() {
        let existing = "# Changelog\n\nIntro.\n\n## 0.1.0 (2026-01-01)\n\nFirst release.\n";
        let entries = Entries {
            breaking: vec!["Renamed `X`.".into()],
            features: vec!["Adds `Y`.\nOn two lines.\n\nAnd a paragraph.".into()],
            fixes: vec!["Fixes `Z`.".into()],
            dependencies: vec!["identity-core 0.2.0".into()],
            note: None,
        };
        let updated = add_release(Some(existing), "a", V, "2026-02-03", &entries, None);
        assert_eq!(
            updated,
            "# Changelog\n\nIntro.\n\n## 0.2.0 (2026-02-03)\n\n\
             ### Breaking changes\n\n- Renamed `X`.\n\n\
             ### Features\n\n- Adds `Y`.\n  On two lines.\n\n  And a paragraph.\n\n\
             ### Fixes\n\n- Fixes `Z`.\n\n\
             ### Dependencies\n\n- identity-core 0.2.0\n\n\
             ## 0.1.0 (2026-01-01)\n\nFirst release.\n"
        );
    }

    #[test]
    fn a_missing_file_is_created_with_a_title() {
        let created = add_release(None, "identity-msi", V, "2026-02-03", &fixes(&["F."]), None);
        assert!(created.starts_with("# Changelog\n\nAll notable changes to `identity-msi`"));
        assert!(
            created.ends_with("\n\n## 0.2.0 (2026-02-03)\n\n### Fixes\n\n- F.\n"),
            "{created}"
        );
    }

    #[test]
    fn a_draft_section_for_the_same_version_is_completed_and_dated() {
        let existing = "# Changelog\n\n## 0.2.0 (unreleased)\n\nFirst release: the crate.\n\n### Fixes\n\n- Earlier.\n\n## 0.1.0 (2026-01-01)\n\nOld.\n";
        let entries = Entries {
            features: vec!["New.".into()],
            fixes: vec!["Later.".into()],
            ..Entries::default()
        };
        let updated = add_release(Some(existing), "a", V, "2026-02-03", &entries, None);
        assert_eq!(
            updated,
            "# Changelog\n\n## 0.2.0 (2026-02-03)\n\nFirst release: the crate.\n\n\
             ### Features\n\n- New.\n\n### Fixes\n\n- Earlier.\n- Later.\n\n\
             ## 0.1.0 (2026-01-01)\n\nOld.\n"
        );
    }

    #[test]
    fn a_draft_for_another_version_becomes_this_release() {
        let existing = "# Changelog\n\n## 0.1.0 (unreleased)\n\nFirst release.\n";
        let updated = add_release(Some(existing), "a", V, "2026-02-03", &fixes(&["F."]), None);
        assert_eq!(
            updated,
            "# Changelog\n\n## 0.2.0 (2026-02-03)\n\nFirst release.\n\n### Fixes\n\n- F.\n"
        );
    }

    #[test]
    fn a_draft_of_a_released_version_is_history_not_a_draft() {
        let existing = "# Changelog\n\n## 0.1.0 (unreleased)\n\nFirst release.\n";
        let released = Some(Version::new(0, 1, 0));
        let updated = add_release(
            Some(existing),
            "a",
            V,
            "2026-02-03",
            &fixes(&["F."]),
            released,
        );
        assert_eq!(
            updated,
            "# Changelog\n\n## 0.2.0 (2026-02-03)\n\n### Fixes\n\n- F.\n\n\
             ## 0.1.0 (unreleased)\n\nFirst release.\n"
        );
    }

    #[test]
    fn a_draft_with_nothing_new_is_only_dated() {
        let existing = "# Changelog\n\n## 0.2.0 (unreleased)\n\nFirst release.\n";
        let updated = add_release(
            Some(existing),
            "a",
            V,
            "2026-02-03",
            &Entries::default(),
            None,
        );
        assert_eq!(
            updated,
            "# Changelog\n\n## 0.2.0 (2026-02-03)\n\nFirst release.\n"
        );
    }

    #[test]
    fn a_dated_section_with_nothing_new_is_left_alone() {
        let existing = "# Changelog\n\n## 0.2.0 (2026-01-01)\n\n- x\n";
        let updated = add_release(
            Some(existing),
            "a",
            V,
            "2026-02-03",
            &Entries::default(),
            None,
        );
        assert_eq!(updated, existing);
    }

    #[test]
    fn a_note_sits_under_the_heading() {
        let entries = Entries {
            note: Some("No fragment named this crate.".into()),
            ..Entries::default()
        };
        let updated = add_release(Some("# Changelog\n"), "a", V, "2026-02-03", &entries, None);
        assert_eq!(
            updated,
            "# Changelog\n\n## 0.2.0 (2026-02-03)\n\nNo fragment named this crate.\n"
        );
    }
}
