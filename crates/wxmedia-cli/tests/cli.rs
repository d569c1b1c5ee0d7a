//! The `wxmedia` command line against an in-process simulator: exit statuses, output shapes, credentials, hostile replies, batch resume.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use wxmedia_sim::Times;

mod common;

use common::{JPEG, PNG, distinct_jpegs, fx, json_lines, run, stderr, stdout};

#[test]
fn upload_prints_one_media_id_per_file_and_exits_zero() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    let b = fx.file("b.png", PNG);
    let out = run(fx.cmd("upload").arg(&a).arg(&b));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<_> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l.len() == 44));
    assert_eq!(stderr(&out), "", "quiet on success");
    assert_eq!(fx.server.sim().upload_count(), 2);
}

#[test]
fn json_output_has_the_documented_shape() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    let out = run(fx
        .cmd("upload")
        .args(["--json", "--sign-type", "hmac-sha256"])
        .arg(&a));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = &json_lines(&out)[0];
    assert_eq!(v["file"], a.display().to_string());
    assert_eq!(v["sign_type"], "HMAC-SHA256");
    assert_eq!(
        v["media_hash"],
        wxmedia_proto::MediaHash::of(JPEG).to_string()
    );
    assert!(v["media_id"].as_str().unwrap().len() == 44);
}

#[test]
fn credentials_come_from_the_environment_too() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    let pki = fx.server.pki();
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
        .args(["upload", "--ca"])
        .arg(pki.ca_cert_path())
        .arg("--endpoint")
        .arg(fx.server.endpoint())
        .arg(&a)
        .env("WXMEDIA_MCH_ID", fx.server.sim().mch_id())
        .env("WXMEDIA_API_KEY", fx.server.sim().api_key().expose_secret())
        .env("WXMEDIA_CERT", pki.client_cert_path())
        .env("WXMEDIA_CERT_KEY", pki.client_key_path()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fx.server.sim().upload_count(), 1);
}

#[test]
fn pkcs12_with_the_merchant_id_as_password_works() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    let p12 = fx.p12_file();
    let pki = fx.server.pki();
    for transport in ["hyper", "surf", "blocking"] {
        let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
            .args([
                "upload",
                "--transport",
                transport,
                "--mch-id",
                fx.server.sim().mch_id(),
            ])
            .arg("--api-key-file")
            .arg(fx.key_file())
            .arg("--p12")
            .arg(&p12)
            .arg("--ca")
            .arg(pki.ca_cert_path())
            .arg("--endpoint")
            .arg(fx.server.endpoint())
            .arg(&a)
            .env_remove("WXMEDIA_P12_PASSWORD"));
        assert_eq!(out.status.code(), Some(0), "{transport}: {}", stderr(&out));
    }
    // A wrong password is a usage error that says so.
    let out = run(fx.cmd("upload").env("WXMEDIA_P12_PASSWORD", "nope"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_media_is_refused_with_exit_two_and_nothing_sent() {
    let fx = fx();
    let mut big = JPEG.to_vec();
    big.resize(2 * 1024 * 1024 + 1, 0);
    let cases = [
        fx.file("disguised.jpg", PNG),
        fx.file("empty.jpg", b""),
        fx.file("anim.gif", b"GIF89a...."),
        fx.file("big.jpg", &big),
        fx.dir.path().join("missing.jpg"),
    ];
    for file in &cases {
        let out = run(fx.cmd("upload").arg("--json").arg(file));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {}",
            file.display(),
            stderr(&out)
        );
        let v = &json_lines(&out)[0];
        assert!(
            v["error"]["kind"] == "media" || v["error"]["kind"] == "unreadable",
            "{v}"
        );
        assert!(
            stderr(&out).contains(&file.display().to_string()),
            "stderr names the file"
        );
    }
    assert_eq!(fx.server.sim().request_count(), 0, "nothing was sent");
    // One good and one bad file: the good one is uploaded, the status is 2.
    let good = fx.file("good.jpg", JPEG);
    let out = run(fx.cmd("upload").arg(&good).arg(&cases[0]));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out).lines().count(), 1);
    assert_eq!(fx.server.sim().upload_count(), 1);
}

#[test]
fn hostile_replies_exit_one_without_a_media_id() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    type Fault = fn(&mut wxmedia_sim::Faults);
    let faults: [(&str, Fault); 4] = [
        ("wrong sign", |f| f.wrong_sign = Times::Always),
        ("unsigned", |f| f.omit_sign = Times::Always),
        ("truncated", |f| f.truncate_reply = Times::Always),
        ("slow", |f| f.reply_delay = Duration::from_secs(10)),
    ];
    for (name, fault) in faults {
        fx.server.sim().set_faults(wxmedia_sim::Faults::default());
        fx.server.sim().update_faults(fault);
        let out = run(fx
            .cmd("upload")
            .args(["--json", "--timeout", "1.5"])
            .arg(&a));
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let v = &json_lines(&out)[0];
        assert!(
            v.get("media_id").is_none() && v["error"].is_object(),
            "{name}: {v}"
        );
    }
}

#[test]
fn an_api_error_names_the_file_and_the_code() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    std::fs::write(fx.key_file(), "wrong-key-0123456789").unwrap();
    let out = run(fx.cmd("upload").arg(&a));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("a.jpg") && err.contains("SIGNERROR"), "{err}");
    assert!(!err.contains("wrong-key-0123456789"), "the key never shows");
}

#[test]
fn missing_credentials_are_usage_errors() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
        .arg("upload")
        .arg(&a)
        .env_remove("WXMEDIA_MCH_ID"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("merchant id"));
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
        .args(["upload", "--mch-id", "1"])
        .arg(&a)
        .env_remove("WXMEDIA_API_KEY"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("API key"));
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia")).args([
        "upload",
        "--api-key",
        "x",
        "a.jpg",
    ]));
    assert_eq!(out.status.code(), Some(2), "there is no --api-key flag");
}

#[test]
fn sign_matches_every_shared_vector_and_never_prints_the_key() {
    let vectors: Value =
        serde_json::from_str(include_str!("../../wxmedia-proto/tests/data/v2.json")).unwrap();
    let dir = TempDir::new().unwrap();
    for case in vectors["cases"].as_array().unwrap() {
        let key = case["key"].as_str().unwrap();
        let key_file = dir.path().join("k");
        std::fs::write(&key_file, key).unwrap();
        let st = if case["sign_type"] == "MD5" {
            "md5"
        } else {
            "hmac-sha256"
        };
        let params: Vec<String> = case["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        if params.is_empty() {
            continue; // the command needs at least one parameter
        }
        let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
            .args(["sign", "--sign-type", st, "--api-key-file"])
            .arg(&key_file)
            .args(&params));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(
            stdout(&out).lines().last().unwrap(),
            case["sign"].as_str().unwrap(),
            "{}",
            case["name"]
        );
        assert!(!stdout(&out).contains(key) && !stderr(&out).contains(key));
        let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia"))
            .args(["sign", "--json", "--sign-type", st, "--api-key-file"])
            .arg(&key_file)
            .args(&params));
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["sign"], case["sign"]);
        let expected = case["string_to_sign"].as_str().unwrap().replace(key, "***");
        assert_eq!(v["string_to_sign"], expected);
    }
}

#[test]
fn verify_accepts_a_good_reply_and_refuses_a_tampered_one() {
    let vectors: Value =
        serde_json::from_str(include_str!("../../wxmedia-proto/tests/data/v2.json")).unwrap();
    let r = &vectors["response_xml"];
    let dir = TempDir::new().unwrap();
    let key_file = dir.path().join("k");
    std::fs::write(&key_file, r["key"].as_str().unwrap()).unwrap();
    let verify = |body: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wxmedia"))
            .args(["verify", "--sign-type", "md5", "--api-key-file"])
            .arg(&key_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap().status.code()
    };
    let xml = r["xml"].as_str().unwrap();
    assert_eq!(verify(xml), Some(0));
    assert_eq!(verify(&xml.replace("H1ih", "X1ih")), Some(1));
    assert_eq!(verify("<html>502</html>"), Some(2));
}

#[test]
fn demo_exits_zero() {
    let out = run(Command::new(env!("CARGO_BIN_EXE_wxmedia")).arg("demo"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().count(),
        1 + 3 * 2 * 4 + 3 * wxmedia_proto::v3::Api::ALL.len(),
        "header + transports x sign types x samples (v2: three images and the fitted HEIC) + transports x built-in uploads (v3)"
    );
    // The iPhone HEIC is fitted (turned upright, GPS removed) and uploaded
    // as the JPEG it became, on every transport.
    let fitted = stderr(&out);
    assert!(
        fitted.contains("fitted iphone.heic: HEIC 512×384")
            && fitted.contains("rotated 90° clockwise"),
        "{fitted}"
    );
    assert!(fitted.contains("GPS"), "{fitted}");
    assert_eq!(
        stdout(&out)
            .lines()
            .filter(|l| l.contains("iphone.jpg"))
            .count(),
        3 * 2
    );
    // The demo's simulator keeps WeChat Pay's limits and the clients keep
    // them too: every request is an upload, none is refused for the rate.
    let uploads = stdout(&out).lines().count() - 1;
    let summary =
        format!("verified {uploads} uploads ({uploads} requests, 0 refused as FREQUENCY_LIMITED)");
    assert!(stderr(&out).contains(&summary), "{}", stderr(&out));
}

fn ledger_entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn batch_resumes_after_a_kill_without_losing_or_repeating_files() {
    let fx = fx();
    let images = distinct_jpegs(fx.dir.path(), 40);
    let ledger = fx.dir.path().join("ledger.jsonl");
    fx.server
        .sim()
        .update_faults(|f| f.reply_delay = Duration::from_millis(60));
    let mut child = fx
        .cmd("batch")
        .args(["--concurrency", "4", "--ledger"])
        .arg(&ledger)
        .arg(&images)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while ledger_entries(&ledger).len() < 10 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the batch made no progress"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = ledger_entries(&ledger).len();
    assert!(before < 40, "killed midway ({before} done)");

    fx.server
        .sim()
        .update_faults(|f| f.reply_delay = Duration::ZERO);
    let out = run(fx.cmd("batch").arg("--ledger").arg(&ledger).arg(&images));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("skipped {before}")),
        "{}",
        stderr(&out)
    );

    let entries = ledger_entries(&ledger);
    let mut hashes: Vec<_> = entries
        .iter()
        .filter(|e| e["status"] == "uploaded")
        .map(|e| e["media_hash"].as_str().unwrap().to_owned())
        .collect();
    let total = hashes.len();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), 40, "every file is in the ledger");
    assert_eq!(total, 40, "no file is recorded twice");
    // At most the uploads in flight at the kill were sent twice.
    let sent = fx.server.sim().upload_count();
    assert!(
        (40..=44).contains(&sent),
        "{sent} uploads reached the simulator"
    );

    // A third run has nothing left to do.
    let out = run(fx.cmd("batch").arg("--ledger").arg(&ledger).arg(&images));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("uploaded 0, skipped 40, failed 0"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn batch_retries_failed_files_on_the_next_run() {
    let fx = fx();
    let images = distinct_jpegs(fx.dir.path(), 5);
    let ledger = fx.dir.path().join("ledger.jsonl");
    fx.server
        .sim()
        .update_faults(|f| f.forced_error = Some(("PARAM_ERROR".into(), Times::Always)));
    let out = run(fx.cmd("batch").arg("--ledger").arg(&ledger).arg(&images));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("uploaded 0, skipped 0, failed 5"),
        "{}",
        stderr(&out)
    );
    fx.server.sim().set_faults(wxmedia_sim::Faults::default());
    let out = run(fx.cmd("batch").arg("--ledger").arg(&ledger).arg(&images));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("uploaded 5, skipped 0, failed 0"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn absurd_timeouts_are_refused_or_mean_no_limit() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    // 1e20 seconds does not fit a Duration: it means "no limit", not a panic.
    for huge in ["1e20", "1e19"] {
        let out = run(fx.cmd("upload").args(["--timeout", huge]).arg(&a));
        assert_eq!(out.status.code(), Some(0), "{huge}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
    for bad in ["0", "-1", "NaN", "inf"] {
        let out = run(fx.cmd("upload").arg(format!("--timeout={bad}")).arg(&a));
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            stderr(&out).contains("--timeout"),
            "{bad}: {}",
            stderr(&out)
        );
    }
}

/// Run `c` under a 1 GiB address-space limit (`ulimit -v`) and a deadline,
/// so that a hostile input the CLI mishandles (a FIFO, `/dev/zero`, a huge
/// file, a symlink loop) fails the test instead of hanging it or eating the
/// machine's memory.
fn bounded(c: &mut Command, deadline: Duration) -> Output {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("ulimit -v 1048576 && exec \"$@\"")
        .arg("sh")
        .arg(c.get_program())
        .args(c.get_args());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    let child = sh
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(deadline) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // `exec` made the shell the CLI itself: this pid is the CLI.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            let out = rx.recv().unwrap().unwrap();
            panic!("still running after {deadline:?}; stderr: {}", stderr(&out));
        }
    }
}

fn jpeg_variant(tag: &str) -> Vec<u8> {
    let mut bytes = JPEG.to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes
}

fn summary_line(o: &Output) -> String {
    stderr(o)
        .lines()
        .rfind(|l| l.starts_with("uploaded "))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn batch_a_cut_off_last_ledger_line_is_repaired_and_never_uploads_twice() {
    let fx = fx();
    let images = fx.dir.path().join("图片");
    std::fs::create_dir(&images).unwrap();
    std::fs::write(images.join("证件照一.jpg"), jpeg_variant("one")).unwrap();
    let ledger = fx.dir.path().join("ledger.jsonl");
    let batch = || run(fx.cmd("batch").arg("--ledger").arg(&ledger).arg(&images));

    let out = batch();
    assert_eq!(summary_line(&out), "uploaded 1, skipped 0, failed 0");
    // The last line loses its newline, as when the disk filled up or the
    // process was killed in the middle of the write.
    let mut bytes = std::fs::read(&ledger).unwrap();
    assert_eq!(bytes.pop(), Some(b'\n'));
    std::fs::write(&ledger, &bytes).unwrap();
    // The next record must not be glued onto it...
    std::fs::write(images.join("证件照二.jpg"), jpeg_variant("two")).unwrap();
    let repaired = batch();
    assert_eq!(repaired.status.code(), Some(0), "{}", stderr(&repaired));
    assert_eq!(summary_line(&repaired), "uploaded 1, skipped 1, failed 0");
    // ...or the run after that would upload both files again.
    let out = batch();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(summary_line(&out), "uploaded 0, skipped 2, failed 0");
    assert_eq!(fx.server.sim().upload_count(), 2);
    assert_eq!(ledger_entries(&ledger).len(), 2);
    assert!(
        stderr(&repaired).contains("the last line was cut off"),
        "{}",
        stderr(&repaired)
    );

    // Now a cut inside a multi-byte character of the last line's file name.
    let bytes = std::fs::read(&ledger).unwrap();
    let zhao = "照".as_bytes();
    let at = bytes.windows(zhao.len()).rposition(|w| w == zhao).unwrap();
    std::fs::write(&ledger, &bytes[..at + 1]).unwrap();
    let out = batch();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("UTF-8"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 unreadable ledger line"),
        "{}",
        stderr(&out)
    );
    // The cut record is lost, so that one file is sent again, once.
    assert_eq!(summary_line(&out), "uploaded 1, skipped 1, failed 0");
    let out = batch();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(summary_line(&out), "uploaded 0, skipped 2, failed 0");
    assert_eq!(fx.server.sim().upload_count(), 3);
    // Every whole line is readable; only the torn one is not.
    let text = std::fs::read(&ledger).unwrap();
    assert_eq!(text.last(), Some(&b'\n'));
    let unreadable = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .filter(|l| serde_json::from_slice::<Value>(l).is_err())
        .count();
    assert_eq!(unreadable, 1);
}

#[test]
fn batch_two_runs_on_one_ledger_do_not_upload_twice() {
    let fx = fx();
    let images = distinct_jpegs(fx.dir.path(), 20);
    let ledger = fx.dir.path().join("ledger.jsonl");
    fx.server
        .sim()
        .update_faults(|f| f.reply_delay = Duration::from_millis(100));
    let mut first = fx
        .cmd("batch")
        .args(["--concurrency", "2", "--ledger"])
        .arg(&ledger)
        .arg(&images)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while ledger_entries(&ledger).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first run made no progress"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = bounded(
        fx.cmd("batch").arg("--ledger").arg(&ledger).arg(&images),
        Duration::from_secs(30),
    );
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    assert!(stderr(&second).contains("locked"), "{}", stderr(&second));
    assert_eq!(stdout(&second), "", "the second run uploaded nothing");
    loop {
        if let Some(status) = first.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first run did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(fx.server.sim().upload_count(), 20);
    // The lock ends with its run: the next run goes ahead.
    let out = run(fx.cmd("batch").arg("--ledger").arg(&ledger).arg(&images));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(summary_line(&out), "uploaded 0, skipped 20, failed 0");
}

#[test]
fn batch_uploads_a_file_given_twice_or_copied_once() {
    let fx = fx();
    let a = fx.file("a.jpg", &jpeg_variant("a"));
    let copy = fx.file("copy-of-a.jpg", &jpeg_variant("a"));
    let b = fx.file("b.jpg", &jpeg_variant("b"));
    let ledger = fx.dir.path().join("ledger.jsonl");
    let out = run(fx
        .cmd("batch")
        .arg("--ledger")
        .arg(&ledger)
        .arg(&a)
        .arg(&a)
        .arg(&copy)
        .arg(&b));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fx.server.sim().upload_count(), 2);
    assert_eq!(summary_line(&out), "uploaded 2, skipped 2, failed 0");
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "skipping {}: the same file as {}",
            a.display(),
            a.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "skipping {}: the same content as {}",
            copy.display(),
            a.display()
        )),
        "{err}"
    );
    assert_eq!(stdout(&out).lines().count(), 2, "one media id per upload");
}

#[test]
fn batch_does_not_follow_symlink_loops() {
    let fx = fx();
    let images = distinct_jpegs(fx.dir.path(), 2);
    std::os::unix::fs::symlink(".", images.join("self")).unwrap();
    std::os::unix::fs::symlink(".", images.join("loop")).unwrap();
    // A link to a file is taken like the file.
    let outside = fx.file("outside.jpg", &jpeg_variant("outside"));
    std::os::unix::fs::symlink(&outside, images.join("linked.jpg")).unwrap();
    let ledger = fx.dir.path().join("ledger.jsonl");
    let out = bounded(
        fx.cmd("batch").arg("--ledger").arg(&ledger).arg(&images),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(summary_line(&out), "uploaded 3, skipped 0, failed 0");
    assert_eq!(fx.server.sim().upload_count(), 3);
    let err = stderr(&out);
    for link in ["self", "loop"] {
        assert!(
            err.contains(&format!(
                "{}: a symbolic link to a directory; not followed",
                images.join(link).display()
            )),
            "{err}"
        );
    }
}

#[test]
fn upload_and_batch_refuse_fifos_devices_and_huge_files_before_reading() {
    let fx = fx();
    let hostile = fx.dir.path().join("hostile");
    std::fs::create_dir(&hostile).unwrap();
    let fifo = hostile.join("a.jpg");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // 3 GiB, sparse: nothing is written, and the CLI (under a 1 GiB memory
    // limit here) must not try to hold it.
    let huge = hostile.join("huge.jpg");
    let f = std::fs::File::create(&huge).unwrap();
    std::io::Write::write_all(&mut &f, JPEG).unwrap();
    f.set_len(3 << 30).unwrap();
    drop(f);
    let zero = hostile.join("zero.jpg");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let dir = fx.dir.path().join("folder.jpg");
    std::fs::create_dir(&dir).unwrap();
    let cases = [
        (
            &fifo,
            "unreadable",
            "a FIFO (named pipe), not a regular file",
        ),
        (
            &zero,
            "unreadable",
            "a character device, not a regular file",
        ),
        (&dir, "unreadable", "a directory, not a regular file"),
        (
            &huge,
            "media",
            "media is 3221225472 bytes, over the limit of 2097152 bytes",
        ),
    ];
    for (file, kind, message) in cases {
        let out = bounded(
            fx.cmd("upload").arg("--json").arg(file),
            Duration::from_secs(20),
        );
        let what = format!("{}: {}", file.display(), stderr(&out));
        assert_eq!(out.status.code(), Some(2), "{what}");
        let v = &json_lines(&out)[0];
        assert_eq!(v["error"]["kind"], kind, "{what}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(message),
            "{v}"
        );
        assert!(
            stderr(&out).contains(&format!("{}: {message}", file.display())),
            "{what}"
        );
    }
    assert_eq!(fx.server.sim().request_count(), 0, "nothing was sent");

    // A symlink to a regular file is that file.
    let real = fx.file("real.jpg", &jpeg_variant("real"));
    let link = fx.dir.path().join("link.jpg");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = bounded(fx.cmd("upload").arg(&link), Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // In a batch, each is one refused file, and the good files still go.
    std::fs::write(hostile.join("good.jpg"), jpeg_variant("good")).unwrap();
    let ledger = fx.dir.path().join("ledger.jsonl");
    let out = bounded(
        fx.cmd("batch").arg("--ledger").arg(&ledger).arg(&hostile),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(summary_line(&out), "uploaded 1, skipped 0, failed 3");
    assert_eq!(fx.server.sim().upload_count(), 2);
    let err = stderr(&out);
    assert!(err.contains("a FIFO (named pipe)"), "{err}");
    assert!(err.contains("a character device"), "{err}");
    assert!(err.contains("over the limit of 2097152 bytes"), "{err}");
}

#[test]
fn a_key_file_pointing_at_dev_zero_is_refused_without_reading_it_all() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    std::fs::remove_file(fx.key_file()).unwrap();
    std::os::unix::fs::symlink("/dev/zero", fx.key_file()).unwrap();
    let out = bounded(fx.cmd("upload").arg(&a), Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Refused by what it is (the link is followed), before it is opened.
    let expected = format!(
        "{}: a character device, not a regular file",
        fx.key_file().display()
    );
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    assert_eq!(fx.server.sim().request_count(), 0);
}

#[test]
fn key_certificate_and_body_files_are_read_bounded_and_fifos_refused() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    let pki = fx.server.pki();
    let fifo = fx.dir.path().join("fifo.pem");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // 3 GiB, sparse: nothing is written, and the CLI (under a 1 GiB memory
    // limit here) must refuse it by its size.
    let huge = fx.dir.path().join("huge.pem");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let zero = PathBuf::from("/dev/zero");
    let device = "a character device, not a regular file";
    let pipe = "a FIFO (named pipe), not a regular file";
    let mch_id = fx.server.sim().mch_id().to_owned();
    let pub_key_id = fx.server.v3().keys().wechatpay_public_key_id().to_owned();
    // Each command line is a valid one with one file swapped for a hostile
    // one: `swap` names the flag whose value is replaced.
    let v2 = |swap: &str, hostile: &Path| {
        let mut args: Vec<(&str, PathBuf)> = vec![
            ("--api-key-file", fx.key_file()),
            ("--cert", pki.client_cert_path()),
            ("--cert-key", pki.client_key_path()),
            ("--ca", pki.ca_cert_path()),
        ];
        if swap == "--p12" {
            args.retain(|(flag, _)| *flag != "--cert" && *flag != "--cert-key");
            args.push(("--p12", hostile.to_owned()));
        }
        let mut c = fx.bare();
        c.args(["upload", "--mch-id", &mch_id]);
        for (flag, value) in args {
            c.arg(flag).arg(if flag == swap {
                hostile.to_owned()
            } else {
                value
            });
        }
        c.arg("--endpoint").arg(fx.server.endpoint()).arg(&a);
        c
    };
    let v3 = |swap: &str, hostile: &Path| {
        let by_certificate = swap == "--platform-cert";
        let check = if by_certificate {
            ("--platform-cert", pki.platform_cert_path())
        } else {
            ("--wechatpay-public-key", pki.wechatpay_public_key_path())
        };
        let mut c = fx.bare();
        c.args(["upload", "--api", "v3", "--mch-id", &mch_id]);
        for (flag, value) in [
            ("--private-key", pki.client_key_path()),
            ("--cert", pki.client_cert_path()),
            check,
            ("--ca", pki.ca_cert_path()),
        ] {
            c.arg(flag).arg(if flag == swap {
                hostile.to_owned()
            } else {
                value
            });
        }
        if !by_certificate {
            c.args(["--wechatpay-public-key-id", &pub_key_id]);
        }
        c.arg("--endpoint").arg(fx.server.endpoint()).arg(&a);
        c
    };
    let sign = |swap: &str, hostile: &Path| {
        let mut c = fx.bare();
        c.args(["sign", "--api", "v3", "--method", "POST"])
            .args(["--url", "/v3/merchant/media/upload", "--timestamp", "1"])
            .args(["--nonce", "n"]);
        for (flag, value) in [
            ("--private-key", pki.client_key_path()),
            ("--body-file", fx.file("meta.json", b"{}")),
        ] {
            c.arg(flag).arg(if flag == swap {
                hostile.to_owned()
            } else {
                value
            });
        }
        c
    };
    let verify = |swap: &str, hostile: &Path| {
        let mut c = fx.bare();
        c.args(["verify", "--api", "v3", "--wechatpay-timestamp", "1"])
            .args(["--wechatpay-nonce", "n", "--wechatpay-serial", "1"])
            .args(["--wechatpay-signature", "AAAA"]);
        let reply = fx.file("reply.json", b"{}");
        for (flag, value) in [
            ("--platform-cert", pki.platform_cert_path()),
            ("--wechatpay-public-key", pki.wechatpay_public_key_path()),
        ] {
            c.arg(flag).arg(if flag == swap {
                hostile.to_owned()
            } else {
                value
            });
        }
        c.args(["--wechatpay-public-key-id", &pub_key_id]);
        c.arg(if swap == "FILE" {
            hostile
        } else {
            reply.as_path()
        });
        c
    };
    let too_large = "3221225472 bytes, larger than 65536; not a private key file";
    let cases = [
        (
            "v2 --api-key-file FIFO",
            v2("--api-key-file", &fifo),
            &fifo,
            pipe,
        ),
        ("v2 --cert /dev/zero", v2("--cert", &zero), &zero, device),
        ("v2 --cert-key FIFO", v2("--cert-key", &fifo), &fifo, pipe),
        ("v2 --p12 /dev/zero", v2("--p12", &zero), &zero, device),
        ("v2 --ca /dev/zero", v2("--ca", &zero), &zero, device),
        (
            "v3 --private-key /dev/zero",
            v3("--private-key", &zero),
            &zero,
            device,
        ),
        (
            "v3 --private-key huge",
            v3("--private-key", &huge),
            &huge,
            too_large,
        ),
        ("v3 --cert /dev/zero", v3("--cert", &zero), &zero, device),
        (
            "v3 --platform-cert FIFO",
            v3("--platform-cert", &fifo),
            &fifo,
            pipe,
        ),
        (
            "v3 --wechatpay-public-key /dev/zero",
            v3("--wechatpay-public-key", &zero),
            &zero,
            device,
        ),
        ("v3 --ca FIFO", v3("--ca", &fifo), &fifo, pipe),
        (
            "sign --private-key FIFO",
            sign("--private-key", &fifo),
            &fifo,
            pipe,
        ),
        (
            "sign --body-file /dev/zero",
            sign("--body-file", &zero),
            &zero,
            device,
        ),
        (
            "verify --platform-cert FIFO",
            verify("--platform-cert", &fifo),
            &fifo,
            pipe,
        ),
        (
            "verify --wechatpay-public-key /dev/zero",
            verify("--wechatpay-public-key", &zero),
            &zero,
            device,
        ),
        ("verify /dev/zero", verify("FILE", &zero), &zero, device),
    ];
    // Every row is run and every failing one reported, not only the first.
    let mut failures = Vec::new();
    for (label, mut c, file, message) in cases {
        // Refused at once: the deadline is only there to turn a hang into a
        // failure (a busy test machine may start the binary slowly).
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            bounded(&mut c, Duration::from_secs(5))
        }));
        let out = match run {
            Ok(out) => out,
            Err(panic) => {
                let why = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                failures.push(format!("{label}: {why}"));
                continue;
            }
        };
        let err = stderr(&out);
        let expected = format!("{}: {message}", file.display());
        if out.status.code() != Some(2) || !err.contains(&expected) {
            failures.push(format!(
                "{label}: exit {:?} (want 2 and {expected:?}); stderr: {}",
                out.status,
                err.chars().take(300).collect::<String>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(fx.server.sim().request_count(), 0, "nothing was sent");
}
