//! v3 replies: verified before anything is read from them, every way a reply can fail to verify, and error replies kept whole.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use wxmedia_proto::v3::{Api, Merchant, RsaSigner, Signer, UploadV3, UploadedMedia, Verifier};
use wxmedia_proto::{
    Boundary, DecodeError, Env, Error, ErrorCode, Layer, MchId, Media, Nonce, Operation,
    SignatureError,
};

const NOW: u64 = 1_700_000_000;
const KEY: &[u8] = include_bytes!("data/v3_key.pem");
const CERT: &[u8] = include_bytes!("data/v3_cert.pem");
const PUBLIC_KEY: &[u8] = include_bytes!("data/v3_public_key.pem");
const OTHER_PUBLIC_KEY: &[u8] = include_bytes!("data/v3_other_public_key.pem");
const JPEG: &[u8] = include_bytes!("../../wxmedia-sim/samples/sample.jpg");
const SERIAL: &str = "F5765756002FDD77";

/// Signs replies as WeChat Pay would, with the vector key (which is the
/// platform certificate's and, in public-key mode, the public key's).
fn server() -> RsaSigner {
    RsaSigner::from_pem(KEY, CERT).unwrap()
}

fn merchant(verifier: Verifier) -> Merchant {
    Merchant::new(
        MchId::new("1900000109").unwrap(),
        Arc::new(server()),
        Arc::new(verifier),
    )
}

fn cert_verifier() -> Verifier {
    let mut v = Verifier::new();
    v.add_platform_certificate_pem(CERT).unwrap();
    v
}

fn upload(api: Api, verifier: Verifier) -> UploadV3 {
    UploadV3::new(api, merchant(verifier), Media::new("a.jpg", JPEG).unwrap()).unwrap()
}

fn env(received: u64) -> Env {
    Env::new("https://api.mch.weixin.qq.com", Boundary::new("B").unwrap())
        .unwrap()
        .with_time(NOW)
        .with_nonce(Nonce::new("N0").unwrap())
        .received_at(received)
}

/// A 200 reply signed at `ts` with `serial` named.
fn signed(body: &str, ts: u64, serial: &str) -> Response<Bytes> {
    let nonce = "c5ac7061fccab6bf3e254dcf98995b8c";
    let message = format!("{ts}\n{nonce}\n{body}\n");
    let sig = STANDARD.encode(server().sign(message.as_bytes()).unwrap());
    Response::builder()
        .status(200)
        .header("Wechatpay-Timestamp", ts.to_string())
        .header("Wechatpay-Nonce", nonce)
        .header("Wechatpay-Serial", serial)
        .header("Wechatpay-Signature", sig)
        .header("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
        .header("Request-ID", "08F1C3A9B0061012345")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

const OK: &str = r#"{"media_id":"6uqyGjGrCf2GtyXP8bxrbuH9-aAoTjH-rKeSl3Lf4_So6kdkQu4w8BYVP3bzLtvR38lxt4PjtCDXsQpzqge_hQEovHzOhsLleGFQVRF-U_0"}"#;

fn signature_error(r: Result<UploadedMedia, Error>) -> SignatureError {
    match r {
        Err(Error::Signature { kind, body }) => {
            assert!(!body.is_empty(), "the body is kept");
            kind
        }
        other => panic!("expected a signature error, got {other:?}"),
    }
}

#[test]
fn a_verified_reply_gives_the_media_id_and_the_sha256() {
    let up = upload(Api::Image, cert_verifier());
    let done = up
        .decode(&env(NOW + 2), signed(OK, NOW + 1, SERIAL))
        .unwrap();
    assert!(done.id.starts_with("6uqyGjGr"));
    assert_eq!(done.sha256, up.media().sha256_hex());
    assert_eq!(done.api, Api::Image);
    assert_eq!(done.request_id.as_deref(), Some("08F1C3A9B0061012345"));
}

#[test]
fn the_marketing_upload_reads_media_url() {
    let up = upload(Api::MarketingImage, cert_verifier());
    let body = r#"{"media_url":"https://wxpaylogo.qpic.cn/wxpaylogo/abc/0"}"#;
    let done = up.decode(&env(NOW), signed(body, NOW, SERIAL)).unwrap();
    assert_eq!(done.id, "https://wxpaylogo.qpic.cn/wxpaylogo/abc/0");
    assert_eq!(done.field, "media_url");
    // A media_id in its place, as merchants report the host answering,
    // is taken (verified like any reply) and named.
    let done = up.decode(&env(NOW), signed(OK, NOW, SERIAL)).unwrap();
    assert!(done.id.starts_with("6uqyGjGr"));
    assert_eq!(done.field, "media_id");
    // Neither: the documented field is what is missing.
    let e = up
        .decode(&env(NOW), signed(r#"{"other":"x"}"#, NOW, SERIAL))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decode {
                reason: DecodeError::Missing("media_url"),
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn the_time_window_is_300_seconds_either_way() {
    let up = upload(Api::Image, cert_verifier());
    assert!(up.decode(&env(NOW), signed(OK, NOW - 299, SERIAL)).is_ok());
    assert!(up.decode(&env(NOW), signed(OK, NOW + 299, SERIAL)).is_ok());
    for ts in [NOW - 300, NOW + 300, NOW - 3600, 0] {
        assert_eq!(
            signature_error(up.decode(&env(NOW), signed(OK, ts, SERIAL))),
            SignatureError::Timestamp,
            "{ts}"
        );
    }
    let mut reply = signed(OK, NOW, SERIAL);
    reply
        .headers_mut()
        .insert("wechatpay-timestamp", HeaderValue::from_static("17e8"));
    assert_eq!(
        signature_error(up.decode(&env(NOW), reply)),
        SignatureError::Timestamp
    );
}

#[test]
fn every_broken_header_is_a_typed_signature_error() {
    let up = upload(Api::Image, cert_verifier());
    let check = |edit: &dyn Fn(&mut http::HeaderMap), want: SignatureError| {
        let mut reply = signed(OK, NOW, SERIAL);
        edit(reply.headers_mut());
        assert_eq!(signature_error(up.decode(&env(NOW), reply)), want);
    };
    check(
        &|h| {
            h.remove("wechatpay-signature");
        },
        SignatureError::Missing,
    );
    check(
        &|h| {
            h.remove("wechatpay-nonce");
        },
        SignatureError::MissingHeader("Wechatpay-Nonce"),
    );
    check(
        &|h| {
            h.remove("wechatpay-serial");
        },
        SignatureError::MissingHeader("Wechatpay-Serial"),
    );
    check(
        &|h| {
            h.remove("wechatpay-timestamp");
        },
        SignatureError::MissingHeader("Wechatpay-Timestamp"),
    );
    check(
        &|h| {
            h.insert("wechatpay-serial", HeaderValue::from_static("ABCDEF"));
        },
        SignatureError::UnknownSerial,
    );
    check(
        &|h| {
            h.insert(
                "wechatpay-signature",
                HeaderValue::from_static("bm90IGEgc2lnbmF0dXJl"),
            );
        },
        SignatureError::Mismatch,
    );
    check(
        &|h| {
            h.insert("wechatpay-signature", HeaderValue::from_static("***"));
        },
        SignatureError::Mismatch,
    );
    check(
        &|h| {
            h.insert(
                "wechatpay-signature-type",
                HeaderValue::from_static("WECHATPAY2-SM2-WITH-SM3"),
            );
        },
        SignatureError::UnsupportedType,
    );
    check(
        &|h| {
            h.append("wechatpay-signature", HeaderValue::from_static("AAAA"));
        },
        SignatureError::DuplicateHeader("Wechatpay-Signature"),
    );
    check(
        &|h| {
            h.append(
                "wechatpay-timestamp",
                HeaderValue::from_static("1700000000"),
            );
        },
        SignatureError::DuplicateHeader("Wechatpay-Timestamp"),
    );
    check(
        &|h| {
            h.insert(
                "wechatpay-nonce",
                HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
            );
        },
        SignatureError::MissingHeader("Wechatpay-Nonce"),
    );
    // Without a type header the reply still verifies (the type is optional).
    let mut reply = signed(OK, NOW, SERIAL);
    reply.headers_mut().remove("wechatpay-signature-type");
    assert!(up.decode(&env(NOW), reply).is_ok());
}

#[test]
fn a_verified_body_must_still_be_a_sane_id() {
    let up = upload(Api::Image, cert_verifier());
    for (body, want) in [
        (
            r#"{"media_id":"a\u0007b"}"#,
            DecodeError::Unexpected { field: "media_id" },
        ),
        (
            r#"{"media_id":""}"#,
            DecodeError::Unexpected { field: "media_id" },
        ),
        (
            r#"{"media_id":12}"#,
            DecodeError::Unexpected { field: "media_id" },
        ),
        (r#"{"other":"x"}"#, DecodeError::Missing("media_id")),
    ] {
        match up.decode(&env(NOW), signed(body, NOW, SERIAL)) {
            Err(Error::Decode { reason, .. }) => assert_eq!(reason, want, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    let long = format!(r#"{{"media_id":"{}"}}"#, "a".repeat(513));
    assert!(up.decode(&env(NOW), signed(&long, NOW, SERIAL)).is_err());
    assert!(matches!(
        up.decode(&env(NOW), signed("<html>", NOW, SERIAL)),
        Err(Error::Decode {
            reason: DecodeError::Json(_),
            ..
        })
    ));
}

#[test]
fn a_reply_over_the_cap_is_refused_before_verification() {
    let up = upload(Api::Image, cert_verifier()).with_reply_limit(64);
    let big = format!(r#"{{"media_id":"{}"}}"#, "a".repeat(100));
    assert!(matches!(
        up.decode(&env(NOW), signed(&big, NOW, SERIAL)),
        Err(Error::ReplyTooLarge { limit: 64, .. })
    ));
}

fn error_reply(status: u16, body: &str) -> Response<Bytes> {
    Response::builder()
        .status(status)
        .header("Request-ID", "REQ-1")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

#[test]
fn error_replies_keep_status_code_body_and_request_id() {
    let up = upload(Api::Image, cert_verifier());
    let cases = [
        (429, "RATE_LIMITED", true, true),
        (429, "FREQUENCY_LIMITED", true, true),
        (500, "SYSTEM_ERROR", true, false),
        (400, "PARAM_ERROR", false, false),
        (400, "INVALID_REQUEST", false, false),
        (403, "NO_AUTH", false, false),
        (503, "SOMETHING_NEW", true, false),
    ];
    for (status, code, retryable, rate_limited) in cases {
        let body = format!(r#"{{"code":"{code}","message":"m"}}"#);
        let e = up
            .decode(&env(NOW), error_reply(status, &body))
            .unwrap_err();
        let Error::Api(api) = &e else {
            panic!("{code}: {e:?}")
        };
        assert_eq!(api.layer, Layer::Status);
        assert_eq!(api.code, Some(ErrorCode::parse(code)));
        assert_eq!(api.status, Some(StatusCode::from_u16(status).unwrap()));
        assert_eq!(api.request_id.as_deref(), Some("REQ-1"));
        assert_eq!(api.body, body.as_bytes());
        assert_eq!(e.is_retryable(), retryable, "{code}");
        assert_eq!(e.is_rate_limited(), rate_limited, "{code}");
    }
    // Not WeChat Pay's JSON: an HTTP error with the page kept.
    for (status, body) in [
        (502, "<html>502 Bad Gateway</html>"),
        (404, r#"{"error":"x"}"#),
    ] {
        let e = up.decode(&env(NOW), error_reply(status, body)).unwrap_err();
        assert!(
            matches!(&e, Error::Http { status: s, body: b } if s.as_u16() == status && b == body.as_bytes()),
            "{e:?}"
        );
    }
}

#[test]
fn a_sign_error_shows_both_messages() {
    let up = upload(Api::MarketingImage, cert_verifier());
    let body = r#"{"code":"SIGN_ERROR","detail":{"detail":{"issue":"sign not match"},"field":"signature","location":"authorization","sign_information":{"method":"POST","sign_message_length":89,"truncated_sign_message":"POST\n/v3/marketing/favor/media/image-upload\n1586354275\n7f6ae5e1619f41b1ad1172815a5992a7\n\n","url":"/v3/marketing/favor/media/image-upload"}},"message":"错误的签名,验签失败"}"#;
    let e = up.decode(&env(NOW), error_reply(401, body)).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("SIGN_ERROR: 错误的签名,验签失败"),
        "{text}"
    );
    assert!(text.contains(r#"the server checked "POST\n/v3/marketing/favor/media/image-upload\n1586354275\n7f6ae5e1619f41b1ad1172815a5992a7\n\n""#), "{text}");
    let meta = String::from_utf8(up.meta().to_vec()).unwrap();
    let ours = format!("POST\n/v3/marketing/favor/media/image-upload\n{NOW}\nN0\n{meta}\n");
    assert!(
        text.contains(&format!("this client signed {ours:?}")),
        "{text}"
    );
    assert!(!e.is_retryable());
    assert!(e.api_code().unwrap().is_sign_error());
}

#[test]
fn public_key_mode_and_rotation() {
    // A merchant in public-key mode: replies name PUB_KEY_ID_…, and the
    // request asks for that key.
    let mut v = Verifier::new();
    v.add_public_key_pem("PUB_KEY_ID_0114232134912410000", PUBLIC_KEY)
        .unwrap();
    v.add_platform_certificate_pem(CERT).unwrap();
    let up = upload(Api::Image, v);
    let id = "PUB_KEY_ID_0114232134912410000";
    assert!(up.decode(&env(NOW), signed(OK, NOW, id)).is_ok());
    // The old certificate still verifies during the rotation.
    assert!(up.decode(&env(NOW), signed(OK, NOW, SERIAL)).is_ok());
    // Ids are exact; serials are not case-sensitive and drop leading zeros.
    assert_eq!(
        signature_error(up.decode(&env(NOW), signed(OK, NOW, &id.to_lowercase()))),
        SignatureError::UnknownSerial
    );
    assert!(
        up.decode(&env(NOW), signed(OK, NOW, "00f5765756002fdd77"))
            .is_ok()
    );
    let req = up.encode(&env(NOW)).unwrap();
    assert_eq!(req.headers()["wechatpay-serial"], id);
    // A key that is not the signer's does not verify its signature.
    let mut other = Verifier::new();
    other.add_public_key_pem(id, OTHER_PUBLIC_KEY).unwrap();
    let up = upload(Api::Image, other);
    assert_eq!(
        signature_error(up.decode(&env(NOW), signed(OK, NOW, id))),
        SignatureError::Mismatch
    );
}

#[test]
fn keys_and_ids_are_checked_when_added() {
    let mut v = Verifier::new();
    for bad in ["", "PUB_KEY_ID_", "KEY_1", "PUB_KEY_ID_1 2"] {
        assert!(v.add_public_key_pem(bad, PUBLIC_KEY).is_err(), "{bad:?}");
    }
    assert!(
        v.add_public_key_pem("PUB_KEY_ID_1", CERT).is_err(),
        "a certificate is not a public key"
    );
    assert!(v.add_platform_certificate_pem(PUBLIC_KEY).is_err());
    assert!(v.is_empty());
    // An upload with no key to check its reply with is refused unsent.
    let empty = Merchant::new(
        MchId::new("1").unwrap(),
        Arc::new(server()),
        Arc::new(Verifier::new()),
    );
    let e = UploadV3::new(Api::Image, empty, Media::new("a.jpg", JPEG).unwrap()).unwrap_err();
    assert!(e.is_input_error(), "{e}");
    // A key that is not the certificate's is refused.
    let other_key = include_bytes!("data/v3_other_key.pem");
    let e = RsaSigner::from_pem(other_key, CERT).unwrap_err();
    assert!(
        e.to_string()
            .contains("does not belong to the certificate with serial F5765756002FDD77"),
        "{e}"
    );
    // A serial given by hand is normalized as WeChat Pay writes it.
    let by_serial = RsaSigner::from_pem_and_serial(KEY, "00f576").unwrap();
    assert_eq!(by_serial.serial_no(), "F576");
    assert!(RsaSigner::from_pem_and_serial(KEY, "xyz").is_err());
    let pkcs1 = std::process::Command::new("openssl")
        .args(["rsa", "-traditional", "-in"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/v3_key.pem"
        ))
        .output()
        .expect("openssl runs");
    assert!(String::from_utf8_lossy(&pkcs1.stdout).starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let from_pkcs1 = RsaSigner::from_pem(&pkcs1.stdout, CERT).expect("PKCS#1 keys load");
    assert_eq!(
        from_pkcs1.sign(b"source").unwrap(),
        server().sign(b"source").unwrap()
    );
}
