//! Substring search for error texts and response bodies.
//!
//! `str::contains` and `str::replace` bring std's two-way searcher, about
//! 5 KB of code in every application; the texts searched here are short (an
//! error message, a body capped at a few KB), so a plain scan does.

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &str, needle: &str) -> bool {
    find(haystack.as_bytes(), needle.as_bytes()).is_some()
}

/// Whether `needle` occurs in `haystack`, ASCII letters compared without case.
pub fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// `text` with every `needle` replaced by `with` (`needle` must not be empty).
pub fn replace_all(text: &str, needle: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // `needle` is a whole `str`, so a match starts and ends on char boundaries.
    while let Some(at) = find(rest.as_bytes(), needle.as_bytes()).filter(|_| !needle.is_empty()) {
        out.push_str(rest.get(..at).unwrap_or_default());
        out.push_str(with);
        rest = rest.get(at + needle.len()..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_like_std() {
        for (haystack, needle) in [
            ("abcabd", "abd"),
            ("abc", ""),
            ("", "a"),
            ("ab", "abc"),
            ("héllo wörld", "wö"),
            ("aaa", "aa"),
        ] {
            assert_eq!(
                find(haystack.as_bytes(), needle.as_bytes()),
                haystack.find(needle),
                "{haystack:?} {needle:?}"
            );
            assert_eq!(contains(haystack, needle), haystack.contains(needle));
        }
    }

    #[test]
    fn replaces_like_std() {
        for (text, needle) in [
            ("a secret and a secret.", "secret"),
            ("secretsecret", "secret"),
            ("none here", "secret"),
            ("ünïcode sécret", "sécret"),
            ("aaaa", "aa"),
        ] {
            assert_eq!(
                replace_all(text, needle, "<r>"),
                text.replace(needle, "<r>")
            );
        }
        assert_eq!(replace_all("abc", "", "x"), "abc");
    }

    #[test]
    fn ignores_ascii_case_when_asked() {
        assert!(contains_ignore_ascii_case(
            b"Network UNREACHABLE",
            b"unreachable"
        ));
        assert!(!contains_ignore_ascii_case(b"reachable", b"unreachable"));
    }
}
