//! The v3 golden requests checked by openssl, which knows nothing of our code: the signature over the meta bytes found in the file, the meta's digest of the file part (SHA-256, or the fapiao file's SM3), and what the request sealed for WeChat Pay (RSA-OAEP), decrypted.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (CI installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
}

/// The content of the part whose headers contain `name="<name>"`.
fn part<'a>(body: &'a [u8], boundary: &str, name: &str) -> &'a [u8] {
    let at = find(body, format!("name=\"{name}\"").as_bytes());
    let start = at + find(&body[at..], b"\r\n\r\n") + 4;
    let end = start + find(&body[start..], format!("\r\n--{boundary}").as_bytes());
    &body[start..end]
}

fn param<'a>(auth: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let start = auth.find(&key).unwrap() + key.len();
    &auth[start..start + auth[start..].find('"').unwrap()]
}

#[test]
fn openssl_agrees_with_every_v3_golden_request() {
    let dir = tempfile_dir();
    let mut checked = 0;
    let mut opened = 0;
    for entry in std::fs::read_dir(root().join("tests/golden")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.starts_with("v3-") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let head_end = find(&raw, b"\r\n\r\n");
        let head = std::str::from_utf8(&raw[..head_end]).unwrap();
        let body = &raw[head_end + 4..];
        let path_line = head.lines().next().unwrap().split(' ').nth(1).unwrap();
        let header = |n: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(&format!("{n}: ")))
                .unwrap_or_else(|| panic!("{name}: header {n}"))
        };
        let boundary = header("content-type").split("boundary=").nth(1).unwrap();
        let auth = header("authorization");
        let meta = part(body, boundary, "meta");
        let file = part(body, boundary, "file");

        let mut message = format!(
            "POST\n{path_line}\n{}\n{}\n",
            param(auth, "timestamp"),
            param(auth, "nonce_str")
        )
        .into_bytes();
        message.extend_from_slice(meta);
        message.push(b'\n');
        std::fs::write(dir.join("message"), &message).unwrap();
        std::fs::write(dir.join("file"), file).unwrap();
        let key = root().join("tests/data/v3_key.pem");
        openssl(
            &[
                "dgst",
                "-sha256",
                "-sign",
                key.to_str().unwrap(),
                "-out",
                "sig",
                "message",
            ],
            &dir,
        );
        let sig = std::fs::read(dir.join("sig")).unwrap();
        assert_eq!(STANDARD.encode(sig), param(auth, "signature"), "{name}");

        // The file's digest as the meta names it: SHA-256 under `sha256`,
        // or, for the fapiao file, SM3 under `digest` (openssl's own SM3,
        // a second implementation beside the client's).
        let meta: serde_json::Value = serde_json::from_slice(meta).unwrap();
        let (algorithm, field) = match meta["digest_alogrithm"].as_str() {
            Some("SM3") => ("-sm3", "digest"),
            // The cancellation image names its SHA-256 `file_digest`.
            _ if meta.get("file_digest").is_some() => ("-sha256", "file_digest"),
            // The global file storage names it `digest`.
            _ if meta.get("digest").is_some() => ("-sha256", "digest"),
            _ => ("-sha256", "sha256"),
        };
        let digest = String::from_utf8(openssl(&["dgst", algorithm, "-r", "file"], &dir)).unwrap();
        let hex = digest.split_whitespace().next().unwrap();
        assert_eq!(meta[field], hex, "{name}: meta {field}");
        checked += 1;

        // What the request sealed for WeChat Pay, opened by openssl with
        // the private key of the certificate `Wechatpay-Serial` names
        // (RSA-OAEP; openssl's default OAEP digest and MGF1 are SHA-1).
        assert_eq!(header("wechatpay-serial"), "F5765756002FDD77", "{name}");
        let phone = &meta["merchant_contact_information"]["consultation_phone_number"];
        if let Some(sealed) = phone.as_str() {
            assert_eq!(open(sealed, &dir), b"0755-86013388", "{name}");
            opened += 1;
        }
        if meta.get("bank_type").is_some() {
            let lines: Vec<&str> = std::str::from_utf8(file).unwrap().lines().collect();
            assert_eq!(lines.len(), 2, "{name}");
            for (line, id) in lines
                .into_iter()
                .zip(["6222020000000001", "6222020000000002"])
            {
                assert_eq!(open(line, &dir), id.as_bytes(), "{name}");
                opened += 1;
            }
        }
    }
    assert_eq!(checked, 11, "every v3 golden file was checked");
    assert_eq!(opened, 3, "the receipt's phone and the package's two ids");
    std::fs::remove_dir_all(dir).ok();
}

/// A base64 RSA-OAEP ciphertext decrypted by openssl with the golden
/// certificate's private key.
fn open(sealed: &str, dir: &Path) -> Vec<u8> {
    std::fs::write(dir.join("sealed"), STANDARD.decode(sealed).unwrap()).unwrap();
    let key = root().join("tests/data/v3_key.pem");
    openssl(
        &[
            "pkeyutl",
            "-decrypt",
            "-inkey",
            key.to_str().unwrap(),
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-in",
            "sealed",
        ],
        dir,
    )
}

/// A scratch directory of this test's own, under the target directory.
fn tempfile_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("v3-openssl");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
