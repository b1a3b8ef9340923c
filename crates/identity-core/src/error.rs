//! Errors for people: which credential, what happened, what to do, and where to
//! read more.
//!
//! Every credential in this workspace fails with an [`azure_core::Error`] of kind
//! [`ErrorKind::Credential`] whose inner error is a [`CredentialError`]. Code that
//! needs more than the text (a chain deciding whether to try the next link, a
//! caller checking the HTTP status) reaches it with [`CredentialError::find`].

use azure_core::{error::ErrorKind, http::StatusCode};
use std::{borrow::Cow, error::Error as StdError, fmt, sync::Arc};

/// Base address of the troubleshooting guide; errors append `#anchor`.
pub const TROUBLESHOOTING_URL: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/blob/main/docs/TROUBLESHOOTING.md"
);

/// Anchors in `docs/TROUBLESHOOTING.md` that errors link to.
pub mod anchors {
    /// `ClientSecretCredential`.
    pub const CLIENT_SECRET: &str = "client-secret";
    /// `ClientAssertionCredential`.
    pub const CLIENT_ASSERTION: &str = "client-assertion";
    /// A token endpoint or other service could not be reached or did not answer in time.
    pub const UNREACHABLE: &str = "endpoint-unreachable";
    /// A service answered with something that is not a token.
    pub const BAD_RESPONSE: &str = "bad-response";
    /// Invalid tenant id, scope or other input.
    pub const INVALID_INPUT: &str = "invalid-input";
    /// The authority host is not usable.
    pub const AUTHORITY: &str = "authority-host";
    /// No HTTP client compiled in and none configured.
    pub const NO_HTTP_CLIENT: &str = "no-http-client";
    /// `ManagedIdentityCredential`.
    pub const MANAGED_IDENTITY: &str = "managed-identity";
    /// `ClientCertificateCredential`.
    pub const CLIENT_CERTIFICATE: &str = "client-certificate";
    /// `WorkloadIdentityCredential`.
    pub const WORKLOAD_IDENTITY: &str = "workload-identity";
    /// `AzurePipelinesCredential`.
    pub const AZURE_PIPELINES: &str = "azure-pipelines";
    /// `AzureCliCredential`.
    pub const AZURE_CLI: &str = "azure-cli";
    /// `AzureDeveloperCliCredential`.
    pub const AZD: &str = "azd";
    /// `DeveloperToolsCredential`.
    pub const DEVELOPER_TOOLS: &str = "developer-tools";
    /// `EnvironmentCredential`.
    pub const ENVIRONMENT: &str = "environment";
    /// `ChainedTokenCredential` and `DefaultAzureCredential`.
    pub const DEFAULT: &str = "default-azure-credential";

    /// Every anchor above, for the test that checks the guide has them all.
    pub const ALL: &[&str] = &[
        CLIENT_SECRET,
        CLIENT_ASSERTION,
        UNREACHABLE,
        BAD_RESPONSE,
        INVALID_INPUT,
        AUTHORITY,
        NO_HTTP_CLIENT,
        MANAGED_IDENTITY,
        CLIENT_CERTIFICATE,
        WORKLOAD_IDENTITY,
        AZURE_PIPELINES,
        AZURE_CLI,
        AZD,
        DEVELOPER_TOOLS,
        ENVIRONMENT,
        DEFAULT,
    ];
}

/// Whether a credential could not be used here at all, or was used and failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// Not configured in this environment (no variables set, tool not installed,
    /// not logged in): a chain moves on to its next credential.
    Unavailable,
    /// Configured, tried, and failed: a chain stops here by default.
    Failed,
}

/// A credential's failure, readable as text and inspectable in code.
///
/// Cheap to clone: concurrent callers waiting on one token request each receive
/// their own copy of its failure.
#[derive(Clone)]
pub struct CredentialError(Arc<Inner>);

#[derive(Clone)]
struct Inner {
    credential: Cow<'static, str>,
    kind: FailureKind,
    message: String,
    fix: Option<Cow<'static, str>>,
    anchor: &'static str,
    status: Option<StatusCode>,
    error_code: Option<String>,
    source: Option<Arc<azure_core::Error>>,
    /// For a chain: each link's own failure, in order.
    links: Vec<(Cow<'static, str>, CredentialError)>,
}

impl CredentialError {
    /// A credential that was configured and failed.
    pub fn failed(credential: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(credential.into(), FailureKind::Failed, message.into())
    }

    /// A credential that is not available in this environment.
    pub fn unavailable(
        credential: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(credential.into(), FailureKind::Unavailable, message.into())
    }

    fn new(credential: Cow<'static, str>, kind: FailureKind, message: String) -> Self {
        Self(Arc::new(Inner {
            credential,
            kind,
            message,
            fix: None,
            anchor: "",
            status: None,
            error_code: None,
            source: None,
            links: Vec::new(),
        }))
    }

    /// The fields, copied first if another clone shares them. Not generic, so
    /// the copy is compiled once for all the builders below.
    fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.0)
    }

    /// Adds what the user should do about it.
    #[must_use]
    pub fn with_fix(mut self, fix: impl Into<Cow<'static, str>>) -> Self {
        let fix = fix.into();
        self.inner_mut().fix = Some(fix);
        self
    }

    /// Sets the `docs/TROUBLESHOOTING.md` anchor the error links to.
    #[must_use]
    pub fn with_anchor(mut self, anchor: &'static str) -> Self {
        self.inner_mut().anchor = anchor;
        self
    }

    /// Records the HTTP status and service error code behind the failure.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode, error_code: Option<String>) -> Self {
        let i = self.inner_mut();
        i.status = Some(status);
        i.error_code = error_code;
        self
    }

    /// Keeps the underlying error, reachable through [`std::error::Error::source`].
    #[must_use]
    pub fn with_source(mut self, source: azure_core::Error) -> Self {
        self.inner_mut().source = Some(Arc::new(source));
        self
    }

    /// Renames the credential (a wrapper reporting under its own name).
    #[must_use]
    pub fn with_credential(mut self, credential: impl Into<Cow<'static, str>>) -> Self {
        let credential = credential.into();
        self.inner_mut().credential = credential;
        self
    }

    /// Removes `secret` (as sent, and form-encoded) from the message and fix,
    /// for when a service or proxy echoes a request back in its error body.
    /// Values shorter than 6 characters are left alone: replacing them would
    /// mangle the text, and no real secret or assertion is that short.
    #[must_use]
    pub fn redacting(mut self, secret: &str) -> Self {
        if secret.len() < 6 {
            return self;
        }
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let leaks = |text: &str| {
            crate::text::contains(text, secret) || crate::text::contains(text, &encoded)
        };
        if !leaks(&self.0.message) && !self.0.fix.as_deref().is_some_and(leaks) {
            return self;
        }
        let scrub = |text: &str| {
            let once = crate::text::replace_all(text, secret, "<redacted>");
            crate::text::replace_all(&once, &encoded, "<redacted>")
        };
        let i = self.inner_mut();
        i.message = scrub(&i.message);
        i.fix = i.fix.as_deref().map(|fix| Cow::Owned(scrub(fix)));
        self
    }

    /// Marks the failure as [`FailureKind::Unavailable`] or [`FailureKind::Failed`].
    #[must_use]
    pub fn with_kind(mut self, kind: FailureKind) -> Self {
        self.inner_mut().kind = kind;
        self
    }

    /// The credential's name, e.g. `ClientSecretCredential`.
    pub fn credential(&self) -> &str {
        &self.0.credential
    }

    /// Unavailable here, or configured and failed.
    pub fn kind(&self) -> FailureKind {
        self.0.kind
    }

    /// Whether a chain should move on to its next credential.
    pub fn is_unavailable(&self) -> bool {
        self.0.kind == FailureKind::Unavailable
    }

    /// What happened, without the credential name, fix or link.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// What to do about it, when known.
    pub fn fix(&self) -> Option<&str> {
        self.0.fix.as_deref()
    }

    /// The troubleshooting link, when the error has an anchor.
    pub fn troubleshooting_url(&self) -> Option<String> {
        (!self.0.anchor.is_empty()).then(|| format!("{TROUBLESHOOTING_URL}#{}", self.0.anchor))
    }

    /// The troubleshooting anchor (empty when none).
    pub fn anchor(&self) -> &'static str {
        self.0.anchor
    }

    /// The HTTP status the service answered with, when the failure came from one.
    pub fn status(&self) -> Option<StatusCode> {
        self.0.status
    }

    /// The service's error code(s), e.g. `7000215` for an Entra AADSTS error.
    pub fn error_code(&self) -> Option<&str> {
        self.0.error_code.as_deref()
    }

    /// Records each link's failure, for a chain's error: name and failure, in order.
    #[must_use]
    pub fn with_links(mut self, links: Vec<(Cow<'static, str>, CredentialError)>) -> Self {
        self.inner_mut().links = links;
        self
    }

    /// For a chain's error: each link it tried, by name, with its own failure.
    pub fn links(&self) -> &[(Cow<'static, str>, CredentialError)] {
        &self.0.links
    }

    /// The `CredentialError` inside an [`azure_core::Error`] from one of our credentials.
    pub fn find(error: &azure_core::Error) -> Option<&CredentialError> {
        error.downcast_ref::<CredentialError>()
    }

    /// Converts into the [`azure_core::Error`] a `TokenCredential` returns.
    pub fn into_azure_error(self) -> azure_core::Error {
        azure_core::Error::new(ErrorKind::Credential, self)
    }
}

/// Whether `error` says the credential is not available in this environment.
pub fn is_unavailable(error: &azure_core::Error) -> bool {
    CredentialError::find(error).is_some_and(CredentialError::is_unavailable)
}

impl From<CredentialError> for azure_core::Error {
    fn from(error: CredentialError) -> Self {
        error.into_azure_error()
    }
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.0;
        match i.kind {
            FailureKind::Failed => {
                write!(f, "{} authentication failed: {}", i.credential, i.message)?;
            }
            FailureKind::Unavailable => {
                write!(f, "{} is unavailable: {}", i.credential, i.message)?;
            }
        }
        if let Some(fix) = &i.fix {
            write!(f, "\nTo fix: {fix}")?;
        }
        if let Some(url) = self.troubleshooting_url() {
            write!(f, "\nTroubleshooting: {url}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.0;
        f.debug_struct("CredentialError")
            .field("credential", &i.credential)
            .field("kind", &i.kind)
            .field("message", &i.message)
            .field("fix", &i.fix)
            .field("anchor", &i.anchor)
            .field("status", &i.status)
            .field("error_code", &i.error_code)
            .finish_non_exhaustive()
    }
}

impl StdError for CredentialError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacting_scrubs_raw_and_form_encoded_secrets() {
        let error = CredentialError::failed("C", "echo: a+b/c=d&e and a%2Bb%2Fc%3Dd%26e")
            .with_fix("not a+b/c=d&e");
        let scrubbed = error.redacting("a+b/c=d&e");
        assert_eq!(scrubbed.message(), "echo: <redacted> and <redacted>");
        assert_eq!(scrubbed.fix(), Some("not <redacted>"));
        let short = CredentialError::failed("C", "abc").redacting("abc");
        assert_eq!(short.message(), "abc");
    }

    #[test]
    fn display_names_credential_fix_and_link() {
        let e = CredentialError::failed("ClientSecretCredential", "the secret was rejected")
            .with_fix("use the secret's value, not its id")
            .with_anchor(anchors::CLIENT_SECRET);
        let text = e.to_string();
        assert!(
            text.starts_with(
                "ClientSecretCredential authentication failed: the secret was rejected"
            )
        );
        assert!(text.contains("To fix: use the secret's value"));
        assert!(text.ends_with("TROUBLESHOOTING.md#client-secret"), "{text}");
    }

    #[test]
    fn unavailability_survives_the_azure_error() {
        let e: azure_core::Error = CredentialError::unavailable("X", "not configured").into();
        assert_eq!(*e.kind(), ErrorKind::Credential);
        assert!(is_unavailable(&e));
        let failed: azure_core::Error = CredentialError::failed("X", "boom").into();
        assert!(!is_unavailable(&failed));
        let foreign = azure_core::Error::with_message(ErrorKind::Other, "x");
        assert!(!is_unavailable(&foreign));
    }

    #[test]
    fn builders_on_a_shared_error_copy_instead_of_mutating() {
        let a = CredentialError::failed("X", "m");
        let b = a.clone().with_anchor(anchors::UNREACHABLE);
        assert_eq!(a.anchor(), "");
        assert_eq!(b.anchor(), anchors::UNREACHABLE);
    }

    #[test]
    fn status_and_source_are_kept() {
        let inner = azure_core::Error::with_message(ErrorKind::Io, "reset");
        let e = CredentialError::failed("X", "m")
            .with_status(StatusCode::Unauthorized, Some("7000215".into()))
            .with_source(inner);
        assert_eq!(e.status(), Some(StatusCode::Unauthorized));
        assert_eq!(e.error_code(), Some("7000215"));
        assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("reset"));
    }
}
