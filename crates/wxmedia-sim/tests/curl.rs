//! The simulator over real mutual TLS, driven by real curl exactly as the seed page does it.

use std::path::{Path, PathBuf};
use std::process::Output;

use bytes::Bytes;
use http::StatusCode;
use tempfile::TempDir;
use wxmedia_proto::v2::reply::{DEFAULT_REPLY_LIMIT, decode_reply};
use wxmedia_proto::v2::{ApiKey, SignType, StringToSign};
use wxmedia_proto::{Error, ErrorCode, MediaHash};
use wxmedia_sim::{Outcome, SimConfig, SimServer, Times};

const JPEG: &[u8] = include_bytes!("../samples/sample.jpg");

struct Fixture {
    server: SimServer,
    dir: TempDir,
}

async fn start() -> Fixture {
    let dir = TempDir::new().unwrap();
    let server = SimServer::start(SimConfig::new(dir.path().join("state")))
        .await
        .unwrap();
    Fixture { server, dir }
}

impl Fixture {
    fn key(&self) -> ApiKey {
        self.server.sim().api_key().clone()
    }

    fn url(&self) -> String {
        format!("{}/secapi/mch/uploadmedia", self.server.endpoint())
    }

    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn sign(&self, fields: &[(&str, &str)], st: SignType) -> String {
        StringToSign::new(fields.iter().copied())
            .sign(&self.key(), st)
            .to_string()
    }

    /// The seed's command: `-F` fields in order, then `media=@file`.
    async fn curl(&self, fields: &[(&str, &str)], file: Option<&Path>, extra: &[&str]) -> Output {
        self.curl_to(&self.url(), fields, file, extra).await
    }

    /// The seed's command sent to `url` instead of the upload URL.
    async fn curl_to(
        &self,
        url: &str,
        fields: &[(&str, &str)],
        file: Option<&Path>,
        extra: &[&str],
    ) -> Output {
        let pki = self.server.pki();
        let mut cmd = tokio::process::Command::new("curl");
        cmd.args(["-sS", "--max-time", "20", "--cacert"])
            .arg(pki.ca_cert_path())
            .arg("--cert")
            .arg(pki.client_cert_path())
            .arg("--key")
            .arg(pki.client_key_path());
        for (k, v) in fields {
            cmd.arg("-F").arg(format!("{k}={v}"));
        }
        if let Some(f) = file {
            cmd.arg("-F").arg(format!("media=@{}", f.display()));
        }
        cmd.args(extra).arg(url);
        cmd.output()
            .await
            .expect("curl must be installed (.ci/run installs it)")
    }

    /// Upload `content` the seed's way, signing with `st`.
    async fn upload(&self, name: &str, content: &[u8], st: SignType) -> Output {
        let file = self.file(name, content);
        let hash = MediaHash::of(content).to_string();
        let mch = self.server.sim().mch_id().to_owned();
        let mut fields = vec![("mch_id", mch.as_str()), ("media_hash", hash.as_str())];
        if st == SignType::HmacSha256 {
            fields.push(("sign_type", "HMAC-SHA256"));
        }
        let sign = self.sign(&fields, st);
        fields.push(("sign", &sign));
        self.curl(&fields, Some(&file), &[]).await
    }

    fn decode(&self, out: &Output, st: SignType) -> Result<String, Error> {
        assert!(
            out.status.success(),
            "curl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        decode_reply(
            StatusCode::OK,
            Bytes::from(out.stdout.clone()),
            &self.key(),
            st,
            DEFAULT_REPLY_LIMIT,
        )
    }
}

fn code_of(r: Result<String, Error>) -> ErrorCode {
    r.unwrap_err()
        .api_code()
        .cloned()
        .expect("an API error code")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_command_succeeds_with_md5_and_hmac_and_replies_verify() {
    let fx = start().await;
    for st in [SignType::Md5, SignType::HmacSha256] {
        let out = fx.upload("test.jpg", JPEG, st).await;
        let media_id = fx.decode(&out, st).unwrap();
        assert!(!media_id.is_empty());
    }
    let log = fx.server.sim().received();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].peer_cn.as_deref(), Some(fx.server.sim().mch_id()));
    assert_eq!(log[0].filename.as_deref(), Some("test.jpg"));
    assert_eq!(log[0].content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(log[1].sign_type(), Some("HMAC-SHA256"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_is_produced_over_tls() {
    let fx = start().await;
    let mch = fx.server.sim().mch_id().to_owned();
    let hash = MediaHash::of(JPEG).to_string();
    let jpg = fx.file("a.jpg", JPEG);

    // Wrong sign.
    let out = fx
        .curl(
            &[("mch_id", &mch), ("media_hash", &hash), ("sign", "0123")],
            Some(&jpg),
            &[],
        )
        .await;
    assert_eq!(
        code_of(fx.decode(&out, SignType::Md5)),
        ErrorCode::SignErrorV2
    );

    // Unknown sign type.
    let fields = [
        ("mch_id", mch.as_str()),
        ("media_hash", hash.as_str()),
        ("sign_type", "SHA1"),
    ];
    let s = fx.sign(&fields, SignType::Md5);
    let out = fx
        .curl(
            &[fields[0], fields[1], fields[2], ("sign", &s)],
            Some(&jpg),
            &[],
        )
        .await;
    assert_eq!(
        code_of(fx.decode(&out, SignType::Md5)),
        ErrorCode::SignErrorV2
    );

    // Hash of other bytes.
    let wrong = MediaHash::of(b"x").to_string();
    let s = fx.sign(&[("mch_id", &mch), ("media_hash", &wrong)], SignType::Md5);
    let out = fx
        .curl(
            &[("mch_id", &mch), ("media_hash", &wrong), ("sign", &s)],
            Some(&jpg),
            &[],
        )
        .await;
    assert_eq!(
        code_of(fx.decode(&out, SignType::Md5)),
        ErrorCode::ParamError
    );

    // Not an image, and too big.
    for content in [b"GIF89a-not-accepted".to_vec(), {
        let mut big = JPEG.to_vec();
        big.resize(2 * 1024 * 1024 + 1, 0);
        big
    }] {
        let out = fx.upload("b.jpg", &content, SignType::Md5).await;
        assert_eq!(
            code_of(fx.decode(&out, SignType::Md5)),
            ErrorCode::ParamError
        );
    }

    // Missing media part.
    let s = fx.sign(&[("mch_id", &mch), ("media_hash", &hash)], SignType::Md5);
    let out = fx
        .curl(
            &[("mch_id", &mch), ("media_hash", &hash), ("sign", &s)],
            None,
            &[],
        )
        .await;
    assert_eq!(
        code_of(fx.decode(&out, SignType::Md5)),
        ErrorCode::ParamError
    );

    // GET.
    let out = fx.curl(&[], None, &[]).await;
    assert_eq!(
        code_of(fx.decode(&out, SignType::Md5)),
        ErrorCode::InvalidRequest
    );

    let messages: Vec<_> = fx
        .server
        .sim()
        .received()
        .iter()
        .map(|r| format!("{:?}", r.outcome))
        .collect();
    assert_eq!(messages.len(), 7, "{messages:?}");
    assert!(
        messages[2].contains("Hash") && messages[3].contains("格式") && messages[4].contains("2M"),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_merchant_is_a_param_error() {
    let fx = start().await;
    let other = fx.server.pki().issue_client("1900000999", false).unwrap();
    let cert = fx.file("other.pem", other.cert_pem.as_bytes());
    let key = fx.file("other.key", other.key_pem.as_bytes());
    let mch = fx.server.sim().mch_id().to_owned();
    let hash = MediaHash::of(JPEG).to_string();
    let s = fx.sign(&[("mch_id", &mch), ("media_hash", &hash)], SignType::Md5);
    let jpg = fx.file("a.jpg", JPEG);
    let mut cmd = tokio::process::Command::new("curl");
    cmd.args(["-sS", "--max-time", "20", "--cacert"])
        .arg(fx.server.pki().ca_cert_path())
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .arg("-F")
        .arg(format!("mch_id={mch}"))
        .arg("-F")
        .arg(format!("media_hash={hash}"))
        .arg("-F")
        .arg(format!("sign={s}"))
        .arg("-F")
        .arg(format!("media=@{}", jpg.display()))
        .arg(fx.url());
    let out = cmd.output().await.unwrap();
    let err = fx.decode(&out, SignType::Md5).unwrap_err();
    assert_eq!(err.api_code(), Some(&ErrorCode::ParamError));
    assert!(err.to_string().contains("商户号"), "{err}");
}

/// The handshake asks for a certificate but, since API v3 needs none,
/// lets a client without one through; the v2 endpoint then refuses the
/// request itself, as the real one does ("需要证书").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_client_certificate_is_refused_by_the_v2_endpoint() {
    let fx = start().await;
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(fx.server.pki().ca_cert_path())
        .args(["-F", "mch_id=1"])
        .arg(fx.url())
        .output()
        .await
        .unwrap();
    assert_eq!(
        code_of(fx.decode(&out, SignType::Md5)),
        ErrorCode::InvalidRequest
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("证书"));
    let log = fx.server.sim().received();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].peer_cn, None);
    assert_eq!(fx.server.sim().upload_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_uploads_get_distinct_media_ids() {
    let fx = std::sync::Arc::new(start().await);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let fx = fx.clone();
        tasks.spawn(async move {
            let st = if i % 2 == 0 {
                SignType::Md5
            } else {
                SignType::HmacSha256
            };
            let out = fx.upload(&format!("p{i}.jpg"), JPEG, st).await;
            fx.decode(&out, st).unwrap()
        });
    }
    let mut ids = Vec::new();
    while let Some(id) = tasks.join_next().await {
        ids.push(id.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50);
    assert_eq!(fx.server.sim().upload_count(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_faults_break_the_reply_the_way_they_say() {
    let fx = start().await;
    let sim = fx.server.sim();
    // curl exit codes: 52 empty reply, 18 partial transfer, 28 timeout.
    sim.update_faults(|f| f.drop_connection = Times::Next(1));
    assert_eq!(
        fx.upload("a.jpg", JPEG, SignType::Md5).await.status.code(),
        Some(52)
    );
    sim.update_faults(|f| f.truncate_reply = Times::Next(1));
    assert_eq!(
        fx.upload("a.jpg", JPEG, SignType::Md5).await.status.code(),
        Some(18)
    );
    sim.update_faults(|f| f.reply_delay = std::time::Duration::from_secs(3));
    let file = fx.file("slow.jpg", JPEG);
    let out = fx
        .curl(&[("mch_id", "x")], Some(&file), &["--max-time", "1"])
        .await;
    assert_eq!(out.status.code(), Some(28));
    sim.update_faults(|f| f.reply_delay = std::time::Duration::ZERO);
    // All switches used up: a normal upload works again.
    assert!(
        fx.decode(
            &fx.upload("a.jpg", JPEG, SignType::Md5).await,
            SignType::Md5
        )
        .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_path_gets_the_gateways_404_and_a_query_string_still_uploads() {
    let fx = start().await;
    let file = fx.file("test.jpg", JPEG);
    let hash = MediaHash::of(JPEG).to_string();
    let mch = fx.server.sim().mch_id().to_owned();
    let mut fields = vec![("mch_id", mch.as_str()), ("media_hash", hash.as_str())];
    let sign = fx.sign(&fields, SignType::Md5);
    fields.push(("sign", &sign));
    let status_line = ["-w", "\n%{http_code}"];
    // (`/v3/merchant/media/upload` itself is served now: see tests/v3_curl.rs.)
    for path in [
        "/secapi/mch/uploadmedia2",
        "/v3/merchant/media/uploads",
        "/",
    ] {
        let url = format!("{}{path}", fx.server.endpoint());
        let out = fx.curl_to(&url, &fields, Some(&file), &status_line).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let (body, status) = stdout.rsplit_once('\n').unwrap();
        assert_eq!(status, "404", "{path}");
        assert!(
            body.contains("404 Not Found") && !body.contains("<xml>"),
            "{body}"
        );
    }
    let url = format!("{}?debug=1", fx.url());
    let out = fx.curl_to(&url, &fields, Some(&file), &[]).await;
    assert!(fx.decode(&out, SignType::Md5).is_ok());
    let log = fx.server.sim().received();
    assert_eq!(log.len(), 4);
    for r in &log[..3] {
        assert_eq!(r.outcome, Outcome::NotFound);
    }
    assert_eq!(log[2].path, "/");
    assert!(matches!(log[3].outcome, Outcome::Uploaded { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_simulator_refuses_connections() {
    let dir = TempDir::new().unwrap();
    let mut config = SimConfig::new(dir.path());
    config.faults.unreachable = true;
    let server = SimServer::start(config).await.unwrap();
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "5", "--cacert"])
        .arg(server.pki().ca_cert_path())
        .arg(format!("{}/secapi/mch/uploadmedia", server.endpoint()))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "curl: couldn't connect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_directory_is_reused_and_the_merchant_cert_follows_the_id() {
    let dir = TempDir::new().unwrap();
    let first = SimServer::start(SimConfig::new(dir.path())).await.unwrap();
    let ca = std::fs::read(first.pki().ca_cert_path()).unwrap();
    let client = std::fs::read(first.pki().client_cert_path()).unwrap();
    first.shutdown().await;
    let second = SimServer::start(SimConfig::new(dir.path())).await.unwrap();
    assert_eq!(std::fs::read(second.pki().ca_cert_path()).unwrap(), ca);
    assert_eq!(
        std::fs::read(second.pki().client_cert_path()).unwrap(),
        client
    );
    let mut config = SimConfig::new(dir.path());
    config.mch_id = "1900000555".into();
    let third = SimServer::start(config).await.unwrap();
    assert_eq!(std::fs::read(third.pki().ca_cert_path()).unwrap(), ca);
    let pem = std::fs::read_to_string(third.pki().client_cert_path()).unwrap();
    let der = rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    assert_eq!(wxmedia_sim::subject_cn(&der).as_deref(), Some("1900000555"));
    let key = std::fs::read_to_string(third.pki().client_key_path()).unwrap();
    assert!(
        key.starts_with("-----BEGIN PRIVATE KEY-----"),
        "PKCS#8 like apiclient_key.pem"
    );
}

use rustls_pki_types::pem::PemObject as _;
