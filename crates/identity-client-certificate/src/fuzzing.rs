//! Entry point for `cargo fuzz` (`fuzz/`), compiled only with `--cfg fuzzing`:
//! certificate files (PEM or PKCS#12), fed arbitrary bytes.

use crate::certificate::Certificate;

/// The first byte picks the password (none, empty, or the fuzz seeds'
/// `fuzz-password`); the rest is the file.
pub fn certificate(data: &[u8]) {
    let Some((choice, file)) = data.split_first() else {
        return;
    };
    let password = match choice % 3 {
        0 => None,
        1 => Some(""),
        _ => Some("fuzz-password"),
    };
    if let Err(error) = Certificate::parse(file, password) {
        let _ = error.to_string();
    }
}
