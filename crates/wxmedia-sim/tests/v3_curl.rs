//! API v3 over TLS against an independent client: the request signed with `openssl dgst`, sent by `curl -F` without a client certificate, the reply verified with `openssl dgst -verify`.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use tempfile::TempDir;
use wxmedia_sim::{Outcome, SimConfig, SimServer, V3Signer};

const JPEG: &[u8] = include_bytes!("../samples/sample.jpg");

async fn run(program: &str, args: &[&str]) -> Output {
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program} must be installed (.ci/run installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

struct Client {
    dir: TempDir,
    server: SimServer,
}

impl Client {
    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// `Authorization` for `METHOD\nURL\nTS\nNONCE\nBODY\n`, signed by
    /// openssl with `apiclient_key.pem`; the serial is the one openssl
    /// reads from `apiclient_cert.pem`.
    async fn authorization(&self, method: &str, url: &str, body: &str) -> String {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let nonce = "7f6ae5e1619f41b1ad1172815a5992a7";
        let message = self.file(
            "message.txt",
            format!("{method}\n{url}\n{ts}\n{nonce}\n{body}\n").as_bytes(),
        );
        let sig = self.dir.path().join("request.sig");
        let pki = self.server.pki();
        run(
            "openssl",
            &[
                "dgst",
                "-sha256",
                "-sign",
                p(&pki.client_key_path()),
                "-out",
                p(&sig),
                p(&message),
            ],
        )
        .await;
        let b64 = run("openssl", &["base64", "-A", "-in", p(&sig)]).await;
        let serial = run(
            "openssl",
            &[
                "x509",
                "-noout",
                "-serial",
                "-in",
                p(&pki.client_cert_path()),
            ],
        )
        .await;
        let serial = String::from_utf8(serial.stdout).unwrap();
        let serial = serial.trim().strip_prefix("serial=").unwrap().to_owned();
        assert_eq!(serial, self.server.v3().keys().merchant_serial_no());
        format!(
            "Authorization: WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",timestamp=\"{ts}\",serial_no=\"{serial}\",signature=\"{}\"",
            self.server.sim().mch_id(),
            String::from_utf8(b64.stdout).unwrap().trim()
        )
    }

    /// curl with the CA trusted and no client certificate; returns the
    /// reply headers and body.
    async fn curl(&self, path: &str, args: &[&str]) -> (String, Vec<u8>) {
        let headers = self.dir.path().join("headers.txt");
        let body = self.dir.path().join("body.bin");
        let url = format!("{}{path}", self.server.endpoint());
        let ca = self.server.pki().ca_cert_path();
        let mut all = vec![
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            p(&ca),
            "-D",
            p(&headers),
            "-o",
            p(&body),
        ];
        all.extend_from_slice(args);
        all.push(url.as_str());
        run("curl", &all).await;
        (
            std::fs::read_to_string(&headers).unwrap(),
            std::fs::read(&body).unwrap(),
        )
    }

    /// `openssl dgst -verify` of `ts\nnonce\nbody\n` with `Wechatpay-Signature`.
    async fn verify(&self, headers: &str, body: &[u8], public_key_pem: &Path) -> bool {
        let h = |name: &str| header(headers, name);
        let mut message =
            format!("{}\n{}\n", h("Wechatpay-Timestamp"), h("Wechatpay-Nonce")).into_bytes();
        message.extend_from_slice(body);
        message.push(b'\n');
        let message = self.file("reply.txt", &message);
        let b64 = self.file("reply.sig.b64", h("Wechatpay-Signature").as_bytes());
        let sig = self.dir.path().join("reply.sig");
        run(
            "openssl",
            &["base64", "-d", "-A", "-in", p(&b64), "-out", p(&sig)],
        )
        .await;
        let out = tokio::process::Command::new("openssl")
            .args([
                "dgst",
                "-sha256",
                "-verify",
                p(public_key_pem),
                "-signature",
                p(&sig),
                p(&message),
            ])
            .output()
            .await
            .unwrap();
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
    }
}

/// A header of curl's `-D` dump; names are case-insensitive (hyper sends
/// them in lowercase).
fn header(headers: &str, name: &str) -> String {
    headers
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no {name} in {headers}"))
}

async fn start(signer: V3Signer) -> Client {
    let dir = TempDir::new().unwrap();
    let mut config = SimConfig::new(dir.path().join("state"));
    config.v3_signer = signer;
    let server = SimServer::start(config).await.unwrap();
    Client { dir, server }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_and_openssl_upload_an_image_and_verify_the_reply() {
    let c = start(V3Signer::PublicKey).await;
    let image = c.file("id-front.jpg", JPEG);
    let sha = run("openssl", &["dgst", "-sha256", "-r", p(&image)]).await;
    let sha = String::from_utf8(sha.stdout).unwrap();
    let sha = sha.split_whitespace().next().unwrap().to_owned();
    let meta = format!("{{\"filename\":\"id-front.jpg\",\"sha256\":\"{sha}\"}}");
    let meta_file = c.file("meta.json", meta.as_bytes());
    let auth = c
        .authorization("POST", "/v3/merchant/media/upload", &meta)
        .await;
    let meta_arg = format!("meta=<{};type=application/json", p(&meta_file));
    let file_arg = format!("file=@{};type=image/jpeg", p(&image));
    let (headers, body) = c
        .curl(
            "/v3/merchant/media/upload",
            &[
                "-H",
                &auth,
                "-H",
                "Accept: application/json",
                "-F",
                &meta_arg,
                "-F",
                &file_arg,
            ],
        )
        .await;
    assert!(
        headers.starts_with("HTTP/1.1 200"),
        "{headers}{}",
        String::from_utf8_lossy(&body)
    );
    let reply: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        reply["media_id"].as_str().is_some_and(|m| !m.is_empty()),
        "{reply}"
    );
    let keys = c.server.v3();
    assert_eq!(
        header(&headers, "Wechatpay-Serial"),
        keys.keys().wechatpay_public_key_id()
    );
    assert!(
        c.verify(&headers, &body, &c.server.pki().wechatpay_public_key_path())
            .await,
        "openssl does not verify the reply"
    );
    // A byte more in the body and openssl refuses: the check is real.
    let mut tampered = body.clone();
    tampered.push(b' ');
    assert!(
        !c.verify(
            &headers,
            &tampered,
            &c.server.pki().wechatpay_public_key_path()
        )
        .await
    );

    let log = c.server.sim().received();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].peer_cn, None, "no client certificate was sent");
    assert_eq!(log[0].meta.as_deref(), Some(meta.as_str()));
    assert_eq!(log[0].filename.as_deref(), Some("id-front.jpg"));
    assert!(matches!(log[0].outcome, Outcome::Uploaded { .. }));

    // The same request again with a signature over other bytes: 401, signed.
    let auth = c
        .authorization("POST", "/v3/merchant/media/upload", "{}")
        .await;
    let (headers, body) = c
        .curl(
            "/v3/merchant/media/upload",
            &["-H", &auth, "-F", &meta_arg, "-F", &file_arg],
        )
        .await;
    assert!(headers.starts_with("HTTP/1.1 401"), "{headers}");
    assert!(String::from_utf8_lossy(&body).contains("SIGN_ERROR"));
    assert!(
        c.verify(&headers, &body, &c.server.pki().wechatpay_public_key_path())
            .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_gets_the_certificates_signed_by_the_platform_certificate() {
    let c = start(V3Signer::PlatformCert).await;
    let auth = c.authorization("GET", "/v3/certificates", "").await;
    let (headers, body) = c.curl("/v3/certificates", &["-H", &auth]).await;
    assert!(
        headers.starts_with("HTTP/1.1 200"),
        "{headers}{}",
        String::from_utf8_lossy(&body)
    );
    let serial = c.server.v3().keys().platform_serial_no().to_owned();
    assert_eq!(header(&headers, "Wechatpay-Serial"), serial);
    let cert = c.server.pki().platform_cert_path();
    let pubkey = run("openssl", &["x509", "-noout", "-pubkey", "-in", p(&cert)]).await;
    let pubkey = c.file("platform_pub.pem", &pubkey.stdout);
    assert!(c.verify(&headers, &body, &pubkey).await);
    // openssl agrees on the serial the reply carries.
    let out = run("openssl", &["x509", "-noout", "-serial", "-in", p(&cert)]).await;
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("serial={serial}")
    );
    let reply: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(reply["data"][0]["serial_no"], serial.as_str());
}
