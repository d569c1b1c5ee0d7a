//! `wxmedia --api v3` against an in-process simulator: each credentials set-up and kind, output shapes, exit statuses, batch ledger keys, certificates, sign and verify against the shared vectors, the demo's v3 rows.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

mod common;

use common::{Fx, JPEG, PNG, Verify, fx, json_lines, run, stderr, stdout};

const MP4: &[u8] = include_bytes!("../../wxmedia-sim/samples/sample.mp4");
const VECTORS: &str = include_str!("../../wxmedia-proto/tests/data/v3.json");

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../wxmedia-proto/tests/data")
        .join(name)
}

#[test]
fn upload_works_with_each_credentials_setup_and_transport() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    for transport in ["hyper", "surf", "blocking"] {
        let out = run(fx
            .v3_cmd("upload", Verify::PublicKey)
            .args(["--transport", transport])
            .arg(&a));
        assert_eq!(out.status.code(), Some(0), "{transport}: {}", stderr(&out));
        assert_eq!(stdout(&out).lines().count(), 1);
        assert!(!stdout(&out).trim().is_empty());
        assert_eq!(stderr(&out), "", "quiet on success");
    }
    fx.platform_mode();
    for verify in [Verify::PlatformCert, Verify::ApiV3Key] {
        let out = run(fx.v3_cmd("upload", verify).arg(&a));
        assert_eq!(out.status.code(), Some(0), "{verify:?}: {}", stderr(&out));
        assert_eq!(stdout(&out).lines().count(), 1);
    }
    // --serial-no instead of --cert, and --cert-key for --private-key.
    let pki = fx.server.pki();
    let out = run(fx
        .bare()
        .args([
            "upload",
            "--api",
            "v3",
            "--mch-id",
            fx.server.sim().mch_id(),
        ])
        .arg("--cert-key")
        .arg(pki.client_key_path())
        .args(["--serial-no", fx.server.v3().keys().merchant_serial_no()])
        .arg("--platform-cert")
        .arg(pki.platform_cert_path())
        .arg("--ca")
        .arg(pki.ca_cert_path())
        .arg("--endpoint")
        .arg(fx.server.endpoint())
        .arg(&a));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Three public-key uploads, one with the platform certificate, one
    // with the APIv3 key (after a certificate download), one by serial.
    assert_eq!(fx.server.sim().upload_count(), 6);
}

/// The marketing-image upload answered with a `media_id` (as merchants
/// report the real host doing): the id is printed and said to be one,
/// and `--json` names the field it came in; a batch's ledger keeps it as
/// a media id, and a product coupon's `image_url` as a URL.
#[test]
fn a_marketing_image_answered_with_a_media_id_is_said_to_be_one() {
    let fx = fx();
    fx.server.sim().update_faults(|f| f.url_as_media_id = true);
    let file = fx.file("logo.png", PNG);
    let out = run(fx
        .v3_cmd("upload", Verify::PublicKey)
        .args(["--kind", "marketing-image"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = stdout(&out).trim().to_owned();
    assert!(!id.is_empty() && !id.starts_with("https://"), "{id}");
    assert!(
        stderr(&out).contains("the server answered a media_id instead of a media_url"),
        "{}",
        stderr(&out)
    );
    let out = run(fx
        .v3_cmd("upload", Verify::PublicKey)
        .args(["--kind", "marketing-image", "--json"])
        .arg(&file));
    let v = &json_lines(&out)[0];
    assert!(v["media_id"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    assert!(v.get("media_url").is_none(), "{v}");
    // In a batch's ledger: a media id; a product coupon's image_url, a URL.
    let ledger = fx.dir.path().join("ledger.jsonl");
    let dir = fx.dir.path().join("pics");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("logo.png"), PNG).unwrap();
    for kind in ["marketing-image", "product-coupon-image"] {
        // The fault is the marketing image's; the product coupon answers
        // as documented.
        fx.server
            .sim()
            .update_faults(|f| f.url_as_media_id = kind == "marketing-image");
        let out = run(fx
            .v3_cmd("batch", Verify::PublicKey)
            .args(["--kind", kind, "--ledger"])
            .arg(&ledger)
            .arg(&dir));
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", stderr(&out));
    }
    let entries = ledger_entries(&ledger);
    let entry = |api: &str| {
        entries
            .iter()
            .find(|e| e["api"] == api && e["status"] == "uploaded")
            .unwrap_or_else(|| panic!("{api}: {entries:?}"))
            .clone()
    };
    let marketing = entry("v3-marketing-image");
    assert!(marketing["media_id"].as_str().is_some(), "{marketing}");
    assert!(marketing.get("media_url").is_none(), "{marketing}");
    let coupon = entry("v3-product-coupon-image");
    assert!(
        coupon["media_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "{coupon}"
    );
    assert!(coupon.get("media_id").is_none(), "{coupon}");
}

#[test]
fn each_kind_prints_its_id_and_the_json_has_the_documented_shape() {
    let fx = fx();
    let cases = [
        ("image", fx.file("a.jpg", JPEG), "media_id"),
        ("video", fx.file("clip.mp4", MP4), "media_id"),
        ("marketing-image", fx.file("logo.png", PNG), "media_url"),
        ("complaint-image", fx.file("reply.png", PNG), "media_id"),
        (
            "cancellation-image",
            fx.file("licence.png", PNG),
            "media_id",
        ),
        ("global-image", fx.file("shop.png", PNG), "media_id"),
    ];
    for (kind, file, field) in &cases {
        let out = run(fx
            .v3_cmd("upload", Verify::PublicKey)
            .args(["--kind", kind, "--json"])
            .arg(file));
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", stderr(&out));
        let v = &json_lines(&out)[0];
        assert_eq!(v["file"], file.display().to_string(), "{kind}");
        let id = v[field].as_str().unwrap_or_else(|| panic!("{kind}: {v}"));
        assert!(!id.is_empty());
        let other = if *field == "media_id" {
            "media_url"
        } else {
            "media_id"
        };
        assert!(v.get(other).is_none(), "{kind}: {v}");
        assert!(v["request_id"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(v.get("error").is_none());
        // Plain text: the id (or URL) alone.
        let out = run(fx
            .v3_cmd("upload", Verify::PublicKey)
            .args(["--kind", kind])
            .arg(file));
        assert_eq!(out.status.code(), Some(0));
        let line = stdout(&out);
        if *field == "media_url" {
            assert!(line.starts_with("https://"), "{line}");
        }
        assert_eq!(line.lines().count(), 1);
    }
    assert_eq!(fx.server.sim().upload_count(), 2 * cases.len());
    let paths: Vec<_> = fx
        .server
        .sim()
        .received()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        paths
            .iter()
            .filter(|p| *p == "/v3/merchant-service/images/upload")
            .count(),
        2,
        "{paths:?}"
    );
    assert_eq!(
        paths
            .iter()
            .filter(|p| *p == "/v3/ecommerce/account/cancel-applications/media")
            .count(),
        2,
        "{paths:?}"
    );
}

#[test]
fn refused_media_exit_two_and_nothing_is_sent() {
    let fx = fx();
    let mut big = PNG.to_vec();
    big.resize(2 * 1024 * 1024 + 1, 0);
    let cases = [
        ("image", fx.file("disguised.jpg", PNG)),
        ("image", fx.file("empty.jpg", b"")),
        ("image", fx.file("clip.mp4", MP4)),
        ("video", fx.file("a.jpg", JPEG)),
        ("marketing-image", fx.file("big.png", &big)),
        ("complaint-image", fx.file("big.png", &big)),
        ("complaint-image", fx.file("clip.mp4", MP4)),
        ("image", fx.dir.path().join("missing.jpg")),
    ];
    for (kind, file) in &cases {
        let out = run(fx
            .v3_cmd("upload", Verify::PublicKey)
            .args(["--json", "--kind", kind])
            .arg(file));
        let what = format!("{kind} {}: {}", file.display(), stderr(&out));
        assert_eq!(out.status.code(), Some(2), "{what}");
        let v = &json_lines(&out)[0];
        assert!(v["error"].is_object() && v.get("code").is_some(), "{v}");
        assert!(v.get("media_id").is_none() && v.get("media_url").is_none());
        assert!(stderr(&out).contains(&file.display().to_string()), "{what}");
    }
    // The first 60% of an MP4: its walk names the box that runs past the
    // end, and it is not sent.
    let cut = fx.file("cut.mp4", &MP4[..MP4.len() * 6 / 10]);
    let out = run(fx
        .v3_cmd("upload", Verify::PublicKey)
        .args(["--kind", "video"])
        .arg(&cut));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("cut short") && text.contains("box") && text.contains("cut.mp4"),
        "{text}"
    );
    assert_eq!(fx.server.sim().request_count(), 0, "nothing was sent");
}

#[test]
fn a_sign_error_exits_one_with_its_code_in_the_json() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    // Another merchant's key under this merchant's serial: the server's
    // check of the signature fails.
    let pki = fx.server.pki();
    let out = run(fx
        .bare()
        .args([
            "upload",
            "--api",
            "v3",
            "--json",
            "--mch-id",
            fx.server.sim().mch_id(),
        ])
        .arg("--private-key")
        .arg(data("v3_key.pem"))
        .args(["--serial-no", fx.server.v3().keys().merchant_serial_no()])
        .arg("--wechatpay-public-key")
        .arg(pki.wechatpay_public_key_path())
        .arg("--wechatpay-public-key-id")
        .arg(fx.server.v3().keys().wechatpay_public_key_id())
        .arg("--ca")
        .arg(pki.ca_cert_path())
        .arg("--endpoint")
        .arg(fx.server.endpoint())
        .arg(&a));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = &json_lines(&out)[0];
    assert_eq!(v["code"], "SIGN_ERROR", "{v}");
    assert_eq!(v["error"]["code"], "SIGN_ERROR", "{v}");
    assert_eq!(v["file"], a.display().to_string());
    assert!(v.get("media_id").is_none());
    let err = stderr(&out);
    assert!(err.contains("a.jpg") && err.contains("SIGN_ERROR"), "{err}");
    let key = std::fs::read_to_string(data("v3_key.pem")).unwrap();
    let key_line = key.lines().nth(1).unwrap();
    assert!(!err.contains(key_line) && !stdout(&out).contains(key_line));
}

#[test]
fn missing_or_conflicting_flags_are_usage_errors() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    let short_key = fx.file("short.key", b"tooShortAPIv3key\n");
    type Build = Box<dyn Fn(&Fx) -> Command>;
    let cases: Vec<(&str, Build, &str)> = vec![
        (
            "no private key",
            Box::new(|fx| {
                let mut c = fx.bare();
                c.args(["upload", "--api", "v3", "--mch-id", "1900000109"])
                    .arg("--cert")
                    .arg(fx.server.pki().client_cert_path())
                    .arg("--platform-cert")
                    .arg(fx.server.pki().platform_cert_path());
                c
            }),
            "private key",
        ),
        (
            "no certificate or serial",
            Box::new(|fx| {
                let mut c = fx.bare();
                c.args(["upload", "--api", "v3", "--mch-id", "1900000109"])
                    .arg("--private-key")
                    .arg(fx.server.pki().client_key_path())
                    .arg("--platform-cert")
                    .arg(fx.server.pki().platform_cert_path());
                c
            }),
            "merchant certificate",
        ),
        (
            "no way to verify",
            Box::new(|fx| fx.v3_merchant("upload")),
            "verify replies",
        ),
        (
            "certificate and serial",
            Box::new(|fx| {
                let mut c = fx.v3_cmd("upload", Verify::PublicKey);
                c.args(["--serial-no", "1234"]);
                c
            }),
            "not both",
        ),
        (
            "a v2 option",
            Box::new(|fx| {
                let mut c = fx.v3_cmd("upload", Verify::PublicKey);
                c.args(["--api-key-file", "/dev/null"]);
                c
            }),
            "--api-key-file",
        ),
        (
            "a v3 option without --api v3",
            Box::new(|fx| {
                let mut c = fx.bare();
                c.args(["upload", "--mch-id", "1900000109", "--private-key"])
                    .arg(fx.server.pki().client_key_path());
                c
            }),
            "--api v3",
        ),
        (
            "a v3 kind without --api v3",
            Box::new(|fx| {
                let mut c = fx.bare();
                c.args(["upload", "--mch-id", "1900000109", "--kind", "video"]);
                c
            }),
            "--api v3",
        ),
        (
            "a public key without its id",
            Box::new(|fx| {
                let mut c = fx.v3_merchant("upload");
                c.arg("--wechatpay-public-key")
                    .arg(fx.server.pki().wechatpay_public_key_path());
                c
            }),
            "wechatpay-public-key-id",
        ),
        (
            "--private-key and --cert-key differ",
            Box::new(|fx| {
                let mut c = fx.v3_cmd("upload", Verify::PublicKey);
                c.arg("--cert-key").arg(data("v3_key.pem"));
                c
            }),
            "different files",
        ),
        (
            "an APIv3 key of the wrong length",
            Box::new(move |fx| {
                let mut c = fx.v3_merchant("upload");
                c.arg("--api-v3-key-file").arg(&short_key);
                c
            }),
            "32 bytes",
        ),
        (
            "an unknown kind",
            Box::new(|fx| {
                let mut c = fx.v3_cmd("upload", Verify::PublicKey);
                c.args(["--kind", "gif"]);
                c
            }),
            "gif",
        ),
    ];
    for (name, build, says) in &cases {
        let out = run(build(&fx).arg(&a));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
        assert!(!err.contains("tooShortAPIv3key"), "the key never shows");
        assert_eq!(stdout(&out), "", "{name}");
    }
    assert_eq!(fx.server.sim().request_count(), 0);
}

fn ledger_entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn batch_keys_v2_and_v3_apart_reads_old_ledgers_and_resumes() {
    let fx = fx();
    let images = fx.dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..3 {
        let mut bytes = JPEG.to_vec();
        bytes.extend_from_slice(format!("distinct-{i}").as_bytes());
        std::fs::write(images.join(format!("img{i}.jpg")), bytes).unwrap();
    }
    // A video in the directory: taken by --kind video only.
    std::fs::write(images.join("clip.mp4"), MP4).unwrap();
    let ledger = fx.dir.path().join("ledger.jsonl");
    // A line written before v3 (no `api`): a v2 upload of img0.
    let mut first = JPEG.to_vec();
    first.extend_from_slice(b"distinct-0");
    let old = serde_json::json!({
        "file": images.join("img0.jpg").display().to_string(),
        "mch_id": fx.server.sim().mch_id(),
        "media_hash": wxmedia_proto::MediaHash::of(&first).to_string(),
        "status": "uploaded",
        "media_id": "old-media-id",
        "sign_type": "MD5",
    });
    std::fs::write(&ledger, format!("{old}\n")).unwrap();

    let pki = fx.server.pki();
    let v2 = |fx: &Fx| {
        let key = fx.file(
            "apiv2.key",
            fx.server.sim().api_key().expose_secret().as_bytes(),
        );
        let mut c = fx.bare();
        c.args(["batch", "--mch-id", fx.server.sim().mch_id()])
            .arg("--api-key-file")
            .arg(key)
            .arg("--cert")
            .arg(pki.client_cert_path())
            .arg("--cert-key")
            .arg(pki.client_key_path())
            .arg("--ca")
            .arg(pki.ca_cert_path())
            .arg("--endpoint")
            .arg(fx.server.endpoint())
            .arg("--ledger")
            .arg(&ledger)
            // The old line has no upload time: only `forever` reuses it
            // (network.rs tests the window itself).
            .args(["--reuse-for", "forever"])
            .arg(&images);
        c
    };
    let v3 = |fx: &Fx, kind: &str| {
        let mut c = fx.v3_cmd("batch", Verify::PublicKey);
        c.args(["--kind", kind, "--ledger"])
            .arg(&ledger)
            .arg(&images);
        c
    };
    let summary = |out: &Output, want: &str| {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
        assert!(stderr(out).contains(want), "{want}: {}", stderr(out));
    };
    summary(&run(&mut v2(&fx)), "uploaded 2, skipped 1, failed 0");
    summary(
        &run(&mut v3(&fx, "image")),
        "uploaded 3, skipped 0, failed 0",
    );
    summary(
        &run(&mut v3(&fx, "image")),
        "uploaded 0, skipped 3, failed 0",
    );
    summary(&run(&mut v2(&fx)), "uploaded 0, skipped 3, failed 0");
    summary(
        &run(&mut v3(&fx, "video")),
        "uploaded 1, skipped 0, failed 0",
    );
    let out = run(&mut v3(&fx, "marketing-image"));
    summary(&out, "uploaded 3, skipped 0, failed 0");
    assert!(stdout(&out).lines().all(|l| l.starts_with("https://")));
    // Complaint images are their own upload: the same photos again, once.
    summary(
        &run(&mut v3(&fx, "complaint-image")),
        "uploaded 3, skipped 0, failed 0",
    );
    summary(
        &run(&mut v3(&fx, "complaint-image")),
        "uploaded 0, skipped 3, failed 0",
    );

    let entries = ledger_entries(&ledger);
    let count = |api: &str| {
        entries
            .iter()
            .filter(|e| e["status"] == "uploaded" && e["api"].as_str().unwrap_or("v2") == api)
            .count()
    };
    assert_eq!(count("v2"), 3);
    assert_eq!(count("v3-image"), 3);
    assert_eq!(count("v3-video"), 1);
    assert_eq!(count("v3-marketing-image"), 3);
    assert_eq!(count("v3-complaint-image"), 3);
    let url = entries
        .iter()
        .find(|e| e["api"] == "v3-marketing-image")
        .unwrap();
    assert!(url["media_url"].as_str().unwrap().starts_with("https://"));
    assert!(url.get("media_id").is_none());
    assert_eq!(fx.server.sim().upload_count(), 2 + 3 + 1 + 3 + 3);
}

#[test]
fn certificates_are_written_and_a_wrong_apiv3_key_exits_one() {
    let fx = fx();
    fx.platform_mode();
    let out_dir = fx.dir.path().join("certs");
    let out = run(fx
        .v3_cmd("certificates", Verify::ApiV3Key)
        .arg("--out")
        .arg(&out_dir));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let serial = fx.server.v3().keys().platform_serial_no().to_owned();
    let line = stdout(&out);
    let fields: Vec<_> = line.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "{line}");
    assert_eq!(fields[0], serial);
    assert!(fields[1] < fields[2], "not-before before not-after: {line}");
    let written = std::fs::read_to_string(out_dir.join(format!("wechatpay_{serial}.pem"))).unwrap();
    assert_eq!(
        written.trim(),
        fx.server.v3().keys().platform_cert_pem().trim()
    );
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1);

    // The saved certificate then verifies uploads.
    let a = fx.file("a.jpg", JPEG);
    let out = run(fx
        .v3_merchant("upload")
        .arg("--platform-cert")
        .arg(out_dir.join(format!("wechatpay_{serial}.pem")))
        .arg(&a));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // A wrong APIv3 key: the certificates do not decrypt.
    let wrong = "0123456789abcdefWRONGkey89abcdef";
    std::fs::write(fx.v3_key_file(), wrong).unwrap();
    let out = run(fx
        .v3_cmd("certificates", Verify::ApiV3Key)
        .arg("--out")
        .arg(fx.dir.path().join("certs2")));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(!stderr(&out).contains(wrong), "the key never shows");
    assert_eq!(
        std::fs::read_dir(fx.dir.path().join("certs2"))
            .unwrap()
            .count(),
        0
    );

    // No APIv3 key at all: a usage error, nothing sent.
    let before = fx.server.sim().request_count();
    let out = run(fx.v3_merchant("certificates").arg("--out").arg(&out_dir));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("APIv3 key"));
    assert_eq!(fx.server.sim().request_count(), before);
}

fn vector(name: &str) -> Value {
    let all: Value = serde_json::from_str(VECTORS).unwrap();
    all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
        .clone()
}

#[test]
fn sign_v3_matches_the_shared_vector_and_never_prints_the_key() {
    let case = vector("image_upload_request");
    let dir = TempDir::new().unwrap();
    let body = dir.path().join("meta.json");
    std::fs::write(&body, case["body"].as_str().unwrap()).unwrap();
    let sign = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wxmedia"));
        c.args(["sign", "--api", "v3", "--private-key"])
            .arg(data("v3_key.pem"))
            .args(["--method", case["method"].as_str().unwrap()])
            .args(["--url", case["url"].as_str().unwrap()])
            .args(["--timestamp", &case["timestamp"].to_string()])
            .args(["--nonce", case["nonce"].as_str().unwrap()])
            .arg("--body-file")
            .arg(&body)
            .args(extra)
            .env_remove("WXMEDIA_PRIVATE_KEY");
        run(&mut c)
    };
    let out = sign(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[0],
        case["message"].as_str().unwrap().replace('\n', "\\n")
    );
    assert_eq!(lines[1], case["signature"].as_str().unwrap());
    let key = std::fs::read_to_string(data("v3_key.pem")).unwrap();
    for key_line in key.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!text.contains(key_line) && !stderr(&out).contains(key_line));
    }

    let out = sign(&["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["message"], case["message"]);
    assert_eq!(v["signature"], case["signature"]);

    // The key from the environment; --cert-key as its other name.
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
        .args(["sign", "--api", "v3", "--method", "POST", "--url"])
        .arg(case["url"].as_str().unwrap())
        .args(["--timestamp", &case["timestamp"].to_string()])
        .args(["--nonce", case["nonce"].as_str().unwrap()])
        .arg("--body-file")
        .arg(&body)
        .env("WXMEDIA_PRIVATE_KEY", data("v3_key.pem")));
    assert_eq!(stdout(&out).lines().last(), Some(lines[1]));

    // Usage errors: a full URL, a missing nonce, a v2 option.
    for bad in [
        &[
            "--url",
            "https://api.mch.weixin.qq.com/v3/merchant/media/upload",
        ][..],
        &["--sign-type", "md5"],
    ] {
        let out = sign(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
        .args(["sign", "--api", "v3", "--method", "POST", "--url", "/v3/x"])
        .args(["--timestamp", "1", "--private-key"])
        .arg(data("v3_key.pem")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--nonce"), "{}", stderr(&out));
}

#[test]
fn verify_v3_accepts_the_vector_reply_and_refuses_its_tampered_body() {
    let case = vector("upload_reply");
    let dir = TempDir::new().unwrap();
    let good = dir.path().join("good.json");
    let bad = dir.path().join("tampered.json");
    std::fs::write(&good, case["body"].as_str().unwrap()).unwrap();
    std::fs::write(&bad, case["tampered_body_fails"].as_str().unwrap()).unwrap();
    // The SDK signed this reply in April 2019, two years before its
    // certificate's notBefore (2021-04-27): the signature is checked with
    // the same key given as a WeChat Pay public key, which has no validity.
    let verify = |body: &Path, extra: &[&str]| {
        run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
            .args(["verify", "--api", "v3", "--wechatpay-public-key"])
            .arg(data("v3_public_key.pem"))
            .args(["--wechatpay-public-key-id", "PUB_KEY_ID_0114"])
            .args([
                "--wechatpay-timestamp",
                case["wechatpay_timestamp"].as_str().unwrap(),
            ])
            .args([
                "--wechatpay-nonce",
                case["wechatpay_nonce"].as_str().unwrap(),
            ])
            .args(["--wechatpay-serial", "PUB_KEY_ID_0114"])
            .args([
                "--wechatpay-signature",
                case["wechatpay_signature"].as_str().unwrap(),
            ])
            .args(extra)
            .arg(body))
    };
    // The certificate itself refuses a reply from before its validity.
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
        .args(["verify", "--api", "v3", "--platform-cert"])
        .arg(data("v3_cert.pem"))
        .args([
            "--wechatpay-timestamp",
            case["wechatpay_timestamp"].as_str().unwrap(),
        ])
        .args([
            "--wechatpay-nonce",
            case["wechatpay_nonce"].as_str().unwrap(),
        ])
        .args([
            "--wechatpay-serial",
            case["wechatpay_serial"].as_str().unwrap(),
        ])
        .args([
            "--wechatpay-signature",
            case["wechatpay_signature"].as_str().unwrap(),
        ])
        .arg(&good));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("expired or not yet valid"),
        "{}",
        stderr(&out)
    );
    let out = verify(&good, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = verify(&bad, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));
    // Judged at a time long after: the window is checked when asked for.
    let out = verify(&good, &["--reply-time", "1700000000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("300 s"), "{}", stderr(&out));
    // A key that did not sign it.
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
        .args(["verify", "--api", "v3", "--wechatpay-public-key"])
        .arg(data("v3_other_public_key.pem"))
        .args(["--wechatpay-public-key-id", "PUB_KEY_ID_0123456789"])
        .args([
            "--wechatpay-timestamp",
            case["wechatpay_timestamp"].as_str().unwrap(),
        ])
        .args([
            "--wechatpay-nonce",
            case["wechatpay_nonce"].as_str().unwrap(),
        ])
        .args(["--wechatpay-serial", "PUB_KEY_ID_0123456789"])
        .args([
            "--wechatpay-signature",
            case["wechatpay_signature"].as_str().unwrap(),
        ])
        .arg(&good));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Usage errors: nothing to verify with, a missing header.
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
        .args(["verify", "--api", "v3", "--wechatpay-timestamp", "1"])
        .args(["--wechatpay-nonce", "n", "--wechatpay-serial", "s"])
        .args(["--wechatpay-signature", "x"])
        .arg(&good));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
        .args(["verify", "--api", "v3", "--platform-cert"])
        .arg(data("v3_cert.pem"))
        .arg(&good));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn demo_shows_v3_rows_for_each_transport_and_upload() {
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia")).arg("demo"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let header: Vec<_> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[..2], ["TRANSPORT", "API"]);
    for transport in ["hyper", "surf", "blocking"] {
        for api in wxmedia_proto::v3::Api::ALL
            .iter()
            .map(|a| format!("v3-{a}"))
        {
            let api = api.as_str();
            let rows: Vec<_> = text
                .lines()
                .filter(|l| {
                    let mut f = l.split_whitespace();
                    f.next() == Some(transport) && f.next() == Some(api)
                })
                .collect();
            assert_eq!(rows.len(), 1, "{transport} {api}: {text}");
            assert!(!rows[0].contains("FAILED"), "{}", rows[0]);
        }
        let v2 = text
            .lines()
            .filter(|l| l.starts_with(transport) && l.split_whitespace().nth(1) == Some("v2"))
            .count();
        assert_eq!(
            v2, 8,
            "{transport}: two sign types x four samples (the fitted HEIC too)"
        );
    }
}

/// `--kind fapiao-file` uploads a PDF and prints its `fapiao_media_id`; a
/// PDF cut short and an image are refused before sending, and `--fit` is a
/// usage error (a PDF is never changed).
#[test]
fn a_fapiao_pdf_is_uploaded_whole_and_never_fitted() {
    let fx = fx();
    let pdf = wxmedia_sim::samples::PDF;
    let file = fx.file("invoice.pdf", pdf);
    let mut c = fx.v3_cmd("upload", Verify::PublicKey);
    c.args(["--kind", "fapiao-file", "--json"]).arg(&file);
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(line["fapiao_media_id"].is_string(), "{line}");
    let cut = fx.file("cut.pdf", &pdf[..pdf.len() - 30]);
    let image = fx.file("a.jpg", JPEG);
    for refused in [&cut, &image] {
        let mut c = fx.v3_cmd("upload", Verify::PublicKey);
        c.args(["--kind", "fapiao-file"]).arg(refused);
        let out = run(&mut c);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    }
    let mut c = fx.v3_cmd("upload", Verify::PublicKey);
    c.args(["--kind", "fapiao-file", "--fit"]).arg(&file);
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("PDFs are sent as they are"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fx.server.sim().upload_count(), 1);
}

/// `--kind global-file` takes a PDF and a photo in one command: with
/// `--fit` the photo is fitted and the PDF sent byte for byte (its
/// SHA-256 is the meta's `digest`), each with its `file_id`; a text file
/// is refused before sending.
#[test]
fn global_files_take_pdfs_as_they_are_and_fit_photos() {
    let fx = fx();
    let pdf = wxmedia_sim::samples::PDF;
    let contract = fx.file("contract.pdf", pdf);
    let photo = fx.file("licence.jpg", JPEG);
    let mut c = fx.v3_cmd("upload", Verify::PublicKey);
    c.args(["--kind", "global-file", "--fit", "--json"])
        .arg(&contract)
        .arg(&photo);
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{}", stdout(&out));
    for v in &lines {
        assert!(v["file_id"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    }
    let sha256 = wxmedia_proto::Media::document("c.pdf", pdf)
        .unwrap()
        .sha256_hex()
        .to_owned();
    let received = fx.server.sim().received();
    assert!(
        received
            .iter()
            .any(|r| r.field("digest") == Some(sha256.as_str())),
        "the PDF went unchanged"
    );
    let text = fx.file("ids.txt", b"a\nb\n");
    let mut c = fx.v3_cmd("upload", Verify::PublicKey);
    c.args(["--kind", "global-file"]).arg(&text);
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(fx.server.sim().upload_count(), 2);
}

/// `--path` reaches an endpoint wxmedia does not name: the shopping
/// receipt described on the command line (no file name, the order's
/// members, the phone number sealed from a file with `@`), which the
/// simulator opens; the fapiao file with an SM3 digest. The verified
/// reply is printed whole (plain: one JSON line; `--json`: under
/// `reply`).
#[test]
fn a_custom_path_sends_members_and_seals_what_is_marked() {
    let fx = fx();
    let receipt = fx.file("receipt.png", PNG);
    let phone = fx.file("phone.txt", b"0755-86013388\n");
    let mut c = fx.v3_cmd("upload", Verify::PublicKey);
    c.args(["--path", "/v3/marketing/shopping-receipt/shoppingreceipts"])
        .args([
            "--max-size",
            "200KiB",
            "--accept",
            "jpg,png",
            "--no-file-name",
        ])
        .args(["--meta", "transaction_id=4200000008202209139188072801"])
        .args(["--meta", "transaction_mchid=1230000109"])
        .args(["--meta", "upload_time=2026-12-07T15:39:35.000+08:00"])
        .arg("--meta-encrypted")
        .arg(format!(
            "merchant_contact_information.consultation_phone_number=@{}",
            phone.display()
        ))
        .arg("--json")
        .arg(&receipt);
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = &json_lines(&out)[0];
    assert_eq!(
        v["reply"]["receipt"]["transaction_id"], "4200000008202209139188072801",
        "{v}"
    );
    assert!(v["request_id"].is_string(), "{v}");
    let last = fx.server.sim().received().pop().unwrap();
    let phone_sha256 = wxmedia_proto::Media::text("p.txt", &b"0755-86013388"[..])
        .unwrap()
        .sha256_hex()
        .to_owned();
    assert_eq!(
        last.field("consultation_phone_number"),
        Some(format!("sha256:{phone_sha256}").as_str()),
        "the simulator opened the number sealed from the file"
    );
    assert!(!stderr(&out).contains("0755"), "{}", stderr(&out));

    let pdf = fx.file("invoice.pdf", wxmedia_sim::samples::PDF);
    let mut c = fx.v3_cmd("upload", Verify::PublicKey);
    c.args([
        "--path",
        "/v3/new-tax-control-fapiao/fapiao-applications/upload-fapiao-file",
        "--accept",
        "pdf",
        "--no-file-name",
        "--digest",
        "sm3",
        "--digest-field",
        "digest",
        "--meta",
        "file_type=PDF",
        "--meta",
        "digest_alogrithm=SM3",
    ])
    .arg(&pdf);
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reply: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(reply["fapiao_media_id"].is_string(), "{reply}");

    // An endpoint taking text and photos: with --fit the photo is fitted
    // and the CSV (no magic bytes: known by its extension) sent as it is.
    let csv = fx.file("ids.csv", b"id\n1\n");
    let mut c = fx.v3_cmd("upload", Verify::PublicKey);
    c.args([
        "--path",
        wxmedia_sim::TEST_UPLOAD_PATH,
        "--accept",
        "csv,jpg",
        "--fit",
        "--json",
    ])
    .arg(&csv);
    let out = run(&mut c);
    // The simulator's test path takes images only: the CSV reached it
    // unfitted and was refused there, not by the fit.
    assert!(!stderr(&out).contains("cannot fit"), "{}", stderr(&out));
    let last = fx.server.sim().received().pop().unwrap();
    assert_eq!(last.media_len, 5, "the CSV went as it is");
}

/// What `--path` refuses before anything is sent, as usage errors that
/// never repeat a sealed value: a value too long to seal, a member named
/// twice, an unknown extension, an absurd size, `--path` beside `--kind`
/// or in a batch, and its options without it.
#[test]
fn a_custom_path_refuses_bad_descriptions_unsent() {
    let fx = fx();
    let image = fx.file("a.jpg", JPEG);
    let secret = "1".repeat(300);
    let receipt_path = "/v3/marketing/shopping-receipt/shoppingreceipts";
    let cases: Vec<Vec<String>> = vec![
        vec![
            "--path".into(),
            receipt_path.into(),
            "--meta-encrypted".into(),
            format!("phone={secret}"),
        ],
        vec![
            "--path".into(),
            receipt_path.into(),
            "--meta".into(),
            "a=1".into(),
            "--meta".into(),
            "a.b=2".into(),
        ],
        vec![
            "--path".into(),
            receipt_path.into(),
            "--accept".into(),
            "gif".into(),
        ],
        vec![
            "--path".into(),
            receipt_path.into(),
            "--max-size".into(),
            "3GiB".into(),
        ],
        vec!["--path".into(), "/v3/../v2/x".into()],
        vec![
            "--path".into(),
            receipt_path.into(),
            "--kind".into(),
            "image".into(),
        ],
        vec!["--meta".into(), "a=1".into()],
    ];
    for args in &cases {
        let mut c = fx.v3_cmd("upload", Verify::PublicKey);
        c.args(args).arg(&image);
        let out = run(&mut c);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains(&secret[..20]), "{}", stderr(&out));
    }
    let mut c = fx.v3_cmd("batch", Verify::PublicKey);
    c.args(["--path", receipt_path, "--ledger"])
        .arg(fx.dir.path().join("ledger.jsonl"))
        .arg(&image);
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--path is for `wxmedia upload`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fx.server.sim().request_count(), 0, "nothing was sent");
}
