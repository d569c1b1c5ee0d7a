//! The one upload loop every transport runs: the core's Driver plus the clock, randomness, deadlines and tracing.

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::Request;
use tracing::Instrument;
use wxmedia_proto::{AttemptEnd, Body, Driver, Endpoints, Media, Step, Uploaded};

use crate::{Settings, jitter, random_boundary_bytes};

/// An attempt or the whole upload ran out of time; transports turn this
/// into their own `Error::Timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineExceeded(pub Duration);

/// What a transport's attempt is given: the request, the time it may take,
/// and the cap on the reply body.
#[derive(Debug)]
#[non_exhaustive]
pub struct Attempt {
    /// The request to send, segments in order.
    pub request: Request<Body>,
    /// Time left for this attempt: the attempt timeout, or less near the deadline.
    pub budget: Duration,
    /// Stop reading the reply beyond this many bytes.
    pub reply_limit: usize,
}

/// Upload `media`: prepare each attempt with the core's [`Driver`], let the
/// transport's `attempt` move the bytes and say how it ended (with its own
/// error when the transport failed), sleep with the transport's `sleep`
/// when the core says so, and stop at the deadline.
///
/// This is the whole loop, written once: a transport supplies only
/// `attempt` (send, read within the cap and the budget, classify its
/// errors) and `sleep`.
pub async fn drive<E, A, AF, S, SF>(
    settings: &Settings,
    endpoints: &Mutex<Endpoints>,
    media: Media,
    mut attempt: A,
    mut sleep: S,
) -> Result<Uploaded, E>
where
    E: From<wxmedia_proto::Error> + From<DeadlineExceeded> + std::fmt::Display,
    A: FnMut(Attempt) -> AF,
    AF: Future<Output = (AttemptEnd, Option<E>)>,
    S: FnMut(Duration) -> SF,
    SF: Future<Output = ()>,
{
    let lock = || endpoints.lock().unwrap_or_else(PoisonError::into_inner);
    let upload = settings.upload(media);
    let started = Instant::now();
    let deadline = started + settings.timeouts.deadline;
    let mut driver = Driver::new(settings.retry, started);
    loop {
        let (base, request) = driver.prepare(
            &upload,
            &mut lock(),
            Instant::now(),
            random_boundary_bytes(),
        )?;
        let budget = settings
            .timeouts
            .attempt
            .min(deadline.saturating_duration_since(Instant::now()));
        let span = tracing::info_span!("wxmedia.attempt", n = driver.attempts(), host = %base);
        let (end, error) = attempt(Attempt {
            request,
            budget,
            reply_limit: upload.reply_limit(),
        })
        .instrument(span.clone())
        .await;
        let timed_out = matches!(end, AttemptEnd::TimedOut);
        let step = driver.finish(&upload, &mut lock(), &base, end, Instant::now(), jitter());
        match step {
            Step::Done(done) => {
                span.in_scope(|| tracing::info!(outcome = "uploaded", "upload done"));
                return Ok(done);
            }
            Step::GiveUp(proto) => {
                let err = match (proto, error) {
                    (Some(p), _) => E::from(p),
                    (None, Some(e)) => e,
                    // Only a timeout ends an attempt without an error value.
                    (None, None) => E::from(DeadlineExceeded(budget)),
                };
                span.in_scope(
                    || tracing::warn!(outcome = "failed", timed_out, error = %err, "giving up"),
                );
                return Err(err);
            }
            Step::Sleep(delay) => {
                if Instant::now() + delay >= deadline {
                    span.in_scope(|| tracing::warn!(outcome = "deadline", "no time left to retry"));
                    return Err(E::from(DeadlineExceeded(settings.timeouts.deadline)));
                }
                let why = error
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "a retryable reply".into());
                span.in_scope(|| {
                    tracing::info!(outcome = "retry", delay_ms = delay.as_millis() as u64, error = %why, "retrying");
                });
                sleep(delay).await;
            }
        }
    }
}
