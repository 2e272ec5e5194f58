//! Per-key request rate limits (token buckets).
//!
//! A stolen officer key, or a script gone wrong, must not be able to
//! drain the database by photo search or starve the other border posts.
//! Each key may burst up to ten seconds' worth of requests (at least its
//! first few of a minute: a key limited to 3 a minute may make 3 at once),
//! then gets its rate; the critical section is a map lookup and two
//! multiplications.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Takes one request from `key`'s bucket; `Err(seconds)` says when to
    /// retry. A rate of 0 is unlimited.
    pub fn check(&self, key: &str, per_minute: u32) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(per_minute) / 60.0;
        // Ten seconds' worth, but never fewer than the minute's own (up to
        // 5): a rate of 3 allowed one request and then refused the second.
        let burst = (rate * 10.0).max(f64::from(per_minute.min(5)));
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = map.entry(key.to_string()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn burst_then_refusal_with_a_retry_time() {
        let r = RateLimiter::default();
        for _ in 0..10 {
            r.check("k", 60).unwrap();
        }
        let wait = r.check("k", 60).unwrap_err();
        assert!((1..=2).contains(&wait), "{wait}");
        // Another key has its own bucket; 0 is unlimited.
        r.check("other", 60).unwrap();
        for _ in 0..1000 {
            r.check("admin", 0).unwrap();
        }
        // A low rate still allows its minute's requests at once.
        for _ in 0..3 {
            r.check("slow", 3).unwrap();
        }
        let wait = r.check("slow", 3).unwrap_err();
        assert!((19..=20).contains(&wait), "{wait}");
    }
}
