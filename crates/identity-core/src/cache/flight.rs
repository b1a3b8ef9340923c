//! One token request shared by every caller waiting for its key.
//!
//! Whichever waiter polls first drives the request; the others wait. The
//! request is polled with a waker that wakes every waiter, so if the driving
//! caller goes away, the next waiter to be woken drives it on. A request that
//! panics fails every waiter instead of stranding them.
//!
//! This does what `futures::future::Shared` does for this one output type,
//! with a plain waker list instead of a slab: about 8 KB less code in an
//! application.

use super::Outcome;
use crate::CredentialError;
use futures::future::BoxFuture;
use std::{
    future::Future,
    mem,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll, Wake, Waker},
};

/// A shared request. Clones wait for the same outcome.
#[derive(Clone)]
pub(super) struct Flight(Arc<Shared>);

struct Shared {
    state: Mutex<State>,
}

struct State {
    /// The request; `None` while a waiter is polling it, or once it is done.
    request: Option<BoxFuture<'static, Outcome>>,
    outcome: Option<Outcome>,
    /// Waiters to wake when the request makes progress. Emptied on every wake;
    /// `round` counts the wakes, so a waiter knows whether its entry is current.
    wakers: Vec<Waker>,
    round: u64,
    /// A waiter is polling the request right now ...
    polling: bool,
    /// ... and the request woke meanwhile, so it must be polled again before
    /// that waiter lets go (it may be its last poll: the caller can go away).
    repoll: bool,
}

impl Flight {
    pub(super) fn new(request: BoxFuture<'static, Outcome>) -> Self {
        Self(Arc::new(Shared {
            state: Mutex::new(State {
                request: Some(request),
                outcome: None,
                wakers: Vec::new(),
                round: 0,
                polling: false,
                repoll: false,
            }),
        }))
    }

    /// A future for one waiter.
    pub(super) fn wait(&self) -> Wait {
        Wait {
            flight: self.clone(),
            registered: None,
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn finish(&self, outcome: Outcome) {
        let wakers = {
            let mut state = self.lock();
            state.outcome = Some(outcome);
            state.request = None;
            state.polling = false;
            state.round += 1;
            mem::take(&mut state.wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers = {
            let mut state = self.lock();
            state.repoll |= state.polling;
            state.round += 1;
            mem::take(&mut state.wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// One waiter's view of a [`Flight`].
pub(super) struct Wait {
    flight: Flight,
    /// Where this waiter's waker sits in `wakers`, and in which round.
    registered: Option<(u64, usize)>,
}

/// Fails every waiter if the request panics while being polled.
struct PanicGuard<'a>(Option<&'a Shared>);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            shared.finish(Err(CredentialError::failed(
                "TokenCache",
                "the token request panicked; see the panic message above",
            )));
        }
    }
}

impl Future for Wait {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let this = self.get_mut();
        let shared = &this.flight.0;
        let mut request = {
            let mut state = shared.lock();
            if let Some(outcome) = &state.outcome {
                return Poll::Ready(outcome.clone());
            }
            let round = state.round;
            match this.registered {
                Some((r, index)) if r == round => {
                    if let Some(waker) = state.wakers.get_mut(index)
                        && !waker.will_wake(cx.waker())
                    {
                        waker.clone_from(cx.waker());
                    }
                }
                _ => {
                    state.wakers.push(cx.waker().clone());
                    this.registered = Some((round, state.wakers.len() - 1));
                }
            }
            match state.request.take() {
                Some(request) => {
                    state.polling = true;
                    state.repoll = false;
                    request
                }
                // Another waiter is polling it and will wake this one.
                None => return Poll::Pending,
            }
        };
        let waker = Waker::from(Arc::clone(shared));
        let mut guard = PanicGuard(Some(shared));
        loop {
            match request.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(outcome) => {
                    guard.0 = None;
                    shared.finish(outcome.clone());
                    return Poll::Ready(outcome);
                }
                Poll::Pending => {
                    let mut state = shared.lock();
                    if mem::take(&mut state.repoll) {
                        continue;
                    }
                    state.polling = false;
                    state.request = Some(request);
                    guard.0 = None;
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AccessToken;
    use azure_core::time::OffsetDateTime;
    use futures::task::noop_waker;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    fn token(secret: &'static str) -> Outcome {
        Ok(AccessToken::new(secret, OffsetDateTime::UNIX_EPOCH))
    }

    fn poll_once(wait: &mut Wait) -> Poll<Outcome> {
        Pin::new(wait).poll(&mut Context::from_waker(&noop_waker()))
    }

    #[test]
    fn every_waiter_gets_the_one_outcome() {
        let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&polls);
        let flight = Flight::new(Box::pin(futures::future::poll_fn(move |_| {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Poll::Ready(token("shared"))
        })));
        let mut waits: Vec<Wait> = (0..5).map(|_| flight.wait()).collect();
        for wait in &mut waits {
            match poll_once(wait) {
                Poll::Ready(Ok(t)) => assert_eq!(t.token.secret(), "shared"),
                _ => panic!("not ready"),
            }
        }
        assert_eq!(polls.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[test]
    fn a_wake_during_the_poll_is_not_lost() {
        // The request wakes itself while being polled: the waiter polling it
        // must poll again before letting go, since it may never be polled again.
        let mut first = true;
        let flight = Flight::new(Box::pin(futures::future::poll_fn(move |cx| {
            if std::mem::take(&mut first) {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(token("t"))
            }
        })));
        assert!(poll_once(&mut flight.wait()).is_ready());
    }

    #[tokio::test]
    async fn a_waiter_that_goes_away_leaves_the_request_to_the_others() {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let flight = Flight::new(Box::pin(async move {
            let _ = rx.await;
            token("t")
        }));
        let mut driver = flight.wait();
        assert!(poll_once(&mut driver).is_pending());
        drop(driver);
        let other = flight.wait();
        tx.send(()).unwrap();
        assert_eq!(other.await.unwrap().token.secret(), "t");
    }

    #[test]
    fn a_panicking_request_fails_every_waiter() {
        let flight = Flight::new(Box::pin(async { panic!("the fetch panicked") }));
        let mut driver = flight.wait();
        let mut other = flight.wait();
        assert!(catch_unwind(AssertUnwindSafe(|| poll_once(&mut driver))).is_err());
        match poll_once(&mut other) {
            Poll::Ready(Err(e)) => assert!(e.message().contains("panicked"), "{e}"),
            _ => panic!("the other waiter was stranded"),
        }
    }
}
