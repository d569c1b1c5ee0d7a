//! The driving loop of one upload as a pure state machine: which host, which request, and what to do with each outcome.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};

use crate::{
    Body, Boundary, Connectivity, Decision, Endpoints, Env, Error, Failure, RetryPolicy, UploadV2,
    Uploaded,
};

/// How one attempt ended, as the transport saw it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AttemptEnd {
    /// A complete reply (any status), its body read within the cap.
    Reply {
        /// The HTTP status.
        status: StatusCode,
        /// The body.
        body: Bytes,
    },
    /// The reply body went past [`UploadV2::reply_limit`]; reading stopped there.
    ReplyTooLarge,
    /// The host could not be reached: DNS failure, refused, connect timeout
    /// or failed handshake. Which one decides failover.
    ConnectFailed(Connectivity),
    /// The TLS handshake failed (untrusted server, refused client
    /// certificate). Retrying cannot fix a certificate, so the driver gives up.
    TlsFailed,
    /// The attempt ran out of time after connecting.
    TimedOut,
    /// The connection broke after the request was sent.
    Broken,
}

/// What the transport does next.
#[derive(Debug)]
#[must_use]
pub enum Step {
    /// The upload succeeded and the reply verified.
    Done(Uploaded),
    /// Sleep this long, then call [`Driver::prepare`] again.
    Sleep(Duration),
    /// Stop. `Some` carries the protocol error to report; `None` means
    /// "report the transport error you saw", which the core cannot hold.
    GiveUp(Option<Error>),
}

/// One upload's progress through attempts, retries and failover.
///
/// The contract, for a transport:
///
/// 1. `Driver::new(policy, now)` when the upload starts.
/// 2. `prepare(upload, endpoints, now, random)` gives the base URL and the
///    request for the next attempt.
/// 3. Send it; turn what happened into an [`AttemptEnd`].
/// 4. `finish(...)` records connectivity for failover and returns a
///    [`Step`]: done, sleep then go to 2, or give up.
#[derive(Debug, Clone)]
pub struct Driver {
    policy: RetryPolicy,
    started: Instant,
    attempts: u32,
}

impl Driver {
    /// Start an upload at `now`.
    pub fn new(policy: RetryPolicy, now: Instant) -> Driver {
        Driver {
            policy,
            started: now,
            attempts: 0,
        }
    }

    /// Attempts started so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Build the next attempt: the base URL chosen by `endpoints` and the
    /// request, framed with a boundary made from `random`.
    pub fn prepare(
        &mut self,
        upload: &UploadV2,
        endpoints: &mut Endpoints,
        now: Instant,
        random: [u8; 16],
    ) -> Result<(String, Request<Body>), Error> {
        self.attempts += 1;
        let base = endpoints.current(now).to_owned();
        let env = Env::new(&base, Boundary::from_random(random))?;
        let request = upload.encode(&env)?;
        Ok((base, request))
    }

    /// Account for how the attempt to `base_url` ended and decide what comes
    /// next. `jitter` is a random number in `[0, 1)`.
    pub fn finish(
        &mut self,
        upload: &UploadV2,
        endpoints: &mut Endpoints,
        base_url: &str,
        end: AttemptEnd,
        now: Instant,
        jitter: f64,
    ) -> Step {
        let elapsed = now.saturating_duration_since(self.started);
        let (failure_error, failure) = match end {
            AttemptEnd::Reply { status, body } => {
                endpoints.record(base_url, Connectivity::Reached, now);
                match upload.decode(status, body) {
                    Ok(done) => return Step::Done(done),
                    Err(e) => (Some(e), None),
                }
            }
            AttemptEnd::ReplyTooLarge => {
                endpoints.record(base_url, Connectivity::Reached, now);
                let limit = upload.reply_limit();
                (
                    Some(Error::ReplyTooLarge {
                        size: limit.saturating_add(1),
                        limit,
                    }),
                    None,
                )
            }
            AttemptEnd::ConnectFailed(c) => {
                endpoints.record(base_url, c, now);
                (None, Some(Failure::Connect))
            }
            AttemptEnd::TlsFailed => return Step::GiveUp(None),
            AttemptEnd::TimedOut => (None, Some(Failure::Timeout)),
            AttemptEnd::Broken => (None, Some(Failure::Connection)),
        };
        let decision = match (&failure_error, failure) {
            (Some(e), _) => self
                .policy
                .decide(self.attempts, &Failure::Reply(e), elapsed, jitter),
            (None, Some(f)) => self.policy.decide(self.attempts, &f, elapsed, jitter),
            (None, None) => Decision::Stop,
        };
        match decision {
            Decision::RetryAfter(d) => Step::Sleep(d),
            Decision::Stop => Step::GiveUp(failure_error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiKey, Credentials, Media, SignType, StringToSign, xml};

    fn upload() -> UploadV2 {
        let media = Media::new("a.jpg", Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0])).unwrap();
        UploadV2::new(Credentials::new("1", "key").unwrap(), media, SignType::Md5)
    }

    fn reply(fields: &[(&str, &str)]) -> AttemptEnd {
        let sign = StringToSign::new(fields.iter().copied())
            .sign(&ApiKey::new("key").unwrap(), SignType::Md5);
        let mut all = fields.to_vec();
        all.push(("sign", sign.as_str()));
        AttemptEnd::Reply {
            status: StatusCode::OK,
            body: Bytes::from(xml::write(&all)),
        }
    }

    #[test]
    fn retries_a_system_error_then_succeeds() {
        let t0 = Instant::now();
        let up = upload();
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(RetryPolicy::default(), t0);
        let (base, _) = d.prepare(&up, &mut eps, t0, [0; 16]).unwrap();
        let failed = reply(&[
            ("return_code", "SUCCESS"),
            ("result_code", "FAIL"),
            ("err_code", "SYSTEMERROR"),
        ]);
        assert!(matches!(
            d.finish(&up, &mut eps, &base, failed, t0, 0.5),
            Step::Sleep(_)
        ));
        let (base, _) = d.prepare(&up, &mut eps, t0, [1; 16]).unwrap();
        let ok = reply(&[
            ("return_code", "SUCCESS"),
            ("result_code", "SUCCESS"),
            ("media_id", "m"),
        ]);
        let Step::Done(done) = d.finish(&up, &mut eps, &base, ok, t0, 0.5) else {
            panic!()
        };
        assert_eq!(done.media_id, "m");
        assert_eq!(d.attempts(), 2);
    }

    #[test]
    fn gives_up_with_the_error_after_the_allowed_attempts() {
        let t0 = Instant::now();
        let up = upload();
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(RetryPolicy::default(), t0);
        let failed = || {
            reply(&[
                ("return_code", "SUCCESS"),
                ("result_code", "FAIL"),
                ("err_code", "SYSTEMERROR"),
            ])
        };
        for _ in 0..2 {
            let (base, _) = d.prepare(&up, &mut eps, t0, [0; 16]).unwrap();
            assert!(matches!(
                d.finish(&up, &mut eps, &base, failed(), t0, 0.5),
                Step::Sleep(_)
            ));
        }
        let (base, _) = d.prepare(&up, &mut eps, t0, [0; 16]).unwrap();
        let Step::GiveUp(Some(e)) = d.finish(&up, &mut eps, &base, failed(), t0, 0.5) else {
            panic!()
        };
        assert!(e.is_retryable());
        assert_eq!(d.attempts(), 3);
    }

    #[test]
    fn connect_failures_move_to_the_twin_and_report_the_transport_error() {
        let t0 = Instant::now();
        let up = upload();
        let mut eps = Endpoints::new("https://p", Some("https://twin".into()));
        let policy = RetryPolicy {
            max_attempts: 4,
            ..RetryPolicy::default()
        };
        let mut d = Driver::new(policy, t0);
        for _ in 0..3 {
            let (base, _) = d.prepare(&up, &mut eps, t0, [0; 16]).unwrap();
            assert_eq!(base, "https://p");
            let end = AttemptEnd::ConnectFailed(Connectivity::ConnectTimeout);
            assert!(matches!(
                d.finish(&up, &mut eps, &base, end, t0, 0.5),
                Step::Sleep(_)
            ));
        }
        let (base, req) = d.prepare(&up, &mut eps, t0, [0; 16]).unwrap();
        assert_eq!(base, "https://twin");
        assert_eq!(req.uri(), "https://twin/secapi/mch/uploadmedia");
        let end = AttemptEnd::ConnectFailed(Connectivity::ConnectTimeout);
        assert!(matches!(
            d.finish(&up, &mut eps, &base, end, t0, 0.5),
            Step::GiveUp(None)
        ));
    }

    #[test]
    fn an_oversized_reply_is_not_retried() {
        let t0 = Instant::now();
        let up = upload();
        let mut eps = Endpoints::new("https://p", None);
        let mut d = Driver::new(RetryPolicy::default(), t0);
        let (base, _) = d.prepare(&up, &mut eps, t0, [0; 16]).unwrap();
        let step = d.finish(&up, &mut eps, &base, AttemptEnd::ReplyTooLarge, t0, 0.5);
        assert!(matches!(
            step,
            Step::GiveUp(Some(Error::ReplyTooLarge { .. }))
        ));
    }
}
