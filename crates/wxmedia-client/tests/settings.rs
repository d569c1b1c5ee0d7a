//! The builder: what is missing or refused is named, and the twin rule follows the endpoint.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Never, identity};
use wxmedia_client::{BuildError, V2Builder, V3Builder};

fn complete() -> V2Builder<Never> {
    V2Builder::new()
        .mch_id("1")
        .api_key("k")
        .identity(identity("1"))
}

#[test]
fn settings_report_what_is_missing() {
    let id = identity("1");
    let missing = |b: V2Builder<Never>| b.build().err().unwrap().to_string();
    assert!(missing(V2Builder::new().api_key("k").identity(id.clone())).contains("merchant id"));
    assert!(missing(V2Builder::new().mch_id("1")).contains("API key"));
    assert!(missing(V2Builder::new().mch_id("1").api_key("k")).contains("identity"));
    let http = V2Builder::<Never>::new()
        .mch_id("1")
        .api_key("k")
        .identity(id.clone())
        .endpoint("http://plain.example");
    assert!(missing(http).contains("https"));
    let ok = V2Builder::<Never>::new()
        .mch_id("1")
        .api_key("k")
        .identity(id);
    let (s, _) = ok.settings().unwrap();
    assert_eq!(s.primary, "https://api.mch.weixin.qq.com");
    assert_eq!(s.twin.as_deref(), Some("https://api2.mch.weixin.qq.com"));
}

/// A gateway that presents the v2 client certificate: the client holds
/// none and its TLS presents none; holding one as well is refused.
#[test]
fn a_v2_client_behind_a_certificate_gateway_presents_none() {
    let gateway = || {
        V2Builder::<Never>::new()
            .mch_id("1")
            .api_key("k")
            .endpoint("https://gateway.example/wxpay")
            .certificate_at_gateway()
    };
    let (s, _) = gateway().settings().unwrap();
    assert!(s.identity.is_none());
    assert!(!s.tls.client_auth_cert_resolver.has_certs());
    let both = gateway()
        .identity(identity("1"))
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(both.contains("give one, not both"), "{both}");
    let neither = V2Builder::<Never>::new().mch_id("1").api_key("k").build();
    assert!(
        neither
            .err()
            .unwrap()
            .to_string()
            .contains("certificate_at_gateway"),
        "the error names the way out"
    );
    let (complete, _) = complete().settings().unwrap();
    assert!(complete.tls.client_auth_cert_resolver.has_certs());
}

#[test]
fn the_official_endpoint_keeps_its_twin_and_others_have_none() {
    let (official, _) = complete()
        .endpoint("https://api.mch.weixin.qq.com/")
        .settings()
        .unwrap();
    assert_eq!(official.primary, "https://api.mch.weixin.qq.com");
    assert_eq!(
        official.twin.as_deref(),
        Some("https://api2.mch.weixin.qq.com"),
        "setting the official endpoint explicitly does not drop its twin"
    );
    let (other, _) = complete()
        .endpoint("https://127.0.0.1:8443")
        .settings()
        .unwrap();
    assert_eq!(other.twin, None);
    let (chosen, _) = complete()
        .endpoint("https://127.0.0.1:8443")
        .backup_endpoint(Some("https://127.0.0.1:9443".into()))
        .settings()
        .unwrap();
    assert_eq!(chosen.twin.as_deref(), Some("https://127.0.0.1:9443"));
    let (none, _) = complete().backup_endpoint(None).settings().unwrap();
    assert_eq!(none.twin, None, "failover can be switched off");
}

#[test]
fn absurd_limits_are_refused() {
    let zero = complete()
        .deadline(std::time::Duration::ZERO)
        .settings()
        .unwrap_err();
    assert!(zero.to_string().contains("greater than zero"), "{zero}");
    let policy = wxmedia_proto::RetryPolicy {
        max_attempts: 0,
        ..Default::default()
    };
    let none = complete().retry_policy(policy).settings().unwrap_err();
    assert!(none.to_string().contains("at least one attempt"), "{none}");
}

#[test]
fn each_builder_names_the_credential_it_misses() {
    // v3: the key, then the certificate or serial, then a way to verify.
    let v3 = |b: V3Builder<Never>| b.build().err().unwrap().to_string();
    assert!(v3(V3Builder::new().mch_id("1")).contains("private key"));
    let pem = include_str!("../../wxmedia-proto/tests/data/v3_key.pem");
    let cert = include_str!("../../wxmedia-proto/tests/data/v3_cert.pem");
    let keyed = || V3Builder::<Never>::new().mch_id("1").private_key_pem(pem);
    assert!(v3(keyed()).contains("merchant certificate"));
    let signed = || keyed().serial_no("F5765756002FDD77");
    assert!(v3(signed()).contains("a way to verify replies"));
    let (settings, api) = signed().platform_certificate_pem(cert).settings().unwrap();
    assert!(
        settings.identity.is_none(),
        "v3 presents no client certificate"
    );
    assert!(api.api_v3_key.is_none() && !api.verifier.is_empty());
    // v2: the media limit is the upload's, refused as an input error.
    let (settings, v2) = complete().settings().unwrap();
    assert!(settings.identity.is_some(), "v2 presents its certificate");
    let mut big = b"\xFF\xD8\xFF\xD9".to_vec();
    big.resize(3 * 1024 * 1024, 0);
    let media = wxmedia_proto::Media::new("a.jpg", big).unwrap();
    let e = v2.upload(&settings, media).unwrap_err();
    assert!(e.is_input_error(), "{e}");
    assert!(
        e.to_string().contains("3145728") && e.to_string().contains("2097152"),
        "{e}"
    );
}

#[test]
fn the_retry_budget_undercuts_no_deadline() {
    // With the defaults (60 s deadline, 30 s attempts) a timed-out attempt
    // must still be retried: the budget is the deadline, not 30 s.
    let (s, _) = complete().settings().unwrap();
    assert_eq!(s.retry.total_budget, std::time::Duration::from_secs(60));
    let (s, _) = complete()
        .deadline(std::time::Duration::from_secs(200))
        .settings()
        .unwrap();
    assert_eq!(s.retry.total_budget, std::time::Duration::from_secs(200));
    // An explicit policy keeps its budget, capped by the deadline.
    let short = wxmedia_proto::RetryPolicy {
        total_budget: std::time::Duration::from_secs(5),
        ..Default::default()
    };
    let (s, _) = complete().retry_policy(short).settings().unwrap();
    assert_eq!(s.retry.total_budget, std::time::Duration::from_secs(5));
}

/// The environment variable that tells a re-run of this test binary which
/// hostile case to run in-process (see [`bounded`]).
const CHILD: &str = "WXMEDIA_CLIENT_HOSTILE_CASE";

/// Run `case` in a child process (this test binary again, filtered to
/// `name`) under a 1 GiB address-space limit (`ulimit -v`) and a 10 s
/// deadline, so that a builder that reads `/dev/zero` whole fails the test
/// on the limit instead of filling the machine's memory, and one that opens
/// a FIFO is killed instead of hanging the test run.
fn bounded(name: &str, case: impl FnOnce()) {
    if std::env::var_os(CHILD).is_some_and(|v| v == name) {
        case();
        return;
    }
    let child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576 && exec \"$@\"")
        .arg("sh")
        .arg(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let deadline = Duration::from_secs(10);
    let out = match rx.recv_timeout(deadline) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // `exec` made the shell the test binary: this pid is the child.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            let out = rx.recv().unwrap().unwrap();
            panic!(
                "{name}: still running after {deadline:?}; output: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{name} failed in its child: {text}");
    // A misspelt name would filter every test out and pass vacuously.
    assert!(text.contains("1 passed"), "{name} did not run: {text}");
}

/// `build` fails within two seconds with a read error naming `path` and
/// saying `message`.
fn refused(
    label: &str,
    path: &Path,
    message: &str,
    build: impl FnOnce() -> Result<Never, BuildError>,
) {
    let start = Instant::now();
    let err = build().err().unwrap_or_else(|| panic!("{label}: built"));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{label}: took {:?}",
        start.elapsed()
    );
    assert!(
        matches!(err, BuildError::Identity(wxmedia_tls::Error::Read { .. })),
        "{label}: {err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("{}: {message}", path.display())),
        "{label}: {text}"
    );
}

#[test]
fn key_and_certificate_files_are_read_bounded_and_fifos_refused() {
    bounded(
        "key_and_certificate_files_are_read_bounded_and_fifos_refused",
        || {
            let dir = tempfile::TempDir::new().unwrap();
            let fifo = dir.path().join("wechatpay.pem");
            let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
            assert!(made.success());
            // 3 GiB, sparse: refused by its size, never read.
            let huge = dir.path().join("huge.pem");
            std::fs::File::create(&huge)
                .unwrap()
                .set_len(3 << 30)
                .unwrap();
            let zero = Path::new("/dev/zero");
            let device = "a character device, not a regular file";
            let pipe = "a FIFO (named pipe), not a regular file";
            let pem = include_str!("../../wxmedia-proto/tests/data/v3_key.pem");
            let cert = include_str!("../../wxmedia-proto/tests/data/v3_cert.pem");
            let serial = "F5765756002FDD77";
            let keyed = || {
                V3Builder::<Never>::new()
                    .mch_id("1")
                    .private_key_pem(pem)
                    .serial_no(serial)
            };

            refused("private key", zero, device, || {
                V3Builder::<Never>::new()
                    .mch_id("1")
                    .private_key_file(zero)
                    .serial_no(serial)
                    .platform_certificate_pem(cert)
                    .build()
            });
            refused(
                "huge private key",
                &huge,
                "3221225472 bytes, larger than 65536; not a private key file",
                || {
                    V3Builder::<Never>::new()
                        .mch_id("1")
                        .private_key_file(&huge)
                        .serial_no(serial)
                        .platform_certificate_pem(cert)
                        .build()
                },
            );
            refused("merchant certificate", zero, device, || {
                V3Builder::<Never>::new()
                    .mch_id("1")
                    .private_key_pem(pem)
                    .merchant_certificate_file(zero)
                    .platform_certificate_pem(cert)
                    .build()
            });
            refused("platform certificate", &fifo, pipe, || {
                keyed().platform_certificate_file(&fifo).build()
            });
            refused("public key", zero, device, || {
                keyed()
                    .wechatpay_public_key_file(
                        "PUB_KEY_ID_0000000000000000000000000000000000",
                        zero,
                    )
                    .build()
            });
            refused("v3 CA file", &fifo, pipe, || {
                keyed()
                    .platform_certificate_pem(cert)
                    .add_root_ca_file(&fifo)
                    .build()
            });
            refused("v2 CA file", zero, device, || {
                complete().add_root_ca_file(zero).build()
            });
        },
    );
}

/// Issue 21, item 6: a bad private key is blamed on the key file (it was
/// blamed on the certificate), a bad serial on the serial (it was blamed on
/// the key file), and a key of another certificate on both files.
#[test]
fn errors_name_the_input_that_failed() {
    let dir = tempfile::TempDir::new().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let key = write(
        "apiclient_key.pem",
        include_bytes!("../../wxmedia-proto/tests/data/v3_key.pem"),
    );
    let cert = write(
        "apiclient_cert.pem",
        include_bytes!("../../wxmedia-proto/tests/data/v3_cert.pem"),
    );
    let other_key = write(
        "other_key.pem",
        include_bytes!("../../wxmedia-proto/tests/data/v3_other_key.pem"),
    );
    let bad_key = write(
        "bad_key.pem",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let build = |b: V3Builder<Never>| {
        b.mch_id("1")
            .platform_certificate_file(&cert)
            .build()
            .err()
            .expect("refused")
            .to_string()
    };
    let e = build(
        V3Builder::new()
            .private_key_file(&bad_key)
            .merchant_certificate_file(&cert),
    );
    assert!(
        e.contains("bad_key.pem") && !e.contains("apiclient_cert.pem"),
        "{e}"
    );
    let e = build(V3Builder::new().private_key_file(&key).serial_no("not-hex"));
    assert!(
        e.contains("serial") && !e.contains("apiclient_key.pem"),
        "{e}"
    );
    let e = build(
        V3Builder::new()
            .private_key_file(&other_key)
            .merchant_certificate_file(&cert),
    );
    assert!(
        e.contains("other_key.pem") && e.contains("apiclient_cert.pem"),
        "{e}"
    );
}

/// A clock stopped at one Unix time.
#[derive(Debug)]
struct Fixed(u64);

impl wxmedia_client::Clock for Fixed {
    fn unix_time(&self) -> u64 {
        self.0
    }
}

/// Issue 21, item 3: a pinned platform certificate that has expired by the
/// client's clock is a build error naming its serial and expiry; a
/// certificate not valid yet is accepted (it verifies from its notBefore).
#[test]
fn an_expired_pinned_platform_certificate_is_a_build_error() {
    let pem = include_str!("../../wxmedia-proto/tests/data/v3_key.pem");
    let expired = include_str!("../../wxmedia-proto/tests/data/validity/expired.pem");
    let next = include_str!("../../wxmedia-proto/tests/data/validity/next.pem");
    let at = |t: u64| {
        V3Builder::<Never>::new()
            .mch_id("1")
            .private_key_pem(pem)
            .serial_no("F5765756002FDD77")
            .clock(std::sync::Arc::new(Fixed(t)))
    };
    let e = at(1_700_000_000)
        .platform_certificate_pem(expired)
        .build()
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("1E01") && e.contains("expired"), "{e}");
    assert!(
        at(1_600_000_000)
            .platform_certificate_pem(expired)
            .build()
            .is_ok()
    );
    assert!(
        at(1_700_000_000)
            .platform_certificate_pem(next)
            .build()
            .is_ok()
    );
}
