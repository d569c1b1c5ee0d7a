//! The driving loop of one operation as a pure state machine: which host, which request, and what to do with each outcome.

use std::time::{Duration, Instant};

use http::Request;

use crate::{
    AttemptEnd, AttemptError, Body, Boundary, Connectivity, Decision, Endpoints, Env, Error, Nonce,
    Operation, RetryPolicy, TransportErrorKind,
};

/// What the caller does next, and why.
#[derive(Debug)]
#[must_use]
pub enum Step<T, E> {
    /// The operation succeeded and the reply verified.
    Done(T),
    /// Wait `after`, then call [`Driver::prepare`] again. `cause` is the
    /// failure being retried: report it if the deadline ends the wait.
    Retry {
        /// How long to wait.
        after: Duration,
        /// Why the attempt failed.
        cause: AttemptError<E>,
    },
    /// Stop and report this error.
    GiveUp(AttemptError<E>),
}

/// The clock and randomness of one attempt, drawn by the caller (the core
/// has neither): every attempt gets a fresh boundary, nonce and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptInputs {
    /// Now, in Unix seconds.
    pub unix_time: u64,
    /// Random bytes for the multipart boundary.
    pub boundary: [u8; 16],
    /// Random bytes for the nonce.
    pub nonce: [u8; 16],
}

/// One operation's progress through attempts, retries and failover.
///
/// The contract, for a transport:
///
/// 1. `Driver::new(operation, policy, now)` when the operation starts.
/// 2. `prepare(endpoints, now, inputs)` gives the request for the next
///    attempt, aimed at the host `endpoints` chooses
///    ([`Driver::base_url`] says which).
/// 3. Send it; read the reply within [`Operation::reply_limit`]; turn what
///    happened into an [`AttemptEnd`], carrying the transport's own error.
/// 4. `finish(endpoints, end, now, unix_time, jitter)` records
///    connectivity for failover, decodes a reply, and returns a [`Step`]:
///    done, retry after a delay (then go to 2), or give up; the last two
///    carry the error.
#[derive(Debug, Clone)]
pub struct Driver<O> {
    operation: O,
    policy: RetryPolicy,
    started: Instant,
    attempts: u32,
    env: Option<Env>,
}

impl<O: Operation> Driver<O> {
    /// Start `operation` at `now`.
    pub fn new(operation: O, policy: RetryPolicy, now: Instant) -> Driver<O> {
        Driver {
            operation,
            policy,
            started: now,
            attempts: 0,
            env: None,
        }
    }

    /// The operation being driven.
    pub fn operation(&self) -> &O {
        &self.operation
    }

    /// Attempts started so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The base URL of the attempt prepared last, if any.
    pub fn base_url(&self) -> Option<&str> {
        self.env.as_ref().map(Env::base_url)
    }

    /// Build the next attempt: the base URL chosen by `endpoints`, a
    /// boundary and nonce made from `inputs`' random bytes, its time.
    pub fn prepare(
        &mut self,
        endpoints: &mut Endpoints,
        now: Instant,
        inputs: AttemptInputs,
    ) -> Result<Request<Body>, Error> {
        self.attempts += 1;
        let env = Env::new(
            endpoints.current(now),
            Boundary::from_random(inputs.boundary),
        )?
        .with_time(inputs.unix_time)
        .with_nonce(Nonce::from_random(inputs.nonce));
        let request = self.operation.encode(&env)?;
        self.env = Some(env);
        Ok(request)
    }

    /// Account for how the attempt prepared last ended and decide what
    /// comes next. `unix_time` is when the reply arrived (replies are
    /// judged against it, see [`Env::reply_time`]); `jitter` is a random
    /// number in `[0, 1)`.
    pub fn finish<E>(
        &mut self,
        endpoints: &mut Endpoints,
        end: AttemptEnd<E>,
        now: Instant,
        unix_time: u64,
        jitter: f64,
    ) -> Step<O::Output, E> {
        let Some(env) = &self.env else {
            // finish without prepare is a caller bug; say so rather than panic.
            return Step::GiveUp(Error::input("driver", "finish was called before prepare").into());
        };
        let base_url = env.base_url();
        // The server's own word on when to come back, read before the
        // reply is decoded (and consumed).
        let mut server_delay = None;
        let failure = match end {
            AttemptEnd::Reply(reply) => {
                endpoints.record(base_url, Connectivity::Reached, now);
                server_delay = crate::rate::retry_after(reply.headers(), unix_time);
                match self
                    .operation
                    .decode(&env.clone().received_at(unix_time), reply)
                {
                    Ok(done) => return Step::Done(done),
                    Err(e) => AttemptError::Proto(e),
                }
            }
            AttemptEnd::ReplyTooLarge => {
                endpoints.record(base_url, Connectivity::Reached, now);
                let limit = self.operation.reply_limit();
                AttemptError::Proto(Error::ReplyTooLarge {
                    size: limit.saturating_add(1),
                    limit,
                })
            }
            AttemptEnd::TimedOut => AttemptError::TimedOut,
            AttemptEnd::Failed { kind, error } => {
                // DNS and connect failures count toward failover; a TLS
                // failure or a broken connection says nothing about
                // whether the host can be reached.
                match kind {
                    TransportErrorKind::Dns => {
                        endpoints.record(base_url, Connectivity::DnsFailure, now);
                    }
                    TransportErrorKind::Connect => {
                        endpoints.record(base_url, Connectivity::ConnectTimeout, now);
                    }
                    _ => {}
                }
                AttemptError::Transport { kind, error }
            }
        };
        let elapsed = now.saturating_duration_since(self.started);
        match self.policy.decide(self.attempts, &failure, elapsed, jitter) {
            // A `Retry-After` wins over the backoff, within the budget.
            Decision::RetryAfter(after) => match server_delay {
                Some(asked) if elapsed.saturating_add(asked) > self.policy.total_budget => {
                    Step::GiveUp(failure)
                }
                asked => Step::Retry {
                    after: asked.unwrap_or(after),
                    cause: failure,
                },
            },
            Decision::Stop => Step::GiveUp(failure),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::{ApiKey, Credentials, SignType, StringToSign, UploadV2, Uploaded, xml};
    use crate::{Media, Operation};
    use bytes::Bytes;
    use http::Response;

    fn upload() -> UploadV2 {
        let media = Media::new("a.jpg", Bytes::from_static(b"\xFF\xD8\xFF\xD9")).unwrap();
        UploadV2::new(Credentials::new("1", "key").unwrap(), media, SignType::Md5).unwrap()
    }

    fn inputs(n: u8) -> AttemptInputs {
        AttemptInputs {
            unix_time: 1_700_000_000,
            boundary: [n; 16],
            nonce: [n; 16],
        }
    }

    type End = AttemptEnd<std::io::Error>;

    fn reply(fields: &[(&str, &str)]) -> End {
        let sign = StringToSign::new(fields.iter().copied())
            .sign(&ApiKey::new("key").unwrap(), SignType::Md5);
        let mut all = fields.to_vec();
        all.push(("sign", sign.as_str()));
        AttemptEnd::Reply(Response::new(Bytes::from(xml::write(&all))))
    }

    fn system_error() -> End {
        reply(&[
            ("return_code", "SUCCESS"),
            ("result_code", "FAIL"),
            ("err_code", "SYSTEMERROR"),
        ])
    }

    fn finish(
        d: &mut Driver<UploadV2>,
        eps: &mut Endpoints,
        end: End,
    ) -> Step<Uploaded, std::io::Error> {
        d.finish(eps, end, Instant::now(), 1_700_000_000, 0.5)
    }

    #[test]
    fn retries_a_system_error_then_succeeds() {
        let t0 = Instant::now();
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(upload(), RetryPolicy::default(), t0);
        d.prepare(&mut eps, t0, inputs(0)).unwrap();
        assert!(matches!(
            finish(&mut d, &mut eps, system_error()),
            Step::Retry { cause: AttemptError::Proto(ref e), .. } if e.is_retryable()
        ));
        d.prepare(&mut eps, t0, inputs(1)).unwrap();
        let ok = reply(&[
            ("return_code", "SUCCESS"),
            ("result_code", "SUCCESS"),
            ("media_id", "m"),
        ]);
        let Step::Done(done) = finish(&mut d, &mut eps, ok) else {
            panic!()
        };
        assert_eq!(done.media_id, "m");
        assert_eq!(d.attempts(), 2);
    }

    #[test]
    fn gives_up_with_the_error_after_the_allowed_attempts() {
        let t0 = Instant::now();
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(upload(), RetryPolicy::default(), t0);
        for _ in 0..2 {
            d.prepare(&mut eps, t0, inputs(0)).unwrap();
            assert!(matches!(
                finish(&mut d, &mut eps, system_error()),
                Step::Retry { .. }
            ));
        }
        d.prepare(&mut eps, t0, inputs(0)).unwrap();
        let Step::GiveUp(AttemptError::Proto(e)) = finish(&mut d, &mut eps, system_error()) else {
            panic!()
        };
        assert!(e.is_retryable());
        assert_eq!(d.attempts(), 3);
    }

    #[test]
    fn connect_failures_move_to_the_twin_and_report_the_transport_error() {
        let t0 = Instant::now();
        let mut eps = Endpoints::new("https://p", Some("https://twin".into()));
        let policy = RetryPolicy {
            max_attempts: 4,
            ..RetryPolicy::default()
        };
        let mut d = Driver::new(upload(), policy, t0);
        for _ in 0..3 {
            d.prepare(&mut eps, t0, inputs(0)).unwrap();
            assert_eq!(d.base_url(), Some("https://p"));
            assert!(matches!(
                finish(&mut d, &mut eps, refused()),
                Step::Retry {
                    cause: AttemptError::Transport {
                        kind: TransportErrorKind::Connect,
                        ..
                    },
                    ..
                }
            ));
        }
        let req = d.prepare(&mut eps, t0, inputs(0)).unwrap();
        assert_eq!(d.base_url(), Some("https://twin"));
        assert_eq!(req.uri(), "https://twin/secapi/mch/uploadmedia");
        // The transport's own error comes back, as it was given.
        let Step::GiveUp(AttemptError::Transport { kind, error }) =
            finish(&mut d, &mut eps, refused())
        else {
            panic!("gives up with the transport error")
        };
        assert_eq!(kind, TransportErrorKind::Connect);
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    }

    fn refused() -> End {
        AttemptEnd::failed(
            TransportErrorKind::Connect,
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        )
    }

    #[test]
    fn a_tls_failure_is_not_retried_and_keeps_its_error() {
        let t0 = Instant::now();
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(upload(), RetryPolicy::default(), t0);
        d.prepare(&mut eps, t0, inputs(0)).unwrap();
        let end = AttemptEnd::failed(TransportErrorKind::Tls, std::io::Error::other("bad cert"));
        let Step::GiveUp(AttemptError::Transport { kind, error }) = finish(&mut d, &mut eps, end)
        else {
            panic!("a TLS failure ends the upload")
        };
        assert_eq!(kind, TransportErrorKind::Tls);
        assert_eq!(error.to_string(), "bad cert");
    }

    /// A `Retry-After` wins over the backoff (shorter or longer), and one
    /// past the retry budget ends the upload with the rate limit as cause.
    #[test]
    fn retry_after_wins_over_the_backoff_within_the_budget() {
        let limited = |after: &str| {
            let AttemptEnd::Reply(mut r) = reply(&[
                ("return_code", "SUCCESS"),
                ("result_code", "FAIL"),
                ("err_code", "FREQUENCY_LIMITED"),
            ]) else {
                unreachable!("reply() makes a reply")
            };
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, after.parse().unwrap());
            AttemptEnd::Reply(r)
        };
        let t0 = Instant::now();
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(upload(), RetryPolicy::default(), t0);
        for (asked, expected) in [("0", 0), ("7", 7)] {
            d.prepare(&mut eps, t0, inputs(0)).unwrap();
            let Step::Retry { after, cause } = finish(&mut d, &mut eps, limited(asked)) else {
                panic!("retried after {asked}")
            };
            assert_eq!(after, Duration::from_secs(expected));
            assert!(cause.is_rate_limited());
        }
        let mut d = Driver::new(upload(), RetryPolicy::default(), t0);
        d.prepare(&mut eps, t0, inputs(0)).unwrap();
        let Step::GiveUp(cause) = finish(&mut d, &mut eps, limited("3600")) else {
            panic!("an hour is past the 30 s budget")
        };
        assert!(cause.is_rate_limited());
    }

    #[test]
    fn a_retry_names_its_cause() {
        let t0 = Instant::now();
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(upload(), RetryPolicy::default(), t0);
        d.prepare(&mut eps, t0, inputs(0)).unwrap();
        let limited = reply(&[
            ("return_code", "SUCCESS"),
            ("result_code", "FAIL"),
            ("err_code", "FREQUENCY_LIMITED"),
        ]);
        let Step::Retry { after, cause } = finish(&mut d, &mut eps, limited) else {
            panic!("FREQUENCY_LIMITED is retried")
        };
        assert!(cause.is_rate_limited());
        assert!(after >= RetryPolicy::default().rate_limited_delay);
        d.prepare(&mut eps, t0, inputs(1)).unwrap();
        assert!(matches!(
            finish(&mut d, &mut eps, AttemptEnd::TimedOut),
            Step::Retry {
                cause: AttemptError::TimedOut,
                ..
            }
        ));
    }

    #[test]
    fn an_oversized_reply_is_not_retried() {
        let t0 = Instant::now();
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(upload(), RetryPolicy::default(), t0);
        d.prepare(&mut eps, t0, inputs(0)).unwrap();
        let step = finish(&mut d, &mut eps, AttemptEnd::ReplyTooLarge);
        assert!(matches!(
            step,
            Step::GiveUp(AttemptError::Proto(Error::ReplyTooLarge { .. }))
        ));
    }

    #[test]
    fn every_attempt_gets_its_own_boundary_from_the_inputs() {
        let t0 = Instant::now();
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(upload(), RetryPolicy::default(), t0);
        let a = d.prepare(&mut eps, t0, inputs(1)).unwrap();
        let b = d.prepare(&mut eps, t0, inputs(2)).unwrap();
        let again = upload()
            .encode(&Env::new("https://p", Boundary::from_random([1; 16])).unwrap())
            .unwrap();
        assert_eq!(a.body().to_bytes(), again.body().to_bytes());
        assert_ne!(a.headers()["content-type"], b.headers()["content-type"]);
    }

    /// An operation that records the `Env` it decodes with, to show that
    /// the reply is judged at the time given to `finish`.
    struct Probe;

    impl Operation for Probe {
        type Output = (u64, u64, String);
        fn encode(&self, env: &Env) -> Result<Request<Body>, Error> {
            Ok(Request::new(Body::from_segments(vec![Bytes::from(
                env.nonce().as_str().to_owned(),
            )])))
        }
        fn decode(&self, env: &Env, reply: Response<Bytes>) -> Result<(u64, u64, String), Error> {
            assert_eq!(reply.headers()["x-probe"], "1");
            Ok((
                env.unix_time(),
                env.reply_time(),
                env.nonce().as_str().to_owned(),
            ))
        }
        fn reply_limit(&self) -> usize {
            16
        }
    }

    #[test]
    fn replies_are_decoded_with_the_time_they_arrived_and_keep_their_headers() {
        let t0 = Instant::now();
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(Probe, RetryPolicy::default(), t0);
        let req = d.prepare(&mut eps, t0, inputs(0xAB)).unwrap();
        assert_eq!(req.body().to_bytes(), "AB".repeat(16));
        let reply = Response::builder()
            .header("x-probe", "1")
            .body(Bytes::new())
            .unwrap();
        let end: End = AttemptEnd::Reply(reply);
        let Step::Done((sent, received, nonce)) = d.finish(&mut eps, end, t0, 1_700_000_042, 0.5)
        else {
            panic!("the probe decodes")
        };
        assert_eq!(sent, 1_700_000_000, "the request's own time is kept");
        assert_eq!(received, 1_700_000_042);
        assert_eq!(nonce, "AB".repeat(16));
    }

    #[test]
    fn finish_before_prepare_is_an_error_not_a_panic() {
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(Probe, RetryPolicy::default(), Instant::now());
        let end: End = AttemptEnd::TimedOut;
        let step = d.finish(&mut eps, end, Instant::now(), 0, 0.5);
        assert!(matches!(
            step,
            Step::GiveUp(AttemptError::Proto(Error::InvalidInput { .. }))
        ));
    }
}
