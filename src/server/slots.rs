//! The searches computed at once, and a bounded queue of those waiting
//! for a turn: a search is CPU-bound, so beyond the slots more at once
//! only makes each slower, and beyond the queue a client is told to retry.

use super::error::ApiError;
use axum::http::StatusCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct SearchSlots {
    slots: Arc<Semaphore>,
    size: usize,
    waiting: AtomicUsize,
    queue: usize,
    /// The longest wait in the queue: past it the answer is 503 with a
    /// retry, which a client or a load balancer retries elsewhere, rather
    /// than the request's timeout (408, which blames the client).
    max_wait: Duration,
}

impl SearchSlots {
    pub fn new(slots: usize, queue: usize, max_wait: Duration) -> SearchSlots {
        SearchSlots {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            size: slots.max(1),
            waiting: AtomicUsize::new(0),
            queue,
            max_wait,
        }
    }

    /// Searches holding a slot, and searches waiting for one.
    pub fn load(&self) -> (usize, usize) {
        let running = self.size - self.slots.available_permits();
        (running, self.waiting.load(Ordering::SeqCst))
    }

    /// A slot, after waiting in the queue; 503 when the queue is full.
    /// Hold the permit where the work runs (a blocking task), not in the
    /// request: a request dropped mid-search must not free the slot.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Ok(p);
        }
        let busy =
            |why: &str| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", why).retry_after(1);
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(busy("too many searches are waiting; retry shortly"));
        }
        // Counted out however the wait ends: a request dropped while it
        // waits (timed out, its client gone) leaves the queue too.
        let _waiting = Waiting(&self.waiting);
        match tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned()).await {
            Ok(permit) => permit.map_err(|_| ApiError::internal("search slots closed")),
            Err(_) => Err(busy(&format!(
                "no search slot came free in {} s; retry shortly",
                self.max_wait.as_secs_f32()
            ))),
        }
    }
}

/// One request waiting for a slot, counted out when dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_request_dropped_while_waiting_leaves_the_queue() {
        let slots = Arc::new(SearchSlots::new(1, 1, Duration::from_secs(60)));
        let busy = slots.acquire().await.unwrap();
        // Waits, then is dropped as the server's timeout drops a request.
        for _ in 0..3 {
            let waited = tokio::time::timeout(Duration::from_millis(20), slots.acquire()).await;
            assert!(waited.is_err(), "the only slot is taken: it waits");
        }
        // The queue has room again: the next one waits for its turn…
        let next = tokio::spawn({
            let slots = Arc::clone(&slots);
            async move { slots.acquire().await.map(drop) }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // …and a second one finds the queue full.
        let refused = slots.acquire().await.expect_err("the queue holds one");
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(slots.load(), (1, 1), "one running, one waiting");
        drop(busy);
        let got = tokio::time::timeout(Duration::from_secs(5), next).await;
        assert!(
            matches!(got, Ok(Ok(Ok(())))),
            "the waiting one got the slot"
        );
    }

    #[tokio::test]
    async fn a_search_that_waits_too_long_is_told_to_retry_not_timed_out() {
        let slots = SearchSlots::new(1, 4, Duration::from_millis(50));
        let _busy = slots.acquire().await.unwrap();
        let refused = slots.acquire().await.expect_err("no slot came free");
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            refused.message.contains("no search slot came free"),
            "{}",
            refused.message
        );
        assert_eq!(slots.load(), (1, 0), "out of the queue");
    }
}
