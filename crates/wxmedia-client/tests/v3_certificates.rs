//! The APIv3 client's platform certificates over an in-memory WeChat Pay: one download shared by concurrent uploads, a failed one not repeated within the interval (issue 21, item 4), and only certificates valid now trusted (item 3).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use wxmedia_client::{BuildError, Clock, Error, Exchange, Settings, Transport, V3Client};
use wxmedia_proto::v3::{self, RsaSigner, Signer};
use wxmedia_proto::{AttemptEnd, ErrorCode, Media, RetryPolicy, SignatureError};

/// 2023-11-14T22:13:20Z: `current.pem` is valid, `next.pem` not yet.
const NOW: u64 = 1_700_000_000;
/// 2024-01-11: `current.pem` has expired, `next.pem` is valid.
const LATER: u64 = 1_705_000_000;
const KEY: &str = include_str!("../../wxmedia-proto/tests/data/v3_key.pem");
const CERT: &str = include_str!("../../wxmedia-proto/tests/data/v3_cert.pem");
/// The APIv3 key the listings below are sealed with.
const API_V3_KEY: &str = "wxmediaV3TestKey0123456789abcdef";
/// Made by `wxmedia-proto/tests/data/validity/make.py`; every certificate
/// there has the key of `v3_key.pem`, so one signature verifies under any
/// of their serials. `[current]` (2C02, valid 2022-06-01 to 2024-01-01).
const LISTING_CURRENT: &str =
    include_str!("../../wxmedia-proto/tests/data/validity/listing_current.json");
/// `[next]` (3A03, valid 2023-12-01 to 2028-12-01).
const LISTING_NEXT: &str =
    include_str!("../../wxmedia-proto/tests/data/validity/listing_next.json");
/// `[expired, next]` (1E01 expired 2023-01-01; 3A03): nothing valid at NOW.
const LISTING_EXPIRED_NEXT: &str =
    include_str!("../../wxmedia-proto/tests/data/validity/listing_expired_next.json");
/// 3A03 alone, as a pinned certificate.
const NEXT_PEM: &str = include_str!("../../wxmedia-proto/tests/data/validity/next.pem");

/// A clock the test sets.
#[derive(Debug)]
struct TestClock(AtomicU64);

impl Clock for TestClock {
    fn unix_time(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the in-memory WeChat Pay answers and what it has seen.
#[derive(Default)]
struct Server {
    /// The body of `GET /v3/certificates`, signed naming `listing_serial`;
    /// none: a `500 SYSTEM_ERROR`.
    listing: Option<&'static str>,
    listing_serial: &'static str,
    /// The serial upload replies are signed under.
    upload_serial: &'static str,
    gets: usize,
    /// The `Wechatpay-Serial` each upload request named.
    posts: Vec<Option<String>>,
}

/// A transport that is WeChat Pay: it answers after yielding once, so that
/// concurrent uploads really are in flight together, and its sleeps pass
/// no time.
struct Fake {
    clock: Arc<dyn Clock>,
    server: Mutex<Server>,
}

impl Fake {
    fn set(&self, edit: impl FnOnce(&mut Server)) {
        edit(&mut self.server.lock().unwrap());
    }

    fn gets(&self) -> usize {
        self.server.lock().unwrap().gets
    }

    fn posts(&self) -> Vec<Option<String>> {
        self.server.lock().unwrap().posts.clone()
    }

    fn answer(&self, request: &http::Request<wxmedia_proto::Body>) -> Exchange {
        let mut server = self.server.lock().unwrap();
        let now = self.clock.unix_time();
        if request.method() == http::Method::GET {
            assert_eq!(request.uri().path(), "/v3/certificates");
            server.gets += 1;
            return match server.listing {
                Some(body) => signed(body, now, server.listing_serial),
                None => {
                    let body = r#"{"code":"SYSTEM_ERROR","message":"system busy"}"#;
                    let reply = http::Response::builder()
                        .status(500)
                        .body(Bytes::from_static(body.as_bytes()))
                        .unwrap();
                    AttemptEnd::Reply(reply)
                }
            };
        }
        let named = request
            .headers()
            .get("wechatpay-serial")
            .map(|v| v.to_str().unwrap().to_owned());
        server.posts.push(named);
        let body = format!(r#"{{"media_id":"m-{}"}}"#, server.posts.len());
        signed(&body, now, server.upload_serial)
    }
}

impl Transport for Fake {
    const NAME: &'static str = "fake";

    fn new(settings: &Settings) -> Result<Self, BuildError> {
        Ok(Fake {
            clock: Arc::clone(&settings.clock),
            server: Mutex::default(),
        })
    }

    fn send(
        &self,
        request: http::Request<wxmedia_proto::Body>,
        _limit: usize,
        _budget: Duration,
    ) -> impl Future<Output = Exchange> + Send {
        let answer = self.answer(&request);
        async move {
            YieldOnce(false).await;
            answer
        }
    }

    async fn sleep(&self, _duration: Duration) {
        // Longer than an answer takes, so that an attempt never times out.
        for _ in 0..3 {
            YieldOnce(false).await;
        }
    }
}

/// Pending once, then ready: lets the executor poll the other uploads.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A 200 reply signed at `ts` under `serial`, as WeChat Pay signs.
fn signed(body: &str, ts: u64, serial: &str) -> Exchange {
    let nonce = "c5ac7061fccab6bf3e254dcf98995b8c";
    let message = format!("{ts}\n{nonce}\n{body}\n");
    let signer = RsaSigner::from_pem(KEY.as_bytes(), CERT.as_bytes()).unwrap();
    let signature = base64(&signer.sign(message.as_bytes()).unwrap());
    let reply = http::Response::builder()
        .status(200)
        .header("Wechatpay-Timestamp", ts.to_string())
        .header("Wechatpay-Nonce", nonce)
        .header("Wechatpay-Serial", serial)
        .header("Wechatpay-Signature", signature)
        .body(Bytes::from(body.to_owned()))
        .unwrap();
    AttemptEnd::Reply(reply)
}

/// Standard base64 with padding (this crate has no base64 dependency).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Three quick attempts per exchange.
fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        total_budget: Duration::from_secs(30),
        rate_limited_delay: Duration::from_millis(1),
    }
}

/// A client that verifies replies only with what it downloads with the
/// APIv3 key, at the test's time.
fn client_at(now: u64) -> (V3Client<Fake>, Arc<TestClock>) {
    let clock = Arc::new(TestClock(AtomicU64::new(now)));
    let client = V3Client::<Fake>::builder()
        .mch_id("1900000109")
        .private_key_pem(KEY)
        .serial_no("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
        .api_v3_key(API_V3_KEY)
        .endpoint("https://127.0.0.1:1")
        .retry_policy(quick())
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .build()
        .unwrap();
    (client, clock)
}

fn jpeg(n: usize) -> Media {
    Media::new(format!("{n}.jpg"), &b"\xFF\xD8\xFF\xD9"[..]).unwrap()
}

/// Run `n` uploads at once on one thread.
fn upload_all(client: &V3Client<Fake>, n: usize) -> Vec<Result<String, Error>> {
    let uploads =
        (0..n).map(|i| async move { client.upload(&v3::Image, jpeg(i)).await.map(|m| m.media_id) });
    futures_executor::block_on(futures_util::future::join_all(uploads))
}

#[test]
fn concurrent_uploads_with_no_certificate_share_one_download() {
    let (client, _) = client_at(NOW);
    client.transport().set(|s| {
        s.listing = Some(LISTING_CURRENT);
        s.listing_serial = "2C02";
        s.upload_serial = "2C02";
    });
    let results = upload_all(&client, 32);
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    assert_eq!(client.transport().gets(), 1, "one download for all 32");
    assert_eq!(client.transport().posts().len(), 32);
    // Later uploads use what was downloaded.
    upload_all(&client, 4);
    assert_eq!(client.transport().gets(), 1);
}

#[test]
fn a_failed_download_is_not_repeated_and_every_upload_fails_fast() {
    let (client, _) = client_at(NOW);
    client.transport().set(|s| s.listing = None);
    let results = upload_all(&client, 32);
    // One download, retried as the policy allows (3 attempts), for all 32.
    assert_eq!(client.transport().gets(), 3);
    assert!(client.transport().posts().is_empty(), "nothing uploaded");
    let errors: Vec<Error> = results.into_iter().map(|r| r.unwrap_err()).collect();
    let told_again: Vec<&Error> = errors
        .iter()
        .filter(|e| {
            e.to_string()
                .contains("platform certificate download failed")
        })
        .collect();
    // The upload that downloaded has the server's answer; the others are
    // told that answer again, with when the next download may start.
    assert_eq!(told_again.len(), 31, "{errors:#?}");
    for e in &errors {
        assert_eq!(e.api_code(), Some(&ErrorCode::SystemErrorV3), "{e}");
        assert!(e.is_retryable(), "a later run may succeed: {e}");
        assert!(!e.is_input_error(), "{e}");
    }
    let e = told_again[0].to_string();
    assert!(
        e.contains("system busy") && e.contains("tried again in"),
        "{e}"
    );
    // Within the interval, a later upload fails as fast, without a request.
    let e = futures_executor::block_on(client.upload(&v3::Image, jpeg(99))).unwrap_err();
    assert!(
        e.to_string()
            .contains("platform certificate download failed"),
        "{e}"
    );
    assert_eq!(client.transport().gets(), 3);
    // Asking for the certificates explicitly does try again.
    client.transport().set(|s| {
        s.listing = Some(LISTING_CURRENT);
        s.listing_serial = "2C02";
        s.upload_serial = "2C02";
    });
    let certs = futures_executor::block_on(client.download_certificates()).unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(client.transport().gets(), 4);
    assert!(futures_executor::block_on(client.upload(&v3::Image, jpeg(100))).is_ok());
}

#[test]
fn an_upload_never_trusts_an_expired_downloaded_certificate() {
    // The issue's set-up: the listing holds an expired certificate and
    // one not valid yet, both sealed with the APIv3 key, and the server
    // signs with the expired one.
    let (client, _) = client_at(NOW);
    client.transport().set(|s| {
        s.listing = Some(LISTING_EXPIRED_NEXT);
        s.listing_serial = "1E01";
        s.upload_serial = "1E01";
    });
    let e = futures_executor::block_on(client.upload(&v3::Image, jpeg(0))).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("no platform certificate"), "{text}");
    assert!(!e.is_retryable(), "{e}");
    assert!(client.transport().posts().is_empty(), "nothing uploaded");
}

#[test]
fn once_the_certificate_expires_the_next_one_is_downloaded() {
    let (client, clock) = client_at(NOW);
    client.transport().set(|s| {
        s.listing = Some(LISTING_CURRENT);
        s.listing_serial = "2C02";
        s.upload_serial = "2C02";
    });
    futures_executor::block_on(client.upload(&v3::Image, jpeg(0))).unwrap();
    // Two months later 2C02 has expired and WeChat Pay signs with 3A03.
    clock.0.store(LATER, Ordering::SeqCst);
    client.transport().set(|s| {
        s.listing = Some(LISTING_NEXT);
        s.listing_serial = "3A03";
        s.upload_serial = "3A03";
    });
    futures_executor::block_on(client.upload(&v3::Image, jpeg(1))).unwrap();
    assert_eq!(client.transport().gets(), 2);
    let named: Vec<_> = client.transport().posts();
    assert_eq!(
        named,
        [Some("2C02".to_owned()), Some("3A03".to_owned())],
        "each upload names the certificate valid then"
    );
}

#[test]
fn a_pinned_certificate_verifies_only_from_its_not_before() {
    // The next certificate pinned ahead of a rotation: accepted, but no
    // reply signed with it is trusted before 2023-12-01.
    let clock = Arc::new(TestClock(AtomicU64::new(NOW)));
    let client = V3Client::<Fake>::builder()
        .mch_id("1900000109")
        .private_key_pem(KEY)
        .serial_no("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
        .platform_certificate_pem(NEXT_PEM)
        .endpoint("https://127.0.0.1:1")
        .retry_policy(quick())
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .build()
        .unwrap();
    client.transport().set(|s| s.upload_serial = "3A03");
    let e = futures_executor::block_on(client.upload(&v3::Image, jpeg(0))).unwrap_err();
    assert_eq!(
        e.signature_error(),
        Some(SignatureError::CertificateNotValid),
        "{e}"
    );
    clock.0.store(LATER, Ordering::SeqCst);
    futures_executor::block_on(client.upload(&v3::Image, jpeg(1))).unwrap();
    assert_eq!(client.transport().gets(), 0, "no APIv3 key, no download");
}
