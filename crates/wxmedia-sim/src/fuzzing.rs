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
                    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
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
}
