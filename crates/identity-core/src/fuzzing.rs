//! Entry points for `cargo fuzz` (`fuzz/`), compiled only with `--cfg fuzzing`:
//! the parsers that read what a server sends, fed arbitrary bytes.

use crate::{
    challenge::challenge_claims,
    entra::response::{error_response, parse_token},
    http::Exchange,
};
use azure_core::{
    Bytes,
    http::{StatusCode, headers::Headers},
    time::{Duration, OffsetDateTime},
};

/// A fixed "now", so a run is reproducible.
pub fn fixed_now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
}

/// The token endpoint's body, read as a success and as an error answer.
pub fn entra_response(data: &[u8]) {
    let _ = parse_token(data, fixed_now());
    let exchange = Exchange {
        status: StatusCode::BadRequest,
        headers: Headers::new(),
        body: Bytes::copy_from_slice(data),
        attempts: 1,
    };
    let _ = error_response(
        "FuzzCredential",
        "https://login.invalid/t/oauth2/v2.0/token",
        &exchange,
    )
    .to_string();
}

/// A `WWW-Authenticate` header value.
pub fn challenge(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = challenge_claims(text);
    }
}

/// A tool's run made from fuzz bytes: the first byte picks the exit status
/// (0, 1, another code, or killed by a signal); the rest is stdout, then
/// stderr after the first NUL byte.
#[cfg(feature = "process")]
pub fn process_output(data: &[u8]) -> Option<crate::process::ProcessOutput> {
    let (first, rest) = data.split_first()?;
    let status = match first % 4 {
        0 => Some(0),
        1 => Some(1),
        2 => Some(i32::from(*first)),
        _ => None,
    };
    let (stdout, stderr) = match rest.iter().position(|b| *b == 0) {
        Some(at) => (rest.get(..at)?, rest.get(at + 1..)?),
        None => (rest, &[][..]),
    };
    Some(crate::process::ProcessOutput {
        status,
        stdout: stdout.to_vec(),
        stderr: stderr.to_vec(),
    })
}
