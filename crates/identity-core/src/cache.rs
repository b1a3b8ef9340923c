//! The token cache every credential keeps, one per credential instance.
//!
//! - Keyed by scopes (order-insensitive), tenant and claims.
//! - A cached read takes one short lock never held across I/O, hashes the key
//!   without allocating, compares integer deadlines, and clones the token.
//! - Concurrent misses for one key share one request and its outcome, an error
//!   included; misses for different keys run in parallel.
//! - Tokens are refreshed ahead of expiry ([`RefreshRule`]). While the old token is
//!   still valid, callers get it at once and a single background refresh runs; if
//!   that refresh fails, the old token is served until it expires and the next
//!   refresh waits [`REFRESH_RETRY_SPACING`].
//! - Time comes from an injectable [`Clock`], so all of this is tested without
//!   sleeping.

use crate::{AccessToken, Clock, CredentialError};
use azure_core::time::{Duration, OffsetDateTime};
mod flight;

use flight::{Flight, Wait};
use futures::{FutureExt, future::BoxFuture};
use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

/// How long before its expiry a token stops being handed out.
pub const EXPIRY_MARGIN: Duration = Duration::seconds(10);
/// Refresh this long before expiry when the service gives no hint.
pub const DEFAULT_REFRESH_BEFORE_EXPIRY: Duration = Duration::minutes(5);
/// After a failed background refresh, wait this long before the next one.
pub const REFRESH_RETRY_SPACING: Duration = Duration::seconds(30);
/// Above this many keys, entries with no usable token are dropped.
const MAX_SLOTS: usize = 1024;

/// A token as a credential fetched it, before the cache decides when to refresh it.
#[derive(Clone, Debug)]
pub struct FetchedToken {
    /// The token and its expiry.
    pub token: AccessToken,
    /// When the service asked for a refresh (`refresh_in`), if it did.
    pub refresh_on: Option<OffsetDateTime>,
}

impl FetchedToken {
    /// A token with no refresh hint.
    pub fn new(token: AccessToken) -> Self {
        Self {
            token,
            refresh_on: None,
        }
    }
}

/// When a cached token is refreshed, absent a `refresh_in` hint from the service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RefreshRule {
    /// Five minutes before expiry, or at half-life for tokens shorter than ten minutes.
    #[default]
    Standard,
    /// As `Standard`, but tokens living two hours or more refresh at half-life
    /// (managed identity tokens live up to 24 h).
    HalfLifeForLongLived,
}

impl RefreshRule {
    /// When to refresh a token issued at `issued` that expires at `expires_on`.
    pub fn refresh_on(
        self,
        issued: OffsetDateTime,
        expires_on: OffsetDateTime,
        hint: Option<OffsetDateTime>,
    ) -> OffsetDateTime {
        if let Some(hint) = hint.filter(|h| *h > issued && *h < expires_on) {
            return hint;
        }
        let lifetime = expires_on - issued;
        let half_life = issued + lifetime / 2;
        if self == Self::HalfLifeForLongLived && lifetime >= Duration::hours(2) {
            return half_life;
        }
        (expires_on - DEFAULT_REFRESH_BEFORE_EXPIRY).max(half_life)
    }
}

type Outcome = Result<AccessToken, CredentialError>;
type Inflight = Flight;

/// Tells one fetch from another, so a fetch that finishes after
/// [`TokenCache::clear`] never overwrites a newer one's slot.
static NEXT_FETCH_ID: AtomicU64 = AtomicU64::new(0);

/// The token cache. See the [module documentation](self).
pub struct TokenCache {
    clock: Arc<dyn Clock>,
    rule: RefreshRule,
    slots: Arc<Mutex<Slots>>,
}

/// Every key's slot, found by fingerprint, under one short lock that a read
/// takes once and nothing holds across I/O. A list, not a hash map: a
/// credential holds a handful of keys, a scan of their fingerprints is as fast
/// as hashing, and a map's code would cost every application a few KB.
#[derive(Default)]
struct Slots(Vec<Slot>);

struct Slot {
    fingerprint: u64,
    key: Key,
    entry: Option<Entry>,
    inflight: Option<(u64, Inflight)>,
    /// After a failed refresh: no new refresh before this (Unix nanoseconds).
    next_refresh: Option<i128>,
}

#[derive(Clone, PartialEq, Eq)]
struct Key {
    scopes: Box<[Box<str>]>,
    tenant: Option<Box<str>>,
    claims: Option<Box<str>>,
}

/// A cached token with its deadlines as Unix nanoseconds, so a read compares
/// integers.
struct Entry {
    token: AccessToken,
    usable_until: i128,
    refresh_at: i128,
}

impl Key {
    fn new(scopes: &[&str], tenant: Option<&str>, claims: Option<&str>) -> Self {
        Self {
            scopes: scopes.iter().map(|s| Box::from(*s)).collect(),
            tenant: tenant.map(Box::from),
            claims: claims.map(Box::from),
        }
    }

    /// The same scopes in any order, the same tenant and claims.
    fn matches(&self, scopes: &[&str], tenant: Option<&str>, claims: Option<&str>) -> bool {
        self.scopes.len() == scopes.len()
            && self.tenant.as_deref() == tenant
            && self.claims.as_deref() == claims
            && scopes
                .iter()
                .all(|s| self.scopes.iter().any(|m| **m == **s))
            && self.scopes.iter().all(|m| scopes.contains(&&**m))
    }
}

impl Slot {
    fn usable(&self, now: i128) -> bool {
        self.inflight.is_some() || self.entry.as_ref().is_some_and(|e| now < e.usable_until)
    }
}

impl Slots {
    fn find_mut(&mut self, fingerprint: u64, key: &Key) -> Option<&mut Slot> {
        self.0
            .iter_mut()
            .find(|slot| slot.fingerprint == fingerprint && slot.key == *key)
    }

    fn find_or_insert(
        &mut self,
        fingerprint: u64,
        scopes: &[&str],
        tenant: Option<&str>,
        claims: Option<&str>,
        now: i128,
    ) -> &mut Slot {
        let found = self.0.iter().position(|slot| {
            slot.fingerprint == fingerprint && slot.key.matches(scopes, tenant, claims)
        });
        let index = match found {
            Some(index) => index,
            None => {
                if self.0.len() >= MAX_SLOTS {
                    self.0.retain(|slot| slot.usable(now));
                }
                self.0.push(Slot {
                    fingerprint,
                    key: Key::new(scopes, tenant, claims),
                    entry: None,
                    inflight: None,
                    next_refresh: None,
                });
                self.0.len() - 1
            }
        };
        // In bounds: found in this very list, or just pushed onto it.
        #[allow(clippy::indexing_slicing)]
        &mut self.0[index]
    }
}

/// The future [`TokenCache::get_or_fetch`] returns: a cached token, or the
/// shared request for the key.
#[must_use = "a lookup does nothing unless awaited"]
pub struct Lookup(LookupState);

enum LookupState {
    Cached(Option<AccessToken>),
    Waiting(Wait),
    Failed(Option<CredentialError>),
}

impl Lookup {
    /// A lookup that fails at once (a request refused before the cache).
    pub fn failed(error: CredentialError) -> Self {
        Self(LookupState::Failed(Some(error)))
    }
}

impl Future for Lookup {
    type Output = azure_core::Result<AccessToken>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            LookupState::Cached(token) => match token.take() {
                Some(token) => Poll::Ready(Ok(token)),
                None => Poll::Ready(Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Other,
                    "token cache lookup polled after completion",
                ))),
            },
            LookupState::Failed(error) => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| {
                    CredentialError::failed("TokenCache", "lookup polled after completion")
                })
                .into_azure_error())),
            LookupState::Waiting(wait) => Pin::new(wait)
                .poll(cx)
                .map(|outcome| outcome.map_err(CredentialError::into_azure_error)),
        }
    }
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            LookupState::Cached(_) => "Lookup::Cached",
            LookupState::Waiting(_) => "Lookup::Waiting",
            LookupState::Failed(_) => "Lookup::Failed",
        })
    }
}

fn lock(slots: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    slots.lock().unwrap_or_else(|e| e.into_inner())
}

impl TokenCache {
    /// An empty cache reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>, rule: RefreshRule) -> Self {
        Self {
            clock,
            rule,
            slots: Arc::default(),
        }
    }

    /// Returns a cached token for the key, or runs `fetch` to get one.
    ///
    /// `fetch` is called at most once per call, and only when this caller starts
    /// a request; callers that find a request for the key in flight wait for it.
    /// Its future must be `'static` because another caller, or a background task,
    /// may finish it if this caller goes away.
    ///
    /// The lookup happens here, synchronously; the returned future is either
    /// ready (a cached token) or waits on the shared request, so a cache hit
    /// builds no large future.
    pub fn get_or_fetch<F, Fut>(
        &self,
        scopes: &[&str],
        tenant: Option<&str>,
        claims: Option<&str>,
        fetch: F,
    ) -> Lookup
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FetchedToken, CredentialError>> + Send + 'static,
    {
        let now = self.clock.now_unix_nanos();
        let fingerprint = fingerprint(scopes, tenant, claims);
        let mut slots = lock(&self.slots);
        let slot = slots.find_or_insert(fingerprint, scopes, tenant, claims, now);
        if let Some(entry) = &slot.entry
            && now < entry.usable_until
        {
            let token = entry.token.clone();
            let refresh_due = now >= entry.refresh_at
                && slot.inflight.is_none()
                && slot.next_refresh.is_none_or(|at| now >= at);
            if refresh_due {
                tracing::debug!("refreshing a cached token ahead of its expiry");
                let refresh = self.start(fingerprint, slot, fetch().boxed());
                drop(slots);
                // Detached: it updates the slot when done, whoever waits.
                drop(
                    azure_core::async_runtime::get_async_runtime().spawn(Box::pin(async move {
                        let _ = refresh.wait().await;
                    })),
                );
            }
            return Lookup(LookupState::Cached(Some(token)));
        }
        let waiter = match &slot.inflight {
            Some((_, inflight)) => inflight.wait(),
            None => self.start(fingerprint, slot, fetch().boxed()).wait(),
        };
        Lookup(LookupState::Waiting(waiter))
    }

    /// Fetches a new token for the key now, whatever is cached (a claims
    /// challenge says the cached one is no longer accepted); the result
    /// replaces the cached token for later callers.
    pub fn fetch_now<F, Fut>(
        &self,
        scopes: &[&str],
        tenant: Option<&str>,
        claims: Option<&str>,
        fetch: F,
    ) -> Lookup
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FetchedToken, CredentialError>> + Send + 'static,
    {
        let now = self.clock.now_unix_nanos();
        let fingerprint = fingerprint(scopes, tenant, claims);
        let mut slots = lock(&self.slots);
        let slot = slots.find_or_insert(fingerprint, scopes, tenant, claims, now);
        Lookup(LookupState::Waiting(
            self.start(fingerprint, slot, fetch().boxed()).wait(),
        ))
    }

    /// Not generic: the credential's fetch arrives boxed, so this state machine
    /// is compiled once, not once per credential type.
    fn start(
        &self,
        fingerprint: u64,
        slot: &mut Slot,
        request: BoxFuture<'static, Result<FetchedToken, CredentialError>>,
    ) -> Inflight {
        let id = NEXT_FETCH_ID.fetch_add(1, Ordering::Relaxed);
        let key = slot.key.clone();
        let slots = Arc::downgrade(&self.slots);
        let clock = Arc::clone(&self.clock);
        let rule = self.rule;
        let inflight = async move {
            let outcome = request.await;
            let now = clock.now();
            if let Some(slots) = slots.upgrade() {
                let mut slots = lock(&slots);
                if let Some(slot) = slots.find_mut(fingerprint, &key)
                    && slot
                        .inflight
                        .as_ref()
                        .is_some_and(|(current, _)| *current == id)
                {
                    slot.inflight = None;
                    match &outcome {
                        Ok(fetched) => {
                            let expires_on = fetched.token.expires_on;
                            let refresh_on = rule.refresh_on(now, expires_on, fetched.refresh_on);
                            slot.entry = Some(Entry {
                                token: fetched.token.clone(),
                                usable_until: (expires_on - EXPIRY_MARGIN).unix_timestamp_nanos(),
                                refresh_at: refresh_on.unix_timestamp_nanos(),
                            });
                            slot.next_refresh = None;
                        }
                        Err(_) => {
                            slot.next_refresh =
                                Some((now + REFRESH_RETRY_SPACING).unix_timestamp_nanos());
                        }
                    }
                }
            }
            outcome.map(|fetched| fetched.token)
        }
        .boxed();
        let inflight = Flight::new(inflight);
        slot.inflight = Some((id, inflight.clone()));
        inflight
    }

    /// Forgets every cached token (requests in flight still complete).
    pub fn clear(&self) {
        let mut slots = lock(&self.slots);
        slots.0.clear();
    }

    /// How many keys the cache holds.
    pub fn len(&self) -> usize {
        lock(&self.slots).0.len()
    }

    /// Whether the cache holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("keys", &self.len())
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

/// Order-insensitive over scopes, computed without allocating. Not
/// collision-resistant, and need not be: keys are compared in full.
fn fingerprint(scopes: &[&str], tenant: Option<&str>, claims: Option<&str>) -> u64 {
    let scopes_sum = scopes
        .iter()
        .fold(scopes.len() as u64, |acc, s| acc.wrapping_add(hash_str(s)));
    let optional = |value: Option<&str>| value.map_or(0, hash_str);
    mix(scopes_sum ^ optional(tenant).rotate_left(21) ^ optional(claims).rotate_left(42))
}

const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

fn mix(h: u64) -> u64 {
    (h ^ (h >> 31)).wrapping_mul(MULTIPLIER) ^ (h >> 17)
}

/// A fast word-at-a-time hash (the shape of rustc's `FxHash`).
fn hash_str(s: &str) -> u64 {
    let step = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(MULTIPLIER);
    let mut chunks = s.as_bytes().chunks_exact(8);
    let mut h = s.len() as u64;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = step(h, u64::from_le_bytes(word));
    }
    for byte in chunks.remainder() {
        h = step(h, u64::from(*byte));
    }
    mix(h)
}

#[cfg(test)]
mod tests;
