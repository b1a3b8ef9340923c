//! The token cache every credential keeps, one per credential instance.
//!
//! - Keyed by scopes (order-insensitive), tenant and claims.
//! - A cached read takes two short locks never held across I/O, hashes the key
//!   without allocating, and clones the token.
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
use futures::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use std::{
    collections::HashMap,
    fmt,
    future::Future,
    hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState},
    sync::{Arc, Mutex, MutexGuard, RwLock},
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
type Inflight = Shared<BoxFuture<'static, Outcome>>;

/// The token cache. See the [module documentation](self).
pub struct TokenCache {
    clock: Arc<dyn Clock>,
    rule: RefreshRule,
    hasher: RandomState,
    slots: RwLock<HashMap<u64, Vec<Arc<Slot>>, BuildHasherDefault<PassThrough>>>,
}

struct Slot {
    scopes: Box<[Box<str>]>,
    tenant: Option<Box<str>>,
    claims: Option<Box<str>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entry: Option<Entry>,
    inflight: Option<Inflight>,
    next_refresh: Option<OffsetDateTime>,
}

struct Entry {
    token: AccessToken,
    refresh_on: OffsetDateTime,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn matches(&self, scopes: &[&str], tenant: Option<&str>, claims: Option<&str>) -> bool {
        self.scopes.len() == scopes.len()
            && self.tenant.as_deref() == tenant
            && self.claims.as_deref() == claims
            && scopes
                .iter()
                .all(|s| self.scopes.iter().any(|m| **m == **s))
            && self.scopes.iter().all(|m| scopes.contains(&&**m))
    }

    fn keep(&self, now: OffsetDateTime) -> bool {
        let state = self.lock();
        state.inflight.is_some()
            || state
                .entry
                .as_ref()
                .is_some_and(|e| now < e.token.expires_on - EXPIRY_MARGIN)
    }
}

impl TokenCache {
    /// An empty cache reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>, rule: RefreshRule) -> Self {
        Self {
            clock,
            rule,
            hasher: RandomState::new(),
            slots: RwLock::default(),
        }
    }

    /// Returns a cached token for the key, or runs `fetch` to get one.
    ///
    /// `fetch` is called at most once per call, and only when this caller starts
    /// a request; callers that find a request for the key in flight wait for it.
    /// Its future must be `'static` because another caller, or a background task,
    /// may finish it if this caller goes away.
    pub async fn get_or_fetch<F, Fut>(
        &self,
        scopes: &[&str],
        tenant: Option<&str>,
        claims: Option<&str>,
        fetch: F,
    ) -> azure_core::Result<AccessToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FetchedToken, CredentialError>> + Send + 'static,
    {
        let now = self.clock.now();
        let slot = self.slot(scopes, tenant, claims, now);
        let waiter = {
            let mut state = slot.lock();
            if let Some(entry) = &state.entry
                && now < entry.token.expires_on - EXPIRY_MARGIN
            {
                let token = entry.token.clone();
                let refresh_due = now >= entry.refresh_on
                    && state.inflight.is_none()
                    && state.next_refresh.is_none_or(|at| now >= at);
                if refresh_due {
                    tracing::debug!("refreshing a cached token ahead of its expiry");
                    let refresh = self.start(&slot, &mut state, fetch);
                    drop(state);
                    // Detached: it updates the slot when done, whoever waits.
                    drop(
                        azure_core::async_runtime::get_async_runtime().spawn(Box::pin(
                            async move {
                                let _ = refresh.await;
                            },
                        )),
                    );
                }
                return Ok(token);
            }
            match &state.inflight {
                Some(inflight) => inflight.clone(),
                None => self.start(&slot, &mut state, fetch),
            }
        };
        waiter.await.map_err(CredentialError::into_azure_error)
    }

    fn start<F, Fut>(&self, slot: &Arc<Slot>, state: &mut State, fetch: F) -> Inflight
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FetchedToken, CredentialError>> + Send + 'static,
    {
        let request = fetch();
        let slot = Arc::clone(slot);
        let clock = Arc::clone(&self.clock);
        let rule = self.rule;
        let inflight = async move {
            let outcome = request.await;
            let now = clock.now();
            let mut state = slot.lock();
            state.inflight = None;
            match outcome {
                Ok(fetched) => {
                    let refresh_on =
                        rule.refresh_on(now, fetched.token.expires_on, fetched.refresh_on);
                    state.entry = Some(Entry {
                        token: fetched.token.clone(),
                        refresh_on,
                    });
                    state.next_refresh = None;
                    Ok(fetched.token)
                }
                Err(error) => {
                    state.next_refresh = Some(now + REFRESH_RETRY_SPACING);
                    Err(error)
                }
            }
        }
        .boxed()
        .shared();
        state.inflight = Some(inflight.clone());
        inflight
    }

    fn slot(
        &self,
        scopes: &[&str],
        tenant: Option<&str>,
        claims: Option<&str>,
        now: OffsetDateTime,
    ) -> Arc<Slot> {
        let fingerprint = self.fingerprint(scopes, tenant, claims);
        {
            let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
            if let Some(found) = slots
                .get(&fingerprint)
                .and_then(|list| list.iter().find(|s| s.matches(scopes, tenant, claims)))
            {
                return Arc::clone(found);
            }
        }
        let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = slots
            .get(&fingerprint)
            .and_then(|list| list.iter().find(|s| s.matches(scopes, tenant, claims)))
        {
            return Arc::clone(found);
        }
        if slots.values().map(Vec::len).sum::<usize>() >= MAX_SLOTS {
            slots.retain(|_, list| {
                list.retain(|s| s.keep(now));
                !list.is_empty()
            });
        }
        let slot = Arc::new(Slot {
            scopes: scopes.iter().map(|s| Box::from(*s)).collect(),
            tenant: tenant.map(Box::from),
            claims: claims.map(Box::from),
            state: Mutex::default(),
        });
        slots
            .entry(fingerprint)
            .or_default()
            .push(Arc::clone(&slot));
        slot
    }

    /// Order-insensitive over scopes, computed without allocating.
    fn fingerprint(&self, scopes: &[&str], tenant: Option<&str>, claims: Option<&str>) -> u64 {
        let scopes_sum = scopes.iter().fold(scopes.len() as u64, |acc, s| {
            acc.wrapping_add(self.hasher.hash_one(s))
        });
        let mut hasher = self.hasher.build_hasher();
        scopes_sum.hash(&mut hasher);
        tenant.hash(&mut hasher);
        claims.hash(&mut hasher);
        hasher.finish()
    }

    /// Forgets every cached token (requests in flight still complete).
    pub fn clear(&self) {
        self.slots
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// How many keys the cache holds.
    pub fn len(&self) -> usize {
        self.slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(Vec::len)
            .sum()
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

/// The map's keys are already hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests;
