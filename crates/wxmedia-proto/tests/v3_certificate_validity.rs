//! Platform certificates are trusted only within their own validity (issue 21, item 3): hostile `/v3/certificates` listings, replies signed by expired or not-yet-valid certificates, and pinned certificates that have expired.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::Response;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce as AeadNonce, UnboundKey};
use wxmedia_proto::v3::{
    ApiV3Key, DownloadCertificates, Merchant, PlatformCertificate, RsaSigner, Signer, Validity,
    Verifier,
};
use wxmedia_proto::{Boundary, DecodeError, Env, Error, MchId, Nonce, Operation, SignatureError};

/// The tests' "now": 2023-11-14T22:13:20Z. The core reads no clock, so
/// the fixtures' fixed dates stay on the same side of it for ever.
const NOW: u64 = 1_700_000_000;
/// 2024-01-11: `current.pem` has expired, `next.pem` is valid.
const LATER: u64 = 1_705_000_000;
const KEY: &[u8] = include_bytes!("data/v3_key.pem");
const CERT: &[u8] = include_bytes!("data/v3_cert.pem");
const PUBLIC_KEY: &[u8] = include_bytes!("data/v3_public_key.pem");
const API_V3_KEY: &str = "wxmediaV3TestKey0123456789abcdef";

/// Made by `data/validity/make.py`, all with the key of `v3_key.pem`.
/// 2020-01-01 to 2023-01-01, serial 1E01.
const EXPIRED: &str = include_str!("data/validity/expired.pem");
/// 2022-06-01 to 2024-01-01, serial 2C02.
const CURRENT: &str = include_str!("data/validity/current.pem");
/// 2023-12-01 to 2028-12-01, serial 3A03.
const NEXT: &str = include_str!("data/validity/next.pem");
/// `[expired, next]`, dates as the certificates say, sealed with
/// `API_V3_KEY`.
const LISTING_EXPIRED_NEXT: &str = include_str!("data/validity/listing_expired_next.json");

/// Signs as WeChat Pay would: every fixture certificate is this key's.
fn server() -> RsaSigner {
    RsaSigner::from_pem(KEY, CERT).unwrap()
}

fn download(verifier: Verifier) -> DownloadCertificates {
    let merchant = Merchant::new(
        MchId::new("1900000109").unwrap(),
        Arc::new(server()),
        Arc::new(verifier),
    );
    DownloadCertificates::new(merchant, ApiV3Key::new(API_V3_KEY).unwrap())
}

fn env(now: u64) -> Env {
    Env::new("https://api.mch.weixin.qq.com", Boundary::new("B").unwrap())
        .unwrap()
        .with_time(now)
        .with_nonce(Nonce::new("N0").unwrap())
        .received_at(now)
}

/// A 200 reply with `body`, signed at `ts`, naming `serial`.
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
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

/// One listing entry: the certificate sealed with the APIv3 key, and the
/// dates the JSON claims for it.
struct Entry<'a> {
    serial: &'a str,
    pem: &'a str,
    effective_time: &'a str,
    expire_time: &'a str,
}

/// `{"data":[…]}` as WeChat Pay writes it.
fn listing(entries: &[Entry<'_>]) -> String {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, API_V3_KEY.as_bytes()).unwrap());
    let data: Vec<_> = entries
        .iter()
        .map(|e| {
            let nonce = "0123456789ab";
            let mut sealed = e.pem.as_bytes().to_vec();
            key.seal_in_place_append_tag(
                AeadNonce::try_assume_unique_for_key(nonce.as_bytes()).unwrap(),
                Aad::from(b"certificate"),
                &mut sealed,
            )
            .unwrap();
            serde_json::json!({
                "serial_no": e.serial,
                "effective_time": e.effective_time,
                "expire_time": e.expire_time,
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM",
                    "nonce": nonce,
                    "associated_data": "certificate",
                    "ciphertext": STANDARD.encode(sealed),
                },
            })
        })
        .collect();
    serde_json::json!({ "data": data }).to_string()
}

/// The fixtures as the JSON honestly describes them.
fn expired() -> Entry<'static> {
    Entry {
        serial: "1E01",
        pem: EXPIRED,
        effective_time: "2020-01-01T08:00:00+08:00",
        expire_time: "2023-01-01T08:00:00+08:00",
    }
}

fn current() -> Entry<'static> {
    Entry {
        serial: "2C02",
        pem: CURRENT,
        effective_time: "2022-06-01T08:00:00+08:00",
        expire_time: "2024-01-01T08:00:00+08:00",
    }
}

fn next() -> Entry<'static> {
    Entry {
        serial: "3A03",
        pem: NEXT,
        effective_time: "2023-12-01T08:00:00+08:00",
        expire_time: "2028-12-01T08:00:00+08:00",
    }
}

fn decode_error(r: Result<Vec<PlatformCertificate>, Error>) -> String {
    match r {
        Err(Error::Decode {
            reason: DecodeError::Json(why),
            body,
        }) => {
            assert!(!body.is_empty(), "the body is kept");
            why
        }
        other => panic!("expected a refused listing, got {other:?}"),
    }
}

fn signature_error(r: Result<Vec<PlatformCertificate>, Error>) -> SignatureError {
    match r {
        Err(Error::Signature { kind, .. }) => kind,
        other => panic!("expected a signature error, got {other:?}"),
    }
}

#[test]
fn a_listing_of_an_expired_and_a_not_yet_valid_certificate_is_refused() {
    // The set-up: both correctly encrypted, the reply signed with
    // one of them. Nothing in it may be trusted now.
    let op = download(Verifier::new());
    for serial in ["1E01", "3A03"] {
        let reply = signed(LISTING_EXPIRED_NEXT, NOW, serial);
        let why = decode_error(op.decode(&env(NOW), reply));
        assert!(why.contains("no platform certificate"), "{why}");
        // Each certificate is named with its own dates.
        assert!(
            why.contains("1E01") && why.contains("expired 2023-01-01T08:00:00+08:00"),
            "{why}"
        );
        assert!(
            why.contains("3A03") && why.contains("not valid before 2023-12-01T08:00:00+08:00"),
            "{why}"
        );
    }
}

#[test]
fn the_dates_are_the_certificates_own() {
    // The JSON is 30 s off, which is tolerated; what is printed and saved
    // is the certificate's own validity.
    let body = listing(&[Entry {
        effective_time: "2022-06-01T08:00:30+08:00",
        expire_time: "2023-12-31T23:59:30Z",
        ..current()
    }]);
    let certs = download(Verifier::new())
        .decode(&env(NOW), signed(&body, NOW, "2C02"))
        .unwrap();
    assert_eq!(certs.len(), 1);
    let c = &certs[0];
    assert_eq!(c.serial_no, "2C02");
    assert_eq!(c.effective_time, "2022-06-01T08:00:00+08:00");
    assert_eq!(c.expire_time, "2024-01-01T08:00:00+08:00");
    assert_eq!(c.not_before, 1_654_041_600);
    assert_eq!(c.not_after, 1_704_067_200);
    assert_eq!(c.validity, Validity::Valid);
    assert_eq!(c.pem, CURRENT);
}

#[test]
fn json_dates_that_contradict_the_certificate_are_refused() {
    let op = download(Verifier::new());
    let refused = |entry: Entry<'_>, field: &str| {
        let body = listing(&[entry]);
        let why = decode_error(op.decode(&env(NOW), signed(&body, NOW, "2C02")));
        assert!(why.contains(field), "{field}: {why}");
    };
    // A year later than the certificate says: the JSON would make an
    // expiring certificate look good for longer.
    refused(
        Entry {
            expire_time: "2025-01-01T08:00:00+08:00",
            ..current()
        },
        "expire_time",
    );
    // Two minutes off is more than the minute tolerated.
    refused(
        Entry {
            effective_time: "2022-06-01T08:02:00+08:00",
            ..current()
        },
        "effective_time",
    );
    // Not a time at all.
    for bad in ["tomorrow", "2022-06-01 08:00:00", "2022-06-01T08:00:00", ""] {
        refused(
            Entry {
                effective_time: bad,
                ..current()
            },
            "effective_time",
        );
    }
}

#[test]
fn during_a_rotation_the_next_certificate_is_listed_but_not_yet_valid() {
    let body = listing(&[current(), next()]);
    let op = download(Verifier::new());
    let certs = op.decode(&env(NOW), signed(&body, NOW, "2C02")).unwrap();
    let got: Vec<_> = certs
        .iter()
        .map(|c| (c.serial_no.as_str(), c.validity))
        .collect();
    assert_eq!(
        got,
        [("2C02", Validity::Valid), ("3A03", Validity::NotYetValid)]
    );
    assert_eq!(certs[1].effective_time, "2023-12-01T08:00:00+08:00");
    // A listing signed with the certificate that is not valid yet does
    // not verify.
    assert_eq!(
        signature_error(op.decode(&env(NOW), signed(&body, NOW, "3A03"))),
        SignatureError::CertificateNotValid
    );
    // Once the old one has expired, the same listing is the other way round.
    let certs = op
        .decode(&env(LATER), signed(&body, LATER, "3A03"))
        .unwrap();
    let got: Vec<_> = certs.iter().map(|c| c.validity).collect();
    assert_eq!(got, [Validity::Expired, Validity::Valid]);
}

#[test]
fn a_listing_signed_with_an_expired_certificate_is_refused() {
    let body = listing(&[expired(), current()]);
    let op = download(Verifier::new());
    assert_eq!(
        signature_error(op.decode(&env(NOW), signed(&body, NOW, "1E01"))),
        SignatureError::CertificateNotValid
    );
    // Signed with the valid one, the expired one is listed as expired.
    let certs = op.decode(&env(NOW), signed(&body, NOW, "2C02")).unwrap();
    let got: Vec<_> = certs.iter().map(|c| c.validity).collect();
    assert_eq!(got, [Validity::Expired, Validity::Valid]);
}

#[test]
fn a_reply_signed_with_a_certificate_outside_its_validity_is_refused() {
    let mut verifier = Verifier::new();
    verifier
        .add_platform_certificate_pem(EXPIRED.as_bytes())
        .unwrap();
    verifier
        .add_platform_certificate_pem(NEXT.as_bytes())
        .unwrap();
    let headers = |ts: u64, serial: &str| signed("{}", ts, serial).headers().clone();
    for (serial, at, ok) in [
        // Expired on 2023-01-01.
        ("1E01", NOW, false),
        ("1E01", 1_672_531_200, true),
        ("1E01", 1_672_531_201, false),
        // Valid from 2023-12-01.
        ("3A03", NOW, false),
        ("3A03", 1_701_388_799, false),
        ("3A03", 1_701_388_800, true),
    ] {
        let verdict = verifier.verify(at, &headers(at, serial), b"{}");
        if ok {
            assert_eq!(verdict, Ok(()), "{serial} at {at}");
        } else {
            assert_eq!(
                verdict,
                Err(SignatureError::CertificateNotValid),
                "{serial} at {at}"
            );
        }
    }
}

#[test]
fn the_verifier_drops_expired_certificates_and_knows_when_it_can_verify() {
    let mut verifier = Verifier::new();
    for pem in [EXPIRED, CURRENT, NEXT] {
        verifier
            .add_platform_certificate_pem(pem.as_bytes())
            .unwrap();
    }
    assert!(verifier.can_verify_at(NOW));
    // Before 2020 nothing was valid yet; after 2028 everything has expired.
    assert!(!verifier.can_verify_at(1_500_000_000));
    assert!(!verifier.can_verify_at(1_900_000_000));
    assert_eq!(verifier.remove_expired(NOW), ["1E01"]);
    assert_eq!(verifier.serials().collect::<Vec<_>>(), ["2C02", "3A03"]);
    assert_eq!(verifier.remove_expired(LATER), ["2C02"]);
    assert_eq!(verifier.serials().collect::<Vec<_>>(), ["3A03"]);
    // A public key has no validity: it verifies at any time and stays.
    verifier
        .add_public_key_pem("PUB_KEY_ID_0114", PUBLIC_KEY)
        .unwrap();
    assert!(verifier.remove_expired(u64::MAX).len() == 1);
    assert!(verifier.can_verify_at(u64::MAX));
    assert_eq!(verifier.serials().collect::<Vec<_>>(), ["PUB_KEY_ID_0114"]);
}

#[test]
fn a_pinned_certificate_that_has_expired_is_refused_with_its_date() {
    let mut verifier = Verifier::new();
    let e = verifier
        .add_platform_certificate_pem_at(EXPIRED.as_bytes(), NOW)
        .unwrap_err();
    assert!(e.is_input_error(), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("1E01")
            && text.contains("expired")
            && text.contains("2023-01-01T08:00:00+08:00"),
        "{text}"
    );
    assert!(verifier.is_empty());
    // The next certificate may be pinned ahead of a rotation: it is
    // trusted from its notBefore on.
    assert_eq!(
        verifier
            .add_platform_certificate_pem_at(NEXT.as_bytes(), NOW)
            .unwrap(),
        "3A03"
    );
    assert_eq!(
        verifier
            .add_platform_certificate_pem_at(CURRENT.as_bytes(), NOW)
            .unwrap(),
        "2C02"
    );
}
