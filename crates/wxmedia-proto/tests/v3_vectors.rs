//! Every APIv3 known-answer vector of `tests/data/v3.json`: request messages, signatures and headers, reply verification, the decrypted platform certificate.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response};
use serde_json::Value;
use wxmedia_proto::v3::certificates::decrypt;
use wxmedia_proto::v3::{
    ApiV3Key, DownloadCertificates, Merchant, RsaSigner, Signer, Verifier, auth,
};
use wxmedia_proto::{Boundary, Env, Error, MchId, Nonce, Operation, SignatureError};

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/v3.json")).expect("v3.json parses")
}

fn case(v: &Value, name: &str) -> Value {
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("vector {name}"))
        .clone()
}

fn s<'a>(c: &'a Value, k: &str) -> &'a str {
    c[k].as_str().unwrap_or_else(|| panic!("field {k}"))
}

fn signer(v: &Value) -> RsaSigner {
    RsaSigner::from_pem(
        s(v, "private_key_pkcs8_pem").as_bytes(),
        s(v, "certificate_pem").as_bytes(),
    )
    .expect("the vector key belongs to the vector certificate")
}

fn verifier(v: &Value) -> Verifier {
    let mut verifier = Verifier::new();
    verifier
        .add_platform_certificate_pem(s(v, "certificate_pem").as_bytes())
        .unwrap();
    verifier
}

#[test]
fn the_certificate_serial_is_read_from_the_certificate() {
    let v = vectors();
    assert_eq!(signer(&v).serial_no(), s(&v, "certificate_serial"));
}

#[test]
fn the_go_sdk_signature_matches() {
    let v = vectors();
    let c = case(&v, "go_sdk_source");
    let sig = signer(&v).sign(s(&c, "message").as_bytes()).unwrap();
    assert_eq!(STANDARD.encode(&sig), s(&c, "signature"));
    let other = signer(&v)
        .sign(s(&c, "wrong_message_fails").as_bytes())
        .unwrap();
    assert_ne!(STANDARD.encode(other), s(&c, "signature"));
}

#[test]
fn every_request_message_signature_and_header_matches() {
    let v = vectors();
    for name in [
        "image_upload_request",
        "marketing_image_request",
        "certificates_get_request",
    ] {
        let c = case(&v, name);
        let ts = c["timestamp"].as_u64().unwrap();
        let message = auth::message(
            s(&c, "method"),
            s(&c, "url"),
            ts,
            s(&c, "nonce"),
            s(&c, "body").as_bytes(),
        );
        assert_eq!(message, s(&c, "message").as_bytes(), "{name}: message");
        let sig = STANDARD.encode(signer(&v).sign(&message).unwrap());
        assert_eq!(sig, s(&c, "signature"), "{name}: signature");
        if let Some(expected) = c["authorization"].as_str() {
            let header = auth::authorization(
                s(&c, "mchid"),
                s(&c, "nonce"),
                ts,
                s(&v, "certificate_serial"),
                &sig,
            );
            assert_eq!(header, expected, "{name}: Authorization");
            assert_eq!(auth::parse_authorization(expected).unwrap().signature, sig);
        }
    }
}

fn reply_headers(c: &Value) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, key) in [
        ("wechatpay-timestamp", "wechatpay_timestamp"),
        ("wechatpay-nonce", "wechatpay_nonce"),
        ("wechatpay-serial", "wechatpay_serial"),
        ("wechatpay-signature", "wechatpay_signature"),
    ] {
        h.insert(name, HeaderValue::from_str(s(c, key)).unwrap());
    }
    h
}

#[test]
fn the_upload_reply_verifies_and_a_tampered_one_does_not() {
    let v = vectors();
    let c = case(&v, "upload_reply");
    let now: u64 = s(&c, "wechatpay_timestamp").parse().unwrap();
    let h = reply_headers(&c);
    let body = s(&c, "body").as_bytes();
    // The SDK signed this reply in April 2019, two years before its
    // certificate's notBefore (2021-04-27): the certificate cannot vouch
    // for it, whatever the signature.
    let verifier = verifier(&v);
    assert_eq!(
        verifier.verify(now, &h, body),
        Err(SignatureError::CertificateNotValid)
    );
    // The same key trusted as a WeChat Pay public key (which has no
    // validity of its own) checks the signature itself.
    let mut by_key = Verifier::new();
    by_key
        .add_public_key_pem("PUB_KEY_ID_0114", include_bytes!("data/v3_public_key.pem"))
        .unwrap();
    let mut named = h.clone();
    named.insert(
        "wechatpay-serial",
        HeaderValue::from_static("PUB_KEY_ID_0114"),
    );
    assert_eq!(by_key.verify(now, &named, body), Ok(()));
    assert_eq!(
        by_key.verify(now, &named, s(&c, "tampered_body_fails").as_bytes()),
        Err(SignatureError::Mismatch)
    );
    // The serial is matched case-insensitively: the lowercase one finds
    // the certificate (and is then judged by its dates), a wrong one
    // finds nothing.
    let mut lower = h.clone();
    lower.insert(
        "wechatpay-serial",
        HeaderValue::from_str(&s(&c, "wechatpay_serial").to_lowercase()).unwrap(),
    );
    assert_eq!(
        verifier.verify(now, &lower, body),
        Err(SignatureError::CertificateNotValid)
    );
    lower.insert(
        "wechatpay-serial",
        HeaderValue::from_static("F5765756002FDD78"),
    );
    assert_eq!(
        verifier.verify(now, &lower, body),
        Err(SignatureError::UnknownSerial)
    );
}

#[test]
fn the_platform_certificate_decrypts_to_the_published_pem() {
    let v = vectors();
    let c = case(&v, "certificates_reply");
    let body: Value = serde_json::from_str(s(&c, "body")).unwrap();
    let e = &body["data"][0]["encrypt_certificate"];
    let key = ApiV3Key::new(s(&c, "api_v3_key")).unwrap();
    let pem = decrypt(
        &key,
        s(e, "algorithm"),
        s(e, "nonce"),
        s(e, "associated_data"),
        s(e, "ciphertext"),
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(pem).unwrap(),
        s(&c, "decrypted_certificate_pem")
    );
    let wrong = ApiV3Key::new("0".repeat(32)).unwrap();
    assert!(
        decrypt(
            &wrong,
            s(e, "algorithm"),
            s(e, "nonce"),
            s(e, "associated_data"),
            s(e, "ciphertext")
        )
        .is_err()
    );
}

#[test]
fn the_certificates_reply_decodes_through_the_operation() {
    let v = vectors();
    let c = case(&v, "certificates_reply");
    let now: u64 = s(&c, "wechatpay_timestamp").parse().unwrap();
    // The merchant trusts only a public key so far: the reply must verify
    // with the certificate it carries.
    let other_key = include_bytes!("data/v3_other_public_key.pem");
    let mut trusted = Verifier::new();
    trusted
        .add_public_key_pem("PUB_KEY_ID_0112", other_key)
        .unwrap();
    let merchant = Merchant::new(
        MchId::new("1900000109").unwrap(),
        Arc::new(signer(&v)),
        Arc::new(trusted),
    );
    let op = DownloadCertificates::new(merchant, ApiV3Key::new(s(&c, "api_v3_key")).unwrap());
    let env = Env::new("https://api.mch.weixin.qq.com", Boundary::new("B").unwrap())
        .unwrap()
        .with_time(now)
        .with_nonce(Nonce::new("N").unwrap())
        .received_at(now);
    let mut reply = Response::new(Bytes::from(s(&c, "body").to_owned()));
    *reply.headers_mut() = reply_headers(&c);
    let certs = op
        .decode(&env, reply.clone())
        .expect("decodes and verifies");
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].serial_no, "F5765756002FDD77");
    assert_eq!(certs[0].pem, s(&c, "decrypted_certificate_pem"));
    // Six minutes later the same reply is stale.
    let late = env.clone().received_at(now + 360);
    assert!(matches!(
        op.decode(&late, reply.clone()),
        Err(Error::Signature {
            kind: SignatureError::Timestamp,
            ..
        })
    ));
    // A tampered body does not decrypt, or does not verify.
    let tampered = s(&c, "body").replace("2031", "2032");
    let mut bad = Response::new(Bytes::from(tampered));
    *bad.headers_mut() = reply_headers(&c);
    assert!(op.decode(&env, bad).is_err());
    // The request is the vector's GET, byte for byte.
    let get = case(&v, "certificates_get_request");
    let env = Env::new("https://api.mch.weixin.qq.com", Boundary::new("B").unwrap())
        .unwrap()
        .with_time(get["timestamp"].as_u64().unwrap())
        .with_nonce(Nonce::new(s(&get, "nonce")).unwrap());
    let request = op.encode(&env).unwrap();
    assert_eq!(request.method(), "GET");
    assert_eq!(
        request.uri(),
        "https://api.mch.weixin.qq.com/v3/certificates"
    );
    let header = request.headers()["authorization"].to_str().unwrap();
    assert_eq!(
        auth::parse_authorization(header).unwrap().signature,
        s(&get, "signature")
    );
    assert!(request.body().is_empty());
}
