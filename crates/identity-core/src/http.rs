//! HTTP plumbing every credential shares: an azure_core [`Pipeline`] that honours
//! the caller's `ClientOptions`, a per-attempt timeout, an overall deadline, and
//! response bodies read with a size cap.

use crate::{CredentialError, error::anchors};
use azure_core::{
    Bytes,
    error::ErrorKind,
    http::{
        AsyncRawResponse, ClientOptions, Context, Pipeline, PipelineStreamOptions, Request,
        StatusCode, Transport,
        headers::Headers,
        policies::{Policy, PolicyResult},
    },
};
use futures::{
    StreamExt,
    future::{BoxFuture, Either},
};
use std::{
    error::Error as StdError,
    fmt::Write as _,
    future::Future,
    pin::pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

/// How long one HTTP attempt may take to receive its response, headers and
/// body, before it counts as failed (and the retry policy may try again).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one token request may take in all, retries included, so that a
/// `get_token` against a dead, hung or failing endpoint ends with its cause well
/// inside the 35 s users are promised.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// The largest response body read; token responses are a few kilobytes.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Limits on one request/response exchange.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Per-attempt timeout for the response, headers and body.
    pub attempt_timeout: Duration,
    /// Overall deadline, retries and body included.
    pub deadline: Duration,
    /// Largest body accepted.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            deadline: DEFAULT_REQUEST_DEADLINE,
            max_body: MAX_RESPONSE_BYTES,
        }
    }
}

/// Builds the pipeline a credential sends requests through.
///
/// The caller's `ClientOptions` (transport, retry, policies, user agent) are
/// kept. Without a transport, the HTTP client is ours with `rustls_ring`,
/// azure_core's default with `reqwest`/`reqwest_rustls`; without either, a
/// clear error names the feature to enable (azure_core would panic instead).
pub fn new_pipeline(
    credential: &'static str,
    mut options: ClientOptions,
    limits: Limits,
) -> Result<Pipeline, CredentialError> {
    if options.transport.is_none() {
        options.transport = Some(default_transport(credential)?);
    }
    let attempt: Arc<dyn Policy> = Arc::new(AttemptPolicy {
        timeout: limits.attempt_timeout,
        max_body: limits.max_body,
    });
    Ok(Pipeline::new(
        Some("identity"),
        Some(env!("CARGO_PKG_VERSION")),
        options,
        Vec::new(),
        vec![attempt],
        None,
    ))
}

#[cfg(feature = "rustls_ring")]
fn default_transport(credential: &'static str) -> Result<Transport, CredentialError> {
    crate::tls::ring_transport(credential)
}

#[cfg(all(feature = "reqwest", not(feature = "rustls_ring")))]
fn default_transport(_credential: &'static str) -> Result<Transport, CredentialError> {
    Ok(Transport::new(azure_core::http::new_http_client(None)))
}

#[cfg(not(feature = "reqwest"))]
fn default_transport(credential: &'static str) -> Result<Transport, CredentialError> {
    Err(CredentialError::failed(credential, "no HTTP client is available")
        .with_fix(
            "enable the `reqwest_rustls` feature (or `reqwest` for plain-http endpoints) of the \
             credential crate or of `identity`, or set ClientOptions.transport",
        )
        .with_anchor(anchors::NO_HTTP_CLIENT))
}

/// Counts the attempts of one exchange and remembers how the last one ended, so
/// an error raised by the deadline can still say what the endpoint was doing.
#[derive(Debug, Default)]
pub struct Attempts {
    count: AtomicU32,
    last: Mutex<Option<String>>,
}

impl Attempts {
    fn record(&self, outcome: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
    }

    /// How many attempts were sent.
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    /// How the last attempt ended, if any did.
    pub fn last(&self) -> Option<String> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Per-try policy: bounds each attempt, reads the answer's body within it, and
/// records the outcome.
///
/// Reading the body here, inside the retry policy, makes a body cut off
/// mid-way (a reset, a closed connection) a failed attempt that is retried
/// like any I/O failure, and bounds a slowly dripping body by the attempt
/// timeout. At most `max_body + 1` bytes are read; [`exchange`] refuses more.
#[derive(Debug)]
struct AttemptPolicy {
    timeout: Duration,
    max_body: usize,
}

/// An answer whose body ended early: an I/O failure of the attempt.
#[derive(Debug)]
struct BodyCutOff {
    status: StatusCode,
    source: azure_core::Error,
}

impl std::fmt::Display for BodyCutOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the answer ({}) was cut off",
            describe_status(self.status)
        )
    }
}

impl StdError for BodyCutOff {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

/// The `Content-Length` the answer declares, if any.
fn declared_length(headers: &Headers) -> Option<u64> {
    headers
        .get_optional_str(&azure_core::http::headers::CONTENT_LENGTH)
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// The answer with its body read (at most `max_body + 1` bytes of it; none
/// when its `Content-Length` is already too large).
async fn read_body(response: AsyncRawResponse, max_body: usize) -> PolicyResult {
    let (status, headers, mut body) = response.deconstruct();
    if declared_length(&headers).is_some_and(|len| len > max_body as u64) {
        return Ok(AsyncRawResponse::new(status, headers, Box::pin(body)));
    }
    let mut collected = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|source| {
            azure_core::Error::new(ErrorKind::Io, BodyCutOff { status, source })
        })?;
        collected.extend_from_slice(&chunk);
        if collected.len() > max_body {
            break;
        }
    }
    Ok(AsyncRawResponse::from_bytes(status, headers, collected))
}

// The trait's signature elides Context's lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl Policy for AttemptPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let Some((first, rest)) = next.split_first() else {
            return Err(azure_core::Error::with_message(
                ErrorKind::Other,
                "the pipeline has no transport policy",
            ));
        };
        let attempt = async {
            let response = first.send(ctx, request, rest).await?;
            read_body(response, self.max_body).await
        };
        let result = match with_timeout(self.timeout, attempt).await {
            // An untrusted certificate is final: retrying cannot change it.
            Some(result) => result.map_err(final_if_untrusted),
            None => Err(azure_core::Error::with_message(
                ErrorKind::Io,
                format!("no response within {}", describe_duration(self.timeout)),
            )),
        };
        if let Some(attempts) = ctx.value::<Attempts>() {
            attempts.record(match &result {
                Ok(response) => describe_status(response.status()),
                Err(error) => error_chain(error),
            });
        }
        result
    }
}

/// A duration for people: "10 s" when whole seconds, else "1500 ms". Integer
/// formatting only: float formatting costs an application ~12 KB of code.
pub fn describe_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Runs `fut` for at most `limit`; `None` when the time ran out.
pub async fn with_timeout<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    let sleep = azure_core::sleep::sleep(to_time(limit));
    match futures::future::select(pin!(fut), pin!(sleep)).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

/// Converts a std duration to the `time` duration azure_core uses.
pub fn to_time(d: Duration) -> azure_core::time::Duration {
    azure_core::time::Duration::try_from(d).unwrap_or(azure_core::time::Duration::MAX)
}

/// Checks that a successful answer is labelled as JSON. A body labelled
/// `text/html` (a proxy's login page, say) is not a token, whatever it holds.
/// No content type, JSON types and `text/plain` are accepted, as the peers do.
pub fn check_json_content_type(headers: &Headers) -> Result<(), String> {
    let Some(value) = headers.get_optional_str(
        &azure_core::http::headers::HeaderName::from_static("content-type"),
    ) else {
        return Ok(());
    };
    let media = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = media.is_empty()
        || media == "application/json"
        || media == "text/json"
        || media == "text/plain"
        || (media.starts_with("application/") && media.ends_with("+json"));
    if json {
        Ok(())
    } else {
        Err(format!(
            "it is labelled {}, not JSON",
            excerpt(media.as_bytes(), 80)
        ))
    }
}

/// `"HTTP 500 Internal Server Error"`.
pub fn describe_status(status: StatusCode) -> String {
    format!("HTTP {} {}", u16::from(status), status.canonical_reason())
}

/// An error and its sources on one line, repeated messages dropped.
pub fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = String::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    let mut previous = String::new();
    while let Some(e) = current {
        let message = e.to_string();
        if !message.is_empty() && !crate::text::contains(&previous, &message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
        previous = message;
        current = e.source();
    }
    text
}

/// A complete response, body read under the size cap.
pub struct Exchange {
    /// The status of the final attempt.
    pub status: StatusCode,
    /// Its headers.
    pub headers: Headers,
    /// Its body.
    pub body: Bytes,
    /// How many attempts were sent.
    pub attempts: u32,
}

// A successful body holds a token: its length only.
impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// Why an exchange produced no response.
#[derive(Debug)]
pub enum ExchangeError {
    /// The deadline passed.
    Deadline {
        /// The deadline.
        after: Duration,
        /// Attempts sent.
        attempts: u32,
        /// How the last attempt ended.
        last: Option<String>,
    },
    /// No connection, a reset, or every attempt timed out.
    Transport {
        /// The transport error, after retries.
        error: azure_core::Error,
        /// Attempts sent.
        attempts: u32,
    },
    /// The body was larger than the cap.
    TooLarge {
        /// The status the body came with.
        status: StatusCode,
        /// The cap.
        limit: usize,
    },
    /// The body could not be read to its end (on every attempt).
    Body {
        /// The status the body came with.
        status: StatusCode,
        /// The read error.
        error: azure_core::Error,
        /// Attempts sent.
        attempts: u32,
    },
}

impl ExchangeError {
    /// A credential error naming the endpoint and what went wrong.
    pub fn into_credential_error(
        self,
        credential: &'static str,
        endpoint: &str,
    ) -> CredentialError {
        match self {
            Self::Deadline {
                after,
                attempts,
                last,
            } => {
                let mut message = format!(
                    "no token from {endpoint} within {} ({attempts} attempt{})",
                    describe_duration(after),
                    plural(attempts)
                );
                if let Some(last) = last {
                    let _ = write!(message, "; the last attempt ended with: {last}");
                }
                CredentialError::failed(credential, message)
                    .with_fix("check that the endpoint is reachable and healthy from this machine")
                    .with_anchor(anchors::UNREACHABLE)
            }
            Self::Transport { error, attempts } => CredentialError::failed(
                credential,
                format!(
                    "could not reach {endpoint} ({attempts} attempt{}): {}",
                    plural(attempts),
                    error_chain(&error)
                ),
            )
            .with_fix("check the endpoint address, DNS, proxy and firewall settings")
            .with_anchor(anchors::UNREACHABLE)
            .with_source(error),
            Self::TooLarge { status, limit } => CredentialError::failed(
                credential,
                format!(
                    "{endpoint} answered {} with a body larger than {limit} bytes; it was not read",
                    describe_status(status)
                ),
            )
            .with_status(status, None)
            .with_anchor(anchors::BAD_RESPONSE),
            Self::Body {
                status,
                error,
                attempts,
            } => CredentialError::failed(
                credential,
                format!(
                    "the answer from {endpoint} ({}) was cut off ({attempts} attempt{}): {}",
                    describe_status(status),
                    plural(attempts),
                    error_chain(&error)
                ),
            )
            .with_status(status, None)
            .with_anchor(anchors::UNREACHABLE)
            .with_source(error),
        }
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Sends `request` through `pipeline` and reads the whole response within `limits`.
///
/// The pipeline's retry policy runs as configured; each attempt is bounded by
/// `limits.attempt_timeout` and everything by `limits.deadline`.
///
/// The future is boxed: credentials await it from several places, and an
/// unboxed one would be inlined (and compiled) into each of them.
pub fn exchange<'a>(
    pipeline: &'a Pipeline,
    ctx: &'a Context<'_>,
    request: &'a mut Request,
    limits: Limits,
) -> BoxFuture<'a, Result<Exchange, ExchangeError>> {
    Box::pin(exchange_unboxed(pipeline, ctx, request, limits))
}

async fn exchange_unboxed(
    pipeline: &Pipeline,
    ctx: &Context<'_>,
    request: &mut Request,
    limits: Limits,
) -> Result<Exchange, ExchangeError> {
    let ctx = ctx.clone().with_value(Attempts::default());
    // `with_value` stores its own Arc; read it back so the policy and this
    // function share one counter.
    let shared = ctx.value::<Attempts>();
    let work = async {
        let options = PipelineStreamOptions {
            skip_checks: true,
            ..Default::default()
        };
        let response = match pipeline.stream(&ctx, request, Some(options)).await {
            Ok(r) => r,
            Err(error) => {
                let attempts = shared.map_or(0, Attempts::count);
                return Err(match error.downcast_ref::<BodyCutOff>() {
                    Some(cut) => ExchangeError::Body {
                        status: cut.status,
                        error,
                        attempts,
                    },
                    None => ExchangeError::Transport { error, attempts },
                });
            }
        };
        let (status, headers, body) = response.deconstruct();
        if declared_length(&headers).is_some_and(|len| len > limits.max_body as u64) {
            return Err(ExchangeError::TooLarge {
                status,
                limit: limits.max_body,
            });
        }
        // The attempt policy read the body already (at most one byte over the
        // cap), so this takes what it kept.
        let body = body.collect().await.map_err(|error| ExchangeError::Body {
            status,
            error,
            attempts: shared.map_or(0, Attempts::count),
        })?;
        if body.len() > limits.max_body {
            return Err(ExchangeError::TooLarge {
                status,
                limit: limits.max_body,
            });
        }
        Ok(Exchange {
            status,
            headers,
            body,
            attempts: shared.map_or(0, Attempts::count),
        })
    };
    match with_timeout(limits.deadline, work).await {
        Some(result) => result,
        None => Err(ExchangeError::Deadline {
            after: limits.deadline,
            attempts: shared.map_or(0, Attempts::count),
            last: shared.and_then(Attempts::last),
        }),
    }
}

/// A transport error caused by a server certificate that is not trusted, made
/// final: retrying cannot change the certificate, and azure_core's retry
/// policy would otherwise retry it like any I/O error until the deadline.
///
/// Idempotent: an error it already made final is returned as it is, so layers
/// that each apply it (a transport wrapper and the per-try policy) say it once.
pub fn final_if_untrusted(error: azure_core::Error) -> azure_core::Error {
    const UNTRUSTED: &str = "the server's certificate is not trusted: ";
    let chain = error_chain(&error);
    if crate::text::contains(&chain, "invalid peer certificate") && !chain.starts_with(UNTRUSTED) {
        azure_core::Error::with_message(ErrorKind::Other, format!("{UNTRUSTED}{chain}"))
    } else {
        error
    }
}

/// The URL without query or fragment, for error messages.
pub fn endpoint_for_display(url: &azure_core::http::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// At most `max` characters of a body, for error messages.
pub fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    let mut out: String = trimmed
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if trimmed.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_bounded_and_printable() {
        assert_eq!(excerpt(b"  hello\r\nworld ", 100), "hello  world");
        assert_eq!(excerpt(b"abcdef", 3), "abc…");
        assert_eq!(excerpt(&[0xff, 0xfe, b'a'], 10), "��a");
    }

    #[test]
    fn only_json_labels_pass_for_tokens() {
        let labelled = |value: &str| {
            let mut headers = Headers::new();
            headers.insert("content-type", value.to_owned());
            check_json_content_type(&headers)
        };
        assert!(check_json_content_type(&Headers::new()).is_ok());
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "text/plain",
            "application/problem+json",
            "",
        ] {
            assert!(labelled(ok).is_ok(), "{ok}");
        }
        let error = labelled("text/html; charset=utf-8").unwrap_err();
        assert_eq!(error, "it is labelled text/html, not JSON");
        assert!(labelled("application/xml").is_err());
    }

    #[test]
    fn error_chain_joins_sources_without_repeats() {
        let inner = azure_core::Error::with_message(ErrorKind::Io, "connection refused");
        let outer = CredentialError::failed("C", "x").with_source(inner);
        let text = error_chain(&outer);
        assert!(text.ends_with(": connection refused"), "{text}");
    }

    #[test]
    fn an_untrusted_certificate_is_made_final_once() {
        let io = azure_core::Error::with_message(
            ErrorKind::Io,
            "error sending request: invalid peer certificate: UnknownIssuer",
        );
        let once = final_if_untrusted(io);
        let twice = final_if_untrusted(once);
        let text = error_chain(&twice);
        assert_eq!(*twice.kind(), ErrorKind::Other, "{text}");
        assert_eq!(text.matches("not trusted").count(), 1, "{text}");
        let other = final_if_untrusted(azure_core::Error::with_message(ErrorKind::Io, "refused"));
        assert_eq!(*other.kind(), ErrorKind::Io);
    }

    #[tokio::test]
    async fn timeout_cuts_a_hung_future() {
        let r = with_timeout(Duration::from_millis(20), futures::future::pending::<()>()).await;
        assert!(r.is_none());
        let r = with_timeout(Duration::from_secs(5), async { 7 }).await;
        assert_eq!(r, Some(7));
    }
}
