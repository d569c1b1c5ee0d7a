//! `wxmedia doctor` as a process: each offline check failing on the mistake it is for, built from simulator state and test keys, the online checks against the simulator (a good set-up, a skewed clock, a refused signature), the JSON shape and the exit statuses.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use wxmedia_sim::DevPki;

mod common;

use common::{Fx, Verify, fx, spawn_sim, text};

/// `wxmedia doctor --api <api>` for the fixture's merchant and simulator.
fn doctor(fx: &Fx, api: &str) -> Command {
    let mut c = fx.bare();
    c.args(["doctor", "--api", api, "--mch-id"])
        .arg(fx.server.sim().mch_id());
    fx.server_flags(&mut c);
    c
}

/// The v3 merchant's key and certificate, nothing to verify replies yet.
fn merchant(fx: &Fx) -> Command {
    fx.v3_merchant("doctor")
}

/// A good v3 set-up in public-key mode, the simulator's default.
fn v3_public_key(fx: &Fx) -> Command {
    fx.v3_cmd("doctor", Verify::PublicKey)
}

/// The checks of a `--json` run, and its exit status.
fn run_json(c: &mut Command) -> (Vec<Value>, Option<i32>) {
    let out = c.arg("--json").output().unwrap();
    let checks = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (checks, out.status.code())
}

/// The one check named `name`.
fn check<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    let found: Vec<&Value> = checks.iter().filter(|c| c["check"] == name).collect();
    assert_eq!(found.len(), 1, "{name} in {checks:#?}");
    found[0]
}

fn status<'a>(checks: &'a [Value], name: &str) -> &'a str {
    check(checks, name)["status"].as_str().unwrap()
}

fn message<'a>(checks: &'a [Value], name: &str) -> &'a str {
    check(checks, name)["message"].as_str().unwrap()
}

fn failed(checks: &[Value]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["check"].as_str().unwrap())
        .collect()
}

#[test]
fn a_good_v3_setup_passes_every_check_offline_and_online() {
    let fx = fx();
    let (checks, code) = run_json(&mut v3_public_key(&fx));
    assert_eq!(code, Some(0), "{checks:#?}");
    for name in [
        "merchant-id",
        "private-key",
        "merchant-certificate",
        "key-matches-certificate",
        "serial-no",
        "merchant-certificate-validity",
        "wechatpay-public-key",
        "reply-verification",
        "clock",
        "signature",
        "reply-signature",
    ] {
        assert_eq!(status(&checks, name), "ok", "{name}: {checks:#?}");
    }
    // The serial as WeChat Pay writes it, and public-key mode recognised
    // from the 404 the real API answers such merchants.
    let serial = fx.server.v3().keys().merchant_serial_no().to_owned();
    assert_eq!(check(&checks, "serial-no")["values"]["serial_no"], serial);
    assert!(message(&checks, "signature").contains("public-key mode"));
    // Nothing was uploaded: the probe is one signed GET.
    assert_eq!(fx.server.sim().upload_count(), 0);
}

#[test]
fn a_good_platform_certificate_setup_reads_the_listing_with_the_api_v3_key() {
    let fx = fx();
    fx.platform_mode();
    let mut c = merchant(&fx);
    c.arg("--api-v3-key-file")
        .arg(fx.v3_key_file())
        .arg("--platform-cert")
        .arg(fx.server.pki().platform_cert_path());
    let (checks, code) = run_json(&mut c);
    assert_eq!(code, Some(0), "{checks:#?}");
    for name in [
        "platform-certificate",
        "api-v3-key",
        "signature",
        "reply-signature",
    ] {
        assert_eq!(status(&checks, name), "ok", "{name}: {checks:#?}");
    }
    let platform = fx.server.v3().keys().platform_serial_no().to_owned();
    assert!(
        message(&checks, "certificates").contains(&platform),
        "{checks:#?}"
    );
}

#[test]
fn a_good_v2_setup_passes_mutual_tls_on_every_transport_and_uploads_nothing() {
    let fx = fx();
    for transport in ["hyper", "surf", "blocking"] {
        let mut c = fx.cmd("doctor");
        c.args(["--transport", transport]);
        let (checks, code) = run_json(&mut c);
        assert_eq!(code, Some(0), "{transport}: {checks:#?}");
        for name in [
            "merchant-id",
            "api-key",
            "client-certificate",
            "client-certificate-validity",
            "client-certificate-subject",
            "mutual-tls",
            "clock",
            "proxy",
        ] {
            assert_eq!(
                status(&checks, name),
                "ok",
                "{transport} {name}: {checks:#?}"
            );
        }
        // The handshake's root and version: the simulator's dev CA is not
        // WeChat Pay's root, which is worth a warning, and it says so.
        let root = check(&checks, "server-root");
        assert_eq!(root["status"], "warn", "{transport}: {root:#?}");
        assert_eq!(root["values"]["root"], "wxmedia simulator dev CA");
        assert_eq!(root["values"]["tls_version"], "TLS 1.3");
        assert!(
            message(&checks, "server-root").contains("DigiCert Global Root G2"),
            "{root:#?}"
        );
    }
    assert_eq!(fx.server.sim().upload_count(), 0);
}

/// A second development PKI's merchant key, different from the fixture's.
fn other_key(fx: &Fx, dir: &Path) -> PathBuf {
    let other = DevPki::load_or_create(dir, fx.server.sim().mch_id()).unwrap();
    let ours = std::fs::read_to_string(fx.server.pki().client_key_path()).unwrap();
    // The keys come from a small shared pool: take another if this one
    // happens to be ours.
    let mut key = std::fs::read_to_string(other.client_key_path()).unwrap();
    while key == ours {
        key = other.issue_client("1900000109", true).unwrap().key_pem;
    }
    fx.file("other_key.pem", key.as_bytes())
}

#[test]
fn a_key_from_another_pki_fails_the_key_match() {
    let fx = fx();
    let dir = tempfile::TempDir::new().unwrap();
    let key = other_key(&fx, dir.path());
    let mut c = doctor(&fx, "v3");
    c.arg("--private-key")
        .arg(&key)
        .arg("--cert")
        .arg(fx.server.pki().client_cert_path())
        .arg("--api-v3-key-file")
        .arg(fx.v3_key_file())
        .arg("--offline");
    let (checks, code) = run_json(&mut c);
    assert_eq!(code, Some(1));
    assert_eq!(failed(&checks), ["key-matches-certificate"], "{checks:#?}");
    let m = message(&checks, "key-matches-certificate");
    assert!(
        m.contains("does not belong") && m.contains("SIGN_ERROR"),
        "{m}"
    );
    let files = &check(&checks, "key-matches-certificate")["files"];
    assert_eq!(files[0], key.display().to_string());
}

#[test]
fn an_expired_merchant_certificate_fails_its_validity_and_nothing_else() {
    let fx = fx();
    let pki = fx.server.pki();
    // The merchant's own key and id, in a certificate that ended in 2021.
    let key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(pki.client_key_path()).unwrap()).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, fx.server.sim().mch_id());
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let expired = fx.file(
        "expired.pem",
        params.self_signed(&key).unwrap().pem().as_bytes(),
    );
    let mut c = doctor(&fx, "v3");
    c.arg("--private-key")
        .arg(pki.client_key_path())
        .arg("--cert")
        .arg(&expired)
        .arg("--api-v3-key-file")
        .arg(fx.v3_key_file())
        .arg("--offline");
    let (checks, code) = run_json(&mut c);
    assert_eq!(code, Some(1));
    assert_eq!(
        failed(&checks),
        ["merchant-certificate-validity"],
        "{checks:#?}"
    );
    let m = message(&checks, "merchant-certificate-validity");
    assert!(m.contains("expired 2021-01-01"), "{m}");
    assert_eq!(status(&checks, "key-matches-certificate"), "ok");
}

#[test]
fn the_merchant_certificate_given_as_a_platform_certificate_fails() {
    let fx = fx();
    let mut c = merchant(&fx);
    c.arg("--platform-cert")
        .arg(fx.server.pki().client_cert_path())
        .arg("--offline");
    let (checks, code) = run_json(&mut c);
    assert_eq!(code, Some(1));
    let m = message(&checks, "platform-certificate");
    assert!(
        m.contains("this is your merchant certificate, not a WeChat Pay platform certificate"),
        "{m}"
    );
    // It was the only way to verify replies given, so none is left.
    assert_eq!(
        failed(&checks),
        ["platform-certificate", "reply-verification"]
    );
}

#[test]
fn a_platform_certificate_given_as_the_merchant_certificate_fails() {
    let fx = fx();
    let mut c = doctor(&fx, "v3");
    c.arg("--private-key")
        .arg(fx.server.pki().client_key_path())
        .arg("--cert")
        .arg(fx.server.pki().platform_cert_path())
        .arg("--api-v3-key-file")
        .arg(fx.v3_key_file())
        .arg("--offline");
    let (checks, code) = run_json(&mut c);
    assert_eq!(code, Some(1));
    assert_eq!(status(&checks, "merchant-certificate"), "fail");
    assert!(message(&checks, "merchant-certificate").contains("平台证书"));
}

#[test]
fn a_31_byte_api_v3_key_fails_saying_its_length_not_the_key() {
    let fx = fx();
    let key = fx.server.v3().keys().api_v3_key().to_owned();
    let short = fx.file("short.key", format!("{}\n", &key[..31]).as_bytes());
    let mut c = merchant(&fx);
    c.arg("--api-v3-key-file").arg(&short).arg("--offline");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("api-v3-key"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.starts_with("FAIL") && line.contains("31 bytes"),
        "{line}"
    );
    assert!(!stdout.contains(&key[..31]), "the key is never printed");
}

#[test]
fn a_serial_that_is_not_the_certificates_fails_naming_both() {
    let fx = fx();
    let platform_serial = fx.server.v3().keys().platform_serial_no().to_owned();
    let wrong = "1234ABCD";
    for (serial, says) in [
        (wrong, "is not that of"),
        (platform_serial.as_str(), "platform certificate"),
        ("PUB_KEY_ID_0114232134912410000", "微信支付公钥ID"),
    ] {
        let mut c = v3_public_key(&fx);
        c.args(["--serial-no", serial, "--offline"]);
        // A platform certificate beside it, so that its serial is known.
        c.arg("--platform-cert")
            .arg(fx.server.pki().platform_cert_path());
        let (checks, code) = run_json(&mut c);
        assert_eq!(code, Some(1), "{serial}");
        assert_eq!(failed(&checks), ["serial-no"], "{serial}: {checks:#?}");
        assert!(message(&checks, "serial-no").contains(says), "{checks:#?}");
    }
}

#[test]
fn a_wrong_serial_alone_is_explained_with_the_servers_words_and_what_was_signed() {
    let fx = fx();
    let pki = fx.server.pki();
    let mut c = doctor(&fx, "v3");
    c.arg("--private-key")
        .arg(pki.client_key_path())
        .args(["--serial-no", "1234ABCD"])
        .arg("--wechatpay-public-key")
        .arg(pki.wechatpay_public_key_path())
        .arg("--wechatpay-public-key-id")
        .arg(fx.server.v3().keys().wechatpay_public_key_id());
    let (checks, code) = run_json(&mut c);
    assert_eq!(code, Some(1));
    // Offline the serial cannot be checked without the certificate; the
    // server refuses it.
    assert_eq!(status(&checks, "merchant-certificate"), "warn");
    assert_eq!(failed(&checks), ["signature"], "{checks:#?}");
    let signature = check(&checks, "signature");
    let m = signature["message"].as_str().unwrap();
    assert!(
        m.contains("401 SIGN_ERROR") && m.contains("商户证书序列号有误"),
        "{m}"
    );
    assert!(
        signature["values"]["signed_message"]
            .as_str()
            .unwrap()
            .starts_with("GET\\n/v3/certificates\\n")
    );
    assert!(signature["values"]["request_id"].is_string());
}

#[test]
fn a_wrong_api_v3_key_is_found_by_the_listing_it_cannot_open() {
    let fx = fx();
    fx.platform_mode();
    let wrong = fx.file("wrong.key", b"0123456789abcdefghijklmnopqrstuv\n");
    let mut c = merchant(&fx);
    c.arg("--api-v3-key-file").arg(&wrong);
    let (checks, code) = run_json(&mut c);
    assert_eq!(code, Some(1));
    // Offline the key is the right length; online it does not decrypt.
    let keys: Vec<&Value> = checks
        .iter()
        .filter(|c| c["check"] == "api-v3-key")
        .collect();
    assert_eq!(keys.len(), 2, "{checks:#?}");
    assert_eq!(
        (keys[0]["status"].as_str(), keys[1]["status"].as_str()),
        (Some("ok"), Some("fail"))
    );
    assert!(
        keys[1]["message"]
            .as_str()
            .unwrap()
            .contains("does not decrypt")
    );
}

#[test]
fn public_key_mode_without_the_public_key_fails_the_reply_signature() {
    let fx = fx();
    let mut c = merchant(&fx);
    c.arg("--api-v3-key-file").arg(fx.v3_key_file());
    let (checks, code) = run_json(&mut c);
    assert_eq!(code, Some(1));
    assert_eq!(status(&checks, "signature"), "ok");
    assert_eq!(failed(&checks), ["reply-signature"], "{checks:#?}");
    assert!(message(&checks, "reply-signature").contains("public-key mode is on"));
}

#[test]
fn a_client_certificate_of_another_ca_fails_mutual_tls() {
    let fx = fx();
    let dir = tempfile::TempDir::new().unwrap();
    let other = DevPki::load_or_create(dir.path(), fx.server.sim().mch_id()).unwrap();
    let mut c = fx.bare();
    c.args([
        "doctor",
        "--mch-id",
        fx.server.sim().mch_id(),
        "--api-key-file",
    ])
    .arg(fx.key_file())
    .arg("--cert")
    .arg(other.client_cert_path())
    .arg("--cert-key")
    .arg(other.client_key_path());
    fx.server_flags(&mut c);
    let (checks, code) = run_json(&mut c);
    assert_eq!(code, Some(1));
    // Offline the pair is fine: only the server can refuse its CA.
    assert_eq!(failed(&checks), ["mutual-tls"], "{checks:#?}");
    assert_eq!(fx.server.sim().upload_count(), 0);
}

#[test]
fn a_directory_given_as_the_private_key_is_named_as_one() {
    let fx = fx();
    let state = fx.server.pki().dir().to_owned();
    let mut c = doctor(&fx, "v3");
    c.arg("--private-key")
        .arg(&state)
        .arg("--cert")
        .arg(fx.server.pki().client_cert_path())
        .arg("--api-v3-key-file")
        .arg(fx.v3_key_file())
        .arg("--offline");
    let (checks, code) = run_json(&mut c);
    assert_eq!(code, Some(1));
    let m = message(&checks, "private-key");
    assert!(m.contains("is a directory, not a private key file"), "{m}");
    // The state directory holds the key under its usual name.
    assert!(
        m.contains("did you mean") && m.contains("apiclient_key.pem"),
        "{m}"
    );
    // v2's key file too.
    let mut c = fx.bare();
    c.args(["doctor", "--offline", "--mch-id", fx.server.sim().mch_id()])
        .arg("--api-key-file")
        .arg(&state)
        .arg("--cert")
        .arg(fx.server.pki().client_cert_path())
        .arg("--cert-key")
        .arg(fx.server.pki().client_key_path());
    let (checks, code) = run_json(&mut c);
    assert_eq!(code, Some(1));
    assert_eq!(failed(&checks), ["api-key"], "{checks:#?}");
    assert!(
        message(&checks, "api-key").contains("a directory"),
        "{checks:#?}"
    );
}

#[test]
fn json_gives_one_object_per_check_with_its_files_and_values_and_no_secret() {
    let fx = fx();
    let mut c = v3_public_key(&fx);
    c.arg("--api-v3-key-file").arg(fx.v3_key_file());
    let out = c.arg("--json").output().unwrap();
    let stdout = text(&out.stdout);
    assert!(!stdout.contains(&fx.server.v3().keys().api_v3_key().to_owned()));
    let key = std::fs::read_to_string(fx.server.pki().client_key_path()).unwrap();
    let body = key.lines().nth(1).unwrap();
    assert!(!stdout.contains(body), "no key material");
    for l in stdout.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        let obj = v.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["check", "files", "message", "status", "values"],
            "{l}"
        );
        assert!(["ok", "warn", "fail"].contains(&v["status"].as_str().unwrap()));
        assert!(v["files"].is_array() && v["values"].is_object());
    }
    let (checks, _) = run_json(&mut v3_public_key(&fx));
    let key_check = check(&checks, "private-key");
    assert_eq!(
        key_check["files"][0],
        fx.server.pki().client_key_path().display().to_string()
    );
    let skew = check(&checks, "clock")["values"]["skew_secs"]
        .as_str()
        .unwrap();
    assert!(skew.parse::<i64>().unwrap().abs() <= 2, "{skew}");
}

#[test]
fn text_output_is_one_line_per_check_with_its_status_first() {
    let fx = fx();
    let out = merchant(&fx)
        .arg("--platform-cert")
        .arg(fx.server.pki().client_cert_path())
        .arg("--offline")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines
            .iter()
            .all(|l| ["ok ", "warn", "FAIL"].iter().any(|s| l.starts_with(s))),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("FAIL platform-certificate")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ok   key-matches-certificate")),
        "{stdout}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let fx = fx();
    let pki = fx.server.pki();
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec!["doctor".into(), "--api".into(), "v3".into()],
            "no merchant id",
        ),
        (
            vec![
                "doctor".into(),
                "--mch-id".into(),
                "1900000109".into(),
                "--api".into(),
                "v3".into(),
                "--api-key-file".into(),
                fx.key_file().into(),
            ],
            "APIv2 options",
        ),
        (
            vec![
                "doctor".into(),
                "--mch-id".into(),
                "1".into(),
                "--api".into(),
                "v3".into(),
                "--private-key".into(),
                pki.client_key_path().into(),
                "--cert-key".into(),
                pki.client_cert_path().into(),
            ],
            "different files",
        ),
        (
            vec![
                "doctor".into(),
                "--mch-id".into(),
                "1".into(),
                "--no-such-flag".into(),
            ],
            "unexpected argument",
        ),
        (
            vec![
                "doctor".into(),
                "--mch-id".into(),
                "1".into(),
                "--timeout".into(),
                "0".into(),
            ],
            "--timeout",
        ),
    ];
    for (args, says) in cases {
        let out = fx.bare().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "", "{args:?}");
    }
}

/// `wxmedia sim` as a process, killed when dropped.
struct Sim {
    child: Child,
    ready: Value,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sim(dir: &Path, extra: &[&str]) -> Sim {
    let (child, ready) = spawn_sim(dir, extra, Stdio::null());
    Sim { child, ready }
}

#[test]
fn a_clock_ten_minutes_off_fails_against_wxmedia_sim() {
    let dir = tempfile::TempDir::new().unwrap();
    let s = sim(&dir.path().join("state"), &["--clock-skew", "600"]);
    let r = |k: &str| s.ready[k].as_str().unwrap().to_owned();
    let bare = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wxmedia"));
        c.env_remove("WXMEDIA_MCH_ID").arg("doctor").args([
            "--mch-id",
            &r("mch_id"),
            "--endpoint",
            &r("endpoint"),
            "--ca",
            &r("ca_cert"),
        ]);
        c
    };
    let mut v3 = bare();
    v3.args([
        "--api",
        "v3",
        "--private-key",
        &r("client_key"),
        "--cert",
        &r("client_cert"),
    ])
    .args([
        "--wechatpay-public-key",
        &r("wechatpay_public_key"),
        "--wechatpay-public-key-id",
        &r("wechatpay_public_key_id"),
    ]);
    let (checks, code) = run_json(&mut v3);
    assert_eq!(code, Some(1), "{checks:#?}");
    let clock = check(&checks, "clock");
    assert_eq!(clock["status"], "fail");
    let skew: i64 = clock["values"]["skew_secs"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((-602..=-598).contains(&skew), "{skew}");
    assert!(
        clock["message"]
            .as_str()
            .unwrap()
            .contains("s behind the server's")
    );
    // The server refuses the request's timestamp, and the check says why.
    let m = message(&checks, "signature");
    assert!(
        m.contains("SIGN_ERROR") && m.contains("clock is off"),
        "{m}"
    );

    let key = dir.path().join("apiv2.key");
    std::fs::write(&key, r("api_key")).unwrap();
    let mut v2 = bare();
    v2.arg("--api-key-file").arg(&key).args([
        "--cert",
        &r("client_cert"),
        "--cert-key",
        &r("client_key"),
    ]);
    let (checks, code) = run_json(&mut v2);
    assert_eq!(code, Some(1), "{checks:#?}");
    assert_eq!(failed(&checks), ["clock"], "{checks:#?}");
    assert_eq!(status(&checks, "mutual-tls"), "ok");
}

#[test]
fn a_pkcs12_opens_with_the_merchant_id_and_fails_with_another_password() {
    let fx = fx();
    let archive = fx.p12_file();
    let v2 = |password: Option<&str>| {
        let mut c = fx.bare();
        c.args([
            "doctor",
            "--mch-id",
            fx.server.sim().mch_id(),
            "--api-key-file",
        ])
        .arg(fx.key_file())
        .arg("--p12")
        .arg(&archive);
        fx.server_flags(&mut c);
        match password {
            Some(p) => c.env("WXMEDIA_P12_PASSWORD", p),
            None => c.env_remove("WXMEDIA_P12_PASSWORD"),
        };
        run_json(&mut c)
    };
    let (checks, code) = v2(None);
    assert_eq!(code, Some(0), "{checks:#?}");
    assert_eq!(status(&checks, "mutual-tls"), "ok");
    let (checks, code) = v2(Some("nope"));
    assert_eq!(code, Some(1));
    assert_eq!(failed(&checks), ["client-certificate"], "{checks:#?}");
    assert!(message(&checks, "client-certificate").contains("wrong password"));
}
