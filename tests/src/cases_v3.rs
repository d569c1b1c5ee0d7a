//! The v3 conformance cases, each generic over the transport and each with its own simulator: every verification set-up, forged and stale replies, rotation, refusals, retries, failover, limits (the endpoints' own cases are in `cases_endpoints`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use wxmedia_client::{Clock, Error, SystemClock, V3Builder};
use wxmedia_proto::v3::{self, Api, UploadedMedia};
use wxmedia_proto::{Error as ProtoError, ErrorCode, Media, SignatureError};
use wxmedia_sim::{Times, V3Signer};

use crate::Transport;
use crate::fixtures::{JPEG, PNG, Sim, fast_retries, sim};

/// The project's tiny MP4 (a whole ISO-BMFF file).
pub const MP4: &[u8] = include_bytes!("../../crates/wxmedia-sim/samples/sample.mp4");

/// How the client verifies replies.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verify {
    /// The WeChat Pay public key and its id.
    PublicKey,
    /// The platform certificate file.
    PlatformCert,
    /// The APIv3 key: the client downloads the certificates.
    ApiV3Key,
}

/// A v3 builder pointed at the simulator: the merchant key and certificate
/// the simulator issued, verifying replies as `verify` says.
pub(crate) fn v3_builder<C>(sim: &Sim, verify: Verify) -> V3Builder<C> {
    let pki = sim.server.pki();
    let v3 = sim.server.v3();
    let b = V3Builder::new()
        .mch_id(sim.server.sim().mch_id())
        .private_key_file(pki.client_key_path())
        .merchant_certificate_file(pki.client_cert_path())
        .endpoint(sim.server.endpoint())
        .webpki_roots(false)
        .add_root_ca_file(pki.ca_cert_path())
        .retry_policy(fast_retries(3));
    match verify {
        Verify::PublicKey => b.wechatpay_public_key_file(
            v3.keys().wechatpay_public_key_id(),
            pki.wechatpay_public_key_path(),
        ),
        Verify::PlatformCert => b.platform_certificate_file(pki.platform_cert_path()),
        Verify::ApiV3Key => b.api_v3_key(v3.keys().api_v3_key()),
    }
}

/// Switch the simulator to sign replies with its platform certificate.
pub(crate) fn platform_cert_mode(sim: &Sim) {
    let v3 = sim.server.v3().with_signer(V3Signer::PlatformCert);
    sim.server.sim().set_v3(v3);
}

pub(crate) fn build<T: Transport>(b: V3Builder<T::V3>) -> T::V3 {
    b.build()
        .unwrap_or_else(|e| panic!("{}: the v3 client builds: {e:?}", T::NAME))
}

pub(crate) async fn up<T: Transport>(
    c: &T::V3,
    api: Api,
    media: Media,
) -> Result<UploadedMedia, Error> {
    T::upload_v3(c, api, media).await
}

pub(crate) fn jpeg(name: &str) -> Media {
    Media::new(name, JPEG).unwrap()
}

fn signature_error(e: &Error) -> Option<SignatureError> {
    match e {
        Error::Proto(ProtoError::Signature { kind, .. }) => Some(*kind),
        _ => None,
    }
}

/// Count the requests the simulator saw on a path.
fn seen(sim: &Sim, path: &str) -> usize {
    sim.server
        .sim()
        .received()
        .iter()
        .filter(|r| r.path == path)
        .count()
}

/// An image upload verified by the platform certificate file.
pub async fn v3_image_in_platform_certificate_mode<T: Transport>() {
    let sim = sim().await;
    platform_cert_mode(&sim);
    let c = build::<T>(v3_builder(&sim, Verify::PlatformCert));
    up::<T>(&c, Api::Image, jpeg("a.jpg"))
        .await
        .expect("uploaded");
}

/// With the APIv3 key the client downloads the certificates once, then
/// uploads; later uploads do not download again.
pub async fn v3_certificates_downloaded_by_api_v3_key<T: Transport>() {
    let sim = sim().await;
    platform_cert_mode(&sim);
    let c = build::<T>(v3_builder(&sim, Verify::ApiV3Key));
    up::<T>(&c, Api::Image, jpeg("a.jpg")).await.expect("first");
    up::<T>(&c, Api::MarketingImage, Media::new("b.png", PNG).unwrap())
        .await
        .expect("second");
    assert_eq!(seen(&sim, "/v3/certificates"), 1);
    let certs = T::download_certificates(&c)
        .await
        .expect("explicit download");
    assert_eq!(
        certs[0].serial_no.trim_start_matches('0'),
        sim.server
            .v3()
            .keys()
            .platform_serial_no()
            .trim_start_matches('0')
    );
}

/// A reply whose signature does not verify is refused, never an id.
pub async fn v3_bad_reply_signature_is_refused<T: Transport>() {
    let sim = sim().await;
    sim.server
        .sim()
        .update_faults(|f| f.wrong_sign = Times::Always);
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let e = up::<T>(&c, Api::Image, jpeg("a.jpg")).await.unwrap_err();
    assert_eq!(signature_error(&e), Some(SignatureError::Mismatch), "{e:?}");
    assert!(!e.is_retryable());
}

/// A reply without the Wechatpay-* headers is refused.
pub async fn v3_unsigned_reply_is_refused<T: Transport>() {
    let sim = sim().await;
    sim.server
        .sim()
        .update_faults(|f| f.unsigned_reply = Times::Always);
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let e = up::<T>(&c, Api::Image, jpeg("a.jpg")).await.unwrap_err();
    assert!(
        matches!(
            signature_error(&e),
            Some(SignatureError::Missing | SignatureError::MissingHeader(_))
        ),
        "{e:?}"
    );
}

/// A reply with a timestamp minutes old is refused as stale.
pub async fn v3_stale_reply_timestamp_is_refused<T: Transport>() {
    let sim = sim().await;
    sim.server
        .sim()
        .update_faults(|f| f.stale_reply_timestamp = Times::Always);
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let e = up::<T>(&c, Api::Image, jpeg("a.jpg")).await.unwrap_err();
    assert_eq!(
        signature_error(&e),
        Some(SignatureError::Timestamp),
        "{e:?}"
    );
}

/// A serial the client does not hold (and no APIv3 key to look it up) is refused.
pub async fn v3_unknown_reply_serial_is_refused<T: Transport>() {
    let sim = sim().await;
    sim.server
        .sim()
        .update_faults(|f| f.unknown_reply_serial = Times::Always);
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let e = up::<T>(&c, Api::Image, jpeg("a.jpg")).await.unwrap_err();
    assert_eq!(
        signature_error(&e),
        Some(SignatureError::UnknownSerial),
        "{e:?}"
    );
}

/// After a rotation the client holds only an old certificate: the first
/// reply names an unknown serial, the client downloads the certificates,
/// and the upload goes through.
pub async fn v3_rotation_is_found_by_a_refresh<T: Transport>() {
    let sim = sim().await;
    platform_cert_mode(&sim);
    let old = crate::fixtures::sim().await; // another simulator's platform certificate
    let c = build::<T>(
        v3_builder(&sim, Verify::ApiV3Key)
            .platform_certificate_file(old.server.pki().platform_cert_path()),
    );
    up::<T>(&c, Api::Image, jpeg("a.jpg"))
        .await
        .expect("uploaded after the refresh");
    assert_eq!(seen(&sim, "/v3/certificates"), 1);
    assert_eq!(seen(&sim, "/v3/merchant/media/upload"), 2);
}

/// A forged serial makes the client download the certificates at most
/// once a minute, however many uploads fail.
pub async fn v3_forged_serials_refresh_at_most_once_a_minute<T: Transport>() {
    let sim = sim().await;
    platform_cert_mode(&sim);
    let c = build::<T>(v3_builder(&sim, Verify::ApiV3Key));
    up::<T>(&c, Api::Image, jpeg("a.jpg")).await.expect("warm");
    sim.server
        .sim()
        .update_faults(|f| f.unknown_reply_serial = Times::Always);
    for _ in 0..3 {
        let e = up::<T>(&c, Api::Image, jpeg("a.jpg")).await.unwrap_err();
        assert_eq!(signature_error(&e), Some(SignatureError::UnknownSerial));
    }
    // The first download (warm-up) is within the minute: no more follow.
    assert_eq!(seen(&sim, "/v3/certificates"), 1);
}

/// A request signed with a key the server does not know: SIGN_ERROR, with
/// the server's message beside ours.
pub async fn v3_sign_error_shows_both_messages<T: Transport>() {
    let sim = sim().await;
    let other = crate::fixtures::sim().await;
    let serial = sim.server.v3().keys().merchant_serial_no().to_owned();
    let pki = sim.server.pki();
    let c = build::<T>(
        V3Builder::new()
            .mch_id(sim.server.sim().mch_id())
            .private_key_file(other.server.pki().client_key_path())
            .serial_no(serial)
            .wechatpay_public_key_file(
                sim.server.v3().keys().wechatpay_public_key_id(),
                pki.wechatpay_public_key_path(),
            )
            .endpoint(sim.server.endpoint())
            .webpki_roots(false)
            .add_root_ca_file(pki.ca_cert_path())
            .retry_policy(fast_retries(3)),
    );
    let e = up::<T>(&c, Api::Image, jpeg("a.jpg")).await.unwrap_err();
    assert!(e.api_code().is_some_and(ErrorCode::is_sign_error), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("the server checked") && text.contains("this client signed"),
        "{text}"
    );
    assert!(!e.is_retryable());
    assert_eq!(seen(&sim, "/v3/merchant/media/upload"), 1, "not retried");
}

/// 429 RATE_LIMITED once, then success after the backoff.
pub async fn v3_rate_limited_then_success<T: Transport>() {
    let sim = sim().await;
    sim.server
        .sim()
        .update_faults(|f| f.forced_error = Some(("RATE_LIMITED".into(), Times::Next(1))));
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let started = Instant::now();
    up::<T>(&c, Api::Image, jpeg("a.jpg"))
        .await
        .expect("uploaded after backoff");
    assert_eq!(seen(&sim, "/v3/merchant/media/upload"), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "the rate-limited delay was honoured"
    );
}

/// 500 SYSTEM_ERROR once, then success.
pub async fn v3_system_error_then_success<T: Transport>() {
    let sim = sim().await;
    sim.server
        .sim()
        .update_faults(|f| f.system_error = Times::Next(1));
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    up::<T>(&c, Api::Image, jpeg("a.jpg"))
        .await
        .expect("retried");
    assert_eq!(seen(&sim, "/v3/merchant/media/upload"), 2);
}

/// A dead primary: the v3 upload lands on the twin.
pub async fn v3_failover_to_the_twin<T: Transport>() {
    let sim = sim().await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let primary = format!("https://127.0.0.1:{}", dead.local_addr().unwrap().port());
    drop(dead);
    let c = build::<T>(
        v3_builder(&sim, Verify::PublicKey)
            .endpoint(primary)
            .backup_endpoint(Some(sim.server.endpoint()))
            .retry_policy(fast_retries(4)),
    );
    up::<T>(&c, Api::Image, jpeg("a.jpg"))
        .await
        .expect("uploaded on the twin");
    assert_eq!(T::current_endpoint_v3(&c), sim.server.endpoint());
}

/// A reply slower than the limits: a timeout within the deadline.
pub async fn v3_slow_reply_stops_at_the_deadline<T: Transport>() {
    let sim = sim().await;
    sim.server
        .sim()
        .update_faults(|f| f.reply_delay = Duration::from_secs(5));
    let c = build::<T>(
        v3_builder(&sim, Verify::PublicKey)
            .attempt_timeout(Duration::from_millis(400))
            .deadline(Duration::from_millis(1000)),
    );
    let started = Instant::now();
    let e = up::<T>(&c, Api::Image, jpeg("a.jpg")).await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1700),
        "took {:?}",
        started.elapsed()
    );
}

/// A 100 MB reply is refused at the cap without reading it all.
pub async fn v3_hundred_megabyte_reply_is_capped<T: Transport>() {
    let sim = sim().await;
    sim.server
        .sim()
        .update_faults(|f| f.huge_reply = Some(100 * 1024 * 1024));
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let started = Instant::now();
    let e = up::<T>(&c, Api::Image, jpeg("a.jpg")).await.unwrap_err();
    assert!(
        matches!(e, Error::Proto(ProtoError::ReplyTooLarge { .. })),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Truncated and disguised media are refused before anything is sent.
pub async fn v3_truncated_and_disguised_media_are_refused_unsent<T: Transport>() {
    let sim = sim().await;
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    assert!(
        Media::new("cut.jpg", &JPEG[..JPEG.len() / 2]).is_err(),
        "a cut JPEG"
    );
    assert!(Media::video("fake.mp4", JPEG).is_err(), "a JPEG named .mp4");
    assert!(Media::new("fake.jpg", PNG).is_err(), "a PNG named .jpg");
    // The wrong kind for the endpoint is refused by the client too.
    let e = up::<T>(&c, Api::Video, jpeg("a.jpg")).await.unwrap_err();
    assert!(e.is_input_error(), "{e:?}");
    let e = up::<T>(&c, Api::Image, Media::video("a.mp4", MP4).unwrap())
        .await
        .unwrap_err();
    assert!(e.is_input_error(), "{e:?}");
    assert_eq!(sim.server.sim().request_count(), 0);
}

/// The upload owns its size limit: a 3 MiB photo made with `Media::new`
/// goes up as a v3 image (5 MiB), and is refused before sending as a v2
/// upload and as a v3 marketing image (2 MiB each), saying size and
/// limit. Which client has which method is checked at compile time (the
/// `compile_fail` examples of `V2Client` and `V3Client`).
pub async fn v3_and_v2_clients_keep_to_their_limits<T: Transport>() {
    let sim = sim().await;
    let mut bytes = JPEG.to_vec();
    // Zero padding after the end marker keeps the JPEG whole.
    bytes.resize(3 * 1024 * 1024, 0);
    let photo = Media::new("id-front.jpg", bytes).expect("no limit in Media::new");
    let v3 = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let done = T::upload_v3(&v3, v3::Image, photo.clone())
        .await
        .expect("a 3 MiB v3 image");
    assert!(!done.media_id.is_empty());
    assert_eq!(sim.server.sim().request_count(), 1);
    let e = T::upload_v3(&v3, v3::MarketingImage, photo.clone())
        .await
        .unwrap_err();
    assert!(e.is_input_error() && !e.is_retryable(), "{e:?}");
    let v2 = crate::fixtures::builder::<T::V2>(&sim)
        .build()
        .expect("the v2 client builds");
    let e = T::upload(&v2, photo).await.unwrap_err();
    assert!(e.is_input_error(), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("3145728") && text.contains("2097152"),
        "{text}"
    );
    assert_eq!(sim.server.sim().request_count(), 1, "neither was sent");
}

/// Twenty concurrent v3 uploads through one client, all distinct ids.
pub async fn v3_twenty_concurrent_uploads<T: Transport>() {
    let sim = sim().await;
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let c = c.clone();
        tasks.spawn(async move { up::<T>(&c, Api::Image, jpeg(&format!("p{i}.jpg"))).await });
    }
    let mut ids = Vec::new();
    while let Some(r) = tasks.join_next().await {
        ids.push(r.unwrap().expect("uploaded").id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
}

/// A clock this many seconds off the system's, injected into the client.
#[derive(Debug)]
struct Skewed(i64);

impl Clock for Skewed {
    fn unix_time(&self) -> u64 {
        SystemClock.unix_time().saturating_add_signed(self.0)
    }
}

/// The client signs with its own clock: ten minutes fast is refused by
/// the server (SIGN_ERROR, outside its 300 s window) and not retried; four
/// minutes slow is inside every window and uploads.
pub async fn v3_a_skewed_clock_is_refused_and_a_small_skew_passes<T: Transport>() {
    let sim = sim().await;
    let fast = build::<T>(v3_builder(&sim, Verify::PublicKey).clock(Arc::new(Skewed(600))));
    let e = up::<T>(&fast, Api::Image, jpeg("a.jpg")).await.unwrap_err();
    assert!(e.api_code().is_some_and(ErrorCode::is_sign_error), "{e:?}");
    assert_eq!(seen(&sim, "/v3/merchant/media/upload"), 1, "not retried");
    let slow = build::<T>(v3_builder(&sim, Verify::PublicKey).clock(Arc::new(Skewed(-240))));
    up::<T>(&slow, Api::Image, jpeg("b.jpg"))
        .await
        .expect("four minutes off is inside the window");
}

/// v3 replies without `Date`, and with a Latin-1 header value, verify and
/// are accepted on the first request: neither header is signed.
pub async fn v3_replies_without_date_or_with_latin1_headers_are_accepted_once<T: Transport>() {
    let sim = sim().await;
    sim.server.sim().update_faults(|f| {
        f.omit_date = true;
        f.latin1_header = true;
    });
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let done = T::upload_v3(&c, v3::Image, jpeg("a.jpg"))
        .await
        .expect("uploaded");
    assert!(!done.media_id.is_empty());
    assert_eq!(
        sim.server.sim().request_count(),
        1,
        "one request, no resend"
    );
}
