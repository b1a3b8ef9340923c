//! A log watcher for every end-to-end test binary: a global `tracing`
//! subscriber that sees every event and span at every level, TRACE included
//! (ours, azure_core's and typespec's, the emulator's), and a `log` logger
//! for the crates that log through `log` instead (reqwest). hyper and rustls
//! log nothing in this build (their logging features are off). Anything that
//! holds a known secret or looks like a JWT stops the test binary.
//! The shared helpers install it, so every test that uses them runs under it.

use std::{
    fmt::Write as _,
    sync::{
        Mutex, Once,
        atomic::{AtomicU64, Ordering},
    },
};
use tracing::{
    Event, Metadata, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};

/// Secrets the tests and the emulator use. Tokens and assertions are JWTs,
/// found by their shape instead.
const KNOWN_SECRETS: &[&str] = &[
    identity_emulator::DEFAULT_CLIENT_SECRET,
    identity_emulator::PIPELINES_ACCESS_TOKEN,
    identity_emulator::MANAGED_IDENTITY_SECRET,
    "standin-az-token",
    "standin-azd-token",
];

static INSTALL: Once = Once::new();
static EVENTS: AtomicU64 = AtomicU64::new(0);
static LEAKS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Installs the watcher as this process's global subscriber (once). A test
/// that sets its own subscriber for a while is not watched meanwhile.
pub fn watch_logs() {
    INSTALL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(Watcher::default());
        if log::set_logger(&LOG_WATCHER).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
}

/// The `log` side of the watcher.
struct LogWatcher;

static LOG_WATCHER: LogWatcher = LogWatcher;

impl log::Log for LogWatcher {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        check(record.target(), &record.args().to_string());
    }
    fn flush(&self) {}
}

/// Events and spans the watcher has checked so far in this process.
pub fn events_checked() -> u64 {
    EVENTS.load(Ordering::Relaxed)
}

/// Secrets the watcher found so far (each also failed its test).
pub fn leaks() -> Vec<String> {
    LEAKS.lock().map(|l| l.clone()).unwrap_or_default()
}

#[derive(Default)]
struct Watcher {
    next_id: AtomicU64,
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

fn check(target: &str, text: &str) {
    EVENTS.fetch_add(1, Ordering::Relaxed);
    if let Some(what) = leak_in(text) {
        let leak = format!("{target}: {what}");
        if let Ok(mut leaks) = LEAKS.lock() {
            leaks.push(leak.clone());
        }
        // A panic would be lost when the event comes from a spawned task or
        // the emulator's server; stopping the whole binary cannot be missed.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("a secret reached the logs: {leak}");
        }
        std::process::abort();
    }
}

/// What secret `text` holds, if any.
fn leak_in(text: &str) -> Option<String> {
    KNOWN_SECRETS
        .iter()
        .find(|s| text.contains(*s))
        .map(|s| format!("the secret {s}"))
        .or_else(|| find_jwt(text).map(|at| format!("a JWT at byte {at}")))
}

/// Where a compact JWT (`eyJ….….`) starts in `text`, if one does.
fn find_jwt(text: &str) -> Option<usize> {
    let is_b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(offset) = text.get(from..)?.find("eyJ") {
        let start = from + offset;
        let segment = |at: usize| {
            bytes
                .get(at..)
                .map_or(0, |rest| rest.iter().take_while(|b| is_b64(**b)).count())
        };
        let header = segment(start);
        let dot = start + header;
        if header >= 10 && bytes.get(dot) == Some(&b'.') && segment(dot + 1) >= 10 {
            return Some(start);
        }
        from = start + 3;
    }
    None
}

impl Subscriber for Watcher {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(String::new());
        span.record(&mut fields);
        check(span.metadata().target(), &fields.0);
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut fields = Fields(String::new());
        values.record(&mut fields);
        check("span", &fields.0);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        check(event.metadata().target(), &fields.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::{find_jwt, leak_in};

    #[test]
    fn secrets_and_tokens_are_leaks() {
        let secret = identity_emulator::DEFAULT_CLIENT_SECRET;
        assert!(
            leak_in(&format!("client_secret={secret}"))
                .unwrap()
                .contains("the secret")
        );
        assert!(
            leak_in("Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.sig")
                .unwrap()
                .contains("JWT")
        );
        assert_eq!(leak_in("GET /token 200"), None);
    }

    #[test]
    fn jwts_are_found_by_shape() {
        assert_eq!(
            find_jwt("token=eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.sig"),
            Some(6)
        );
        assert_eq!(find_jwt("eyJ short.eyJ"), None);
        assert_eq!(find_jwt("no token here"), None);
    }
}
