use super::*;
use crate::ManualClock;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

fn start() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap()
}

struct Harness {
    clock: Arc<ManualClock>,
    cache: TokenCache,
    fetches: Arc<AtomicUsize>,
}

impl Harness {
    fn new(rule: RefreshRule) -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        Self {
            cache: TokenCache::new(Arc::clone(&clock) as Arc<dyn Clock>, rule),
            clock,
            fetches: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn fetch_ok(
        &self,
        lifetime: Duration,
    ) -> impl FnOnce() -> BoxFuture<'static, Result<FetchedToken, CredentialError>> {
        let fetches = Arc::clone(&self.fetches);
        let expires_on = self.clock.now() + lifetime;
        move || {
            async move {
                let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(FetchedToken::new(AccessToken::new(
                    format!("token-{n}"),
                    expires_on,
                )))
            }
            .boxed()
        }
    }

    fn fetch_err(
        &self,
    ) -> impl FnOnce() -> BoxFuture<'static, Result<FetchedToken, CredentialError>> {
        let fetches = Arc::clone(&self.fetches);
        move || {
            async move {
                fetches.fetch_add(1, Ordering::SeqCst);
                Err(CredentialError::failed("Test", "endpoint down"))
            }
            .boxed()
        }
    }

    async fn get(&self, scopes: &[&str], lifetime: Duration) -> String {
        let token = self
            .cache
            .get_or_fetch(scopes, None, None, self.fetch_ok(lifetime))
            .await
            .unwrap();
        token.token.secret().to_owned()
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    async fn wait_for_fetches(&self, n: usize) {
        for _ in 0..1000 {
            if self.fetches() >= n {
                // Let the background task store its result.
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        panic!("expected {n} fetches, saw {}", self.fetches());
    }
}

#[tokio::test]
async fn second_read_is_cached_and_scope_order_does_not_matter() {
    let h = Harness::new(RefreshRule::Standard);
    assert_eq!(h.get(&["a", "b"], Duration::hours(1)).await, "token-1");
    assert_eq!(h.get(&["b", "a"], Duration::hours(1)).await, "token-1");
    assert_eq!(h.fetches(), 1);
    assert_eq!(h.get(&["a"], Duration::hours(1)).await, "token-2");
    assert_eq!(h.cache.len(), 2);
}

#[tokio::test]
async fn tenant_and_claims_are_part_of_the_key() {
    let h = Harness::new(RefreshRule::Standard);
    let hour = Duration::hours(1);
    let a = h
        .cache
        .get_or_fetch(&["s"], Some("t1"), None, h.fetch_ok(hour))
        .await
        .unwrap();
    let b = h
        .cache
        .get_or_fetch(&["s"], Some("t2"), None, h.fetch_ok(hour))
        .await
        .unwrap();
    let c = h
        .cache
        .get_or_fetch(&["s"], Some("t1"), Some("{}"), h.fetch_ok(hour))
        .await
        .unwrap();
    let d = h
        .cache
        .get_or_fetch(&["s"], Some("t1"), None, h.fetch_ok(hour))
        .await
        .unwrap();
    assert_ne!(a.token, b.token);
    assert_ne!(a.token, c.token);
    assert_eq!(a.token, d.token);
    assert_eq!(h.fetches(), 3);
}

#[tokio::test]
async fn duplicate_scopes_are_not_confused_with_others() {
    let h = Harness::new(RefreshRule::Standard);
    let hour = Duration::hours(1);
    assert_eq!(h.get(&["a", "a"], hour).await, "token-1");
    assert_eq!(h.get(&["a", "b"], hour).await, "token-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_for_one_key_send_one_request() {
    let h = Arc::new(Harness::new(RefreshRule::Standard));
    let gate = Arc::new(Notify::new());
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let h = Arc::clone(&h);
        let gate = Arc::clone(&gate);
        tasks.push(tokio::spawn(async move {
            let fetches = Arc::clone(&h.fetches);
            let expires = h.clock.now() + Duration::hours(1);
            h.cache
                .get_or_fetch(&["s"], None, None, move || async move {
                    gate.notified().await;
                    fetches.fetch_add(1, Ordering::SeqCst);
                    Ok(FetchedToken::new(AccessToken::new("shared", expires)))
                })
                .await
                .unwrap()
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    gate.notify_one();
    for t in tasks {
        assert_eq!(t.await.unwrap().token.secret(), "shared");
    }
    assert_eq!(h.fetches(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_a_failure() {
    let h = Arc::new(Harness::new(RefreshRule::Standard));
    let gate = Arc::new(Notify::new());
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let h = Arc::clone(&h);
        let gate = Arc::clone(&gate);
        tasks.push(tokio::spawn(async move {
            let fetches = Arc::clone(&h.fetches);
            h.cache
                .get_or_fetch(&["s"], None, None, move || async move {
                    gate.notified().await;
                    fetches.fetch_add(1, Ordering::SeqCst);
                    Err(CredentialError::failed("Test", "endpoint down"))
                })
                .await
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    gate.notify_one();
    for t in tasks {
        let err = t.await.unwrap().unwrap_err();
        assert!(err.to_string().contains("endpoint down"), "{err}");
        assert!(CredentialError::find(&err).is_some());
    }
    assert_eq!(h.fetches(), 1);
}

#[tokio::test]
async fn a_cached_read_never_waits_behind_another_keys_fetch() {
    let h = Arc::new(Harness::new(RefreshRule::Standard));
    h.get(&["cached"], Duration::hours(1)).await;
    let gate = Arc::new(Notify::new());
    let slow = {
        let h = Arc::clone(&h);
        let gate = Arc::clone(&gate);
        tokio::spawn(async move {
            let expires = h.clock.now() + Duration::hours(1);
            h.cache
                .get_or_fetch(&["slow"], None, None, move || async move {
                    gate.notified().await;
                    Ok(FetchedToken::new(AccessToken::new("slow", expires)))
                })
                .await
        })
    };
    tokio::task::yield_now().await;
    // While "slow" is in flight: the cached key answers, and a third key fetches.
    assert_eq!(h.get(&["cached"], Duration::hours(1)).await, "token-1");
    assert_eq!(h.get(&["other"], Duration::hours(1)).await, "token-2");
    assert!(!slow.is_finished());
    gate.notify_one();
    assert_eq!(slow.await.unwrap().unwrap().token.secret(), "slow");
}

#[tokio::test]
async fn a_dropped_leader_does_not_strand_the_others() {
    let h = Arc::new(Harness::new(RefreshRule::Standard));
    let gate = Arc::new(Notify::new());
    let expires = h.clock.now() + Duration::hours(1);
    let make = move |gate: Arc<Notify>| {
        move || async move {
            gate.notified().await;
            Ok(FetchedToken::new(AccessToken::new("late", expires)))
        }
    };
    {
        let leader = h
            .cache
            .get_or_fetch(&["s"], None, None, make(Arc::clone(&gate)));
        // Poll once so the request starts, then drop the caller.
        let _ = futures::poll!(Box::pin(leader));
    }
    let follower = {
        let h = Arc::clone(&h);
        let gate = Arc::clone(&gate);
        tokio::spawn(async move { h.cache.get_or_fetch(&["s"], None, None, make(gate)).await })
    };
    tokio::task::yield_now().await;
    gate.notify_one();
    assert_eq!(follower.await.unwrap().unwrap().token.secret(), "late");
}

#[tokio::test]
async fn refresh_ahead_serves_the_old_token_and_refreshes_once() {
    let h = Harness::new(RefreshRule::Standard);
    let hour = Duration::hours(1);
    assert_eq!(h.get(&["s"], hour).await, "token-1");
    // 54 min: before the refresh point (expiry - 5 min).
    h.clock.advance(Duration::minutes(54));
    assert_eq!(h.get(&["s"], hour).await, "token-1");
    assert_eq!(h.fetches(), 1);
    // 56 min: old token returned at once; one refresh starts in the background.
    h.clock.advance(Duration::minutes(2));
    assert_eq!(h.get(&["s"], hour).await, "token-1");
    h.wait_for_fetches(2).await;
    assert_eq!(h.get(&["s"], hour).await, "token-2");
    assert_eq!(h.fetches(), 2);
}

#[tokio::test]
async fn failed_refresh_keeps_the_old_token_and_spaces_attempts() {
    let h = Harness::new(RefreshRule::Standard);
    assert_eq!(h.get(&["s"], Duration::hours(1)).await, "token-1");
    h.clock.advance(Duration::minutes(56));
    let old = h
        .cache
        .get_or_fetch(&["s"], None, None, h.fetch_err())
        .await
        .unwrap();
    assert_eq!(old.token.secret(), "token-1");
    h.wait_for_fetches(2).await;
    // Within the spacing: no new attempt, old token still served.
    h.clock.advance(Duration::seconds(20));
    let old = h
        .cache
        .get_or_fetch(&["s"], None, None, h.fetch_err())
        .await
        .unwrap();
    assert_eq!(old.token.secret(), "token-1");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(h.fetches(), 2);
    // After the spacing: another attempt.
    h.clock.advance(Duration::seconds(11));
    let old = h
        .cache
        .get_or_fetch(&["s"], None, None, h.fetch_err())
        .await
        .unwrap();
    assert_eq!(old.token.secret(), "token-1");
    h.wait_for_fetches(3).await;
    // Once expired, a caller waits for a fresh fetch and sees its error.
    h.clock.advance(Duration::minutes(4));
    let err = h
        .cache
        .get_or_fetch(&["s"], None, None, h.fetch_err())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("endpoint down"));
}

#[tokio::test]
async fn an_expired_token_is_fetched_again_in_the_foreground() {
    let h = Harness::new(RefreshRule::Standard);
    assert_eq!(h.get(&["s"], Duration::hours(1)).await, "token-1");
    h.clock.advance(Duration::minutes(61));
    assert_eq!(h.get(&["s"], Duration::hours(1)).await, "token-2");
}

#[tokio::test]
async fn a_failed_cold_fetch_is_retried_on_the_next_call() {
    let h = Harness::new(RefreshRule::Standard);
    assert!(
        h.cache
            .get_or_fetch(&["s"], None, None, h.fetch_err())
            .await
            .is_err()
    );
    assert_eq!(h.get(&["s"], Duration::hours(1)).await, "token-2");
}

#[test]
fn refresh_rules() {
    let t0 = start();
    let std = RefreshRule::Standard;
    let mi = RefreshRule::HalfLifeForLongLived;
    let h1 = t0 + Duration::hours(1);
    assert_eq!(std.refresh_on(t0, h1, None), h1 - Duration::minutes(5));
    // Service hint wins when it lies inside the lifetime.
    let hint = t0 + Duration::minutes(30);
    assert_eq!(std.refresh_on(t0, h1, Some(hint)), hint);
    assert_eq!(
        std.refresh_on(t0, h1, Some(h1 + Duration::hours(1))),
        h1 - Duration::minutes(5)
    );
    // Short tokens refresh at half-life instead of before they were issued.
    let m4 = t0 + Duration::minutes(4);
    assert_eq!(std.refresh_on(t0, m4, None), t0 + Duration::minutes(2));
    // Long-lived managed identity tokens refresh at half-life.
    let h24 = t0 + Duration::hours(24);
    assert_eq!(mi.refresh_on(t0, h24, None), t0 + Duration::hours(12));
    assert_eq!(std.refresh_on(t0, h24, None), h24 - Duration::minutes(5));
    assert_eq!(mi.refresh_on(t0, h1, None), h1 - Duration::minutes(5));
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let h = Harness::new(RefreshRule::Standard);
    for i in 0..(MAX_SLOTS + 10) {
        let scope = format!("s{i}");
        h.get(&[scope.as_str()], Duration::seconds(30)).await;
    }
    h.clock.advance(Duration::minutes(1));
    h.get(&["fresh"], Duration::hours(1)).await;
    assert!(h.cache.len() <= MAX_SLOTS, "{}", h.cache.len());
}
