//! Request encoding: golden bytes for the fixtures, zero-copy media, headers, and refusals.

use std::path::PathBuf;

use std::sync::Arc;

use bytes::Bytes;
use wxmedia_proto::v2::{Credentials, SignType, UploadV2};
use wxmedia_proto::v3::{
    Api, CustomApi, Endpoint, Merchant, MetaField, RsaSigner, Signer, UploadV3, Verifier, auth,
};
use wxmedia_proto::{Body, Boundary, Env, Error, MchId, Media, Nonce, Operation};

const MCH_ID: &str = "1000000000";
const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
const BOUNDARY: &str = "wxmedia-golden-0123456789abcdef";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn upload(file: &str, sign_type: SignType) -> UploadV2 {
    let bytes = std::fs::read(root().join("../wxmedia-sim/samples").join(file)).unwrap();
    let media = Media::new(file, Bytes::from(bytes)).unwrap();
    UploadV2::new(Credentials::new(MCH_ID, KEY).unwrap(), media, sign_type).unwrap()
}

fn env() -> Env {
    Env::new(
        "https://api.mch.weixin.qq.com",
        Boundary::new(BOUNDARY).unwrap(),
    )
    .unwrap()
}

/// The request as HTTP/1.1 bytes: request line, headers in order, body.
fn serialize(req: &http::Request<Body>) -> Vec<u8> {
    let mut out = format!(
        "{} {} HTTP/1.1\r\nhost: {}\r\n",
        req.method(),
        req.uri().path(),
        req.uri().authority().unwrap()
    )
    .into_bytes();
    for (name, value) in req.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&req.body().to_bytes());
    out
}

/// Compare `bytes` with the golden file at `path`, or rewrite it when blessing.
fn golden_check(path: &std::path::Path, bytes: &[u8], bless: bool) {
    if bless {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        return;
    }
    let want = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask golden --bless`", path.display()));
    assert!(
        want == bytes,
        "{} differs from the encoder's output; if the change is intended run `cargo xtask golden --bless`",
        path.display()
    );
}

/// Golden files live in `tests/golden/`. `WXMEDIA_BLESS=1` (or `cargo xtask
/// golden --bless`) rewrites them; otherwise any difference fails.
#[test]
fn golden_requests_for_every_fixture_and_sign_type() {
    let bless = std::env::var_os("WXMEDIA_BLESS").is_some_and(|v| v == "1");
    let dir = root().join("tests/golden");
    let mut checked = 0;
    for file in ["sample.jpg", "sample.png", "sample.bmp"] {
        for (st, tag) in [(SignType::Md5, "md5"), (SignType::HmacSha256, "hmac")] {
            let req = upload(file, st).encode(&env()).unwrap();
            let bytes = serialize(&req);
            let path = dir.join(format!("{}-{tag}.http", file.replace('.', "-")));
            golden_check(&path, &bytes, bless);
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
}

/// The v3 merchant of the golden files: the key and certificate of the
/// shared vectors (serial F5765756002FDD77), replies checked with the same
/// certificate.
fn v3_merchant() -> Merchant {
    let key = std::fs::read(root().join("tests/data/v3_key.pem")).unwrap();
    let cert = std::fs::read(root().join("tests/data/v3_cert.pem")).unwrap();
    let mut verifier = Verifier::new();
    verifier.add_platform_certificate_pem(&cert).unwrap();
    Merchant::new(
        MchId::new("1900000109").unwrap(),
        Arc::new(RsaSigner::from_pem(&key, &cert).unwrap()),
        Arc::new(verifier),
    )
}

/// The v3 golden requests: fixed key, time, nonce and boundary.
fn v3_golden_cases() -> Vec<(&'static str, Api, &'static str)> {
    vec![
        ("v3-image-sample-jpg.http", Api::Image, "sample.jpg"),
        (
            "v3-marketing-sample-png.http",
            Api::MarketingImage,
            "sample.png",
        ),
        ("v3-image-sample-bmp.http", Api::Image, "sample.bmp"),
        ("v3-video-sample-mp4.http", Api::Video, "sample.mp4"),
        (
            "v3-complaint-sample-png.http",
            Api::ComplaintImage,
            "sample.png",
        ),
        ("v3-fapiao-sample-pdf.http", Api::FapiaoFile, "sample.pdf"),
        (
            "v3-cancellation-sample-jpg.http",
            Api::CancellationImage,
            "sample.jpg",
        ),
        (
            "v3-global-file-sample-pdf.http",
            Api::GlobalFile,
            "sample.pdf",
        ),
        (
            "v3-global-image-sample-png.http",
            Api::GlobalImage,
            "sample.png",
        ),
    ]
}

fn v3_request(api: Api, file: &str) -> http::Request<Body> {
    let bytes =
        Bytes::from(std::fs::read(root().join("../wxmedia-sim/samples").join(file)).unwrap());
    // The constructor the extension names; each endpoint then checks
    // that it takes the kind.
    let media = Media::any(file, bytes).unwrap();
    let env = env()
        .with_time(1_700_000_000)
        .with_nonce(Nonce::new("593BEC0C930BF1AFEB40B4A08C8FB242").unwrap());
    UploadV3::new(api, v3_merchant(), media)
        .unwrap()
        .encode(&env)
        .unwrap()
}

/// Golden v3 requests, blessed and checked like the v2 ones.
#[test]
fn golden_v3_requests_for_every_api() {
    let bless = std::env::var_os("WXMEDIA_BLESS").is_some_and(|v| v == "1");
    let dir = root().join("tests/golden");
    for (name, api, file) in v3_golden_cases() {
        golden_check(&dir.join(name), &serialize(&v3_request(api, file)), bless);
    }
}

/// The fixed "random" bytes of the sealed golden requests: a seed that
/// never changes, so the requests are byte for byte the same each run.
fn fixed_random() -> Arc<wxmedia_proto::v3::Random> {
    Arc::new(|out: &mut [u8]| {
        for (i, b) in out.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(7).wrapping_add(1);
        }
        Ok(())
    })
}

/// The ids of the golden bank package, one a line once sealed.
const BANK_IDS: [&str; 2] = ["6222020000000001", "6222020000000002"];
/// The golden receipt's consultation phone number, sealed in its meta.
const RECEIPT_PHONE: &str = "0755-86013388";

/// Golden requests of the two uploads with sealed fields: the shopping
/// receipt (its phone number sealed in the meta) and a bank package (its
/// lines sealed in the file), each with the platform certificate's serial
/// in `Wechatpay-Serial`. `tests/v3_openssl.rs` opens what they seal with
/// openssl.
#[test]
fn golden_v3_sealed_requests() {
    use wxmedia_proto::v3::{BankPackage, ShoppingReceipt};
    let bless = std::env::var_os("WXMEDIA_BLESS").is_some_and(|v| v == "1");
    let dir = root().join("tests/golden");
    let merchant = v3_merchant().with_random(fixed_random());
    let receipt = ShoppingReceipt::new(
        "4200000008202209139188072801",
        "2022-05-07T15:39:35.000+08:00",
    )
    .unwrap()
    .transaction_mchid("1230000109")
    .unwrap()
    .out_trade_no("1217752501201407033233368018")
    .unwrap()
    .openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    .unwrap()
    .consultation_phone_number(RECEIPT_PHONE)
    .unwrap();
    let upload = UploadV3::new(receipt, merchant.clone(), sample("sample.png")).unwrap();
    let request = upload.encode(&v3_env()).unwrap();
    assert_eq!(request.headers()["wechatpay-serial"], "F5765756002FDD77");
    golden_check(
        &dir.join("v3-shopping-receipt-sample-png.http"),
        &serialize(&request),
        bless,
    );

    let key = merchant.verifier().sealing_key().unwrap();
    let file = BankPackage::sealed_file(&key, BANK_IDS, &*fixed_random()).unwrap();
    let media = Media::text("active_user.csv", file).unwrap();
    let package = BankPackage::new("8473295", "ICBC_DEBIT").unwrap();
    let upload = UploadV3::new(package, merchant, media).unwrap();
    assert_eq!(
        &upload.meta()[..],
        format!(
            r#"{{"filename":"active_user.csv","sha256":"{}","bank_type":"ICBC_DEBIT"}}"#,
            upload.media().sha256_hex()
        )
        .as_bytes()
    );
    golden_check(
        &dir.join("v3-bank-package-ids-csv.http"),
        &serialize(&upload.encode(&v3_env()).unwrap()),
        bless,
    );
}

/// A v3 request's parts: meta first (JSON, no file name) with the file's
/// SHA-256, then the file, shared rather than copied; the headers name the
/// key to verify with.
#[test]
fn v3_requests_carry_meta_then_the_shared_file() {
    let req = v3_request(Api::Image, "sample.jpg");
    assert_eq!(
        req.uri(),
        "https://api.mch.weixin.qq.com/v3/merchant/media/upload"
    );
    assert_eq!(req.headers()["accept"], "application/json");
    assert_eq!(req.headers()["wechatpay-serial"], "F5765756002FDD77");
    let auth = req.headers()["authorization"].to_str().unwrap();
    assert!(auth.starts_with("WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\",nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\",timestamp=\"1700000000\",serial_no=\"F5765756002FDD77\",signature=\""));
    let jpeg = std::fs::read(root().join("../wxmedia-sim/samples/sample.jpg")).unwrap();
    let body = req.body().to_bytes();
    let text = String::from_utf8_lossy(&body);
    let meta_at = text.find("name=\"meta\"").unwrap();
    let file_at = text.find("name=\"file\"; filename=\"sample.jpg\"").unwrap();
    assert!(meta_at < file_at, "meta comes first");
    assert!(
        !text[meta_at..file_at].contains("filename="),
        "meta has no file name"
    );
    let sha = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(&jpeg);
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert!(text.contains(&format!(
        "{{\"filename\":\"sample.jpg\",\"sha256\":\"{sha}\"}}"
    )));
    assert_eq!(req.body().segments()[1].as_ref(), &jpeg[..]);
    assert_eq!(
        req.headers()["content-length"],
        body.len().to_string().as_str()
    );
}

/// A file the API does not take, or one over its limit, is refused unsent.
#[test]
fn v3_refuses_media_the_api_does_not_take() {
    let bytes = std::fs::read(root().join("../wxmedia-sim/samples/sample.jpg")).unwrap();
    let media = Media::new("sample.jpg", Bytes::from(bytes)).unwrap();
    let e = UploadV3::new(Api::Video, v3_merchant(), media.clone()).unwrap_err();
    assert!(e.is_input_error(), "{e}");
    let e = UploadV3::with_max_size(Api::Image, v3_merchant(), media.clone(), 10).unwrap_err();
    assert!(matches!(e, Error::Media(_)), "{e}");
    assert!(UploadV3::new(Api::MarketingImage, v3_merchant(), media).is_ok());
    let mp4 = std::fs::read(root().join("../wxmedia-sim/samples/sample.mp4")).unwrap();
    let video = Media::video("clip.mp4", Bytes::from(mp4)).unwrap();
    assert!(UploadV3::new(Api::Image, v3_merchant(), video.clone()).is_err());
    assert!(UploadV3::new(Api::MarketingImage, v3_merchant(), video.clone()).is_err());
    let up = UploadV3::new(Api::Video, v3_merchant(), video).unwrap();
    let req = up.encode(&env()).unwrap();
    assert_eq!(req.uri().path(), "/v3/merchant/media/video_upload");
    let body = req.body().to_bytes();
    assert!(
        String::from_utf8_lossy(&body)
            .contains("filename=\"clip.mp4\"\r\nContent-Type: video/mp4\r\n")
    );
}

#[test]
fn media_segment_shares_the_callers_buffer() {
    // SOI, EOI, then bytes after the end, which a whole JPEG may carry.
    let content = Bytes::from(vec![0xFF, 0xD8, 0xFF, 0xD9, 1, 2, 3, 4]);
    let media = Media::new("a.jpg", content.clone()).unwrap();
    let up = UploadV2::new(Credentials::new(MCH_ID, KEY).unwrap(), media, SignType::Md5).unwrap();
    for _ in 0..2 {
        // Encoding again, as a retry does, shares it again.
        let req = up.encode(&env()).unwrap();
        let segs = req.body().segments();
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[1].as_ptr(), content.as_ptr());
        assert_eq!(segs[1].len(), content.len());
    }
}

#[test]
fn headers_are_exact() {
    let req = upload("sample.png", SignType::HmacSha256)
        .encode(&env())
        .unwrap();
    assert_eq!(req.method(), http::Method::POST);
    assert_eq!(
        req.uri(),
        "https://api.mch.weixin.qq.com/secapi/mch/uploadmedia"
    );
    let h = req.headers();
    assert_eq!(
        h["content-type"],
        format!("multipart/form-data; boundary={BOUNDARY}")
    );
    assert_eq!(h["content-length"], req.body().len().to_string());
    assert_eq!(h["accept"], "application/xml, text/xml");
    assert_eq!(
        h["user-agent"],
        concat!("wxmedia/", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn md5_requests_send_no_sign_type_and_hmac_requests_do() {
    let md5 = upload("sample.jpg", SignType::Md5)
        .encode(&env())
        .unwrap()
        .into_body()
        .to_bytes();
    let hmac = upload("sample.jpg", SignType::HmacSha256)
        .encode(&env())
        .unwrap()
        .into_body()
        .to_bytes();
    let has = |b: &Bytes| memchr::memmem::find(b, b"name=\"sign_type\"").is_some();
    assert!(!has(&md5));
    assert!(has(&hmac));
    assert!(memchr::memmem::find(&hmac, b"\r\n\r\nHMAC-SHA256\r\n").is_some());
}

#[test]
fn base_url_keeps_a_path_prefix_and_drops_a_trailing_slash() {
    let e = Env::new("https://127.0.0.1:8443/", Boundary::new("b").unwrap()).unwrap();
    assert_eq!(e.base_url(), "https://127.0.0.1:8443");
    let e = Env::new("https://[::1]:8443/proxy/", Boundary::new("b").unwrap()).unwrap();
    let req = upload("sample.bmp", SignType::Md5).encode(&e).unwrap();
    assert_eq!(req.uri(), "https://[::1]:8443/proxy/secapi/mch/uploadmedia");
}

#[test]
fn bad_base_urls_and_boundaries_are_input_errors() {
    for url in [
        "http://api.mch.weixin.qq.com",
        "api.mch.weixin.qq.com",
        "https://h/?a=1",
        "https://h/#x",
        "",
    ] {
        let err = Env::new(url, Boundary::new("b").unwrap()).unwrap_err();
        assert!(err.is_input_error(), "{url}");
    }
    for b in ["", "a b", "\"q\"", "a;b", &"x".repeat(71)] {
        assert!(Boundary::new(b).is_err(), "{b:?}");
    }
    let r = Boundary::from_random([0xAB; 16]);
    assert_eq!(r.as_str(), "wxmedia-abababababababababababababababab");
    assert!(Boundary::new(r.as_str()).is_ok());
}

#[test]
fn a_boundary_inside_the_media_is_refused() {
    // A whole JPEG (SOI, a comment segment holding the delimiter, EOI).
    let mut content = vec![0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x05];
    content.extend_from_slice(b"--B");
    content.extend_from_slice(&[0xFF, 0xD9]);
    let media = Media::new("a.jpg", content).unwrap();
    let up = UploadV2::new(Credentials::new(MCH_ID, KEY).unwrap(), media, SignType::Md5).unwrap();
    let env = Env::new("https://h", Boundary::new("B").unwrap()).unwrap();
    assert!(matches!(up.encode(&env), Err(Error::BoundaryInMedia)));
}

#[test]
fn decode_returns_hash_and_sign_type_with_the_media_id() {
    let up = upload("sample.jpg", SignType::HmacSha256);
    let fields = [
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("media_id", "m-1"),
    ];
    let key = wxmedia_proto::v2::ApiKey::new(KEY).unwrap();
    let sign = wxmedia_proto::v2::StringToSign::new(fields).sign(&key, SignType::HmacSha256);
    let mut all = fields.to_vec();
    all.push(("sign", sign.as_str()));
    let body = Bytes::from(wxmedia_proto::v2::xml::write(&all));
    let done = up.decode(&env(), http::Response::new(body)).unwrap();
    assert_eq!(done.media_id, "m-1");
    assert_eq!(&done.media_hash, up.media().hash());
    assert_eq!(done.sign_type, SignType::HmacSha256);
}

#[test]
fn debug_output_never_shows_the_key() {
    let up = upload("sample.jpg", SignType::Md5);
    let dbg = format!("{up:?}");
    assert!(!dbg.contains(KEY));
    assert!(up.string_to_sign_redacted().ends_with("&key=***"));
    assert!(!up.string_to_sign_redacted().contains(KEY));
}

fn sample(file: &str) -> Media {
    let bytes = std::fs::read(root().join("../wxmedia-sim/samples").join(file)).unwrap();
    Media::new(file, Bytes::from(bytes)).unwrap()
}

fn v3_env() -> Env {
    env()
        .with_time(1_700_000_000)
        .with_nonce(Nonce::new("593BEC0C930BF1AFEB40B4A08C8FB242").unwrap())
}

/// A custom endpoint described like a known one sends the known one's
/// bytes exactly: both go through one encoder.
#[test]
fn a_custom_upload_described_like_a_known_one_is_the_same_request() {
    for &api in Api::ALL {
        // A CustomApi describes metas of the `{name, digest, extra...}`
        // shape; the fapiao file's (fixed members, then an SM3 digest, no
        // file name) is not one, and has its own golden request.
        if api == Api::FapiaoFile {
            continue;
        }
        let media = if api == Api::Video {
            let mp4 = std::fs::read(root().join("../wxmedia-sim/samples/sample.mp4")).unwrap();
            Media::video("sample.mp4", Bytes::from(mp4)).unwrap()
        } else {
            sample("sample.png")
        };
        let kinds: Vec<_> = [wxmedia_proto::MediaKind::Png, wxmedia_proto::MediaKind::Mp4]
            .into_iter()
            .filter(|k| api.accepts(*k))
            .collect();
        // The names the endpoint gives the file and its digest.
        let [MetaField::FileName(name), MetaField::Sha256(digest)] = api.spec().meta else {
            panic!("{api:?}: a meta of another shape");
        };
        let custom = CustomApi::new(api.path(), api.default_max_size())
            .unwrap()
            .accepting(&kinds)
            .meta_names(name, digest)
            .unwrap();
        let known = UploadV3::new(api, v3_merchant(), media.clone()).unwrap();
        let generic = UploadV3::new(&custom, v3_merchant(), media).unwrap();
        assert_eq!(generic.meta(), known.meta(), "{api:?}");
        assert_eq!(
            serialize(&generic.encode(&v3_env()).unwrap()),
            serialize(&known.encode(&v3_env()).unwrap()),
            "{api:?}"
        );
    }
}

/// The e-commerce cancellation upload's meta is `{file_name,
/// file_digest}`, an e-receipt-like one adds fields; the signature covers
/// exactly the meta part's bytes.
#[test]
fn custom_meta_shapes_are_sent_and_signed_as_given() {
    let media = sample("sample.jpg");
    let sha = media.sha256_hex().to_owned();
    let cancel = CustomApi::new("/v3/ecommerce/account/cancel-applications/media", 2 << 20)
        .unwrap()
        .meta_names("file_name", "file_digest")
        .unwrap();
    let receipt = CustomApi::new("/v3/marketing/shopping-receipt/shoppingreceipts", 2 << 20)
        .unwrap()
        .extra_field("transaction_id", serde_json::json!("4200000001"))
        .unwrap()
        .extra_field("out_trade_no", serde_json::json!("order-1"))
        .unwrap();
    let cases = [
        (
            &cancel,
            format!(r#"{{"file_name":"sample.jpg","file_digest":"{sha}"}}"#),
        ),
        (
            &receipt,
            format!(
                r#"{{"filename":"sample.jpg","sha256":"{sha}","transaction_id":"4200000001","out_trade_no":"order-1"}}"#
            ),
        ),
    ];
    let signer = RsaSigner::from_pem(
        &std::fs::read(root().join("tests/data/v3_key.pem")).unwrap(),
        &std::fs::read(root().join("tests/data/v3_cert.pem")).unwrap(),
    )
    .unwrap();
    for (api, meta) in cases {
        let up = UploadV3::new(api, v3_merchant(), media.clone()).unwrap();
        assert_eq!(up.meta(), meta.as_bytes());
        let req = up.encode(&v3_env()).unwrap();
        assert_eq!(req.uri().path(), api.path());
        let body = req.body().to_bytes();
        let meta_part = format!(
            "Content-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n"
        );
        assert!(
            memchr::memmem::find(&body, meta_part.as_bytes()).is_some(),
            "{}",
            String::from_utf8_lossy(&body[..400.min(body.len())])
        );
        // RSA PKCS#1 v1.5 is deterministic: the header's signature is the
        // one over the message whose body line is this meta.
        let message = auth::message(
            "POST",
            api.path(),
            1_700_000_000,
            "593BEC0C930BF1AFEB40B4A08C8FB242",
            meta.as_bytes(),
        );
        use base64::Engine;
        let want = base64::engine::general_purpose::STANDARD.encode(signer.sign(&message).unwrap());
        let header = req.headers()["authorization"].to_str().unwrap();
        assert!(
            header.contains(&format!("signature=\"{want}\"")),
            "{header}"
        );
    }
}

/// A `CustomApi` reaches the shopping receipt: no file name, the order's
/// fields, and the phone number sealed inside its object; with the same
/// seed its meta is the built-in `ShoppingReceipt`'s, member for member
/// (the order of the members is each one's own). `Debug` names the sealed
/// field, never its text.
#[test]
fn a_custom_api_seals_a_nested_field_as_the_receipt_does() {
    use serde_json::{Value, json};
    use wxmedia_proto::v3::ShoppingReceipt;
    let merchant = v3_merchant().with_random(fixed_random());
    let time = "2022-05-07T15:39:35.000+08:00";
    let custom = CustomApi::new("/v3/marketing/shopping-receipt/shoppingreceipts", 200 << 10)
        .unwrap()
        .accepting(&[
            wxmedia_proto::MediaKind::Jpeg,
            wxmedia_proto::MediaKind::Png,
        ])
        .without_file_name()
        .extra_field("transaction_id", json!("4200000008202209139188072801"))
        .unwrap()
        .extra_field("transaction_mchid", json!("1230000109"))
        .unwrap()
        .extra_field("upload_time", json!(time))
        .unwrap()
        .sealed_field(
            "merchant_contact_information.consultation_phone_number",
            RECEIPT_PHONE,
        )
        .unwrap();
    assert!(!format!("{custom:?}").contains(RECEIPT_PHONE));
    let built = ShoppingReceipt::new("4200000008202209139188072801", time)
        .unwrap()
        .transaction_mchid("1230000109")
        .unwrap()
        .consultation_phone_number(RECEIPT_PHONE)
        .unwrap();
    let meta = |m: &bytes::Bytes| serde_json::from_slice::<Value>(m).unwrap();
    let a = UploadV3::new(&custom, merchant.clone(), sample("sample.png")).unwrap();
    let b = UploadV3::new(built, merchant, sample("sample.png")).unwrap();
    assert_eq!(meta(a.meta()), meta(b.meta()));
    assert!(meta(a.meta()).get("filename").is_none());
    assert_eq!(
        std::str::from_utf8(&a.meta()[..29]).unwrap(),
        r#"{"sha256":"d777bdaf8c29728751"#
    );
}

#[test]
fn custom_apis_refuse_what_they_cannot_send() {
    assert!(CustomApi::new("/v2/x", 1).is_err());
    assert!(CustomApi::new("/v3/a b", 1).is_err());
    assert!(CustomApi::new("/v3/a#b", 1).is_err());
    assert!(CustomApi::new("/v3/x", 0).is_err());
    let api = CustomApi::new("/v3/x", 100).unwrap();
    assert!(api.clone().meta_names("name", "name").is_err());
    assert!(api.clone().meta_names("", "d").is_err());
    assert!(
        api.clone()
            .extra_field("sha256", serde_json::json!(1))
            .is_err()
    );
    let with_extra = api
        .clone()
        .extra_field("digest", serde_json::json!(1))
        .unwrap();
    assert!(
        with_extra
            .extra_field("digest", serde_json::json!(2))
            .is_err()
    );
    let taken = api
        .clone()
        .extra_field("file_digest", serde_json::json!(1))
        .unwrap();
    assert!(taken.meta_names("file_name", "file_digest").is_err());
    // Dotted names go into objects: never a name and one inside it, an
    // empty segment, or a file field with an object inside it.
    use serde_json::json;
    let nested = api.clone().extra_field("a.b", json!(1)).unwrap();
    for clash in ["a", "a.b", "a.b.c"] {
        assert!(
            nested.clone().extra_field(clash, json!(2)).is_err(),
            "{clash}"
        );
        assert!(nested.clone().sealed_field(clash, "x").is_err(), "{clash}");
    }
    assert!(nested.clone().extra_field("a.c", json!(2)).is_ok());
    assert!(nested.clone().extra_field("ab", json!(2)).is_ok());
    for bad in ["", ".a", "a.", "a..b", "sha256.x", "filename.y"] {
        assert!(api.clone().extra_field(bad, json!(1)).is_err(), "{bad:?}");
    }
    assert!(api.clone().meta_names("file.name", "d").is_err());
    // The limit and the kinds are the custom API's own.
    let e = UploadV3::new(&api, v3_merchant(), sample("sample.jpg")).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Media(wxmedia_proto::MediaError::TooLarge { limit: 100, .. })
        ),
        "{e}"
    );
    let png_only = CustomApi::new("/v3/x", 1 << 20)
        .unwrap()
        .accepting(&[wxmedia_proto::MediaKind::Png]);
    assert!(UploadV3::new(&png_only, v3_merchant(), sample("sample.jpg")).is_err());
    assert!(UploadV3::new(&png_only, v3_merchant(), sample("sample.png")).is_ok());
}

#[test]
fn complaint_images_have_their_own_path_and_2_mib_limit() {
    assert_eq!(
        Api::ComplaintImage.path(),
        "/v3/merchant-service/images/upload"
    );
    assert_eq!(Api::ComplaintImage.default_max_size(), 2 * 1024 * 1024);
    assert_eq!(Api::ComplaintImage.reply_field(), "media_id");
    // 3 MiB of JPEG: SOI, a COM segment of padding, EOI.
    let mut big = vec![0xFF, 0xD8];
    while big.len() < 3 << 20 {
        big.extend_from_slice(&[0xFF, 0xFE, 0xFF, 0xFF]);
        big.extend(std::iter::repeat_n(b' ', 0xFFFD));
    }
    big.extend_from_slice(&[0xFF, 0xD9]);
    let media = Media::new("big.jpg", big).unwrap();
    let e = UploadV3::new(Api::ComplaintImage, v3_merchant(), media.clone()).unwrap_err();
    assert!(
        matches!(e, Error::Media(wxmedia_proto::MediaError::TooLarge { limit, .. }) if limit == 2 << 20),
        "{e}"
    );
    assert!(UploadV3::new(Api::Image, v3_merchant(), media).is_ok());
}

/// The `/v3/` guard of `CustomApi` cannot be walked around: every path of
/// the review is refused in `new`, naming what is wrong, and never signed.
#[test]
fn item6_custom_paths_cannot_leave_v3() {
    for (path, named) in [
        ("/v3/../v2/secapi/mch/uploadmedia", "dot segment"),
        ("/v3/%2e%2e/x", "dot segment"),
        ("/v3/%2E./x", "dot segment"),
        ("/v3/./x", "dot segment"),
        ("/v3/x/..", "dot segment"),
        ("/v3//x", "empty segment"),
        ("/v3/x/", "empty segment"),
        ("/v3/x\\..\\y", "backslash"),
        ("/v3/x%5c..%5cy", "backslash"),
        ("/v3/x%2f..%2fy", "%2f"),
        ("/v3/x;y", "path parameter"),
        ("/v3/x%00y", "NUL"),
        ("/v3/x\0y", "NUL"),
        ("/v3/x<y>", "'<'"),
        ("/v3/x y", "space"),
        ("/v3/x?y=1", "query"),
        ("/v3/x#y", "fragment"),
        ("/v3/x%zz", "hex digits"),
        ("/v3/x%4", "hex digits"),
        ("/v3/x\u{e9}", "0xC3"),
    ] {
        let err = CustomApi::new(path, 1 << 20).unwrap_err().to_string();
        assert!(err.contains(named), "{path:?}: {err}");
    }
    // What WeChat Pay's own paths hold still passes, encoded letters too.
    for path in [
        "/v3/marketing/bank/packages/12345/tasks",
        "/v3/new-tax-control-fapiao/fapiao-applications/upload-fapiao-file",
        "/v3/x/a.b~c_d-e",
        "/v3/x%41",
    ] {
        assert!(CustomApi::new(path, 1).is_ok(), "{path}");
    }
}
