//! Small secret-bearing text files (a federated token, an Azure Arc key):
//! read once with a bounded read, trimmed, never quoted in an error.

use std::{fmt, io::Read, path::Path};

/// Why a small text file could not be used. Its `Display` completes a
/// sentence that names the file ("the key file /x.key …") and never quotes
/// the contents.
#[derive(Debug)]
pub enum SmallFileError {
    /// Opening or reading failed.
    Unreadable(std::io::Error),
    /// The file holds more than the limit (in bytes).
    TooLarge(u64),
    /// The contents are not UTF-8.
    NotText,
    /// The contents are empty or only whitespace.
    Empty,
}

impl fmt::Display for SmallFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(e) => write!(f, "cannot be read: {e}"),
            Self::TooLarge(limit) => write!(f, "is over {limit} bytes"),
            Self::NotText => f.write_str("is not text"),
            Self::Empty => f.write_str("is empty"),
        }
    }
}

impl std::error::Error for SmallFileError {}

/// The file's trimmed text, if it holds at most `limit` bytes of it.
///
/// One bounded read: at most `limit + 1` bytes are ever read, so a size check
/// cannot race the read and a huge file costs nothing.
pub fn read_small_text(path: &Path, limit: u64) -> Result<String, SmallFileError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(limit.saturating_add(1)).read_to_end(&mut bytes))
        .map_err(SmallFileError::Unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(SmallFileError::TooLarge(limit));
    }
    let text = String::from_utf8(bytes).map_err(|_| SmallFileError::NotText)?;
    match text.trim() {
        "" => Err(SmallFileError::Empty),
        trimmed => Ok(trimmed.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::{SmallFileError, read_small_text};
    use std::path::PathBuf;

    fn file(name: &str, contents: &[u8]) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "identity-core-small-file-{}-{name}",
            std::process::id()
        ));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn trimmed_text_up_to_the_limit_is_read() {
        let path = file("ok", b"  secret-value\n");
        assert_eq!(read_small_text(&path, 15).unwrap(), "secret-value");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn each_refusal_says_why_without_the_contents() {
        let big = file("big", &[b'k'; 17]);
        let binary = file("binary", &[0xff, 0xfe, b'k']);
        let blank = file("blank", b" \n\t");
        let missing = std::env::temp_dir().join("identity-core-small-file-not-there");
        let cases = [
            (&big, "is over 16 bytes"),
            (&binary, "is not text"),
            (&blank, "is empty"),
            (&missing, "cannot be read: "),
        ];
        for (path, expected) in cases {
            let error = read_small_text(path, 16).unwrap_err();
            let text = error.to_string();
            assert!(text.starts_with(expected), "{}: {text}", path.display());
            assert!(!text.contains("kk") && !format!("{error:?}").contains("kk"));
        }
        assert!(matches!(
            read_small_text(&big, 16),
            Err(SmallFileError::TooLarge(16))
        ));
        for path in [big, binary, blank] {
            std::fs::remove_file(path).unwrap();
        }
    }
}
