//! Rate limits kept, not discovered: the [`Limiter`] every attempt takes its slot from, the in-process one, and each client's rates.
//!
//! WeChat Pay limits uploads per merchant and endpoint. Every attempt of
//! an operation that has a [`Pacing`] (every upload) first takes the next
//! slot of its merchant and endpoint from the client's limiter and waits
//! for it, so that the uploads of one client (its clones, a batch's
//! workers) together stay at the endpoint's rate. A `FREQUENCY_LIMITED`
//! reply still comes back sometimes (another program of the merchant, a
//! host that counts differently): it holds the slot for the retry's delay
//! (the server's `Retry-After` when it sends one), which pauses every
//! upload of that endpoint, not only the one that was refused.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt, ready};
use wxmedia_proto::{MchId, Pace, Pacing, Rate};

use crate::BoxError;

#[cfg(feature = "redis")]
mod store;
#[cfg(feature = "redis")]
pub use store::RedisLimiter;

/// Where the slots of a merchant's endpoints are kept. The in-process
/// [`LocalLimiter`] is the default; an implementation over a shared store
/// lets several processes or machines of one merchant share its limit.
///
/// `key` names the merchant and endpoint ([`limit_key`]); every caller of
/// one key must pass the same rate.
pub trait Limiter: Send + Sync + fmt::Debug + 'static {
    /// Take the next free slot of `key` at `rate`: how long to wait
    /// before sending. The slot is taken even if the caller then gives up.
    fn reserve<'a>(&'a self, key: &'a str, rate: Rate)
    -> BoxFuture<'a, Result<Duration, BoxError>>;

    /// The server refused for the rate: give no slot of `key` before
    /// `pause` from now.
    fn hold<'a>(&'a self, key: &'a str, pause: Duration) -> BoxFuture<'a, Result<(), BoxError>>;
}

/// The limit key of a merchant's endpoint: `wxmedia:rate:<mch_id>:<path>`.
pub fn limit_key(mch_id: &MchId, path: &str) -> String {
    format!("wxmedia:rate:{}:{path}", mch_id.as_str())
}

/// The slots of this process: one [`Pace`] per key, behind a mutex that
/// is held for a few nanoseconds (no I/O, no await inside).
#[derive(Debug, Default)]
pub struct LocalLimiter {
    paces: Mutex<HashMap<String, Pace>>,
}

impl LocalLimiter {
    /// An empty limiter.
    pub fn new() -> LocalLimiter {
        LocalLimiter::default()
    }

    fn with<R>(&self, key: &str, f: impl FnOnce(&mut Pace) -> R) -> R {
        let mut paces = self.paces.lock().unwrap_or_else(PoisonError::into_inner);
        match paces.get_mut(key) {
            Some(pace) => f(pace),
            None => f(paces.entry(key.to_owned()).or_default()),
        }
    }
}

impl Limiter for LocalLimiter {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        rate: Rate,
    ) -> BoxFuture<'a, Result<Duration, BoxError>> {
        let wait = self.with(key, |pace| pace.reserve(rate, Instant::now()));
        ready(Ok(wait)).boxed()
    }

    fn hold<'a>(&'a self, key: &'a str, pause: Duration) -> BoxFuture<'a, Result<(), BoxError>> {
        let until = Instant::now().checked_add(pause);
        if let Some(until) = until {
            self.with(key, |pace| pace.hold_until(until));
        }
        ready(Ok(())).boxed()
    }
}

/// A client's rate limits: the limiter its attempts take slots from
/// (`None`: not paced) and the rates that replace an endpoint's
/// documented one, by path.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rates {
    /// Where slots are taken; `None` turns pacing off.
    pub limiter: Option<Arc<dyn Limiter>>,
    /// Rates given for endpoints, by path, over their documented ones.
    pub overrides: BTreeMap<String, Rate>,
}

impl Default for Rates {
    /// A fresh [`LocalLimiter`] and the documented rates.
    fn default() -> Self {
        Rates {
            limiter: Some(Arc::new(LocalLimiter::new())),
            overrides: BTreeMap::new(),
        }
    }
}

impl Rates {
    /// The rate kept for an operation's pacing: the override for its path,
    /// else its own.
    pub fn rate_for(&self, pacing: &Pacing<'_>) -> Rate {
        self.overrides
            .get(pacing.path)
            .copied()
            .unwrap_or(pacing.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::block_on;

    /// Clones of one client share one limiter: four reservations of one
    /// key at 10/s are 0, 100, 200, 300 ms away (within scheduling noise),
    /// another endpoint's key is free, and a hold moves every caller.
    #[test]
    fn one_key_is_paced_others_are_free_and_a_hold_pauses_all() {
        let limiter: Arc<dyn Limiter> = Arc::new(LocalLimiter::new());
        let mch = MchId::new("1900000001").unwrap();
        let key = limit_key(&mch, "/v3/merchant/media/upload");
        assert_eq!(key, "wxmedia:rate:1900000001:/v3/merchant/media/upload");
        let rate = Rate::per_second(10);
        let waits: Vec<Duration> = (0..4)
            .map(|_| block_on(limiter.reserve(&key, rate)).unwrap())
            .collect();
        for (n, wait) in waits.iter().enumerate() {
            let ideal = Duration::from_millis(100 * n as u64);
            assert!(
                *wait <= ideal && ideal - *wait < Duration::from_millis(50),
                "{waits:?}"
            );
        }
        let other = limit_key(&mch, "/v3/marketing/favor/media/image-upload");
        assert_eq!(
            block_on(limiter.reserve(&other, rate)).unwrap(),
            Duration::ZERO
        );
        block_on(limiter.hold(&key, Duration::from_secs(5))).unwrap();
        let after_hold = block_on(limiter.reserve(&key, rate)).unwrap();
        assert!(after_hold > Duration::from_millis(4900), "{after_hold:?}");
        // A pause too long for an Instant is ignored, not a panic.
        block_on(limiter.hold(&key, Duration::MAX)).unwrap();
    }

    #[test]
    fn an_override_replaces_the_documented_rate_of_its_path_only() {
        let mut rates = Rates::default();
        rates.overrides.insert("/a".to_owned(), Rate::per_minute(1));
        let a = Pacing {
            path: "/a",
            rate: Rate::per_second(10),
        };
        let b = Pacing {
            path: "/b",
            rate: Rate::per_second(10),
        };
        assert_eq!(rates.rate_for(&a), Rate::per_minute(1));
        assert_eq!(rates.rate_for(&b), Rate::per_second(10));
    }
}
