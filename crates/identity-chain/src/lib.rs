#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use identity_core::{CredentialError, FailureKind, error::anchors};
use std::{
    borrow::Cow,
    fmt,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
};
use tracing::Instrument;

const NAME: &str = "ChainedTokenCredential";
const UNDECIDED: usize = usize::MAX;

/// Options for [`ChainedTokenCredential`].
#[derive(Clone, Debug, Default)]
pub struct ChainedTokenCredentialOptions {
    /// Move on after a link that was configured and *failed* too (by default
    /// only *unavailable* links are passed over, so a real failure, such as a
    /// wrong secret, is not hidden behind a later link's success).
    pub continue_on_failure: bool,
    /// Once a link gives a token, use only that link from then on.
    pub sticky: bool,
    /// Links (by name) whose failures are passed over like unavailability:
    /// `DefaultAzureCredential` does this for developer tools, as the other
    /// Azure SDKs do.
    pub pass_over_failures_of: Vec<String>,
}

/// What happened at one link during the latest attempt.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum LinkOutcome {
    /// It gave the token.
    Chosen,
    /// It was not configured here; the chain moved on.
    Unavailable(CredentialError),
    /// It was configured and failed.
    Failed(CredentialError),
    /// The chain stopped before it.
    NotTried,
}

/// Credentials tried in order. See the [crate documentation](crate).
pub struct ChainedTokenCredential {
    links: Vec<(Cow<'static, str>, Arc<dyn TokenCredential>)>,
    options: ChainedTokenCredentialOptions,
    chosen: AtomicUsize,
    last: Mutex<Vec<LinkOutcome>>,
}

impl ChainedTokenCredential {
    /// A chain of `links`, each named (the name appears in errors and traces).
    ///
    /// # Errors
    /// When `links` is empty.
    pub fn new(
        links: Vec<(Cow<'static, str>, Arc<dyn TokenCredential>)>,
        options: Option<ChainedTokenCredentialOptions>,
    ) -> azure_core::Result<Arc<Self>> {
        if links.is_empty() {
            return Err(
                CredentialError::failed(NAME, "a chain needs at least one credential")
                    .with_anchor(anchors::INVALID_INPUT)
                    .into_azure_error(),
            );
        }
        let count = links.len();
        Ok(Arc::new(Self {
            links,
            options: options.unwrap_or_default(),
            chosen: AtomicUsize::new(UNDECIDED),
            last: Mutex::new(vec![LinkOutcome::NotTried; count]),
        }))
    }

    /// A chain of unnamed credentials; each is named after the credential its
    /// errors report, else by position.
    ///
    /// # Errors
    /// When `credentials` is empty.
    pub fn from_credentials(
        credentials: Vec<Arc<dyn TokenCredential>>,
        options: Option<ChainedTokenCredentialOptions>,
    ) -> azure_core::Result<Arc<Self>> {
        let links = credentials
            .into_iter()
            .enumerate()
            .map(|(i, c)| (Cow::Owned(format!("credential #{}", i + 1)), c))
            .collect();
        Self::new(links, options)
    }

    /// The links' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.links.iter().map(|(name, _)| name.as_ref())
    }

    /// The link in use, once a sticky chain has chosen one.
    pub fn chosen(&self) -> Option<&str> {
        self.links
            .get(self.chosen.load(Ordering::Acquire))
            .map(|(name, _)| name.as_ref())
    }

    /// What each link did in the latest attempt, in order.
    pub fn last_attempt(&self) -> Vec<(&str, LinkOutcome)> {
        let last = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        self.names().zip(last).collect()
    }
}

#[async_trait::async_trait]
impl TokenCredential for ChainedTokenCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if self.options.sticky
            && let Some((name, link)) = self.links.get(self.chosen.load(Ordering::Acquire))
        {
            let span = tracing::debug_span!("chain link", link = %name, sticky = true);
            return link.get_token(scopes, options).instrument(span).await;
        }
        let mut outcomes = vec![LinkOutcome::NotTried; self.links.len()];
        let mut failures: Vec<(Cow<'static, str>, CredentialError)> = Vec::new();
        let mut stopped = false;
        for (index, (name, link)) in self.links.iter().enumerate() {
            let span = tracing::debug_span!("chain link", link = %name);
            match link
                .get_token(scopes, options.clone())
                .instrument(span)
                .await
            {
                Ok(token) => {
                    if let Some(outcome) = outcomes.get_mut(index) {
                        *outcome = LinkOutcome::Chosen;
                    }
                    if self.options.sticky {
                        let _ = self.chosen.compare_exchange(
                            UNDECIDED,
                            index,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        );
                    }
                    tracing::debug!(link = %name, "chain link gave a token");
                    *self.last.lock().unwrap_or_else(PoisonError::into_inner) = outcomes;
                    return Ok(token);
                }
                Err(error) => {
                    let failure = CredentialError::find(&error).cloned().unwrap_or_else(|| {
                        CredentialError::failed(name.clone(), error.to_string())
                    });
                    let unavailable = failure.is_unavailable();
                    tracing::debug!(link = %name, unavailable, error = %failure.message(), "chain link gave no token");
                    if let Some(outcome) = outcomes.get_mut(index) {
                        *outcome = if unavailable {
                            LinkOutcome::Unavailable(failure.clone())
                        } else {
                            LinkOutcome::Failed(failure.clone())
                        };
                    }
                    failures.push((name.clone(), failure));
                    let pass_over = self.options.continue_on_failure
                        || self
                            .options
                            .pass_over_failures_of
                            .iter()
                            .any(|n| n == name.as_ref());
                    if !unavailable && !pass_over {
                        stopped = true;
                        break;
                    }
                }
            }
        }
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = outcomes;
        Err(chain_error(failures, stopped).into_azure_error())
    }
}

/// One error for the whole chain: each link tried, by name, with its own reason.
fn chain_error(
    failures: Vec<(Cow<'static, str>, CredentialError)>,
    stopped: bool,
) -> CredentialError {
    let all_unavailable = failures.iter().all(|(_, f)| f.is_unavailable());
    let lines: Vec<String> = failures
        .iter()
        .map(|(name, failure)| {
            let verdict = if failure.is_unavailable() {
                "unavailable"
            } else {
                "failed"
            };
            let mut line = format!("{name} ({verdict}): {}", failure.message());
            if let Some(fix) = failure.fix() {
                line.push_str(&format!(" [to fix: {fix}]"));
            }
            if let Some(url) = failure.troubleshooting_url() {
                line.push_str(&format!(" [{url}]"));
            }
            line
        })
        .collect();
    let headline = if stopped {
        "a configured credential failed, so the chain stopped"
    } else if all_unavailable {
        "no credential in the chain is available here"
    } else {
        "no credential in the chain gave a token"
    };
    let kind = if all_unavailable {
        FailureKind::Unavailable
    } else {
        FailureKind::Failed
    };
    CredentialError::failed(NAME, format!("{headline}:\n  - {}", lines.join("\n  - ")))
        .with_kind(kind)
        .with_links(failures)
}

impl fmt::Debug for ChainedTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(NAME)
            .field("links", &self.names().collect::<Vec<_>>())
            .field("chosen", &self.chosen())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
