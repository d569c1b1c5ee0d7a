//! The one loop every transport runs: the core's Driver plus the clock, randomness, deadlines and tracing.

use std::pin::pin;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::{Either, select};
use tracing::Instrument;
use wxmedia_proto::{AttemptEnd, AttemptInputs, Driver, Endpoints, Operation, Step};

use crate::observe::{Attempt, Decision};
use crate::{Error, Settings, Transport};

/// Run `operation` to its end over `transport`: prepare each attempt with
/// the core's [`Driver`], let the transport move the bytes within the
/// attempt's budget, hand the outcome back to the driver, wait when it
/// says so, and stop at the deadline.
///
/// This is the whole loop, written once. The transport supplies only
/// [`Transport::send`] and [`Transport::sleep`]; this function supplies the
/// monotonic clock, the Unix time (from [`Settings::clock`]), the
/// randomness (boundary, nonce, jitter), the deadline and the
/// `wxmedia.attempt` tracing span. The error it ends with is the driver's,
/// with the transport's own error inside; when the deadline cuts a retry
/// short, [`Error::Timeout`] keeps the cause that was being retried.
pub async fn drive<T, O>(
    transport: &T,
    settings: &Settings,
    endpoints: &Mutex<Endpoints>,
    operation: O,
) -> Result<O::Output, Error>
where
    T: Transport,
    O: Operation,
{
    let lock = || endpoints.lock().unwrap_or_else(PoisonError::into_inner);
    let limit = operation.reply_limit();
    let started = Instant::now();
    // A deadline past the end of `Instant`'s range (`Duration::MAX`, the
    // natural "no deadline") is no deadline, not an overflow.
    let deadline = started.checked_add(settings.timeouts.deadline);
    let remaining = |now: Instant| match deadline {
        Some(d) => d.saturating_duration_since(now),
        None => Duration::MAX,
    };
    // The limit this operation is paced by: its merchant and endpoint's
    // key and rate, when the client paces at all.
    let pacing = match (&settings.rates.limiter, operation.pacing()) {
        (Some(limiter), Some(p)) => Some((
            &**limiter,
            crate::limit_key(&settings.mch_id, p.path),
            settings.rates.rate_for(&p),
        )),
        _ => None,
    };
    let mut driver = Driver::new(operation, settings.retry, started);
    // The last failure that was retried, other than a timeout: if time
    // then runs out, the timeout reports it (a FREQUENCY_LIMITED must not
    // turn into a bare timeout, or a batch would not pause).
    let mut retried: Option<Error> = None;
    loop {
        // Every attempt, retries too, takes its slot first: a retry must
        // not jump the queue the other uploads of the endpoint wait in.
        let mut waited = Duration::ZERO;
        if let Some((limiter, key, rate)) = &pacing {
            let wait = limiter
                .reserve(key, *rate)
                .await
                .map_err(|e| Error::Limiter(e.into()))?;
            if wait >= remaining(Instant::now()) {
                let cut = Error::Timeout {
                    after: settings.timeouts.deadline,
                    last: None,
                };
                tracing::warn!(key = %key, %rate, wait_ms = wait.as_millis() as u64,
                    "the next free slot of the rate limit is past the deadline");
                return Err(with_last(cut, retried));
            }
            if !wait.is_zero() {
                transport.sleep(wait).await;
                waited = wait;
            }
        }
        let inputs = attempt_inputs(settings.clock.unix_time());
        let request = driver.prepare(&mut lock(), Instant::now(), inputs)?;
        let base = driver.base_url().unwrap_or_default().to_owned();
        let budget = settings.timeouts.attempt.min(remaining(Instant::now()));
        // What the span and the observer are told: the endpoint, the proxy
        // (password masked), the bytes sent; never the request's headers.
        let n = driver.attempts();
        let proxy = settings.proxy.route(request.uri()).map(|r| r.shown);
        let endpoint = request.uri().path().to_owned();
        let bytes_sent = request.body().len() as u64;
        let span = tracing::info_span!(
            "wxmedia.attempt",
            n,
            endpoint = %endpoint,
            host = %base,
            transport = T::NAME,
            proxy = proxy.as_deref().unwrap_or("none"),
            limiter_wait_ms = waited.as_millis() as u64,
            bytes_sent,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
            decision = tracing::field::Empty,
        );
        let sent_at = Instant::now();
        let end = exchange(transport, request, limit, budget)
            .instrument(span.clone())
            .await;
        let latency = sent_at.elapsed();
        let (status, request_id) = match &end {
            AttemptEnd::Reply(reply) => (
                Some(reply.status().as_u16()),
                wxmedia_proto::v3::reply::request_id(reply.headers()),
            ),
            _ => (None, None),
        };
        span.record("status", status);
        span.record("request_id", request_id.as_deref());
        span.record("latency_ms", latency.as_millis() as u64);
        let mut attempt = Attempt {
            endpoint,
            host: base,
            attempt: n,
            transport: T::NAME,
            proxy,
            status,
            request_id,
            bytes_sent,
            latency,
            limiter_wait: waited,
            decision: Decision::Done,
            rate_limited: false,
            error: None,
        };
        // The decision, on the span and to the observer, once per attempt.
        let mut tell = |decision: Decision, error: Option<&Error>| {
            span.record("decision", decision.as_str());
            attempt.decision = decision;
            attempt.rate_limited = error.is_some_and(Error::is_rate_limited);
            attempt.error = error.map(|e| crate::Chain(e).to_string());
            settings.observers.tell(&attempt);
        };
        let step = driver.finish(
            &mut lock(),
            end,
            Instant::now(),
            settings.clock.unix_time(),
            jitter(),
        );
        let (after, cause) = match step {
            Step::Done(done) => {
                tell(Decision::Done, None);
                span.in_scope(|| tracing::info!(outcome = "done", "exchange done"));
                return Ok(done);
            }
            Step::GiveUp(cause) => {
                if cause.is_rate_limited() {
                    // Not retried, but the server's limit is the merchant's:
                    // the other uploads of the endpoint pause all the same.
                    hold(&pacing, settings.retry.rate_limited_delay, &span).await;
                }
                let err = with_last(Error::from_attempt(cause, budget), retried);
                tell(Decision::GiveUp, Some(&err));
                span.in_scope(|| tracing::warn!(outcome = "failed", error = %err, "giving up"));
                return Err(err);
            }
            Step::Retry { after, cause } => (after, Error::from_attempt(cause, budget)),
        };
        if cause.is_rate_limited() {
            // Every upload of this endpoint pauses, not only this one.
            hold(&pacing, after, &span).await;
        }
        if after >= remaining(Instant::now()) {
            let last = match cause {
                Error::Timeout { .. } => retried,
                other => Some(other),
            };
            let cut = Error::Timeout {
                after: settings.timeouts.deadline,
                last: None,
            };
            let err = with_last(cut, last);
            tell(Decision::Deadline, Some(&err));
            span.in_scope(
                || tracing::warn!(outcome = "deadline", error = %err, "no time left to retry"),
            );
            return Err(err);
        }
        tell(Decision::Retry(after), Some(&cause));
        let delay_ms = after.as_millis() as u64;
        span.in_scope(|| tracing::info!(outcome = "retry", delay_ms, error = %cause, "retrying"));
        if !matches!(cause, Error::Timeout { .. }) {
            retried = Some(cause);
        }
        transport.sleep(after).await;
    }
}

/// The server refused for the rate: no upload of the operation's endpoint
/// gets a slot for `pause`, since the server's limit is the merchant's. A
/// limiter that cannot hold still gives slots at the rate, so the upload
/// goes on, with a warning.
async fn hold(
    pacing: &Option<(&dyn crate::Limiter, String, wxmedia_proto::Rate)>,
    pause: Duration,
    span: &tracing::Span,
) {
    if let Some((limiter, key, _)) = pacing
        && let Err(e) = limiter.hold(key, pause).await
    {
        span.in_scope(|| tracing::warn!(error = %e, "the rate limiter could not hold"));
    }
}

/// One attempt within its budget: the transport's exchange raced against
/// its timer.
async fn exchange<T: Transport>(
    transport: &T,
    request: http::Request<wxmedia_proto::Body>,
    limit: usize,
    budget: Duration,
) -> crate::Exchange {
    // The send future comes first, so a blocking transport's
    // already-finished exchange wins without the timer ever running.
    let send = pin!(transport.send(request, limit, budget));
    let timer = pin!(transport.sleep(budget));
    match select(send, timer).await {
        Either::Left((end, _)) => end,
        Either::Right(((), _)) => AttemptEnd::TimedOut,
    }
}

/// A timeout that keeps `last`, the failure it cut short; any other
/// error as it is.
fn with_last(err: Error, last: Option<Error>) -> Error {
    match (err, last) {
        (Error::Timeout { after, last: None }, Some(cause)) => Error::Timeout {
            after,
            last: Some(Box::new(cause)),
        },
        (err, _) => err,
    }
}

/// Fresh randomness for one attempt made at `unix_time`.
fn attempt_inputs(unix_time: u64) -> AttemptInputs {
    let mut random = [0u8; 32];
    // getrandom fails only where the OS has no randomness at all; a fixed
    // boundary is still correct then (the encoder refuses one that occurs
    // in the media), so the upload goes on rather than failing.
    let _ = getrandom::fill(&mut random);
    let (boundary, nonce) = random.split_at(16);
    AttemptInputs {
        unix_time,
        boundary: boundary.try_into().expect("16 bytes"),
        nonce: nonce.try_into().expect("16 bytes"),
    }
}

/// A random number in `[0, 1)` for backoff jitter.
fn jitter() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}
