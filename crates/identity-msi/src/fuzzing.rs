//! Entry points for `cargo fuzz` (`fuzz/`), compiled only with `--cfg fuzzing`:
//! what a managed identity endpoint sends, fed arbitrary bytes.

use crate::{arc, response, source::Source};
use azure_core::{
    Bytes,
    http::{StatusCode, Url, headers::Headers},
    time::{Duration, OffsetDateTime},
};
use identity_core::http::Exchange;
use std::{path::PathBuf, sync::OnceLock};

fn now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
}

fn exchange(status: StatusCode, headers: Headers, data: &[u8]) -> Exchange {
    Exchange {
        status,
        headers,
        body: Bytes::copy_from_slice(data),
        attempts: 1,
    }
}

/// A token answer, with and without an identity to echo, and as an error body.
pub fn response(data: &[u8]) {
    let _ = response::parse_token(data, now(), None);
    let _ = response::parse_token(data, now(), Some(("client_id", "fuzz-client")));
    if let Ok(host) = Url::parse("http://169.254.169.254") {
        let source = Source::Imds { host };
        for status in [StatusCode::BadRequest, StatusCode::InternalServerError] {
            let _ =
                response::error_for(&source, &exchange(status, Headers::new(), data)).to_string();
        }
    }
}

/// The agent's key file for [`arc_challenge`], and its directory.
const ARC_KEY: &str = "fuzz-arc-key";

fn arc_directory() -> &'static PathBuf {
    static DIRECTORY: OnceLock<PathBuf> = OnceLock::new();
    DIRECTORY.get_or_init(|| {
        // A fixed name, so the seeds can point into it.
        let directory = std::env::temp_dir().join("identity-fuzz-arc");
        let _ = std::fs::create_dir_all(&directory);
        let _ = std::fs::write(directory.join("agent.key"), ARC_KEY);
        directory
    })
}

/// An Azure Arc challenge's `WWW-Authenticate` value. Whatever it names, the
/// only key that may ever be read is the one in the token directory.
pub fn arc_challenge(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut headers = Headers::new();
    headers.insert("www-authenticate", text.to_owned());
    let answer = exchange(StatusCode::Unauthorized, headers, b"");
    if let Ok(key) = arc::key_from_challenge(&answer, arc_directory()) {
        assert_eq!(
            key, ARC_KEY,
            "a key was read from outside the token directory"
        );
    }
}
