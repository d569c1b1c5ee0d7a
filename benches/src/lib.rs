//! Shared fixtures of the wxmedia benchmarks: deterministic sample media, signed v2 and v3 replies, and the charts.

pub mod charts;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use wxmedia_proto::v2::{ApiKey, SignType, StringToSign};
use wxmedia_proto::v3::{Merchant, RsaSigner, Verifier};
use wxmedia_proto::{MchId, Media};

/// `size` bytes (at least 16) that pass as a whole JPEG: SOI, a scan
/// header, deterministic noise as the entropy-coded data (an LCG, so runs
/// are repeatable and nothing compresses; every `FF` stuffed with `00`, as
/// in a real scan), EOI: the structure of a photo, so that the media
/// checks do the work a real one costs them.
pub fn sample_media(size: usize) -> Bytes {
    const SOI_SOS: [u8; 12] = [
        0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00,
    ];
    assert!(size >= 16, "too small for a JPEG");
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&SOI_SOS);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    while out.len() < size - 2 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let byte = (x >> 33) as u8;
        out.push(byte);
        if byte == 0xFF {
            out.push(0x00);
        }
    }
    // A stuffing 00 may have gone one past; an FF left last before EOI is
    // a fill byte, which is allowed.
    out.truncate(size - 2);
    out.extend_from_slice(&[0xFF, 0xD9]);
    Bytes::from(out)
}

/// A signed success reply as the simulator writes it, and its key.
pub fn reply_fixture() -> (Bytes, ApiKey) {
    let key = ApiKey::new("0123456789abcdefghijklmnopqrstuv").expect("valid");
    let fields = [
        ("return_code", "SUCCESS"),
        ("return_msg", "OK"),
        ("result_code", "SUCCESS"),
        ("media_id", "H1ihR9JUtVj-J7CJqBUY5ZOrG_Je75H-rKhTG7FUmg9s"),
    ];
    let sign = StringToSign::new(fields).sign(&key, SignType::Md5);
    let mut all = fields.to_vec();
    all.push(("sign", sign.as_str()));
    (Bytes::from(wxmedia_proto::v2::xml::write(&all)), key)
}

/// `size` bytes (at least 28) of a whole JPEG that differs from every other
/// `index`: [`sample_media`] with a comment segment (`FF FE`) holding the
/// index right after SOI. `wxmedia batch` skips a file whose content it has
/// seen in the run, so a batch of distinct files needs distinct bytes; the
/// noise stays the same, so every file costs the same to hash and send.
pub fn distinct_media(size: usize, index: u64) -> Bytes {
    // FF FE, a length of 10 (itself included), 8 bytes of index.
    let mut comment = vec![0xFF, 0xFE, 0x00, 0x0A];
    comment.extend_from_slice(&index.to_be_bytes());
    let body = sample_media(size - comment.len());
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&body[..2]);
    out.extend_from_slice(&comment);
    out.extend_from_slice(&body[2..]);
    Bytes::from(out)
}

/// The DER inside a PEM block: the base64 between the `-----` lines, as a
/// hand-written client reads its key.
pub fn pem_to_der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    STANDARD.decode(b64).expect("PEM holds base64")
}

/// A test RSA-2048 key (PKCS#8) and its certificate, serial
/// `F5765756002FDD77`: the wechatpay-go SDK's published test fixtures, as in
/// crates/wxmedia-proto/tests/data. Test keys only.
pub const V3_KEY_PEM: &str = include_str!("../data/v3_key.pem");
/// The certificate of [`V3_KEY_PEM`].
pub const V3_CERT_PEM: &str = include_str!("../data/v3_cert.pem");
/// The serial of [`V3_CERT_PEM`], as `Wechatpay-Serial` names it.
pub const V3_SERIAL: &str = "F5765756002FDD77";

/// v3 key material for the in-process benches: one test key signs the
/// requests (the merchant) and the replies (as the platform certificate
/// would), which costs the same as two keys of the same size.
pub struct V3Fixture {
    /// The merchant: its signer is [`V3_KEY_PEM`], its verifier holds
    /// [`V3_CERT_PEM`].
    pub merchant: Merchant,
    /// The same key, for signing replies and for the floor's signature.
    pub key_pair: RsaKeyPair,
    /// Its public key, DER `RSAPublicKey` (what ring verifies with).
    pub public_key: Vec<u8>,
}

impl V3Fixture {
    /// Build it from the test key and certificate.
    pub fn new() -> V3Fixture {
        let signer = RsaSigner::from_pem(V3_KEY_PEM.as_bytes(), V3_CERT_PEM.as_bytes())
            .expect("the test key belongs to its certificate");
        let mut verifier = Verifier::new();
        let serial = verifier
            .add_platform_certificate_pem(V3_CERT_PEM.as_bytes())
            .expect("the test certificate parses");
        assert_eq!(serial, V3_SERIAL);
        let merchant = Merchant::new(
            MchId::new("1900000109").expect("valid"),
            Arc::new(signer),
            Arc::new(verifier),
        );
        let key_pair =
            RsaKeyPair::from_pkcs8(&pem_to_der(V3_KEY_PEM)).expect("the test key is PKCS#8 RSA");
        let public_key = key_pair.public().as_ref().to_vec();
        V3Fixture {
            merchant,
            key_pair,
            public_key,
        }
    }

    /// RSA PKCS#1 v1.5 SHA-256 of `message`, raw bytes.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                message,
                &mut sig,
            )
            .expect("a 2048-bit key signs any message");
        sig
    }

    /// A v3 success reply as the simulator sends it: the JSON body and the
    /// `Wechatpay-*` headers, signed over `timestamp\nnonce\nbody\n`.
    /// Returns the headers, the body, and that signed message.
    pub fn signed_reply(&self, timestamp: u64) -> (HeaderMap, Bytes, Vec<u8>) {
        let body = Bytes::from_static(
            br#"{"media_id":"6uqyGjGrCf2GtyXP8bxrbuH9-aAoTjH-rKeSl3Lf4_So6kdkQu4w8BYVP3bzLtvR38lxt4PjtCDXsQpzqge_hQEovHzOhsLleGFQVRF-U_0"}"#,
        );
        let nonce = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";
        let message = format!(
            "{timestamp}\n{nonce}\n{}\n",
            std::str::from_utf8(&body).expect("ASCII")
        )
        .into_bytes();
        let signature = STANDARD.encode(self.sign(&message));
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| {
            headers.insert(name, HeaderValue::from_str(value).expect("header value"));
        };
        put("content-type", "application/json; charset=utf-8");
        put("request-id", "08F78BB5AF0610D302C9F32C0F4F31F7");
        put("wechatpay-timestamp", &timestamp.to_string());
        put("wechatpay-nonce", nonce);
        put("wechatpay-serial", V3_SERIAL);
        put("wechatpay-signature-type", "WECHATPAY2-SHA256-RSA2048");
        put("wechatpay-signature", &signature);
        (headers, body, message)
    }
}

impl Default for V3Fixture {
    fn default() -> V3Fixture {
        V3Fixture::new()
    }
}

/// `data` as a v3 image (the upload checks the image API's 5 MiB limit).
pub fn v3_image(data: &Bytes) -> Media {
    Media::new("a.jpg", Bytes::clone(data)).expect("a valid v3 image")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wxmedia_proto::v3::{Api, UploadV3};
    use wxmedia_proto::{Boundary, Env, Nonce, Operation};

    #[test]
    fn sample_media_is_a_whole_jpeg_of_the_asked_size() {
        for size in [16, 17, 1000, 10 * 1024, 2 * 1024 * 1024] {
            let data = sample_media(size);
            assert_eq!(data.len(), size);
            assert!(wxmedia_proto::Media::new("a.jpg", data).is_ok(), "{size}");
        }
    }

    #[test]
    fn distinct_media_are_whole_jpegs_of_the_asked_size_and_all_differ() {
        let a = distinct_media(200 * 1024, 0);
        let b = distinct_media(200 * 1024, 1);
        assert_eq!((a.len(), b.len()), (200 * 1024, 200 * 1024));
        assert_ne!(a, b);
        for m in [a, b] {
            assert!(Media::new("a.jpg", m).is_ok());
        }
    }

    #[test]
    fn sample_media_is_a_v3_image_at_2_mib() {
        let up = UploadV3::new(
            Api::Image,
            V3Fixture::new().merchant,
            v3_image(&sample_media(2 * 1024 * 1024)),
        );
        assert!(up.is_ok());
    }

    #[test]
    fn the_v3_reply_fixture_verifies_through_the_core() {
        let fx = V3Fixture::new();
        let up = UploadV3::new(
            Api::Image,
            fx.merchant.clone(),
            v3_image(&sample_media(1024)),
        )
        .expect("upload");
        let env = Env::new("https://127.0.0.1:1", Boundary::from_random([7; 16]))
            .expect("env")
            .with_time(1_700_000_000)
            .with_nonce(Nonce::from_random([9; 16]))
            .received_at(1_700_000_001);
        let (headers, body, _) = fx.signed_reply(1_700_000_000);
        let mut reply = http::Response::new(body.clone());
        *reply.headers_mut() = headers.clone();
        assert!(
            up.decode(&env, reply)
                .expect("verifies")
                .id
                .starts_with("6uqy")
        );
        // A forged body must not verify: the bench measures real verification.
        let mut forged = http::Response::new(Bytes::from_static(br#"{"media_id":"x"}"#));
        *forged.headers_mut() = headers;
        assert!(up.decode(&env, forged).is_err());
    }
}
