//! Pure retry decisions: capped exponential backoff with caller-supplied jitter, attempts and a total budget.

use std::time::Duration;

use crate::AttemptError;

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
    /// `failure`, `elapsed` after the first attempt started. What can be
    /// retried is [`AttemptError::is_retryable`], so that the driver and
    /// the errors' predicates agree. `jitter` is a
    /// random number in `[0, 1)` from the caller; the delay is scaled into
    /// `[delay/2, delay)` so that clients spread out.
    pub fn decide<E>(
        &self,
        attempt: u32,
        failure: &AttemptError<E>,
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
        if failure.is_rate_limited() {
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
    use crate::{ApiError, Error, ErrorCode, Layer, TransportErrorKind};
    use bytes::Bytes;

    type Failure = AttemptError<std::io::Error>;

    fn api(code: ErrorCode) -> Failure {
        AttemptError::Proto(Error::Api(ApiError::v2(
            Layer::Result,
            Some(code),
            String::new(),
            Bytes::new(),
        )))
    }

    fn connect() -> Failure {
        AttemptError::Transport {
            kind: TransportErrorKind::Connect,
            error: std::io::ErrorKind::ConnectionRefused.into(),
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            total_budget: Duration::from_secs(600),
            ..RetryPolicy::default()
        };
        let d = |n| match p.decide(n, &connect(), Duration::ZERO, 0.999_999) {
            Decision::RetryAfter(d) => d,
            Decision::Stop => panic!("stopped at {n}"),
        };
        assert!(d(1) < Duration::from_millis(201) && d(1) > Duration::from_millis(199));
        assert!(d(2) > Duration::from_millis(399));
        assert!(d(9) <= Duration::from_secs(5));
        // Jitter 0 halves the delay.
        assert_eq!(
            p.decide(1, &connect(), Duration::ZERO, 0.0),
            Decision::RetryAfter(Duration::from_millis(100))
        );
    }

    #[test]
    fn stops_on_non_retryable_errors() {
        let p = RetryPolicy::default();
        for code in [
            ErrorCode::SignErrorV2,
            ErrorCode::ParamError,
            ErrorCode::InvalidRequest,
        ] {
            assert_eq!(p.decide(1, &api(code), Duration::ZERO, 0.5), Decision::Stop);
        }
        let sig: Failure = AttemptError::Proto(Error::Signature {
            kind: crate::SignatureError::Mismatch,
            body: Bytes::new(),
        });
        assert_eq!(p.decide(1, &sig, Duration::ZERO, 0.5), Decision::Stop);
        // A TLS failure cannot be fixed by sending again.
        let tls: Failure = AttemptError::Transport {
            kind: TransportErrorKind::Tls,
            error: std::io::Error::other("bad certificate"),
        };
        assert!(!tls.is_retryable());
        assert_eq!(p.decide(1, &tls, Duration::ZERO, 0.5), Decision::Stop);
    }

    #[test]
    fn retries_retryable_codes_and_waits_longer_when_rate_limited() {
        let p = RetryPolicy::default();
        let sys = api(ErrorCode::SystemErrorV2);
        assert!(matches!(
            p.decide(1, &sys, Duration::ZERO, 0.5),
            Decision::RetryAfter(_)
        ));
        let freq = api(ErrorCode::FrequencyLimitedV2);
        assert_eq!(
            p.decide(1, &freq, Duration::ZERO, 0.5),
            Decision::RetryAfter(Duration::from_secs(1))
        );
    }

    #[test]
    fn stops_at_max_attempts_and_budget() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(3, &Failure::TimedOut, Duration::ZERO, 0.5),
            Decision::Stop
        );
        assert_eq!(
            p.decide(1, &Failure::TimedOut, Duration::from_secs(30), 0.5),
            Decision::Stop
        );
        assert_eq!(
            RetryPolicy::none().decide(1, &connect(), Duration::ZERO, 0.5),
            Decision::Stop
        );
    }
}
