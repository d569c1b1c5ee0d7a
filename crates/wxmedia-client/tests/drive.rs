//! The one upload loop over a scripted in-memory transport: retries, give-ups, timeouts and errors, without sockets.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
mod common;

use common::{Never, identity};
use wxmedia_client::{
    BuildError, Error, Exchange, Settings, Transport, TransportErrorKind, V2Builder, V2Settings,
    drive,
};
use wxmedia_proto::AttemptEnd;
use wxmedia_proto::v2::{ApiKey, SignType, StringToSign, xml};
use wxmedia_proto::{Endpoints, ErrorCode, Media, RetryPolicy};

const KEY: &str = "0123456789abcdefghijklmnopqrstuv";

/// What the scripted transport does on one send.
enum Script {
    Answer(Exchange),
    /// Never answers: only the client's timer can end the attempt.
    Hang,
}

/// A transport that plays a script and records the requests it was given.
struct Scripted {
    script: Mutex<VecDeque<Script>>,
    seen: Mutex<Vec<http::Request<wxmedia_proto::Body>>>,
}

impl Scripted {
    fn new(script: Vec<Script>) -> Scripted {
        Scripted {
            script: Mutex::new(script.into()),
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl Transport for Scripted {
    const NAME: &'static str = "scripted";

    fn new(_: &Settings) -> Result<Self, BuildError> {
        Ok(Scripted::new(Vec::new()))
    }

    fn send(
        &self,
        request: http::Request<wxmedia_proto::Body>,
        _limit: usize,
        _budget: Duration,
    ) -> impl Future<Output = Exchange> + Send {
        self.seen.lock().unwrap().push(request);
        let next = self.script.lock().unwrap().pop_front();
        async move {
            match next.expect("the script has an answer for every attempt") {
                Script::Answer(sent) => sent,
                Script::Hang => std::future::pending().await,
            }
        }
    }

    async fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration)
    }
}

fn settings(policy: RetryPolicy, attempt: Duration) -> (Settings, V2Settings) {
    V2Builder::<Never>::new()
        .mch_id("1900000109")
        .api_key(KEY)
        .identity(identity("1900000109"))
        .endpoint("https://127.0.0.1:1")
        .retry_policy(policy)
        .attempt_timeout(attempt)
        .settings()
        .unwrap()
}

fn quick(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        total_budget: Duration::from_secs(5),
        rate_limited_delay: Duration::from_millis(1),
    }
}

fn reply(fields: &[(&str, &str)]) -> Exchange {
    let sign =
        StringToSign::new(fields.iter().copied()).sign(&ApiKey::new(KEY).unwrap(), SignType::Md5);
    let mut all = fields.to_vec();
    all.push(("sign", sign.as_str()));
    AttemptEnd::Reply(http::Response::new(Bytes::from(xml::write(&all))))
}

fn success() -> Exchange {
    reply(&[
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("media_id", "m-1"),
    ])
}

fn run(
    t: &Scripted,
    (s, v2): &(Settings, V2Settings),
) -> Result<wxmedia_proto::v2::Uploaded, Error> {
    let media = Media::new("a.jpg", &b"\xFF\xD8\xFF\xD9"[..]).unwrap();
    let upload = v2.upload(s, media).unwrap();
    let endpoints = Mutex::new(Endpoints::new(s.primary.clone(), s.twin.clone()));
    futures_executor::block_on(drive(t, s, &endpoints, upload))
}

#[test]
fn a_broken_connection_is_retried_with_a_fresh_boundary() {
    let s = settings(quick(3), Duration::from_secs(5));
    let t = Scripted::new(vec![
        Script::Answer(AttemptEnd::failed(TransportErrorKind::Broken, "reset")),
        Script::Answer(success()),
    ]);
    assert_eq!(run(&t, &s).unwrap().media_id, "m-1");
    let seen = t.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_ne!(
        seen[0].headers()["content-type"],
        seen[1].headers()["content-type"],
        "each attempt is framed afresh"
    );
}

#[test]
fn the_last_transport_error_is_reported_with_its_kind_and_source() {
    let s = settings(quick(2), Duration::from_secs(5));
    let t = Scripted::new(vec![
        Script::Answer(AttemptEnd::failed(TransportErrorKind::Broken, "first")),
        Script::Answer(AttemptEnd::failed(TransportErrorKind::Broken, "second")),
    ]);
    let e = run(&t, &s).unwrap_err();
    assert_eq!(e.transport_kind(), Some(TransportErrorKind::Broken));
    assert!(e.is_retryable());
    assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "second");
}

#[test]
fn a_tls_failure_is_not_retried() {
    let s = settings(quick(3), Duration::from_secs(5));
    let t = Scripted::new(vec![Script::Answer(AttemptEnd::failed(
        TransportErrorKind::Tls,
        "unknown issuer",
    ))]);
    let e = run(&t, &s).unwrap_err();
    assert_eq!(e.transport_kind(), Some(TransportErrorKind::Tls));
    assert_eq!(t.seen.lock().unwrap().len(), 1);
}

#[test]
fn a_hanging_exchange_is_ended_by_the_clients_timer() {
    let s = settings(quick(1), Duration::from_millis(100));
    let t = Scripted::new(vec![Script::Hang]);
    let started = Instant::now();
    let e = run(&t, &s).unwrap_err();
    assert!(
        matches!(e, Error::Timeout { after, last: None } if after == Duration::from_millis(100)),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn api_errors_keep_their_code_and_an_oversized_reply_its_limit() {
    let s = settings(quick(2), Duration::from_secs(5));
    let limited = || {
        reply(&[
            ("return_code", "SUCCESS"),
            ("result_code", "FAIL"),
            ("err_code", "FREQUENCY_LIMITED"),
        ])
    };
    let t = Scripted::new(vec![Script::Answer(limited()), Script::Answer(limited())]);
    let e = run(&t, &s).unwrap_err();
    assert_eq!(e.api_code(), Some(&ErrorCode::FrequencyLimitedV2));
    assert!(e.is_rate_limited() && e.is_retryable());
    let t = Scripted::new(vec![Script::Answer(AttemptEnd::ReplyTooLarge)]);
    let e = run(&t, &s).unwrap_err();
    assert!(
        matches!(&e, Error::Proto(wxmedia_proto::Error::ReplyTooLarge { limit, .. }) if *limit == s.0.reply_limit),
        "{e:?}"
    );
}

#[test]
fn huge_timeouts_do_not_panic() {
    // `Duration::MAX` is the natural way to say "no deadline"; it must not
    // overflow `Instant` arithmetic anywhere in the loop.
    let mut s = settings(quick(2), Duration::MAX);
    s.0.timeouts.deadline = Duration::MAX;
    let t = Scripted::new(vec![
        Script::Answer(AttemptEnd::failed(TransportErrorKind::Broken, "reset")),
        Script::Answer(success()),
    ]);
    assert_eq!(run(&t, &s).unwrap().media_id, "m-1");
}

#[test]
fn a_deadline_that_cuts_a_rate_limited_retry_still_says_rate_limited() {
    // The server asks for a pause longer than the time left: the retry is
    // never made, and the error must still say why it was wanted, so that
    // a batch pauses its other uploads.
    let policy = RetryPolicy {
        rate_limited_delay: Duration::from_secs(5),
        total_budget: Duration::from_secs(60),
        ..quick(3)
    };
    let (mut s, v2) = settings(policy, Duration::from_secs(1));
    s.timeouts.deadline = Duration::from_millis(500);
    let t = Scripted::new(vec![Script::Answer(reply(&[
        ("return_code", "SUCCESS"),
        ("result_code", "FAIL"),
        ("err_code", "FREQUENCY_LIMITED"),
    ]))]);
    let started = Instant::now();
    let e = run(&t, &(s, v2)).unwrap_err();
    assert!(
        matches!(&e, Error::Timeout { after, last: Some(_) } if *after == Duration::from_millis(500)),
        "{e:?}"
    );
    assert!(e.is_rate_limited(), "{e}");
    assert_eq!(e.api_code(), Some(&ErrorCode::FrequencyLimitedV2));
    assert!(e.to_string().contains("FREQUENCY_LIMITED"), "{e}");
    assert_eq!(t.seen.lock().unwrap().len(), 1, "no retry was sent");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it did not wait"
    );
}

#[test]
fn an_attempt_cut_by_the_deadline_after_a_rate_limit_still_says_rate_limited() {
    // FREQUENCY_LIMITED, a short pause, then the retry hangs until the
    // deadline ends it: the timeout reports the rate limit it was retrying.
    let (mut s, v2) = settings(quick(3), Duration::from_secs(5));
    s.timeouts.deadline = Duration::from_millis(300);
    let t = Scripted::new(vec![
        Script::Answer(reply(&[
            ("return_code", "SUCCESS"),
            ("result_code", "FAIL"),
            ("err_code", "FREQUENCY_LIMITED"),
        ])),
        Script::Hang,
    ]);
    let e = run(&t, &(s, v2)).unwrap_err();
    assert!(matches!(&e, Error::Timeout { last: Some(_), .. }), "{e:?}");
    assert!(e.is_rate_limited() && e.is_retryable(), "{e}");
    assert_eq!(t.seen.lock().unwrap().len(), 2);
}

/// Two uploads of one client at 1 a minute: the second's slot is a minute
/// away, past its 5 s deadline, so it ends at once as a timeout without
/// sending anything; with pacing off both are sent.
#[test]
fn a_slot_past_the_deadline_ends_the_upload_unsent() {
    let paced = V2Builder::<Never>::new()
        .mch_id("1900000109")
        .api_key(KEY)
        .identity(identity("1900000109"))
        .endpoint("https://127.0.0.1:1")
        .deadline(Duration::from_secs(5))
        .rate_limit(wxmedia_client::Rate::per_minute(1))
        .settings()
        .unwrap();
    let t = Scripted::new(vec![Script::Answer(success())]);
    assert_eq!(run(&t, &paced).unwrap().media_id, "m-1");
    let started = Instant::now();
    let e = run(&t, &paced).unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "it did not wait for the slot"
    );
    assert_eq!(t.seen.lock().unwrap().len(), 1, "the second was not sent");

    let unpaced = V2Builder::<Never>::new()
        .mch_id("1900000109")
        .api_key(KEY)
        .identity(identity("1900000109"))
        .endpoint("https://127.0.0.1:1")
        .rate_limit(wxmedia_client::Rate::per_minute(1))
        .no_rate_limit()
        .settings()
        .unwrap();
    let t = Scripted::new(vec![Script::Answer(success()), Script::Answer(success())]);
    run(&t, &unpaced).unwrap();
    run(&t, &unpaced).unwrap();
    assert_eq!(t.seen.lock().unwrap().len(), 2);
}

/// A rate-limited reply with `Retry-After: 1` holds the endpoint's slots
/// for a second, so the retry is sent no sooner; and a rate-limited reply
/// that is not retried pauses the next upload of the same settings (the
/// client's clones share them), although it had no refusal of its own.
#[test]
fn a_rate_limited_reply_pauses_every_upload_of_the_endpoint() {
    let limited = |retry_after: Option<&str>| {
        let AttemptEnd::Reply(mut r) = reply(&[
            ("return_code", "SUCCESS"),
            ("result_code", "FAIL"),
            ("err_code", "FREQUENCY_LIMITED"),
        ]) else {
            unreachable!("reply() makes a reply")
        };
        if let Some(after) = retry_after {
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, after.parse().unwrap());
        }
        Script::Answer(AttemptEnd::Reply(r))
    };
    let retried = settings(quick(3), Duration::from_secs(5));
    let t = Scripted::new(vec![limited(Some("1")), Script::Answer(success())]);
    let started = Instant::now();
    run(&t, &retried).unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    let once = RetryPolicy {
        rate_limited_delay: Duration::from_secs(1),
        ..quick(1)
    };
    let given_up = settings(once, Duration::from_secs(5));
    let t = Scripted::new(vec![limited(None), Script::Answer(success())]);
    assert!(run(&t, &given_up).unwrap_err().is_rate_limited());
    let next = Instant::now();
    run(&t, &given_up).unwrap();
    assert!(
        next.elapsed() >= Duration::from_millis(900),
        "{:?}",
        next.elapsed()
    );
}

/// The observer hears of every attempt once, with what the span carries:
/// a SYSTEMERROR retried, then the success; the endpoint, host, numbers,
/// status, bytes sent and decisions, and the failure's text on the first.
#[test]
fn the_observer_is_told_of_every_attempt() {
    use std::sync::Arc;
    use wxmedia_client::observe::{Attempt, Decision};
    let seen: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let log = Arc::clone(&seen);
    let s = V2Builder::<Never>::new()
        .mch_id("1900000109")
        .api_key(KEY)
        .identity(identity("1900000109"))
        .endpoint("https://127.0.0.1:1")
        .retry_policy(quick(3))
        .no_rate_limit()
        .observer(move |a: &Attempt| log.lock().unwrap().push(a.clone()))
        .settings()
        .unwrap();
    let system_error = reply(&[
        ("return_code", "SUCCESS"),
        ("result_code", "FAIL"),
        ("err_code", "SYSTEMERROR"),
    ]);
    let t = Scripted::new(vec![
        Script::Answer(system_error),
        Script::Answer(success()),
    ]);
    run(&t, &s).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let (first, second) = (&seen[0], &seen[1]);
    assert_eq!((first.attempt, second.attempt), (1, 2));
    assert!(matches!(first.decision, Decision::Retry(_)), "{first:?}");
    assert_eq!(second.decision, Decision::Done);
    for a in seen.iter() {
        assert_eq!(a.endpoint, "/secapi/mch/uploadmedia");
        assert_eq!(a.host, "https://127.0.0.1:1");
        assert_eq!(a.transport, "scripted");
        assert_eq!(a.status, Some(200));
        assert_eq!(a.proxy, None);
        assert!(a.bytes_sent > 4, "the multipart body: {a:?}");
    }
    assert!(
        first.error.as_deref().unwrap().contains("SYSTEMERROR"),
        "{first:?}"
    );
    assert_eq!(second.error, None);
    // Never a secret: the API key appears nowhere.
    assert!(!format!("{seen:?}").contains(KEY));
}
