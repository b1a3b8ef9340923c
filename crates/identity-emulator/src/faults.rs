//! Fault injection: what to break, and on which requests.

use serde_json::Value;
use std::{collections::VecDeque, time::Duration};

/// Which requests a fault or a latency applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultTarget {
    /// The Entra token endpoint (`/{tenant}/oauth2/v2.0/token`).
    Token,
    /// The protected resource (`/resource`).
    Resource,
    /// Every managed identity endpoint (IMDS, App Service, Arc, Azure ML,
    /// Cloud Shell, Service Fabric).
    ManagedIdentity,
    /// Every request.
    Any,
    /// Requests whose path starts with this prefix.
    PathPrefix(String),
}

impl FaultTarget {
    /// Whether a request to `path` is one this target names (to count the
    /// requests a fault saw in [`crate::Emulator::requests`]).
    pub fn matches(&self, path: &str) -> bool {
        match self {
            Self::Token => path.ends_with("/oauth2/v2.0/token") || path.ends_with("/oauth2/token"),
            Self::Resource => {
                path == crate::resource::PATH
                    || path.starts_with(&format!("{}/", crate::resource::PATH))
            }
            Self::ManagedIdentity => crate::msi::is_managed_identity_path(path),
            Self::Any => true,
            Self::PathPrefix(prefix) => path.starts_with(prefix.as_str()),
        }
    }
}

/// One way to misbehave. Faults that alter a response (`OmitField`,
/// `ExpiresIn`, `WrongContentType`) apply to the response the request would
/// otherwise get; the others replace it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status, body and extra headers.
    Status {
        /// HTTP status code.
        status: u16,
        /// Response body (sent as `text/plain` unless a header says otherwise).
        body: String,
        /// Extra response headers, such as `Retry-After`.
        headers: Vec<(String, String)>,
    },
    /// Never answer; the connection stays open until the client gives up.
    Hang,
    /// Close the connection without answering.
    DropConnection,
    /// Send the status line and part of a chunked body, then reset the connection.
    ResetMidBody,
    /// Promise a `Content-Length` and close the connection before sending it all.
    TruncatedBody,
    /// A 200 whose body is not JSON.
    Garbage,
    /// A 200 with an empty body.
    EmptyBody,
    /// A 200 whose body is this many bytes long.
    Oversized(usize),
    /// A 200 whose body is not UTF-8.
    InvalidUtf8,
    /// The usual response, labelled `text/html`.
    WrongContentType,
    /// The usual JSON response without this top-level field.
    OmitField(String),
    /// The usual token response with `expires_in` replaced by this value.
    ExpiresIn(Value),
    /// The usual response, after this delay.
    Latency(Duration),
}

/// The fault plan: one-shot queues and standing defaults, per target.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    queued: Vec<(FaultTarget, VecDeque<Fault>)>,
    defaults: Vec<(FaultTarget, Fault)>,
    latency: Vec<(FaultTarget, Duration)>,
}

impl FaultPlan {
    pub(crate) fn push(&mut self, target: FaultTarget, faults: impl IntoIterator<Item = Fault>) {
        match self.queued.iter_mut().find(|(t, _)| *t == target) {
            Some((_, queue)) => queue.extend(faults),
            None => self.queued.push((target, faults.into_iter().collect())),
        }
    }

    pub(crate) fn set_default(&mut self, target: FaultTarget, fault: Option<Fault>) {
        self.defaults.retain(|(t, _)| *t != target);
        if let Some(fault) = fault {
            self.defaults.push((target, fault));
        }
    }

    pub(crate) fn set_latency(&mut self, target: FaultTarget, latency: Duration) {
        self.latency.retain(|(t, _)| *t != target);
        if !latency.is_zero() {
            self.latency.push((target, latency));
        }
    }

    /// The fault for a request to `path`: the next queued one for a matching
    /// target, else a matching default; plus the latency to add.
    pub(crate) fn next(&mut self, path: &str) -> (Option<Fault>, Duration) {
        let queued = self
            .queued
            .iter_mut()
            .filter(|(t, _)| t.matches(path))
            .find_map(|(_, queue)| queue.pop_front());
        let fault = queued.or_else(|| {
            self.defaults
                .iter()
                .find(|(t, _)| t.matches(path))
                .map(|(_, f)| f.clone())
        });
        let latency = self
            .latency
            .iter()
            .filter(|(t, _)| t.matches(path))
            .map(|(_, d)| *d)
            .max()
            .unwrap_or_default();
        (fault, latency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_faults_come_first_then_defaults() {
        let mut plan = FaultPlan::default();
        plan.set_default(FaultTarget::Token, Some(Fault::Hang));
        plan.push(FaultTarget::Token, [Fault::Garbage, Fault::EmptyBody]);
        plan.set_latency(FaultTarget::Any, Duration::from_millis(5));
        let path = "/t/oauth2/v2.0/token";
        assert_eq!(
            plan.next(path),
            (Some(Fault::Garbage), Duration::from_millis(5))
        );
        assert_eq!(plan.next(path).0, Some(Fault::EmptyBody));
        assert_eq!(plan.next(path).0, Some(Fault::Hang));
        assert_eq!(plan.next("/resource").0, None);
        plan.set_default(FaultTarget::Token, None);
        assert_eq!(plan.next(path).0, None);
    }

    #[test]
    fn targets_match_their_paths() {
        assert!(FaultTarget::Token.matches("/tenant/oauth2/v2.0/token"));
        assert!(!FaultTarget::Token.matches("/resource"));
        assert!(FaultTarget::Resource.matches("/resource"));
        assert!(!FaultTarget::Resource.matches("/resources"));
        assert!(
            FaultTarget::PathPrefix("/metadata".into()).matches("/metadata/identity/oauth2/token")
        );
    }
}
