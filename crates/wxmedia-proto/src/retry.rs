//! Pure retry decisions: capped exponential backoff with caller-supplied jitter, attempts and a total budget.

use std::time::Duration;

use crate::Error;

/// Why an attempt failed, as a transport saw it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Failure<'a> {
    /// Could not connect (DNS, refused, connect timeout, TLS handshake).
    Connect,
    /// The attempt ran past its timeout.
    Timeout,
    /// The connection broke after the request was sent (reset, truncated reply).
    Connection,
    /// A complete reply was decoded into an error.
    Reply(&'a Error),
}

impl Failure<'_> {
    /// Whether sending again can help. Uploads are safe to repeat: the
    /// worst case is a second, unused `media_id`.
    pub fn is_retryable(&self) -> bool {
        match self {
            Failure::Connect | Failure::Timeout | Failure::Connection => true,
            Failure::Reply(e) => e.is_retryable(),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Give up and report the failure.
    Stop,
    /// Sleep this long, then send again.
    RetryAfter(Duration),
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 means no retry).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// Cap on one delay.
    pub max_delay: Duration,
    /// No retry is started when the time spent plus the delay would pass
    /// this budget.
    pub total_budget: Duration,
    /// Least delay after `FREQUENCY_LIMITED` (v3: `RATE_LIMITED`): the
    /// server asked us to slow down.
    pub rate_limited_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 200 ms doubling up to 5 s, 1 s at least when rate
    /// limited, within 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            total_budget: Duration::from_secs(30),
            rate_limited_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Decide after attempt number `attempt` (1-based) failed with
    /// `failure`, `elapsed` after the first attempt started. `jitter` is a
    /// random number in `[0, 1)` from the caller; the delay is scaled into
    /// `[delay/2, delay)` so that clients spread out.
    pub fn decide(
        &self,
        attempt: u32,
        failure: &Failure<'_>,
        elapsed: Duration,
        jitter: f64,
    ) -> Decision {
        if !failure.is_retryable() || attempt >= self.max_attempts {
            return Decision::Stop;
        }
        let exp = attempt.saturating_sub(1).min(30);
        let raw = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let mut delay = raw.mul_f64(0.5 + jitter / 2.0);
        let rate_limited = matches!(
            failure,
            Failure::Reply(e) if e.is_rate_limited()
        );
        if rate_limited {
            delay = delay.max(self.rate_limited_delay);
        }
        match elapsed.checked_add(delay) {
            Some(t) if t <= self.total_budget => Decision::RetryAfter(delay),
            _ => Decision::Stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiError, ErrorCode, Layer};
    use bytes::Bytes;

    fn api(code: ErrorCode) -> Error {
        Error::Api(ApiError::v2(
            Layer::Result,
            Some(code),
            String::new(),
            Bytes::new(),
        ))
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            total_budget: Duration::from_secs(600),
            ..RetryPolicy::default()
        };
        let d = |n| match p.decide(n, &Failure::Connect, Duration::ZERO, 0.999_999) {
            Decision::RetryAfter(d) => d,
            Decision::Stop => panic!("stopped at {n}"),
        };
        assert!(d(1) < Duration::from_millis(201) && d(1) > Duration::from_millis(199));
        assert!(d(2) > Duration::from_millis(399));
        assert!(d(9) <= Duration::from_secs(5));
        // Jitter 0 halves the delay.
        assert_eq!(
            p.decide(1, &Failure::Connect, Duration::ZERO, 0.0),
            Decision::RetryAfter(Duration::from_millis(100))
        );
    }

    #[test]
    fn stops_on_non_retryable_errors() {
        let p = RetryPolicy::default();
        for code in [
            ErrorCode::SignError,
            ErrorCode::ParamError,
            ErrorCode::InvalidRequest,
        ] {
            let e = api(code);
            assert_eq!(
                p.decide(1, &Failure::Reply(&e), Duration::ZERO, 0.5),
                Decision::Stop
            );
        }
        let sig = Error::Signature {
            kind: crate::SignatureError::Mismatch,
            body: Bytes::new(),
        };
        assert_eq!(
            p.decide(1, &Failure::Reply(&sig), Duration::ZERO, 0.5),
            Decision::Stop
        );
    }

    #[test]
    fn retries_retryable_codes_and_waits_longer_when_rate_limited() {
        let p = RetryPolicy::default();
        let sys = api(ErrorCode::SystemError);
        assert!(matches!(
            p.decide(1, &Failure::Reply(&sys), Duration::ZERO, 0.5),
            Decision::RetryAfter(_)
        ));
        let freq = api(ErrorCode::FrequencyLimited);
        assert_eq!(
            p.decide(1, &Failure::Reply(&freq), Duration::ZERO, 0.5),
            Decision::RetryAfter(Duration::from_secs(1))
        );
    }

    #[test]
    fn stops_at_max_attempts_and_budget() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(3, &Failure::Timeout, Duration::ZERO, 0.5),
            Decision::Stop
        );
        assert_eq!(
            p.decide(1, &Failure::Timeout, Duration::from_secs(30), 0.5),
            Decision::Stop
        );
        assert_eq!(
            RetryPolicy::none().decide(1, &Failure::Connect, Duration::ZERO, 0.5),
            Decision::Stop
        );
    }
}
