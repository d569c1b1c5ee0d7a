//! `wxmedia certificates` and `--api-v3-key-file` uploads against a simulator serving a platform certificate outside its validity (issue 21, item 3): nothing saved, nothing uploaded, exit 1 with the certificate's own dates.

use std::process::Output;

use wxmedia_sim::{V3Config, V3Keys, V3KeysPem, V3Signer};

mod common;

use common::{Fx, JPEG, Verify, fx, text};

/// The key of every certificate below (made by
/// `wxmedia-proto/tests/data/validity/make.py`).
const KEY: &str = include_str!("../../wxmedia-proto/tests/data/v3_key.pem");
/// Serial 1E01, 2020-01-01 to 2023-01-01.
const EXPIRED: &str = include_str!("../../wxmedia-proto/tests/data/validity/expired.pem");
/// Serial 5D05, 2090-01-01 to 2099-01-01.
const FAR_FUTURE: &str = include_str!("../../wxmedia-proto/tests/data/validity/far_future.pem");
/// Serial 4B04, 2000-01-01 to 2099-12-31.
const LONG: &str = include_str!("../../wxmedia-proto/tests/data/validity/long.pem");

/// Make the simulator sign with, and list, `platform_cert` (whose key is
/// `KEY`), sealed with the fixture's APIv3 key.
fn serve_platform_cert(fx: &Fx, platform_cert: &str) {
    let merchant_cert = std::fs::read_to_string(fx.server.pki().client_cert_path()).unwrap();
    let current = fx.server.v3();
    let keys = V3Keys::from_pem(V3KeysPem {
        merchant_cert: &merchant_cert,
        platform_cert,
        platform_key: KEY,
        public_key_id: current.keys().wechatpay_public_key_id(),
        public_key_private: KEY,
        api_v3_key: current.keys().api_v3_key(),
    })
    .unwrap();
    fx.server
        .sim()
        .set_v3(V3Config::new(keys).with_signer(V3Signer::PlatformCert));
}

/// `wxmedia <sub>` for the fixture's merchant, verifying with the APIv3
/// key, within 20 s.
fn v3(fx: &Fx, sub: &str) -> std::process::Command {
    let mut c = fx.v3_cmd(sub, Verify::ApiV3Key);
    c.args(["--timeout", "20"]);
    c
}

fn certificates(fx: &Fx, out: &str) -> (Output, std::path::PathBuf) {
    let dir = fx.dir.path().join(out);
    let output = v3(fx, "certificates")
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    (output, dir)
}

#[test]
fn an_expired_platform_certificate_is_neither_saved_nor_trusted() {
    let fx = fx();
    serve_platform_cert(&fx, EXPIRED);
    let (out, dir) = certificates(&fx, "certs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let err = text(&out.stderr);
    assert!(
        err.contains("1E01") && err.contains("expired 2023-01-01T08:00:00+08:00"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing saved");

    // An upload that downloads the certificates itself does not trust it
    // either: nothing is uploaded.
    let a = fx.file("a.jpg", JPEG);
    let out = v3(&fx, "upload").arg(&a).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("1E01"), "{}", text(&out.stderr));
    assert_eq!(fx.server.sim().upload_count(), 0);
}

#[test]
fn a_platform_certificate_not_valid_yet_is_not_saved() {
    let fx = fx();
    serve_platform_cert(&fx, FAR_FUTURE);
    let (out, dir) = certificates(&fx, "certs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("5D05") && err.contains("not valid before 2090-01-01T08:00:00+08:00"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing saved");
}

#[test]
fn a_valid_certificate_is_saved_and_printed_with_its_own_dates() {
    let fx = fx();
    serve_platform_cert(&fx, LONG);
    let (out, dir) = certificates(&fx, "certs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "4B04 2000-01-01T08:00:00+08:00 2099-12-31T08:00:00+08:00\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("wechatpay_4B04.pem")).unwrap(),
        LONG
    );
}
