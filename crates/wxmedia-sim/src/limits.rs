//! WeChat Pay's documented rate limits as the simulator keeps them: a token bucket per endpoint, switched on by `wxmedia sim`, `wxmedia demo` and the tests that ask.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A documented limit: `count` requests per `per`, per merchant and
/// endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimit {
    pub(crate) count: u32,
    pub(crate) per: Duration,
}

/// A token bucket: `count` requests at once, refilled at `count` per
/// `per`. WeChat Pay does not say how it counts; a bucket allows what a
/// per-second window allows for a client that spreads its requests, and
/// refuses a client that sends many at once or too many over time.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The switch and the buckets, by path (the simulator has one merchant).
#[derive(Debug, Default)]
pub(crate) struct Limits {
    on: AtomicBool,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

impl Limits {
    /// Keep the limits, or stop (forgetting what was counted).
    pub(crate) fn switch(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
        if !on {
            self.lock().clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, Bucket>> {
        // A panic in one request must not take the limits down with it.
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a request to `path` arriving at `now` is past `limit`. A
    /// refused request takes nothing from the bucket.
    pub(crate) fn over(&self, path: &'static str, limit: RateLimit, now: Instant) -> bool {
        if !self.on.load(Ordering::Relaxed) {
            return false;
        }
        let full = f64::from(limit.count);
        let mut buckets = self.lock();
        let bucket = buckets.entry(path).or_insert(Bucket {
            tokens: full,
            at: now,
        });
        // `duration_since` saturates: inputs that go back in time refill
        // nothing.
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * full / limit.per.as_secs_f64()).min(full);
        bucket.at = bucket.at.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            false
        } else {
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten at once pass and the eleventh is refused; a tenth of a second
    /// later one more passes; off, nothing is refused.
    #[test]
    fn a_bucket_of_ten_refills_at_ten_a_second() {
        let limits = Limits::default();
        let ten = RateLimit {
            count: 10,
            per: Duration::from_secs(1),
        };
        // The arrival time as the handler gets it (no clock read here).
        let t0 = crate::inputs::Inputs::from_system().now;
        assert!(!limits.over("/p", ten, t0), "off by default");
        limits.switch(true);
        let passed = (0..11).filter(|_| !limits.over("/p", ten, t0)).count();
        assert_eq!(passed, 10);
        assert!(!limits.over("/other", ten, t0), "each path has its own");
        let later = t0 + Duration::from_millis(100);
        assert!(!limits.over("/p", ten, later));
        assert!(limits.over("/p", ten, later));
        limits.switch(false);
        assert!(!limits.over("/p", ten, later));
    }
}
