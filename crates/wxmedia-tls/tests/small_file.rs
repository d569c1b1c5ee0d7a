//! Key, certificate, PKCS#12 and CA files are read bounded: a device, a FIFO, a directory, a socket or a file over the cap is refused at once, by what it is.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wxmedia_tls::{Error, Identity, MAX_CA_FILE, MAX_PEM_FILE, read_ca_file, read_small_file};

/// The environment variable that tells a re-run of this test binary which
/// hostile case to run in-process (see [`bounded`]).
const CHILD: &str = "WXMEDIA_TLS_HOSTILE_CASE";

/// Run `case` in a child process (this test binary again, filtered to
/// `name`) under a 1 GiB address-space limit (`ulimit -v`) and a 10 s
/// deadline. A reader that mishandles `/dev/zero` would otherwise fill the
/// machine's memory, and one that opens a FIFO would hang the test run:
/// here the first aborts on the limit and the second is killed, and either
/// fails the test.
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

/// `f`'s result, checked to come within two seconds: a refusal must not
/// wait for a writer or read a device first.
fn quick<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let r = f();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{what} took {:?}",
        start.elapsed()
    );
    r
}

/// The refusal of `path`, checked to be a read error naming the file and
/// saying `message`.
fn refused<T: std::fmt::Debug>(path: &Path, r: Result<T, Error>, message: &str) {
    let err = r.unwrap_err();
    assert!(matches!(err, Error::Read { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("{}: {message}", path.display())),
        "{text}"
    );
}

fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let made = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
    path
}

fn self_signed() -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "1");
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[test]
fn dev_zero_and_a_link_to_it_are_refused_as_character_devices() {
    bounded(
        "dev_zero_and_a_link_to_it_are_refused_as_character_devices",
        || {
            let dir = tempfile::TempDir::new().unwrap();
            let link = dir.path().join("apiclient_key.pem");
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
            for path in [Path::new("/dev/zero"), &link] {
                let r = quick("/dev/zero", || read_small_file(path, "private key"));
                refused(path, r, "a character device, not a regular file");
            }
        },
    );
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    bounded("a_fifo_is_refused_without_waiting_for_a_writer", || {
        let dir = tempfile::TempDir::new().unwrap();
        let path = fifo(dir.path(), "apiclient_key.pem");
        let r = quick("a FIFO", || read_small_file(&path, "private key"));
        refused(&path, r, "a FIFO (named pipe), not a regular file");
    });
}

#[test]
fn a_directory_and_a_socket_are_refused_by_what_they_are() {
    bounded(
        "a_directory_and_a_socket_are_refused_by_what_they_are",
        || {
            let dir = tempfile::TempDir::new().unwrap();
            let r = quick("a directory", || read_small_file(dir.path(), "certificate"));
            refused(dir.path(), r, "a directory, not a regular file");
            let socket = dir.path().join("agent.sock");
            let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
            let r = quick("a socket", || read_small_file(&socket, "certificate"));
            refused(&socket, r, "a socket, not a regular file");
        },
    );
}

#[test]
fn a_link_to_a_regular_file_is_read_and_a_link_loop_is_an_error() {
    bounded(
        "a_link_to_a_regular_file_is_read_and_a_link_loop_is_an_error",
        || {
            let dir = tempfile::TempDir::new().unwrap();
            let real = dir.path().join("real.pem");
            std::fs::write(&real, "-----BEGIN CERTIFICATE-----\n").unwrap();
            let link = dir.path().join("link.pem");
            std::os::unix::fs::symlink(&real, &link).unwrap();
            let bytes = quick("a link", || read_small_file(&link, "certificate")).unwrap();
            assert_eq!(&bytes[..], b"-----BEGIN CERTIFICATE-----\n");
            let a = dir.path().join("a.pem");
            let b = dir.path().join("b.pem");
            std::os::unix::fs::symlink(&b, &a).unwrap();
            std::os::unix::fs::symlink(&a, &b).unwrap();
            let err = quick("a link loop", || read_small_file(&a, "certificate")).unwrap_err();
            assert!(matches!(err, Error::Read { .. }), "{err:?}");
            assert!(err.to_string().contains(&a.display().to_string()), "{err}");
        },
    );
}

#[test]
fn a_file_at_the_cap_is_read_and_one_byte_more_is_refused() {
    bounded(
        "a_file_at_the_cap_is_read_and_one_byte_more_is_refused",
        || {
            assert_eq!(MAX_PEM_FILE, 64 * 1024);
            let dir = tempfile::TempDir::new().unwrap();
            let at = dir.path().join("at.pem");
            std::fs::write(&at, vec![b'a'; MAX_PEM_FILE as usize]).unwrap();
            let bytes = quick("at the cap", || read_small_file(&at, "certificate")).unwrap();
            assert_eq!(bytes.len() as u64, MAX_PEM_FILE);
            let over = dir.path().join("over.pem");
            std::fs::write(&over, vec![b'a'; MAX_PEM_FILE as usize + 1]).unwrap();
            let r = quick("over the cap", || read_small_file(&over, "certificate"));
            refused(
                &over,
                r,
                "65537 bytes, larger than 65536; not a certificate file",
            );
            // 3 GiB, sparse: refused by its size, never read.
            let huge = dir.path().join("huge.pem");
            std::fs::File::create(&huge)
                .unwrap()
                .set_len(3 << 30)
                .unwrap();
            let r = quick("3 GiB", || read_small_file(&huge, "private key"));
            refused(
                &huge,
                r,
                "3221225472 bytes, larger than 65536; not a private key file",
            );
            // A file whose size lies, as a growing file's does: Linux
            // gives procfs files a size of 0 and megabytes of content.
            // The read stops one byte past the cap. (Skipped where there
            // is no such file to read.)
            let kallsyms = Path::new("/proc/kallsyms");
            let lies = std::fs::metadata(kallsyms).is_ok_and(|m| m.is_file() && m.len() == 0);
            if lies && std::fs::File::open(kallsyms).is_ok() {
                let r = quick("kallsyms", || read_small_file(kallsyms, "private key"));
                refused(
                    kallsyms,
                    r,
                    "grew past 65536 bytes while being read; not a private key file",
                );
            }
        },
    );
}

#[test]
fn identity_pkcs12_and_ca_files_are_read_bounded() {
    bounded("identity_pkcs12_and_ca_files_are_read_bounded", || {
        let dir = tempfile::TempDir::new().unwrap();
        let (cert, key) = self_signed();
        let cert_path = dir.path().join("apiclient_cert.pem");
        std::fs::write(&cert_path, &cert).unwrap();
        let key_path = dir.path().join("apiclient_key.pem");
        std::fs::write(&key_path, &key).unwrap();
        let zero = Path::new("/dev/zero");
        let device = "a character device, not a regular file";
        let pipe = fifo(dir.path(), "fifo.pem");
        let named_pipe = "a FIFO (named pipe), not a regular file";

        let r = quick("cert", || Identity::from_pem_files(zero, &key_path));
        refused(zero, r, device);
        let r = quick("key", || Identity::from_pem_files(&cert_path, zero));
        refused(zero, r, device);
        let r = quick("key FIFO", || Identity::from_pem_files(&cert_path, &pipe));
        refused(&pipe, r, named_pipe);
        let r = quick("p12", || Identity::from_pkcs12_file(zero, "1"));
        refused(zero, r, device);
        let r = quick("p12 FIFO", || Identity::from_pkcs12_file(&pipe, "1"));
        refused(&pipe, r, named_pipe);
        let r = quick("ca", || read_ca_file(zero));
        refused(zero, r, device);
        let r = quick("ca FIFO", || read_ca_file(&pipe));
        refused(&pipe, r, named_pipe);
        Identity::from_pem_files(&cert_path, &key_path).unwrap();

        // A CA file may be a whole bundle (a system one is over 200 KiB):
        // its cap is larger, but it has one.
        let bundle = dir.path().join("bundle.pem");
        let copies = 2 * MAX_PEM_FILE as usize / cert.len() + 1;
        std::fs::write(&bundle, cert.repeat(copies)).unwrap();
        assert_eq!(read_ca_file(&bundle).unwrap().len(), copies);
        let big = dir.path().join("big.pem");
        std::fs::write(&big, vec![b'a'; MAX_CA_FILE as usize + 1]).unwrap();
        let r = quick("big CA file", || read_ca_file(&big));
        refused(
            &big,
            r,
            "1048577 bytes, larger than 1048576; not a CA certificate file",
        );
    });
}
