//! Entry points for the fuzz targets and regression replays; not a public API.

use bytes::Bytes;
use http::StatusCode;

use crate::Error;
use crate::v2::{ApiKey, SignType};

/// Decode arbitrary bytes as a 200 reply with a fixed key and check the
/// invariants the fuzzer relies on: never a media id without a verified
/// sign, and every reply error keeps the raw body. Panics on a violation.
pub fn decode_reply_invariants(data: &[u8]) {
    let key = ApiKey::new("fuzzkey").expect("valid key");
    for sign_type in [SignType::Md5, SignType::HmacSha256] {
        let body = Bytes::copy_from_slice(data);
        match crate::v2::reply::decode_reply(StatusCode::OK, body, &key, sign_type, usize::MAX) {
            Ok(_) => {
                let fields = crate::v2::xml::Fields::parse(data).expect("a success parsed");
                crate::v2::reply::verify_fields(&fields, &key, sign_type)
                    .expect("a media id was returned without a verified sign");
            }
            Err(e) => {
                let kept = e.raw_body().expect("reply errors keep the body");
                assert_eq!(&kept[..], data);
                let _ = e.to_string();
                assert!(!matches!(e, Error::Media(_) | Error::InvalidInput { .. }));
            }
        }
    }
}

/// Split fuzz input into tokens at `0xFF`, a byte that never occurs in
/// UTF-8, so that one byte string can carry several fields.
pub fn tokens(data: &[u8]) -> Vec<String> {
    data.split(|b| *b == 0xFF)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect()
}

/// Parameter maps signed then decoded verify, and any change to one
/// signed character makes verification fail. Input: the first byte picks
/// the sign type and the character to change; then tokens: key, then
/// name/value pairs. Names are reduced to `[a-z_]`, values lose control
/// characters (XML cannot carry them).
pub fn reply_roundtrip(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let toks = tokens(rest);
    let Some(key) = toks
        .first()
        .filter(|k| crate::v2::ApiKey::new(k.as_str()).is_ok())
    else {
        return;
    };
    let key = ApiKey::new(key.as_str()).expect("checked above");
    let sign_type = if head & 1 == 0 {
        SignType::Md5
    } else {
        SignType::HmacSha256
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    for pair in toks[1..].chunks(2) {
        let name: String = pair[0]
            .chars()
            .filter(|c| c.is_ascii_lowercase() || *c == '_')
            .take(16)
            .collect();
        let value: String = pair
            .get(1)
            .map(|v| v.chars().filter(|c| !c.is_control()).collect())
            .unwrap_or_default();
        if name.is_empty() || name == "sign" || fields.iter().any(|(n, _)| *n == name) {
            continue;
        }
        fields.push((name, value));
    }
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let sign = crate::v2::StringToSign::new(refs.iter().copied()).sign(&key, sign_type);
    let mut all = refs.clone();
    all.push(("sign", sign.as_str()));
    let parsed = crate::v2::xml::Fields::parse(crate::v2::xml::write(&all).as_bytes())
        .expect("our own XML parses");
    assert_eq!(parsed.len(), all.len());
    crate::v2::reply::verify_fields(&parsed, &key, sign_type).expect("a signed reply verifies");

    let signed: Vec<usize> = (0..refs.len()).filter(|&i| !refs[i].1.is_empty()).collect();
    if signed.is_empty() {
        return;
    }
    let which = signed[usize::from(head >> 1) % signed.len()];
    let chars: Vec<char> = refs[which].1.chars().collect();
    let at = usize::from(head) % chars.len();
    let replacement = if chars[at] == 'x' { 'y' } else { 'x' };
    let changed: String = chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i == at { replacement } else { *c })
        .collect();
    all[which].1 = &changed;
    let parsed = crate::v2::xml::Fields::parse(crate::v2::xml::write(&all).as_bytes())
        .expect("our own XML parses");
    assert_eq!(
        crate::v2::reply::verify_fields(&parsed, &key, sign_type),
        Err(crate::SignatureError::Mismatch),
        "a changed signed value must not verify"
    );
}

/// The canonical string obeys PROTOCOL.md 1.1 for arbitrary parameter maps,
/// checked against a plain reference implementation. Input: tokens,
/// name/value pairs.
pub fn canonical_string(data: &[u8]) {
    let toks = tokens(data);
    let pairs: Vec<(&str, &str)> = toks
        .chunks(2)
        .map(|p| (p[0].as_str(), p.get(1).map(String::as_str).unwrap_or("")))
        .collect();
    let built = crate::v2::StringToSign::new(pairs.iter().copied());
    let mut reference: Vec<(&str, &str)> = pairs
        .iter()
        .copied()
        .filter(|(n, v)| *n != "sign" && !v.is_empty())
        .collect();
    reference.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let joined = reference
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(built.canonical(), joined);
    assert_eq!(built.redacted(), format!("{joined}&key=***"));
    for w in built.pairs().windows(2) {
        assert!(w[0].0.as_bytes() <= w[1].0.as_bytes(), "sorted byte-wise");
    }
    assert!(
        built
            .pairs()
            .iter()
            .all(|(n, v)| *n != "sign" && !v.is_empty())
    );
    // The key goes in at the end, and only there.
    let key = ApiKey::new("k3y").expect("valid");
    let md5 = built.sign(&key, SignType::Md5);
    assert_eq!(md5.as_str().len(), 32);
    assert!(built.verify(&key, SignType::Md5, md5.as_str()));
}

/// A v3 reply in fuzz input form: `Name: value` lines, a blank line, then
/// the body. The first line is the status code. Lines that are not headers
/// are skipped, so that the fuzzer can reach every header combination.
fn v3_reply(data: &[u8]) -> http::Response<Bytes> {
    let split = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or(data.len());
    let head = String::from_utf8_lossy(&data[..split]);
    let body = Bytes::copy_from_slice(data.get(split + 2..).unwrap_or_default());
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.trim().parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut reply = http::Response::new(body);
    *reply.status_mut() = status;
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.trim().as_bytes()),
                http::HeaderValue::from_str(value.trim()),
            )
        {
            reply.headers_mut().append(n, v);
        }
    }
    reply
}

/// The v3 merchant of the fuzz targets: the shared vectors' key and
/// certificate, replies verified with the same certificate.
fn v3_merchant() -> crate::v3::Merchant {
    let key = include_bytes!("../tests/data/v3_key.pem");
    let cert = include_bytes!("../tests/data/v3_cert.pem");
    let mut verifier = crate::v3::Verifier::new();
    verifier
        .add_platform_certificate_pem(cert)
        .expect("the vector certificate");
    crate::v3::Merchant::new(
        crate::MchId::new("1900000109").expect("valid id"),
        std::sync::Arc::new(crate::v3::RsaSigner::from_pem(key, cert).expect("the vector key")),
        std::sync::Arc::new(verifier),
    )
}

/// The time the fuzzed v3 replies are judged at: the vectors' reply time.
const V3_NOW: u64 = 1_554_209_980;

/// Decode arbitrary bytes as a v3 upload reply: never an id without a
/// signature that verifies, never an id with control characters, and every
/// error from the reply keeps the body. Panics on a violation.
pub fn v3_reply_invariants(data: &[u8]) {
    use crate::Operation;
    let reply = v3_reply(data);
    let body = reply.body().clone();
    let headers = reply.headers().clone();
    let media = crate::Media::new("a.jpg", Bytes::from_static(b"\xFF\xD8\xFF\xD9")).expect("media");
    let upload =
        crate::v3::UploadV3::new(crate::v3::Api::Image, v3_merchant(), media).expect("an upload");
    let env = crate::Env::new("https://h", crate::Boundary::new("B").expect("boundary"))
        .expect("env")
        .received_at(V3_NOW);
    match upload.decode(&env, reply) {
        Ok(done) => {
            v3_merchant()
                .verifier()
                .verify(V3_NOW, &headers, &body)
                .expect("an id was returned without a verified signature");
            assert!(!done.id.is_empty() && !done.id.chars().any(char::is_control));
        }
        Err(e) => {
            if !matches!(e, Error::ReplyTooLarge { .. }) {
                assert_eq!(e.raw_body().expect("reply errors keep the body"), &body);
            }
            let _ = e.to_string();
            assert!(!e.is_input_error());
        }
    }
}

/// Parse arbitrary text as an `Authorization` header; what parses renders
/// back to a header that parses to the same parameters.
pub fn v3_authorization(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(a) = crate::v3::auth::parse_authorization(&text) {
        let Ok(ts) = a.timestamp.parse::<u64>() else {
            return;
        };
        if ts.to_string() != a.timestamp {
            return;
        }
        let again =
            crate::v3::auth::authorization(&a.mchid, &a.nonce_str, ts, &a.serial_no, &a.signature);
        assert_eq!(
            crate::v3::auth::parse_authorization(&again).expect("a rendered header parses"),
            a
        );
    }
}

/// Decode arbitrary bytes as a certificate download reply (the vectors'
/// APIv3 key): only certificates that decrypted, whose serials agree with
/// the listing, from a reply that verified.
pub fn v3_certificates_invariants(data: &[u8]) {
    use crate::Operation;
    let reply = v3_reply(data);
    let body = reply.body().clone();
    let key = crate::v3::ApiV3Key::new("wxmediaV3TestKey0123456789abcdef").expect("32 bytes");
    let op = crate::v3::DownloadCertificates::new(v3_merchant(), key);
    let env = crate::Env::new("https://h", crate::Boundary::new("B").expect("boundary"))
        .expect("env")
        .received_at(1_700_000_000);
    match op.decode(&env, reply) {
        Ok(certs) => {
            for c in certs {
                let info = crate::v3::keys::certificate_from_pem("fuzz", c.pem.as_bytes())
                    .expect("returned certificates parse");
                assert_eq!(info.serial, c.serial_no);
            }
        }
        Err(e) => {
            if let Some(kept) = e.raw_body() {
                assert_eq!(kept, &body);
            }
            let _ = e.to_string();
        }
    }
}

/// The targets that reach past encryption and into the key parsers.
mod keys;
pub use keys::{v3_certificates_plain, v3_keys};

/// The target of the video container walks.
mod video;
pub use video::video_walk;

#[cfg(test)]
mod tests {
    #[test]
    fn invariants_hold_for_hand_picked_inputs() {
        for input in [
            &b""[..],
            b"<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code><media_id>x</media_id><sign>00</sign></xml>",
            b"<xml><return_code>FAIL</return_code></xml>",
            b"<!DOCTYPE a><xml/>",
            b"\xff\xfe<xml>",
        ] {
            super::decode_reply_invariants(input);
            super::reply_roundtrip(input);
            super::canonical_string(input);
        }
        super::reply_roundtrip(
            b"\x03key\xffmedia_id\xffabc\xffsign\xffX\xffreturn_code\xffSUCCESS",
        );
        super::canonical_string(b"b\xff2\xffa\xff1\xffsign\xffS\xffe\xff");
        for input in [
            &b""[..],
            b"\x03",
            b"\x030aB",
            b"\x03000",
            b"\x00x",
            b"\x01x",
            b"\x02x",
        ] {
            super::v3_keys(input);
        }
    }

    #[test]
    fn a_listing_of_the_vector_certificate_is_accepted() {
        // Signed, the certificate's own serial and dates: the end of
        // `decode` is reached, and the harness checks what it returns.
        let mut input = vec![0x07];
        input.extend_from_slice(include_bytes!("../tests/data/v3_cert.pem"));
        super::v3_certificates_plain(&input);
        input[0] = 0x06;
        super::v3_certificates_plain(&input);
    }
}
