//! The one loop every transport runs: the core's Driver plus the clock, randomness, deadlines and tracing.

use std::pin::pin;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::{Either, select};
use tracing::Instrument;
use wxmedia_proto::{AttemptEnd, AttemptInputs, Connectivity, Driver, Endpoints, Operation, Step};

use crate::{Error, Sent, Settings, Transport, TransportErrorKind};

/// Run `operation` to its end over `transport`: prepare each attempt with
/// the core's [`Driver`], let the transport move the bytes within the
/// attempt's budget, hand the outcome back to the driver, sleep when it
/// says so, and stop at the deadline.
///
/// This is the whole loop, written once. The transport supplies only
/// [`Transport::send`] and [`Transport::sleep`]; this function supplies the
/// monotonic clock, the Unix time (from [`Settings::clock`]), the
/// randomness (boundary, nonce, jitter), the deadline and the
/// `wxmedia.attempt` tracing span.
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
    let mut driver = Driver::new(operation, settings.retry, started);
    loop {
        let inputs = attempt_inputs(settings.clock.unix_time());
        let request = driver.prepare(&mut lock(), Instant::now(), inputs)?;
        let base = driver.base_url().unwrap_or_default().to_owned();
        let budget = settings.timeouts.attempt.min(remaining(Instant::now()));
        let span = tracing::info_span!(
            "wxmedia.attempt",
            n = driver.attempts(),
            host = %base,
            transport = T::NAME
        );
        let exchange = async {
            // The send future comes first, so a blocking transport's
            // already-finished exchange wins without the timer ever running.
            let send = pin!(transport.send(request, limit, budget));
            let timer = pin!(transport.sleep(budget));
            match select(send, timer).await {
                Either::Left((sent, _)) => sent,
                Either::Right(((), _)) => Sent::TimedOut,
            }
        };
        let sent = exchange.instrument(span.clone()).await;
        let (end, error) = match sent {
            Sent::Reply(reply) => (AttemptEnd::Reply(reply), None),
            Sent::ReplyTooLarge => (AttemptEnd::ReplyTooLarge, None),
            Sent::TimedOut => (AttemptEnd::TimedOut, Some(Error::Timeout(budget))),
            Sent::Failed { kind, source } => {
                (attempt_end(kind), Some(Error::Transport { kind, source }))
            }
        };
        let timed_out = matches!(end, AttemptEnd::TimedOut);
        let step = driver.finish(
            &mut lock(),
            end,
            Instant::now(),
            settings.clock.unix_time(),
            jitter(),
        );
        match step {
            Step::Done(done) => {
                span.in_scope(|| tracing::info!(outcome = "done", "exchange done"));
                return Ok(done);
            }
            Step::GiveUp(proto) => {
                let err = match (proto, error) {
                    (Some(p), _) => Error::Proto(p),
                    (None, Some(e)) => e,
                    // Every attempt that ends without a reply carries an
                    // error above; this is the driver giving up on nothing.
                    (None, None) => Error::Timeout(budget),
                };
                span.in_scope(
                    || tracing::warn!(outcome = "failed", timed_out, error = %err, "giving up"),
                );
                return Err(err);
            }
            Step::Sleep(delay) => {
                if delay >= remaining(Instant::now()) {
                    span.in_scope(|| tracing::warn!(outcome = "deadline", "no time left to retry"));
                    return Err(Error::Timeout(settings.timeouts.deadline));
                }
                let why = error
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "a retryable reply".into());
                span.in_scope(|| {
                    tracing::info!(outcome = "retry", delay_ms = delay.as_millis() as u64, error = %why, "retrying");
                });
                transport.sleep(delay).await;
            }
        }
    }
}

/// How the core sees a transport failure: DNS and connect failures count
/// toward failover, a TLS failure ends the upload, a broken connection is
/// retried.
fn attempt_end(kind: TransportErrorKind) -> AttemptEnd {
    match kind {
        TransportErrorKind::Dns => AttemptEnd::ConnectFailed(Connectivity::DnsFailure),
        TransportErrorKind::Connect => AttemptEnd::ConnectFailed(Connectivity::ConnectTimeout),
        TransportErrorKind::Tls => AttemptEnd::TlsFailed,
        TransportErrorKind::Broken => AttemptEnd::Broken,
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
