//! The simulator's checks one by one, through the pure handler, without sockets.

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use std::time::{Duration, Instant};
use wxmedia_proto::v2::reply::{DEFAULT_REPLY_LIMIT, decode_reply};
use wxmedia_proto::v2::{ApiKey, Credentials, SignType, UploadV2};
use wxmedia_proto::{Boundary, Env, Error, ErrorCode, Layer, Media, Operation};

use wxmedia_sim::{Inputs, Outcome, PeerIdentity, Simulator, Times};

const MCH: &str = "1900000109";
const KEY: &str = "0123456789abcdefghijklmnopqrstuv";
const JPEG: &[u8] = include_bytes!("../samples/sample.jpg");
const PNG: &[u8] = include_bytes!("../samples/sample.png");
const BMP: &[u8] = include_bytes!("../samples/sample.bmp");

fn sim() -> Simulator {
    Simulator::new(MCH, ApiKey::new(KEY).unwrap())
}

fn upload(name: &str, content: &[u8], st: SignType) -> UploadV2 {
    let media = Media::new(name, Bytes::copy_from_slice(content)).unwrap();
    UploadV2::new(Credentials::new(MCH, KEY).unwrap(), media, st).unwrap()
}

/// The request a client would send, as the server hands it to the handler.
fn env() -> Env {
    Env::new(
        "https://127.0.0.1:1",
        Boundary::new("sim-test-boundary").unwrap(),
    )
    .unwrap()
}

fn request(up: &UploadV2, cn: Option<&str>) -> Request<Bytes> {
    let req = up.encode(&env()).unwrap();
    let (parts, body) = req.into_parts();
    let mut req = Request::from_parts(parts, body.to_bytes());
    if let Some(cn) = cn {
        req.extensions_mut().insert(PeerIdentity {
            common_name: cn.to_owned(),
        });
    }
    req
}

/// A hand-made multipart request with exactly these parts.
fn raw(parts: &[(&str, Option<&str>, &[u8])], cn: &str) -> Request<Bytes> {
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(b"--XB\r\nContent-Disposition: form-data; name=\"");
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(b"\"");
        if let Some(f) = filename {
            body.extend_from_slice(
                format!("; filename=\"{f}\"\r\nContent-Type: image/jpeg").as_bytes(),
            );
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XB--\r\n");
    let mut req = Request::post("https://127.0.0.1/secapi/mch/uploadmedia")
        .header("content-type", "multipart/form-data; boundary=XB")
        .body(Bytes::from(body))
        .unwrap();
    req.extensions_mut().insert(PeerIdentity {
        common_name: cn.to_owned(),
    });
    req
}

fn md5(data: &[u8]) -> String {
    wxmedia_proto::MediaHash::of(data).to_string()
}

fn sign(fields: &[(&str, &str)], st: SignType) -> String {
    wxmedia_proto::v2::StringToSign::new(fields.iter().copied())
        .sign(&ApiKey::new(KEY).unwrap(), st)
        .to_string()
}

/// Decode a reply as a client would, with MD5 unless told otherwise.
fn client_view(resp: http::Response<Bytes>, st: SignType) -> Result<String, Error> {
    let (parts, body) = resp.into_parts();
    decode_reply(
        parts.status,
        body,
        &ApiKey::new(KEY).unwrap(),
        st,
        DEFAULT_REPLY_LIMIT,
    )
}

fn assert_refused(resp: http::Response<Bytes>, st: SignType, code: ErrorCode, message_part: &str) {
    let err = client_view(resp, st).unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!(api.code.as_ref(), Some(&code), "{err}");
    assert!(
        api.message.contains(message_part),
        "{:?} lacks {message_part:?}",
        api.message
    );
}

#[test]
fn accepts_md5_and_hmac_uploads_of_every_format_with_signed_replies() {
    let sim = sim();
    let mut ids = Vec::new();
    for (name, content) in [("a.jpg", JPEG), ("b.png", PNG), ("c.bmp", BMP)] {
        for st in [SignType::Md5, SignType::HmacSha256] {
            let up = upload(name, content, st);
            let done = up.decode(&env(), sim.handle(request(&up, Some(MCH))));
            let done = done.unwrap();
            assert_eq!(done.media_id.len(), 44);
            assert!(
                done.media_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            ids.push(done.media_id);
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "media ids are fresh");
    let log = sim.received();
    assert_eq!(log.len(), 6);
    assert_eq!(sim.upload_count(), 6);
    assert_eq!(log[1].sign_type(), Some("HMAC-SHA256"));
    assert_eq!(log[0].sign_type(), None);
    assert_eq!(log[2].filename.as_deref(), Some("b.png"));
    assert_eq!(log[2].content_type.as_deref(), Some("image/png"));
    assert_eq!(log[4].media_md5.as_deref(), Some(md5(BMP).as_str()));
    assert_eq!(log[4].media_len, BMP.len());
    assert_eq!(log[0].peer_cn.as_deref(), Some(MCH));
}

#[test]
fn get_is_an_invalid_request() {
    let mut req = request(&upload("a.jpg", JPEG, SignType::Md5), Some(MCH));
    *req.method_mut() = Method::GET;
    assert_refused(
        sim().handle(req),
        SignType::Md5,
        ErrorCode::InvalidRequest,
        "post",
    );
}

#[test]
fn no_client_certificate_is_an_invalid_request() {
    let req = request(&upload("a.jpg", JPEG, SignType::Md5), None);
    assert_refused(
        sim().handle(req),
        SignType::Md5,
        ErrorCode::InvalidRequest,
        "证书",
    );
}

#[test]
fn a_body_that_is_not_multipart_is_an_invalid_request() {
    for ct in [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "text/xml",
    ] {
        let mut req = request(&upload("a.jpg", JPEG, SignType::Md5), Some(MCH));
        req.headers_mut()
            .insert("content-type", ct.parse().unwrap());
        assert_refused(
            sim().handle(req),
            SignType::Md5,
            ErrorCode::InvalidRequest,
            "参数格式错误",
        );
    }
    let mut req = request(&upload("a.jpg", JPEG, SignType::Md5), Some(MCH));
    req.headers_mut().remove("content-type");
    assert_refused(
        sim().handle(req),
        SignType::Md5,
        ErrorCode::InvalidRequest,
        "参数格式错误",
    );
}

#[test]
fn a_quoted_boundary_is_a_param_error() {
    let mut req = request(&upload("a.jpg", JPEG, SignType::Md5), Some(MCH));
    req.headers_mut().insert(
        "content-type",
        "multipart/form-data; boundary=\"sim-test-boundary\""
            .parse()
            .unwrap(),
    );
    assert_refused(
        sim().handle(req),
        SignType::Md5,
        ErrorCode::ParamError,
        "参数",
    );
}

#[test]
fn each_missing_field_is_a_param_error() {
    let hash = md5(JPEG);
    let s = sign(&[("mch_id", MCH), ("media_hash", &hash)], SignType::Md5);
    let all: [(&str, Option<&str>, &[u8]); 4] = [
        ("mch_id", None, MCH.as_bytes()),
        ("media_hash", None, hash.as_bytes()),
        ("sign", None, s.as_bytes()),
        ("media", Some("a.jpg"), JPEG),
    ];
    // The complete request passes, so each refusal below is the missing field's.
    let ok = sim().handle(raw(&all, MCH));
    assert!(client_view(ok, SignType::Md5).is_ok());
    for skip in 0..all.len() {
        let parts: Vec<_> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, p)| *p)
            .collect();
        assert_refused(
            sim().handle(raw(&parts, MCH)),
            SignType::Md5,
            ErrorCode::ParamError,
            "参数",
        );
    }
}

#[test]
fn unknown_merchant_and_certificate_mismatch_are_param_errors() {
    let up = UploadV2::new(
        Credentials::new("1900000999", KEY).unwrap(),
        Media::new("a.jpg", Bytes::from_static(JPEG)).unwrap(),
        SignType::Md5,
    )
    .unwrap();
    assert_refused(
        sim().handle(request(&up, Some("1900000999"))),
        SignType::Md5,
        ErrorCode::ParamError,
        "商户号",
    );
    let up = upload("a.jpg", JPEG, SignType::Md5);
    assert_refused(
        sim().handle(request(&up, Some("1900000999"))),
        SignType::Md5,
        ErrorCode::ParamError,
        "商户号",
    );
}

#[test]
fn a_wrong_media_hash_is_a_param_error() {
    let wrong = md5(b"other");
    let s = sign(&[("mch_id", MCH), ("media_hash", &wrong)], SignType::Md5);
    let req = raw(
        &[
            ("mch_id", None, MCH.as_bytes()),
            ("media_hash", None, wrong.as_bytes()),
            ("sign", None, s.as_bytes()),
            ("media", Some("a.jpg"), JPEG),
        ],
        MCH,
    );
    assert_refused(
        sim().handle(req),
        SignType::Md5,
        ErrorCode::ParamError,
        "Hash",
    );
}

#[test]
fn content_that_is_not_an_image_is_a_param_error() {
    let gif = b"GIF89a\x01\x00\x01\x00".as_slice();
    let hash = md5(gif);
    let s = sign(&[("mch_id", MCH), ("media_hash", &hash)], SignType::Md5);
    let req = raw(
        &[
            ("mch_id", None, MCH.as_bytes()),
            ("media_hash", None, hash.as_bytes()),
            ("sign", None, s.as_bytes()),
            ("media", Some("a.jpg"), gif),
        ],
        MCH,
    );
    assert_refused(
        sim().handle(req),
        SignType::Md5,
        ErrorCode::ParamError,
        "格式",
    );
}

#[test]
fn media_over_two_mib_is_a_param_error() {
    let mut big = JPEG.to_vec();
    big.resize(2 * 1024 * 1024 + 1, 0);
    // The client refuses this itself; lift its limit to see the server's.
    let media = Media::new("a.jpg", big).unwrap();
    let up = UploadV2::with_max_size(
        Credentials::new(MCH, KEY).unwrap(),
        media,
        SignType::HmacSha256,
        usize::MAX,
    )
    .unwrap();
    assert_refused(
        sim().handle(request(&up, Some(MCH))),
        SignType::HmacSha256,
        ErrorCode::ParamError,
        "2M",
    );
    // Exactly 2 MiB is accepted.
    let mut at = JPEG.to_vec();
    at.resize(2 * 1024 * 1024, 0);
    let up = upload("a.jpg", &at, SignType::Md5);
    assert!(
        up.decode(&env(), sim().handle(request(&up, Some(MCH))))
            .is_ok()
    );
}

#[test]
fn a_bad_sign_or_unknown_sign_type_is_a_signerror() {
    let up = UploadV2::new(
        Credentials::new(MCH, "not-the-merchants-key").unwrap(),
        Media::new("a.jpg", Bytes::from_static(JPEG)).unwrap(),
        SignType::Md5,
    )
    .unwrap();
    assert_refused(
        sim().handle(request(&up, Some(MCH))),
        SignType::Md5,
        ErrorCode::SignErrorV2,
        "签名",
    );
    let hash = md5(JPEG);
    let fields = [
        ("mch_id", MCH),
        ("media_hash", hash.as_str()),
        ("sign_type", "HMAC-SHA1"),
    ];
    let s = sign(&fields, SignType::HmacSha256);
    let req = raw(
        &[
            ("mch_id", None, MCH.as_bytes()),
            ("media_hash", None, hash.as_bytes()),
            ("sign_type", None, b"HMAC-SHA1"),
            ("sign", None, s.as_bytes()),
            ("media", Some("a.jpg"), JPEG),
        ],
        MCH,
    );
    assert_refused(
        sim().handle(req),
        SignType::Md5,
        ErrorCode::SignErrorV2,
        "签名",
    );
}

#[test]
fn an_explicit_md5_sign_type_is_accepted() {
    let hash = md5(PNG);
    let fields = [
        ("mch_id", MCH),
        ("media_hash", hash.as_str()),
        ("sign_type", "MD5"),
    ];
    let s = sign(&fields, SignType::Md5);
    let req = raw(
        &[
            ("mch_id", None, MCH.as_bytes()),
            ("media_hash", None, hash.as_bytes()),
            ("sign_type", None, b"MD5"),
            ("sign", None, s.as_bytes()),
            ("media", Some("a.png"), PNG),
        ],
        MCH,
    );
    assert!(client_view(sim().handle(req), SignType::Md5).is_ok());
}

#[test]
fn refusals_after_authentication_are_signed_and_before_are_not() {
    let sim = sim();
    sim.update_faults(|f| f.system_error = Times::Next(1));
    let up = upload("a.jpg", JPEG, SignType::HmacSha256);
    let err = client_view(sim.handle(request(&up, Some(MCH))), SignType::HmacSha256).unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.layer, Layer::Result);
    assert!(err.is_retryable());
    // Next(1) is used up: the same upload now succeeds.
    assert!(client_view(sim.handle(request(&up, Some(MCH))), SignType::HmacSha256).is_ok());
    let err = client_view(sim.handle(request(&up, None)), SignType::HmacSha256).unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.layer, Layer::Return);
}

#[test]
fn rate_limit_answers_frequency_limited_beyond_the_limit() {
    let sim = sim();
    sim.update_faults(|f| f.rate_limit_per_sec = Some(2));
    let up = upload("a.jpg", JPEG, SignType::Md5);
    let results: Vec<_> = (0..4)
        .map(|_| client_view(sim.handle(request(&up, Some(MCH))), SignType::Md5))
        .collect();
    assert!(results[0].is_ok() && results[1].is_ok());
    for r in &results[2..] {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.api_code(), Some(&ErrorCode::FrequencyLimitedV2));
        assert!(e.is_retryable());
    }
}

#[test]
fn system_error_probability_one_always_fails() {
    let sim = sim();
    sim.update_faults(|f| f.system_error_probability = 1.0);
    let up = upload("a.jpg", JPEG, SignType::Md5);
    for _ in 0..3 {
        assert_refused(
            sim.handle(request(&up, Some(MCH))),
            SignType::Md5,
            ErrorCode::SystemErrorV2,
            "上传图片失败",
        );
    }
}

#[test]
fn wrong_sign_fault_gives_a_reply_that_does_not_verify() {
    let sim = sim();
    sim.update_faults(|f| f.wrong_sign = Times::Always);
    let up = upload("a.jpg", JPEG, SignType::Md5);
    let err = up
        .decode(&env(), sim.handle(request(&up, Some(MCH))))
        .unwrap_err();
    assert!(matches!(err, Error::Signature { .. }), "{err:?}");
}

#[test]
fn bad_gateway_fault_answers_502_html() {
    let sim = sim();
    sim.update_faults(|f| f.bad_gateway = Times::Next(1));
    let up = upload("a.jpg", JPEG, SignType::Md5);
    let resp = sim.handle(request(&up, Some(MCH)));
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let err = client_view(resp, SignType::Md5).unwrap_err();
    assert!(matches!(err, Error::Http { .. }) && err.is_retryable());
    assert!(matches!(sim.received()[0].outcome, Outcome::BadGateway));
    assert!(client_view(sim.handle(request(&up, Some(MCH))), SignType::Md5).is_ok());
}

/// The same request sent to `uri` instead.
fn to(mut req: Request<Bytes>, uri: &str) -> Request<Bytes> {
    *req.uri_mut() = uri.parse().unwrap();
    req
}

#[test]
fn paths_other_than_the_upload_get_the_gateways_404_and_are_logged() {
    let sim = sim();
    let up = upload("a.jpg", JPEG, SignType::Md5);
    let paths = [
        "/secapi/mch/uploadmedia2",
        "/secapi/mch/uploadmedia/",
        "/secapi/mch/UPLOADMEDIA",
        "/v3/merchant/media/upload",
        "/",
    ];
    for path in paths {
        // A complete, correctly signed v2 upload: only the path is wrong.
        let resp = sim.handle(to(
            request(&up, Some(MCH)),
            &format!("https://127.0.0.1:1{path}"),
        ));
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(resp.headers()["content-type"], "text/html", "{path}");
        let body = std::str::from_utf8(resp.body()).unwrap();
        assert!(body.contains("404 Not Found"), "{body}");
        assert!(!body.contains("<xml>"), "not a WeChat Pay reply: {body}");
        // A client sees an HTTP error it must not retry.
        let err = client_view(resp, SignType::Md5).unwrap_err();
        assert!(
            matches!(&err, Error::Http { status, .. } if *status == StatusCode::NOT_FOUND),
            "{err:?}"
        );
        assert!(!err.is_retryable());
    }
    // Whatever the method.
    let mut get = to(request(&up, Some(MCH)), "https://127.0.0.1:1/");
    *get.method_mut() = Method::GET;
    assert_eq!(sim.handle(get).status(), StatusCode::NOT_FOUND);
    let log = sim.received();
    assert_eq!(log.len(), paths.len() + 1);
    for (r, path) in log.iter().zip(paths.iter().chain(["/"].iter())) {
        assert_eq!(r.outcome, Outcome::NotFound);
        assert_eq!(r.path, *path);
        assert_eq!(r.peer_cn.as_deref(), Some(MCH));
        assert!(r.fields.is_empty(), "the body of a 404 is not read");
    }
    assert_eq!(log.last().unwrap().method, Method::GET);
    assert_eq!(sim.upload_count(), 0);
}

#[test]
fn a_query_string_does_not_change_the_route() {
    let sim = sim();
    let up = upload("a.jpg", JPEG, SignType::HmacSha256);
    let req = to(
        request(&up, Some(MCH)),
        "https://127.0.0.1:1/secapi/mch/uploadmedia?from=test&x=1",
    );
    assert!(client_view(sim.handle(req), SignType::HmacSha256).is_ok());
    let log = sim.received();
    assert!(matches!(log[0].outcome, Outcome::Uploaded { .. }));
    assert_eq!(log[0].path, "/secapi/mch/uploadmedia");
    // And a GET with a query is still the v2 endpoint's own refusal.
    let mut get = to(
        request(&up, Some(MCH)),
        "https://127.0.0.1:1/secapi/mch/uploadmedia?a=b",
    );
    *get.method_mut() = Method::GET;
    assert_refused(
        sim.handle(get),
        SignType::Md5,
        ErrorCode::InvalidRequest,
        "post",
    );
}

#[test]
fn bad_gateway_answers_before_routing_on_unknown_paths_too() {
    let sim = sim();
    sim.update_faults(|f| f.bad_gateway = Times::Next(1));
    let up = upload("a.jpg", JPEG, SignType::Md5);
    let req = || to(request(&up, Some(MCH)), "https://127.0.0.1:1/nowhere");
    assert_eq!(sim.handle(req()).status(), StatusCode::BAD_GATEWAY);
    assert_eq!(sim.handle(req()).status(), StatusCode::NOT_FOUND);
    let log = sim.received();
    assert_eq!(log[0].outcome, Outcome::BadGateway);
    assert_eq!(log[1].outcome, Outcome::NotFound);
}

fn inputs(random: [u8; 64]) -> Inputs {
    Inputs::new(Instant::now(), 1_700_000_000, random)
}

fn media_id(sim: &Simulator, up: &UploadV2, inputs: &Inputs) -> String {
    let resp = sim.handle_with(request(up, Some(MCH)), inputs);
    up.decode(&env(), resp).unwrap().media_id
}

#[test]
fn handle_with_takes_media_ids_from_the_random_input() {
    let up = upload("a.jpg", JPEG, SignType::Md5);
    let fixed = inputs([1; 64]);
    let (a, b) = (sim(), sim());
    let first = media_id(&a, &up, &fixed);
    // The same inputs give the same id, on the same simulator or another.
    assert_eq!(media_id(&a, &up, &fixed), first);
    assert_eq!(media_id(&b, &up, &fixed), first);
    assert_eq!(first.len(), 44);
    // Replies are identical byte for byte, not only their ids.
    let (ra, rb) = (
        a.handle_with(request(&up, Some(MCH)), &fixed),
        b.handle_with(request(&up, Some(MCH)), &fixed),
    );
    assert_eq!(ra.status(), rb.status());
    assert_eq!(ra.headers(), rb.headers());
    assert_eq!(ra.body(), rb.body());
    let mut other = [1; 64];
    other[0] = 2;
    assert_ne!(media_id(&a, &up, &inputs(other)), first);
    assert_ne!(media_id(&a, &up, &inputs([0xA5; 64])), first);
    match &a.received()[0].outcome {
        Outcome::Uploaded { media_id } => assert_eq!(*media_id, first),
        o => panic!("{o:?}"),
    }
}

#[test]
fn the_rate_limit_window_runs_on_the_input_clock() {
    let sim = sim();
    sim.update_faults(|f| f.rate_limit_per_sec = Some(1));
    let up = upload("a.jpg", JPEG, SignType::Md5);
    let t0 = Instant::now();
    let at = |t: Instant| {
        client_view(
            sim.handle_with(request(&up, Some(MCH)), &Inputs::new(t, 0, [3; 64])),
            SignType::Md5,
        )
    };
    assert!(at(t0).is_ok());
    let limited = at(t0 + Duration::from_millis(999)).unwrap_err();
    assert_eq!(limited.api_code(), Some(&ErrorCode::FrequencyLimitedV2));
    // However long the test really took, one input second later is a new
    // window.
    assert!(at(t0 + Duration::from_secs(1)).is_ok());
    assert!(at(t0 + Duration::from_millis(1500)).is_err());
    // An input clock that goes back stays in the current window.
    assert!(at(t0).is_err());
}

#[test]
fn the_system_error_probability_draw_comes_from_the_random_input() {
    let sim = sim();
    sim.update_faults(|f| f.system_error_probability = 0.5);
    let up = upload("a.jpg", JPEG, SignType::Md5);
    for _ in 0..3 {
        // All-zero bytes draw 0, below any positive probability.
        assert_refused(
            sim.handle_with(request(&up, Some(MCH)), &inputs([0; 64])),
            SignType::Md5,
            ErrorCode::SystemErrorV2,
            "上传图片失败",
        );
        // All-one bytes draw just under 1, above 0.5.
        let resp = sim.handle_with(request(&up, Some(MCH)), &inputs([0xFF; 64]));
        assert!(client_view(resp, SignType::Md5).is_ok());
    }
}

/// Keeps `handle_with` pure as endpoints are added: only these files may
/// read a clock or draw randomness (the inputs themselves, and the parts
/// that are not the handler: server, PKI, fuzz entry points); a new
/// endpoint module is checked without being listed.
#[test]
fn the_handler_modules_read_no_clock_and_draw_no_randomness() {
    const MAY: &[&str] = &["inputs.rs", "server.rs", "pki.rs", "fuzzing.rs"];
    const FORBIDDEN: &[&str] = &[
        "Instant::now",
        "SystemTime::now",
        "getrandom",
        "rand::",
        "thread_rng",
    ];
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".rs") || MAY.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for pat in FORBIDDEN {
                assert!(
                    !code.contains(pat),
                    "src/{name}:{}: `{pat}` in the handler: take it from `Inputs`",
                    n + 1
                );
            }
        }
        checked.push(name);
    }
    checked.sort();
    for must in ["handler.rs", "multipart.rs", "v2.rs"] {
        assert!(checked.iter().any(|c| c == must), "{must} not checked");
    }
}

#[test]
fn the_key_never_shows_in_debug() {
    assert!(!format!("{:?}", sim()).contains(KEY));
}
