//! Entry points for the fuzz targets and regression replays of the simulator; not a public API.

use std::panic::RefUnwindSafe;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::{Method, Request};
use wxmedia_proto::v2::{ApiKey, Credentials, SignType, UploadV2};
use wxmedia_proto::{Boundary, Env, Error, Media, Operation};

use crate::handler::{PeerIdentity, Simulator};
use crate::inputs::Inputs;
use crate::multipart::parse_parts;

const MCH: &str = "1900000109";
const KEY: &str = "fuzzkey";

/// Arbitrary media, filename and boundary: encoding either refuses cleanly
/// or produces a body that `multer` parses back into exactly the fields and
/// bytes that went in. Input: first byte picks the sign type; then tokens
/// (split at `0xFF`): filename, boundary, media bytes (the rest).
pub fn multipart_roundtrip(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(3, |b| *b == 0xFF);
    let filename = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let boundary = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let media_bytes = Bytes::copy_from_slice(parts.next().unwrap_or_default());
    let Ok(boundary) = Boundary::new(boundary) else {
        return;
    };
    let Ok(media) = Media::new(filename, media_bytes.clone()) else {
        return;
    };
    let sign_type = if head & 1 == 0 {
        SignType::Md5
    } else {
        SignType::HmacSha256
    };
    let up = UploadV2::new(Credentials::new(MCH, KEY).expect("valid"), media, sign_type)
        .expect("the fuzzed media is within the limit");
    let env = Env::new("https://127.0.0.1:1", boundary.clone()).expect("valid");
    let request = match up.encode(&env) {
        Ok(r) => r,
        Err(Error::BoundaryInMedia) => {
            let delimiter = format!("--{}", boundary.as_str());
            assert!(
                memchr_find(&media_bytes, delimiter.as_bytes()),
                "refused without cause"
            );
            return;
        }
        Err(e) => panic!("unexpected encode error: {e}"),
    };
    assert_eq!(
        request.headers()["content-length"],
        request.body().len().to_string()
    );
    let parsed =
        parse_parts(request.body().to_bytes(), boundary.as_str()).expect("our body parses");
    let mut want = vec![
        ("mch_id".to_owned(), MCH.to_owned()),
        ("media_hash".to_owned(), up.media().hash().to_string()),
    ];
    if sign_type == SignType::HmacSha256 {
        want.push(("sign_type".to_owned(), "HMAC-SHA256".to_owned()));
    }
    want.push(("sign".to_owned(), up.sign().to_string()));
    assert_eq!(parsed.len(), want.len() + 1);
    for (part, (name, value)) in parsed.iter().zip(&want) {
        assert_eq!(&part.name, name);
        assert_eq!(&part.data[..], value.as_bytes());
    }
    let file = parsed.last().expect("the media part");
    assert_eq!(file.name, "media");
    assert_eq!(file.filename.as_deref(), Some(up.media().wire_filename()));
    assert_eq!(
        file.content_type.as_deref(),
        Some(up.media().kind().content_type())
    );
    assert_eq!(file.data, media_bytes);
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Arbitrary request bytes into the pure handler: it never panics and
/// always answers a well-formed reply. Input: first byte picks the method
/// and whether a client identity is present; then tokens: content type,
/// body (the rest).
pub fn sim_handle(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(2, |b| *b == 0xFF);
    let content_type = parts.next().unwrap_or_default();
    let body = Bytes::copy_from_slice(parts.next().unwrap_or_default());
    let method = if head & 1 == 0 {
        Method::POST
    } else {
        Method::GET
    };
    let mut builder = Request::builder()
        .method(method)
        .uri("https://127.0.0.1/secapi/mch/uploadmedia");
    if let Ok(value) = http::HeaderValue::from_bytes(content_type) {
        builder = builder.header(http::header::CONTENT_TYPE, value);
    }
    let mut request = builder.body(body).expect("valid request parts");
    if head & 2 == 0 {
        request.extensions_mut().insert(PeerIdentity {
            common_name: MCH.to_owned(),
        });
    }
    let sim = Simulator::new(MCH, ApiKey::new(KEY).expect("valid"));
    // Fixed random bytes: a crash found here replays byte for byte.
    let inputs = Inputs::new(std::time::Instant::now(), 1_700_000_000, [0x5a; 64]);
    let response = sim.handle_with(request, &inputs);
    assert_eq!(
        response.status(),
        http::StatusCode::OK,
        "no fault is switched on"
    );
    let fields = wxmedia_proto::v2::xml::Fields::parse(response.body())
        .expect("replies are well-formed XML");
    let code = fields
        .get("return_code")
        .expect("every reply has a return_code");
    assert!(code == "SUCCESS" || code == "FAIL");
    assert_eq!(sim.request_count(), 1, "every request is recorded");
}

/// The simulator's v3 keys for `sim_v3_handle`, made once: certificates
/// over the crate's own development keys, self-signed with fixed serials
/// and dates, so that the simulator is the same in every run and a crash
/// replays byte for byte.
struct V3Fixture {
    config: crate::V3Config,
    /// The merchant's private key: the harness signs requests with it.
    merchant_key: ring::signature::RsaKeyPair,
    /// Verifies the simulator's replies in either signing mode, with the
    /// client core's verifier: every reply must be signed.
    verifier: wxmedia_proto::v3::Verifier,
}

/// The time of the fuzzed v3 exchanges (inside the certificates' dates).
const V3_NOW: u64 = 1_700_000_000;

/// The form boundary of the signed mode.
const V3_BOUNDARY: &str = "wxfuzzBoundary7MA4YWxk";

/// Where the signed mode puts the file's real SHA-256 into the fuzzed
/// meta: the fuzzer cannot compute a digest, and without one the success
/// path is never reached.
const SHA_PLACEHOLDER: &[u8] = b"$SHA";

fn v3_fixture() -> &'static V3Fixture {
    static FX: std::sync::OnceLock<V3Fixture> = std::sync::OnceLock::new();
    FX.get_or_init(|| {
        let cert = |key_pem: &str, serial: &[u8], cn: &str| {
            let key = rcgen::KeyPair::from_pem(key_pem).expect("a pool key");
            let mut params = rcgen::CertificateParams::default();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
            params.serial_number = Some(rcgen::SerialNumber::from_slice(serial));
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2040, 1, 1);
            let cert = params.self_signed(&key).expect("a self-signed certificate");
            (cert.pem(), key)
        };
        let merchant_pem = include_str!("../dev-keys/rsa-0.pem");
        let platform_pem = include_str!("../dev-keys/rsa-1.pem");
        let public_pem = include_str!("../dev-keys/rsa-2.pem");
        let (merchant_cert, merchant_key) = cert(merchant_pem, &[0x4A, 0x11, 0x5E, 0x71], MCH);
        let (platform_cert, _) = cert(
            platform_pem,
            &[0x52, 0x0F, 0x2C, 0x44, 0x90, 0x01],
            "wxmedia fuzz platform",
        );
        let keys = crate::V3Keys::from_pem(crate::V3KeysPem {
            merchant_cert: &merchant_cert,
            platform_cert: &platform_cert,
            platform_key: platform_pem,
            public_key_id: "PUB_KEY_ID_0114232700000000000000000000",
            public_key_private: public_pem,
            api_v3_key: "wxmediaFuzzApiV3Key0123456789abc",
        })
        .expect("the fuzz keys");
        let mut verifier = wxmedia_proto::v3::Verifier::new();
        verifier
            .add_public_key_pem(
                keys.wechatpay_public_key_id(),
                keys.wechatpay_public_key_pem().as_bytes(),
            )
            .expect("the simulator's public key");
        verifier
            .add_platform_certificate_pem(keys.platform_cert_pem().as_bytes())
            .expect("the simulator's platform certificate");
        let merchant_key = ring::signature::RsaKeyPair::from_pkcs8(&merchant_key.serialize_der())
            .expect("a PKCS#8 RSA key");
        V3Fixture {
            config: crate::V3Config::new(keys),
            merchant_key,
            verifier,
        }
    })
}

/// The `Authorization` header a merchant sends, signed over `message`
/// with the fixture's merchant key.
fn v3_authorization(nonce: &str, timestamp: u64, message: &[u8]) -> String {
    use base64::Engine;
    let fx = v3_fixture();
    let mut signature = vec![0; fx.merchant_key.public().modulus_len()];
    fx.merchant_key
        .sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            message,
            &mut signature,
        )
        .expect("the merchant key signs");
    format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{MCH}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",serial_no=\"{}\",signature=\"{}\"",
        fx.config.keys().merchant_serial_no(),
        base64::engine::general_purpose::STANDARD.encode(signature)
    )
}

/// Arbitrary requests to the simulator's v3 endpoints: its
/// `Authorization` parser, form reading, `parse_meta`, `check_media` and
/// `/v3/certificates`.
///
/// Input: a flags byte, then tokens split at `0xFF`. Bits 0-1 pick the
/// mode: 0 raw, a fuzzed `Authorization`, content type and body (tokens
/// in that order); 1 and 3 signed, a well-formed form built from the
/// tokens meta, filename, file content type and file bytes, whose meta
/// has `$SHA` replaced by the file's SHA-256, signed with the merchant's
/// key; 2 `GET /v3/certificates`, with tokens query and nonce, signed, or
/// with the nonce token as the whole `Authorization` when bit 4 is set.
/// Bits 2-3 pick the upload endpoint; bit 5 has the simulator sign with
/// its platform certificate instead of the public key (which
/// `/v3/certificates` needs); bit 6 sends a timestamp outside the window;
/// bit 7 leaves the `boundary` parameter out of the content type.
///
/// Invariants: no panic; every reply is signed (the client core's
/// verifier checks it) and is either a 200 with `media_id`, `media_url`
/// or the certificate listing, only for a correctly signed request (and
/// for an upload only with a meta whose `sha256` is the file's), or a JSON
/// error with `code` and `message`; the request is recorded, its outcome
/// matching the reply, within the log's bounds.
pub fn sim_v3_handle(data: &[u8]) {
    let _ = sim_v3_exchange(data);
}

/// `sim_v3_handle`, returning the reply's status (`None` for empty input)
/// so that tests can see which inputs reach success.
fn sim_v3_exchange(data: &[u8]) -> Option<http::StatusCode> {
    use crate::handler::{MAX_LOGGED_FIELDS, MAX_LOGGED_VALUE, Outcome};
    use crate::v3::{CERTIFICATES_PATH, IMAGE_PATH, MARKETING_IMAGE_PATH, VIDEO_PATH};
    let (&flags, rest) = data.split_first()?;
    let fx = v3_fixture();
    let signer = if flags & 0x20 == 0 {
        crate::V3Signer::PublicKey
    } else {
        crate::V3Signer::PlatformCert
    };
    let timestamp = if flags & 0x40 == 0 {
        V3_NOW
    } else {
        V3_NOW + 301
    };
    let upload_path =
        [IMAGE_PATH, VIDEO_PATH, MARKETING_IMAGE_PATH, IMAGE_PATH][usize::from(flags >> 2) & 3];
    let content_type = if flags & 0x80 == 0 {
        format!("multipart/form-data; boundary={V3_BOUNDARY}")
    } else {
        "multipart/form-data".to_owned()
    };
    let mode = flags & 3;
    // What a correct request may succeed with: `None` when it may not.
    let mut may_succeed: Option<&str> = None;
    let request = match mode {
        0 => {
            let mut toks = rest.splitn(3, |b| *b == 0xFF);
            let authorization = toks.next().unwrap_or_default();
            let content_type = toks.next().unwrap_or_default();
            let body = Bytes::copy_from_slice(toks.next().unwrap_or_default());
            let mut builder = Request::builder()
                .method(Method::POST)
                .uri(format!("https://127.0.0.1{upload_path}"));
            for (name, value) in [
                (http::header::AUTHORIZATION, authorization),
                (http::header::CONTENT_TYPE, content_type),
            ] {
                if let Ok(value) = http::HeaderValue::from_bytes(value) {
                    builder = builder.header(name, value);
                }
            }
            builder.body(body).expect("valid request parts")
        }
        2 => {
            let mut toks = rest.splitn(2, |b| *b == 0xFF);
            let query = String::from_utf8_lossy(toks.next().unwrap_or_default()).into_owned();
            let nonce = toks.next().unwrap_or_default();
            let mut path = CERTIFICATES_PATH.to_owned();
            if !query.is_empty() {
                path = format!("{path}?{query}");
            }
            if path.parse::<http::uri::PathAndQuery>().is_err() {
                path = CERTIFICATES_PATH.to_owned();
            }
            let authorization = if flags & 0x10 == 0 {
                let nonce: String = String::from_utf8_lossy(nonce)
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(32)
                    .collect();
                let nonce = if nonce.is_empty() {
                    "n".to_owned()
                } else {
                    nonce
                };
                let message = format!("GET\n{path}\n{timestamp}\n{nonce}\n\n");
                if timestamp == V3_NOW && signer == crate::V3Signer::PlatformCert {
                    may_succeed = Some("data");
                }
                http::HeaderValue::from_str(&v3_authorization(
                    &nonce,
                    timestamp,
                    message.as_bytes(),
                ))
                .ok()
            } else {
                http::HeaderValue::from_bytes(nonce).ok()
            };
            let mut builder = Request::builder()
                .method(Method::GET)
                .uri(format!("https://127.0.0.1{path}"));
            if let Some(a) = authorization {
                builder = builder.header(http::header::AUTHORIZATION, a);
            }
            builder.body(Bytes::new()).expect("valid request parts")
        }
        _ => {
            let mut toks = rest.splitn(4, |b| *b == 0xFF);
            let meta_template = toks.next().unwrap_or_default();
            let filename = String::from_utf8_lossy(toks.next().unwrap_or_default()).into_owned();
            let file_type = String::from_utf8_lossy(toks.next().unwrap_or_default()).into_owned();
            let file = toks.next().unwrap_or_default();
            let sha: String = ring::digest::digest(&ring::digest::SHA256, file)
                .as_ref()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let meta = replace_all(meta_template, SHA_PLACEHOLDER, sha.as_bytes());
            let mut body = format!(
                "--{V3_BOUNDARY}\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(&meta);
            body.extend_from_slice(
                format!(
                    "\r\n--{V3_BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {file_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(file);
            body.extend_from_slice(format!("\r\n--{V3_BOUNDARY}--\r\n").as_bytes());
            let mut message = format!("POST\n{upload_path}\n{timestamp}\nfuzznonce\n").into_bytes();
            message.extend_from_slice(&meta);
            message.push(b'\n');
            // Only a meta naming the file's own digest can pass.
            let names_digest = serde_json::from_slice::<serde_json::Value>(&meta)
                .ok()
                .and_then(|m| {
                    m.get("sha256")?
                        .as_str()
                        .map(|s| s.eq_ignore_ascii_case(&sha))
                })
                .unwrap_or(false);
            if timestamp == V3_NOW && names_digest {
                may_succeed = Some(if upload_path == MARKETING_IMAGE_PATH {
                    "media_url"
                } else {
                    "media_id"
                });
            }
            Request::builder()
                .method(Method::POST)
                .uri(format!("https://127.0.0.1{upload_path}"))
                .header(http::header::CONTENT_TYPE, &content_type)
                .header(
                    http::header::AUTHORIZATION,
                    v3_authorization("fuzznonce", timestamp, &message),
                )
                .body(Bytes::from(body))
                .expect("valid request parts")
        }
    };
    let sim = Simulator::new(MCH, ApiKey::new(KEY).expect("valid"))
        .with_v3(fx.config.clone().with_signer(signer));
    // Fixed random bytes: a crash found here replays byte for byte.
    let inputs = Inputs::new(std::time::Instant::now(), V3_NOW, [0x5a; 64]);
    let response = sim.handle_with(request, &inputs);

    fx.verifier
        .verify(V3_NOW, response.headers(), response.body())
        .expect("every v3 reply is signed");
    let json: serde_json::Value =
        serde_json::from_slice(response.body()).expect("every v3 reply is JSON");
    let received = sim.received();
    assert_eq!(sim.request_count(), 1, "every request is recorded");
    assert_eq!(received.len(), 1, "and logged");
    let record = &received[0];
    if response.status() == http::StatusCode::OK {
        let member = may_succeed.expect("a 200 for a request that cannot succeed");
        let value = json.get(member).expect("a 200 carries its result");
        match (&record.outcome, member) {
            (Outcome::Uploaded { media_id }, "media_id") => {
                assert_eq!(value.as_str(), Some(media_id.as_str()));
            }
            (Outcome::UploadedUrl { media_url }, "media_url") => {
                assert_eq!(value.as_str(), Some(media_url.as_str()));
            }
            (Outcome::Certificates, "data") => assert!(value.is_array()),
            (other, _) => panic!("a 200 logged as {other:?}"),
        }
    } else {
        assert!(
            response.status().is_client_error() || response.status().is_server_error(),
            "{}",
            response.status()
        );
        let code = json.get("code").and_then(|c| c.as_str());
        let message = json.get("message").and_then(|m| m.as_str());
        let (Some(code), Some(message)) = (code, message) else {
            panic!("an error reply without code and message: {json}");
        };
        match &record.outcome {
            Outcome::Refused {
                code: c,
                message: m,
            } => {
                assert_eq!((c.as_str(), &**m), (code, message));
            }
            other => panic!("a refusal logged as {other:?}"),
        }
    }
    assert!(record.fields.len() <= MAX_LOGGED_FIELDS);
    for text in record
        .fields
        .iter()
        .flat_map(|(n, v)| [n, v])
        .chain([&record.path])
        .chain(record.filename.as_ref())
        .chain(record.content_type.as_ref())
        .chain(record.meta.as_ref())
    {
        assert!(
            text.len() <= MAX_LOGGED_VALUE,
            "the log keeps {} bytes",
            text.len()
        );
    }
    Some(response.status())
}

/// `haystack` with every `needle` replaced by `with`.
fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Replay the committed inputs of the fuzz target `target` through
/// `check`: its seed corpus (`corpus/<target>`) and minimized crashes
/// (`regressions/<target>`) under `fuzz_dir`, so that stable test runs
/// keep every input the fuzzer ever needed. Panics naming the first file
/// that breaks an invariant, and when the target has no committed input
/// at all: a renamed directory must not make the replay pass vacuously.
///
/// Shared by the replays of wxmedia-proto's and the simulator's targets;
/// it lives here rather than in wxmedia-proto, which does no I/O.
pub fn replay_committed(fuzz_dir: &Path, target: &str, check: impl Fn(&[u8]) + RefUnwindSafe) {
    let all = committed_inputs(fuzz_dir, target);
    assert!(!all.is_empty(), "no committed inputs for {target}");
    for (path, data) in all {
        let result = std::panic::catch_unwind(|| check(&data));
        assert!(
            result.is_ok(),
            "{target}: {} breaks an invariant",
            path.display()
        );
    }
}

/// Every file of `corpus/<target>` and `regressions/<target>` under
/// `fuzz_dir` with its bytes; a directory that is not there has none.
/// `.gitkeep` only keeps an empty directory in git.
fn committed_inputs(fuzz_dir: &Path, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir.join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_file() && path.file_name().is_some_and(|n| n != ".gitkeep") {
                let data =
                    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display())); // bounded: the project's own committed corpus files, read by tests
                out.push((path, data));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hand_picked_inputs_hold_the_invariants() {
        // The media must be whole JPEGs (SOI … EOI), or `multipart_roundtrip`
        // returns at `Media::new` and checks nothing.
        for media in [
            &b"\xff\xd8\xff\xd9rest"[..],
            b"\xff\xd8\xff\xfe\x00\x05--B\xff\xd9",
        ] {
            assert!(wxmedia_proto::Media::new("a.jpg", media).is_ok());
        }
        super::multipart_roundtrip(b"\x01a.jpg\xffB-1\xff\xff\xd8\xff\xd9rest");
        super::multipart_roundtrip(b"\x00a.jpg\xffB\xff\xff\xd8\xff\xfe\x00\x05--B\xff\xd9");
        super::sim_handle(b"\x00multipart/form-data; boundary=X\xff--X\r\n\r\n--X--");
        super::sim_handle(b"\x03text/plain\xffhello");
    }

    #[test]
    fn signed_v3_requests_reach_success() {
        let jpeg = crate::samples::JPEG;
        let mut input =
            b"\x01{\"filename\":\"a.jpg\",\"sha256\":\"$SHA\"}\xffa.jpg\xffimage/jpeg\xff".to_vec();
        input.extend_from_slice(jpeg);
        assert_eq!(super::sim_v3_exchange(&input), Some(http::StatusCode::OK));
        // The marketing endpoint, the boundary read from the body.
        input[0] = 0x89;
        assert_eq!(super::sim_v3_exchange(&input), Some(http::StatusCode::OK));
        // The meta names another digest.
        input[0] = 0x01;
        let bad = super::replace_all(&input, b"$SHA", b"00");
        assert_eq!(
            super::sim_v3_exchange(&bad),
            Some(http::StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            super::sim_v3_exchange(b"\x22\xff"),
            Some(http::StatusCode::OK)
        );
        assert_eq!(
            super::sim_v3_exchange(b"\x02\xff"),
            Some(http::StatusCode::NOT_FOUND)
        );
        super::sim_v3_handle(b"\x00WECHATPAY2-SHA256-RSA2048 mchid=\"1\"\xfftext/plain\xffx");
    }
}
