//! IMDS's retry rules: 404, 410, 429 and 5xx are retried with exponential
//! backoff and jitter, `Retry-After` is honoured, and 410 (IMDS is restarting)
//! keeps being retried for at least 70 s. Connection failures are retried too,
//! a few times: IMDS may still be starting.

use azure_core::http::{Context, Pipeline, Request, StatusCode, headers::HeaderName};
use identity_core::{
    Clock,
    http::{Exchange, ExchangeError, Limits, exchange},
};
use std::{
    hash::{BuildHasher, RandomState},
    time::Duration,
};

/// How IMDS (and the Arc agent, which shares its rules) is retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImdsRetryOptions {
    /// Retries after the first attempt (410 aside). Default 5.
    pub max_retries: u32,
    /// The first delay; each retry doubles it, with ±20 % jitter. Default 800 ms.
    pub initial_delay: Duration,
    /// The longest single delay, `Retry-After` included. Default 60 s.
    pub max_delay: Duration,
    /// How long 410 Gone keeps being retried. Default 70 s, as IMDS asks.
    pub gone_retry_duration: Duration,
}

impl Default for ImdsRetryOptions {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
            gone_retry_duration: Duration::from_secs(70),
        }
    }
}

impl ImdsRetryOptions {
    /// The delay before retry number `retry` (0-based).
    fn backoff(&self, retry: u32) -> Duration {
        let base = self.initial_delay.saturating_mul(1u32 << retry.min(16));
        // ±20 % jitter so a fleet restarting together does not retry in step.
        let random = RandomState::new().hash_one(retry) % 401;
        let jittered = base.mul_f64(0.8 + random as f64 / 1000.0);
        jittered.min(self.max_delay)
    }
}

/// Sends `request` until it succeeds, fails for good, or the rules say stop.
/// Returns the last answer (which may be an error status) or the last
/// transport failure.
pub(crate) async fn send(
    pipeline: &Pipeline,
    ctx: &Context<'_>,
    request: &mut Request,
    limits: Limits,
    options: &ImdsRetryOptions,
    clock: &dyn Clock,
) -> Result<Exchange, ExchangeError> {
    let started = clock.now_unix_nanos();
    let elapsed =
        || Duration::from_nanos(u64::try_from(clock.now_unix_nanos() - started).unwrap_or(0));
    let mut retry = 0u32;
    loop {
        // Each exchange counts only its own attempts; report all of ours.
        let outcome = with_total_attempts(exchange(pipeline, ctx, request, limits).await, retry);
        let (status, retry_after) = match &outcome {
            Ok(answer) if !crate::response::retryable(answer.status) => return outcome,
            Ok(answer) => (Some(answer.status), retry_after(answer)),
            // A body too large is not a transient state of IMDS; one cut off
            // mid-way is a failed connection like any other.
            Err(ExchangeError::TooLarge { .. }) => return outcome,
            Err(_) => (None, None),
        };
        let gone = status == Some(StatusCode::Gone);
        let more = retry < options.max_retries || (gone && elapsed() < options.gone_retry_duration);
        if !more {
            return outcome;
        }
        let delay = retry_after
            .unwrap_or_else(|| options.backoff(retry.min(options.max_retries)))
            .min(options.max_delay);
        tracing::debug!(
            status = ?status.map(u16::from),
            delay_ms = delay.as_millis() as u64,
            retry,
            "retrying the managed identity endpoint"
        );
        azure_core::sleep::sleep(identity_core::http::to_time(delay)).await;
        retry += 1;
    }
}

/// `outcome` with `earlier` attempts added to the count it reports.
fn with_total_attempts(
    mut outcome: Result<Exchange, ExchangeError>,
    earlier: u32,
) -> Result<Exchange, ExchangeError> {
    match &mut outcome {
        Ok(Exchange { attempts, .. })
        | Err(
            ExchangeError::Deadline { attempts, .. }
            | ExchangeError::Transport { attempts, .. }
            | ExchangeError::Body { attempts, .. },
        ) => {
            *attempts += earlier;
        }
        Err(ExchangeError::TooLarge { .. }) => {}
    }
    outcome
}

/// `Retry-After` in seconds (HTTP dates are not used by IMDS).
fn retry_after(answer: &Exchange) -> Option<Duration> {
    answer
        .headers
        .get_optional_str(&HeaderName::from_static("retry-after"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let options = ImdsRetryOptions::default();
        for retry in 0..4 {
            let base = 800u64 << retry;
            let delay = options.backoff(retry).as_millis() as u64;
            assert!(
                delay >= base * 8 / 10 && delay <= base * 12 / 10,
                "{retry}: {delay}"
            );
        }
        assert_eq!(options.backoff(30), Duration::from_secs(60));
    }
}
