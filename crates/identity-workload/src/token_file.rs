//! The federated token file: read when an assertion is needed, trimmed,
//! reused for a few minutes, re-read after that or when the service says the
//! token expired.

use crate::{NAME, TOKEN_FILE_REREAD_AFTER};
use azure_core::http::ClientMethodOptions;
use identity_client_assertion::ClientAssertion;
use identity_core::{Clock, CredentialError, error::anchors};
use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

/// The largest token file read; service account tokens are a few kilobytes.
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

pub(crate) struct TokenFile {
    path: PathBuf,
    clock: Arc<dyn Clock>,
    /// The token and when it was read (Unix nanoseconds).
    read: Mutex<Option<(String, i128)>>,
}

impl TokenFile {
    pub(crate) fn new(path: PathBuf, clock: Arc<dyn Clock>) -> Self {
        Self {
            path,
            clock,
            read: Mutex::new(None),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the next assertion re-read the file.
    pub(crate) fn forget(&self) {
        *self.read.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn failed(&self, what: &str) -> azure_core::Error {
        CredentialError::failed(NAME, format!("the federated token file {} {what}", self.path.display()))
            .with_fix("check AZURE_FEDERATED_TOKEN_FILE and that the service account token is projected into the pod")
            .with_anchor(anchors::WORKLOAD_IDENTITY)
            .into_azure_error()
    }

    fn token(&self) -> azure_core::Result<String> {
        let now = self.clock.now_unix_nanos();
        let mut read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((token, at)) = read.as_ref()
            && now - at < TOKEN_FILE_REREAD_AFTER.as_nanos() as i128
        {
            return Ok(token.clone());
        }
        let token = identity_core::file::read_small_text(&self.path, MAX_TOKEN_FILE_BYTES)
            .map_err(|why| self.failed(&why.to_string()))?;
        *read = Some((token.clone(), now));
        Ok(token)
    }
}

/// The file as the assertion source; shared so the credential can make it re-read.
pub(crate) struct SharedTokenFile(pub(crate) Arc<TokenFile>);

impl std::fmt::Debug for SharedTokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TokenFile").field(&self.0.path).finish()
    }
}

#[async_trait::async_trait]
impl ClientAssertion for SharedTokenFile {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.0.token()
    }
}
