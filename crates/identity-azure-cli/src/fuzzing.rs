//! Entry point for `cargo fuzz` (`fuzz/`), compiled only with `--cfg fuzzing`:
//! what `az account get-access-token` prints, fed arbitrary bytes.

use identity_core::fuzzing::{fixed_now, process_output};

/// A run's exit status, stdout and stderr (see [`process_output`]).
pub fn output(data: &[u8]) {
    if let Some(output) = process_output(data) {
        if let Err(error) = crate::output::parse(&output, fixed_now()) {
            let _ = error.to_string();
        }
    }
}
