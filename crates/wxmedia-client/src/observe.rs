//! Every attempt, observable: what the `wxmedia.attempt` tracing span carries, handed to a caller's [`Observer`] as one [`Attempt`] per finished attempt, for metrics without parsing logs.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// One finished attempt of an operation, as the span records it. Never a
/// secret: the proxy's password is masked, and nothing of the request's
/// signature or the keys is here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// The request path: the endpoint (`/v3/merchant/media/upload`).
    pub endpoint: String,
    /// The base URL it went to (the primary, its twin, a gateway).
    pub host: String,
    /// Which attempt of the operation, from 1.
    pub attempt: u32,
    /// The transport's name (`hyper`, `surf`, `blocking`).
    pub transport: &'static str,
    /// The proxy it went through, password masked; `None` straight.
    pub proxy: Option<String>,
    /// The reply's HTTP status, when a reply came.
    pub status: Option<u16>,
    /// WeChat Pay's `Request-ID`, when the reply had one (v3).
    pub request_id: Option<String>,
    /// The request body's size, in bytes.
    pub bytes_sent: u64,
    /// From sending to the end of the reply (or the failure).
    pub latency: Duration,
    /// How long the attempt waited for its rate-limit slot first.
    pub limiter_wait: Duration,
    /// What was decided after it.
    pub decision: Decision,
    /// Whether the server answered that the merchant is over its rate
    /// (`FREQUENCY_LIMITED`, 429).
    pub rate_limited: bool,
    /// The failure, in one line, when it failed (the same text the error
    /// of the operation would print).
    pub error: Option<String>,
}

/// What the client did after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It succeeded: the operation is done.
    Done,
    /// It failed and is retried after this delay.
    Retry(Duration),
    /// It failed and is not retried: the operation fails with it.
    GiveUp,
    /// It failed, and the deadline leaves no time to retry.
    Deadline,
}

impl Decision {
    /// `done`, `retry`, `give-up` or `deadline`, as the span records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Done => "done",
            Decision::Retry(_) => "retry",
            Decision::GiveUp => "give-up",
            Decision::Deadline => "deadline",
        }
    }
}

/// Told of every finished attempt of every operation of a client (and its
/// clones), on the task that ran it: keep it quick (count, record, send to
/// a channel), since the next attempt waits for it.
///
/// A closure is an observer:
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use wxmedia_client::observe::Attempt;
///
/// let rate_limited = Arc::new(AtomicU64::new(0));
/// let seen = Arc::clone(&rate_limited);
/// let observer = move |a: &Attempt| {
///     if a.rate_limited {
///         seen.fetch_add(1, Ordering::Relaxed);
///     }
/// };
/// # fn takes(_: impl wxmedia_client::observe::Observer) {}
/// takes(observer);
/// ```
pub trait Observer: Send + Sync + 'static {
    /// One attempt ended.
    fn attempt(&self, attempt: &Attempt);
}

impl<F: Fn(&Attempt) + Send + Sync + 'static> Observer for F {
    fn attempt(&self, attempt: &Attempt) {
        self(attempt);
    }
}

/// The observer of a client's settings, if any.
#[derive(Clone, Default)]
pub struct Observers(pub(crate) Option<Arc<dyn Observer>>);

impl fmt::Debug for Observers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observers(1)"
        } else {
            "Observers(none)"
        })
    }
}

impl Observers {
    pub(crate) fn tell(&self, attempt: &Attempt) {
        if let Some(o) = &self.0 {
            o.attempt(attempt);
        }
    }
}
