//! `wxmedia sim` as a process: one JSON line on stdout, serves real uploads, exits 0 on SIGTERM and SIGINT.

use std::io::Read;
use std::process::{Command, Stdio};

use serde_json::Value;
use wxmedia_proto::MediaHash;
use wxmedia_proto::v2::{ApiKey, SignType, StringToSign};

mod common;

use common::{JPEG, spawn_sim};

fn start(dir: &std::path::Path, extra: &[&str]) -> (std::process::Child, Value) {
    spawn_sim(dir, extra, Stdio::piped())
}

fn signal(child: &std::process::Child, sig: &str) {
    let status = Command::new("kill")
        .args(["-s", sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn prints_its_line_serves_an_upload_and_exits_zero_on_sigterm() {
    let dir = tempfile::TempDir::new().unwrap();
    let (mut child, ready) = start(
        dir.path(),
        &[
            "--mch-id",
            "1900000777",
            "--api-key",
            "simkey0123456789",
            "--api-v3-key",
            "simV3key0123456789abcdefghijklmn",
        ],
    );
    for k in [
        "endpoint",
        "mch_id",
        "api_key",
        "ca_cert",
        "client_cert",
        "client_key",
        "mch_serial_no",
        "wechatpay_public_key",
        "wechatpay_public_key_id",
        "platform_cert",
        "platform_serial_no",
        "api_v3_key",
        "v3_signer",
    ] {
        assert!(ready[k].is_string(), "{k} missing from {ready}");
    }
    assert_eq!(ready["api_v3_key"], "simV3key0123456789abcdefghijklmn");
    assert_eq!(ready["v3_signer"], "public-key");
    assert!(
        ready["wechatpay_public_key_id"]
            .as_str()
            .unwrap()
            .starts_with("PUB_KEY_ID_")
    );
    let serial = ready["mch_serial_no"].as_str().unwrap();
    assert!(
        !serial.is_empty()
            && serial
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
        "{serial}"
    );
    let pubkey = std::fs::read_to_string(ready["wechatpay_public_key"].as_str().unwrap()).unwrap();
    assert!(pubkey.starts_with("-----BEGIN PUBLIC KEY-----"), "{pubkey}");
    assert_eq!(ready["mch_id"], "1900000777");
    assert_eq!(ready["api_key"], "simkey0123456789");
    let endpoint = ready["endpoint"].as_str().unwrap();
    assert!(endpoint.starts_with("https://127.0.0.1:"));
    for k in [
        "ca_cert",
        "client_cert",
        "client_key",
        "wechatpay_public_key",
        "platform_cert",
    ] {
        let p = std::path::Path::new(ready[k].as_str().unwrap());
        assert!(p.is_absolute() && p.exists(), "{k}: {p:?}");
    }

    let file = dir.path().join("id.jpg");
    std::fs::write(&file, JPEG).unwrap();
    let hash = MediaHash::of(JPEG).to_string();
    let key = ApiKey::new("simkey0123456789").unwrap();
    let sign = StringToSign::new([("mch_id", "1900000777"), ("media_hash", hash.as_str())])
        .sign(&key, SignType::Md5);
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            ready["ca_cert"].as_str().unwrap(),
        ])
        .args([
            "--cert",
            ready["client_cert"].as_str().unwrap(),
            "--key",
            ready["client_key"].as_str().unwrap(),
        ])
        .args([
            "-F",
            "mch_id=1900000777",
            "-F",
            &format!("media_hash={hash}"),
            "-F",
            &format!("sign={sign}"),
        ])
        .args(["-F", &format!("media=@{}", file.display())])
        .arg(format!("{endpoint}/secapi/mch/uploadmedia"))
        .output()
        .unwrap();
    let media_id = wxmedia_proto::v2::reply::decode_reply(
        http::StatusCode::OK,
        out.stdout.into(),
        &key,
        SignType::Md5,
        65536,
    )
    .unwrap();
    assert!(!media_id.is_empty());

    signal(&child, "TERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut rest)
        .unwrap();
    // After the ready line, one line at the stop: what was served.
    let stopped: serde_json::Value = serde_json::from_str(rest.trim_end()).unwrap();
    assert_eq!(rest.lines().count(), 1, "{rest}");
    assert_eq!(stopped["stopped"]["uploads"], 1, "{rest}");
    assert_eq!(stopped["stopped"]["requests"], 1, "{rest}");
    assert_eq!(stopped["stopped"]["rate_limited"], 0, "{rest}");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(logs.contains("simulator listening"), "{logs}");
    assert!(
        !logs.contains("simkey0123456789"),
        "the key leaked into the logs"
    );
    assert!(
        !logs.contains("simV3key0123456789"),
        "the APIv3 key leaked into the logs"
    );
}

#[test]
fn exits_zero_on_sigint_and_reuses_its_state() {
    let dir = tempfile::TempDir::new().unwrap();
    // The limits' flags are taken (their effect is tested in wxmedia-sim).
    let (mut child, first) = start(
        dir.path(),
        &[
            "--max-connections",
            "8",
            "--body-read-timeout-ms",
            "5000",
            "--log-capacity",
            "10",
        ],
    );
    signal(&child, "INT");
    assert!(child.wait().unwrap().success());
    let ca = std::fs::read(first["ca_cert"].as_str().unwrap()).unwrap();
    let (mut child, second) = start(
        dir.path(),
        &["--unreachable", "--v3-signer", "platform-cert"],
    );
    assert_eq!(
        std::fs::read(second["ca_cert"].as_str().unwrap()).unwrap(),
        ca
    );
    // The v3 keys are kept too.
    for k in [
        "mch_serial_no",
        "wechatpay_public_key_id",
        "platform_serial_no",
        "api_v3_key",
    ] {
        assert_eq!(second[k], first[k], "{k}");
    }
    assert_eq!(second["v3_signer"], "platform-cert");
    signal(&child, "TERM");
    assert!(child.wait().unwrap().success());
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        &["sim"][..],
        &["sim", "--state", "x", "--system-error", "often"],
        &["sim", "--state", "x", "--system-error-probability", "2"],
        &["sim", "--state", "x", "--v3-signer", "both"],
        &["sim", "--state", "x", "--max-connections", "0"],
        &["sim", "--state", "x", "--body-read-timeout-ms", "0"],
        &["sim", "--state", "x", "--log-capacity", "-1"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_wxmedia"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
}

// Issue 14, item 12: `--addr 0.0.0.0:…` used to be taken silently, and the
// endpoint it printed did not work. (The address it then prints is checked
// in wxmedia-sim, without listening beyond loopback here.)
#[test]
fn a_non_loopback_address_is_refused_without_its_flag() {
    let dir = tempfile::TempDir::new().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wxmedia"))
        .args(["sim", "--state"])
        .arg(dir.path())
        .args(["--addr", "0.0.0.0:0", "--unreachable"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no ready line");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("--allow-non-loopback"),
        "{stderr}"
    );
    let (mut child, ready) = start(dir.path(), &["--allow-non-loopback", "--unreachable"]);
    let endpoint = ready["endpoint"].as_str().unwrap();
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    signal(&child, "TERM");
    assert!(child.wait().unwrap().success());
}

// Issue 21, item 7: `--v3-max-image-size` took any number, and
// 18446744073709551615 made the request body limit `usize::MAX`. Now it
// takes 1 byte to 64 MiB. A simulator that took the flag would serve until
// signalled, so each try is given a few seconds and then killed.
#[test]
fn an_absurd_v3_image_limit_is_a_usage_error() {
    let dir = tempfile::TempDir::new().unwrap();
    for size in ["18446744073709551615", "67108865", "0"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wxmedia"))
            .args(["sim", "--state"])
            .arg(dir.path())
            .args(["--unreachable", "--v3-max-image-size", size])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let Some(status) = status else {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("--v3-max-image-size {size} was taken: the simulator started");
        };
        assert_eq!(status.code(), Some(2), "--v3-max-image-size {size}");
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        assert!(stdout.is_empty(), "{stdout}");
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(stderr.contains("--v3-max-image-size"), "{stderr}");
    }
    // The cap itself is taken.
    let (mut child, _) = start(
        dir.path(),
        &["--unreachable", "--v3-max-image-size", "67108864"],
    );
    signal(&child, "TERM");
    assert!(child.wait().unwrap().success());
}
