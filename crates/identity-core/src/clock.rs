//! The clock credentials read time from, so cache and expiry rules are tested
//! without sleeping.

use azure_core::time::{Duration, OffsetDateTime};
use std::{
    fmt,
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

/// A source of the current UTC time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> OffsetDateTime;

    /// The current time in nanoseconds since the Unix epoch. The token cache
    /// reads this on every call; override it when `now` is costly.
    fn now_unix_nanos(&self) -> i128 {
        self.now().unix_timestamp_nanos()
    }
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    // Half the cost of `now`: no calendar arithmetic.
    fn now_unix_nanos(&self) -> i128 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => since.as_nanos().try_into().unwrap_or(i128::MAX),
            Err(before) => before
                .duration()
                .as_nanos()
                .try_into()
                .map_or(i128::MIN, |n: i128| -n),
        }
    }
}

/// A clock that moves only when told to: for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_reading_agrees_with_the_calendar_one() {
        let clock = SystemClock;
        let calendar = clock.now().unix_timestamp_nanos();
        let fast = clock.now_unix_nanos();
        assert!(
            (fast - calendar).abs() < 1_000_000_000,
            "{fast} vs {calendar}"
        );
        let manual = ManualClock::new(OffsetDateTime::UNIX_EPOCH + Duration::seconds(5));
        assert_eq!(manual.now_unix_nanos(), 5_000_000_000);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = OffsetDateTime::UNIX_EPOCH;
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now(), start + Duration::seconds(90));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }
}
