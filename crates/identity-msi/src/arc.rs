//! Azure Arc's challenge: the agent answers the first request with 401 and
//! `WWW-Authenticate: Basic realm=<key file>`; the key file's contents are the
//! credential for the second request. The file is trusted only if it sits in
//! the agent's token directory, ends in `.key` and is at most 4096 bytes.

use crate::NAME;
use azure_core::http::headers::HeaderName;
use identity_core::{CredentialError, error::anchors, http::Exchange};
use std::path::{Path, PathBuf};

/// The largest key file accepted.
pub(crate) const MAX_KEY_BYTES: u64 = 4096;

fn refuse(message: String) -> CredentialError {
    CredentialError::failed(NAME, message)
        .with_fix("this is not what the Azure Arc agent sends: check that the endpoint in IDENTITY_ENDPOINT is the local agent (himds)")
        .with_anchor(anchors::MANAGED_IDENTITY)
}

/// Reads the key the challenge points to, after checking it may be read.
pub(crate) fn key_from_challenge(
    answer: &Exchange,
    token_directory: &Path,
) -> Result<String, CredentialError> {
    if u16::from(answer.status) != 401 {
        return Err(refuse(format!(
            "the Azure Arc endpoint answered {} to the first request; it should challenge with 401",
            identity_core::http::describe_status(answer.status)
        )));
    }
    let header = answer
        .headers
        .get_optional_str(&HeaderName::from_static("www-authenticate"))
        .unwrap_or_default();
    let Some(realm) = header
        .trim()
        .strip_prefix("Basic realm=")
        .or_else(|| header.trim().strip_prefix("basic realm="))
    else {
        return Err(refuse(
            "the Azure Arc challenge has no `Basic realm=<key file>`".into(),
        ));
    };
    let path = PathBuf::from(realm.trim().trim_matches('"'));
    let shown = path.display().to_string();
    if path.extension().and_then(|e| e.to_str()) != Some("key") {
        return Err(refuse(format!(
            "the Azure Arc challenge names {shown}, which is not a .key file"
        )));
    }
    let directory = token_directory.canonicalize().map_err(|e| {
        refuse(format!(
            "the Azure Arc token directory {} cannot be read: {e}",
            token_directory.display()
        ))
    })?;
    let canonical = path.canonicalize().map_err(|e| {
        refuse(format!(
            "the Azure Arc key file {shown} cannot be read: {e}"
        ))
    })?;
    if canonical.parent() != Some(directory.as_path()) {
        return Err(refuse(format!(
            "the Azure Arc challenge names {shown}, outside the agent's token directory {}",
            directory.display()
        )));
    }
    identity_core::file::read_small_text(&canonical, MAX_KEY_BYTES)
        .map_err(|why| refuse(format!("the Azure Arc key file {shown} {why}")))
}
