//! The core's v3 client (wxmedia-proto) against the simulator's v3 server, two implementations written apart: every upload and the certificate download round-trips, in both signing modes, and failures come back typed.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response};
use wxmedia_proto::v2::ApiKey;
use wxmedia_proto::v3::{
    Api, ApiV3Key, CustomApi, DownloadCertificates, Merchant, RsaSigner, UploadV3, Verifier,
};
use wxmedia_proto::{Boundary, Env, Error, MchId, Media, Nonce, Operation, SignatureError};
use wxmedia_sim::{DevPki, Faults, Inputs, Outcome, Simulator, Times, V3Config, V3Keys, V3Signer};

const MCH: &str = "1900000109";
const JPEG: &[u8] = include_bytes!("../samples/sample.jpg");
const PNG: &[u8] = include_bytes!("../samples/sample.png");
const MP4: &[u8] = include_bytes!("../samples/sample.mp4");

struct Fx {
    dir: tempfile::TempDir,
    config: V3Config,
}

/// One set of keys for the file: RSA key generation is slow.
fn fx() -> &'static Fx {
    static FX: OnceLock<Fx> = OnceLock::new();
    FX.get_or_init(|| {
        let dir = tempfile::TempDir::new().unwrap();
        let pki = DevPki::load_or_create(dir.path(), MCH).unwrap();
        let keys = V3Keys::load_or_create(&pki, None).unwrap();
        Fx {
            dir,
            config: V3Config::new(keys),
        }
    })
}

fn pki() -> DevPki {
    DevPki::load_or_create(fx().dir.path(), MCH).unwrap()
}

fn keys() -> &'static V3Keys {
    fx().config.keys()
}

/// The time of the exchanges: an hour into the platform certificate's
/// validity (it is issued when the keys are made), since the core trusts
/// a certificate only within its own dates.
fn now() -> u64 {
    u64::try_from(keys().platform_validity().0).unwrap() + 3600
}

fn server(signer: V3Signer) -> Simulator {
    Simulator::new(
        MCH,
        ApiKey::new("0123456789abcdefghijklmnopqrstuv").unwrap(),
    )
    .with_v3(fx().config.clone().with_signer(signer))
}

/// The merchant as a user of the core sets it up from the simulator's
/// files: its own key and certificate, and WeChat Pay's public key and
/// platform certificate to verify with.
fn merchant() -> Merchant {
    let pki = pki();
    let key = std::fs::read(pki.client_key_path()).unwrap();
    let cert = std::fs::read(pki.client_cert_path()).unwrap();
    let signer = RsaSigner::from_pem(&key, &cert).unwrap();
    // The core writes the serial as the official SDKs do (the number, no
    // leading zero); the simulator as openssl does (whole bytes).
    assert_eq!(
        wxmedia_proto::v3::Signer::serial_no(&signer),
        keys().merchant_serial_no().trim_start_matches('0')
    );
    let mut verifier = Verifier::new();
    verifier
        .add_public_key_pem(
            keys().wechatpay_public_key_id(),
            keys().wechatpay_public_key_pem().as_bytes(),
        )
        .unwrap();
    verifier
        .add_platform_certificate_pem(keys().platform_cert_pem().as_bytes())
        .unwrap();
    Merchant::new(
        MCH.parse::<MchId>().unwrap(),
        Arc::new(signer),
        Arc::new(verifier),
    )
}

fn env(seed: u8) -> Env {
    Env::new("https://127.0.0.1:1", Boundary::from_random([seed; 16]))
        .unwrap()
        .with_time(now())
        .with_nonce(Nonce::from_random([seed; 16]))
}

/// One exchange through the pure handler, the reply judged `late` seconds
/// after the request was made.
fn exchange<O: Operation>(
    sim: &Simulator,
    op: &O,
    seed: u8,
    late: u64,
) -> Result<O::Output, Error> {
    let env = env(seed);
    let request = op.encode(&env)?;
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts, body.to_bytes());
    let inputs = Inputs::new(Instant::now(), now() + late, [seed; 64]);
    let reply: Response<Bytes> = sim.handle_with(request, &inputs);
    op.decode(&env.received_at(now() + late), reply)
}

#[test]
fn every_upload_round_trips_in_both_signing_modes() {
    for signer in [V3Signer::PublicKey, V3Signer::PlatformCert] {
        let sim = server(signer);
        let cases = [
            (Api::Image, Media::new("id-front.jpg", JPEG).unwrap()),
            (Api::MarketingImage, Media::new("logo.png", PNG).unwrap()),
            (Api::Video, Media::video("clip.mp4", MP4).unwrap()),
            (Api::ComplaintImage, Media::new("reply.png", PNG).unwrap()),
        ];
        for (api, media) in cases {
            let up = UploadV3::new(api, merchant(), media).unwrap();
            let done =
                exchange(&sim, &up, 7, 1).unwrap_or_else(|e| panic!("{api:?} {signer:?}: {e}"));
            let last = sim.received().pop().unwrap();
            match last.outcome {
                Outcome::Uploaded { media_id } => assert_eq!(done.id, media_id),
                Outcome::UploadedUrl { media_url } => assert_eq!(done.id, media_url),
                other => panic!("{api:?}: {other:?}"),
            }
            assert_eq!(last.media_sha256.as_deref(), Some(done.sha256.as_str()));
        }
    }
}

#[test]
fn the_certificate_download_decrypts_and_verifies() {
    let sim = server(V3Signer::PlatformCert);
    let key = ApiV3Key::new(keys().api_v3_key()).unwrap();
    let op = DownloadCertificates::new(merchant(), key);
    let certs = exchange(&sim, &op, 3, 0).unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].serial_no, keys().platform_serial_no());
    assert_eq!(certs[0].pem.trim(), keys().platform_cert_pem().trim());
    // In public-key mode there are no certificates to download.
    let e = exchange(&server(V3Signer::PublicKey), &op, 3, 0).unwrap_err();
    assert_eq!(
        e.api_code().map(|c| c.as_str()),
        Some("RESOURCE_NOT_EXISTS")
    );
    // A wrong APIv3 key does not decrypt.
    let wrong = DownloadCertificates::new(merchant(), ApiV3Key::new([b'x'; 32]).unwrap());
    assert!(matches!(
        exchange(&sim, &wrong, 3, 0),
        Err(Error::Decode { .. })
    ));
}

#[test]
fn the_servers_refusals_and_forged_replies_come_back_typed() {
    let up = || UploadV3::new(Api::Image, merchant(), Media::new("a.jpg", JPEG).unwrap()).unwrap();
    // A reply that took six minutes is stale to the client.
    let sim = server(V3Signer::PublicKey);
    let e = exchange(&sim, &up(), 1, 360).unwrap_err();
    assert!(
        matches!(&e, Error::Api(a) if a.code.as_ref().is_some_and(|c| c.is_sign_error()))
            || matches!(
                &e,
                Error::Signature {
                    kind: SignatureError::Timestamp,
                    ..
                }
            ),
        "{e:?}"
    );
    // Forged, unsigned, stale and foreign replies never yield an id.
    type Fault = fn(&mut Faults);
    let faults: [(Fault, SignatureError); 5] = [
        (|f| f.wrong_sign = Times::Always, SignatureError::Mismatch),
        (|f| f.omit_sign = Times::Always, SignatureError::Missing),
        // An unsigned reply has none of the Wechatpay-* headers.
        (
            |f| f.unsigned_reply = Times::Always,
            SignatureError::MissingHeader("Wechatpay-Timestamp"),
        ),
        (
            |f| f.stale_reply_timestamp = Times::Always,
            SignatureError::Timestamp,
        ),
        (
            |f| f.unknown_reply_serial = Times::Always,
            SignatureError::UnknownSerial,
        ),
    ];
    for (fault, want) in faults {
        let sim = server(V3Signer::PublicKey);
        sim.update_faults(fault);
        match exchange(&sim, &up(), 2, 0) {
            Err(Error::Signature { kind, .. }) => assert_eq!(kind, want),
            other => panic!("{want:?}: {other:?}"),
        }
    }
    // A merchant key the server does not know: SIGN_ERROR, with both
    // messages in the error.
    let other = tempfile::TempDir::new().unwrap();
    let other_pki = DevPki::load_or_create(other.path(), MCH).unwrap();
    let key = std::fs::read(other_pki.client_key_path()).unwrap();
    let signer = RsaSigner::from_pem_and_serial(&key, keys().merchant_serial_no()).unwrap();
    let merchant = Merchant::new(
        MCH.parse().unwrap(),
        Arc::new(signer),
        Arc::new(merchant().verifier().clone()),
    );
    let up = UploadV3::new(Api::Image, merchant, Media::new("a.jpg", JPEG).unwrap()).unwrap();
    let e = exchange(&server(V3Signer::PublicKey), &up, 4, 0).unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("SIGN_ERROR"), "{text}");
    assert!(
        text.contains("the server checked") && text.contains("this client signed"),
        "{text}"
    );
    assert!(!e.is_retryable());
}

/// A signer kept elsewhere (as an HSM would be) that spells the serial its
/// own way: lowercase, with leading zeros.
#[derive(Debug)]
struct OddSerial(RsaSigner, String);

impl wxmedia_proto::v3::Signer for OddSerial {
    fn serial_no(&self) -> &str {
        &self.1
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.0.sign(message)
    }
}

#[test]
fn a_pluggable_signer_works_and_the_serial_spelling_does_not_matter() {
    let pki = pki();
    let key = std::fs::read(pki.client_key_path()).unwrap();
    let cert = std::fs::read(pki.client_cert_path()).unwrap();
    let serial = format!("00{}", keys().merchant_serial_no().to_lowercase());
    let signer = OddSerial(RsaSigner::from_pem(&key, &cert).unwrap(), serial);
    let merchant = Merchant::new(
        MCH.parse().unwrap(),
        Arc::new(signer),
        Arc::new(merchant().verifier().clone()),
    );
    let up = UploadV3::new(Api::Image, merchant, Media::new("a.jpg", JPEG).unwrap()).unwrap();
    exchange(&server(V3Signer::PublicKey), &up, 5, 0).expect("accepted");
}

/// A JPEG of `len` bytes: SOI, comment segments of padding, EOI.
fn jpeg_of(len: usize) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    while out.len() + 4 + 0xFFFD + 2 <= len {
        out.extend_from_slice(&[0xFF, 0xFE, 0xFF, 0xFF]);
        out.extend(std::iter::repeat_n(b' ', 0xFFFD));
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out.resize(len, 0);
    out
}

/// The complaint upload's own checks: 2 MiB with its own message, and
/// the suffixes it lists (jpg, bmp, png; not jpeg).
#[test]
fn complaint_images_are_held_to_their_own_limit_and_suffixes() {
    let sim = server(V3Signer::PublicKey);
    let refused = |media: Media, max: usize| {
        let up = UploadV3::with_max_size(Api::ComplaintImage, merchant(), media, max).unwrap();
        let e = exchange(&sim, &up, 5, 1).unwrap_err();
        assert_eq!(e.api_code().map(|c| c.as_str()), Some("PARAM_ERROR"), "{e}");
        e.to_string()
    };
    let two_mib = 2 * 1024 * 1024;
    let at_limit = Media::new("at.jpg", jpeg_of(two_mib)).unwrap();
    let up = UploadV3::new(Api::ComplaintImage, merchant(), at_limit).unwrap();
    exchange(&sim, &up, 5, 1).expect("exactly 2 MiB is taken");
    let over = Media::new("over.jpg", jpeg_of(two_mib + 1)).unwrap();
    let text = refused(over, 3 * two_mib);
    assert!(text.contains("图片大小不能超过2M"), "{text}");
    let text = refused(Media::new("photo.jpeg", JPEG).unwrap(), two_mib);
    assert!(text.contains("仅支持JPG、BMP、PNG"), "{text}");
}

/// The simulator's test path takes either known meta shape and echoes it;
/// a meta with neither is refused.
#[test]
fn the_test_path_takes_both_meta_shapes_and_nothing_else() {
    let sim = server(V3Signer::PublicKey);
    let path = wxmedia_sim::TEST_UPLOAD_PATH;
    let jpeg = Media::new("a.jpg", JPEG).unwrap();
    let custom = |names: (&str, &str)| {
        CustomApi::new(path, 1 << 20)
            .unwrap()
            .meta_names(names.0, names.1)
            .unwrap()
    };
    for names in [("filename", "sha256"), ("file_name", "file_digest")] {
        let up = UploadV3::new(custom(names), merchant(), jpeg.clone()).unwrap();
        let done = exchange(&sim, &up, 6, 1).unwrap_or_else(|e| panic!("{names:?}: {e}"));
        assert_eq!(done.body["meta"][names.1], jpeg.sha256_hex(), "{names:?}");
        assert!(done.media_id().is_some());
    }
    let up = UploadV3::new(custom(("name", "hash")), merchant(), jpeg.clone()).unwrap();
    let e = exchange(&sim, &up, 6, 1).unwrap_err();
    assert!(e.to_string().contains("meta中缺少文件名或文件摘要"), "{e}");
}
