//! The hand-written baselines: the v2 and v3 uploads a Rust developer writes with reqwest today, and the seed's curl command.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use md5::{Digest, Md5};
use ring::rand::SecureRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};
use sha2::Sha256;
use wxmedia_bench::pem_to_der;
use wxmedia_proto::v2::{SignType, StringToSign};

use super::sim::field;
use crate::{KEY, MCH};

/// The v3 baseline's signing material, loaded once as a user would.
pub(super) struct BaselineV3 {
    key: RsaKeyPair,
    serial_no: String,
    rng: ring::rand::SystemRandom,
}

impl BaselineV3 {
    /// The simulator's merchant key and serial, read from its ready line.
    pub(super) fn load(ready: &Value) -> BaselineV3 {
        let key_pem = std::fs::read_to_string(field(ready, "client_key")).expect("merchant key");
        BaselineV3 {
            key: RsaKeyPair::from_pkcs8(&pem_to_der(&key_pem)).expect("PKCS#8 RSA key"),
            serial_no: field(ready, "mch_serial_no"),
            rng: ring::rand::SystemRandom::new(),
        }
    }
}

/// What curl sends besides its certificate: the media as a file, its MD5
/// and the v2 sign. Made before every timed run, whichever the client, so
/// that every run pays the same untimed preparation.
pub(super) struct CurlForm {
    file: PathBuf,
    hash: String,
    sign: String,
}

impl CurlForm {
    /// The form for `data`; its file in `dir` is written only for curl
    /// (once per size: the name is the size).
    pub(super) fn new(dir: &Path, data: &Bytes, curl: bool) -> CurlForm {
        let file = dir.join(format!("m{}.jpg", data.len()));
        if curl && !file.exists() {
            std::fs::write(&file, data).expect("media file");
        }
        let hash = wxmedia_proto::MediaHash::of(data).to_string();
        let sign = StringToSign::new([("mch_id", MCH), ("media_hash", hash.as_str())])
            .sign(
                &wxmedia_proto::v2::ApiKey::new(KEY).expect("key"),
                SignType::Md5,
            )
            .to_string();
        CurlForm { file, hash, sign }
    }
}

/// The v2 baseline a Rust developer writes by hand today: md-5, a sign
/// string built with format!, reqwest's multipart form, and a substring
/// check of the reply (no signature verification: that is what such code
/// does).
pub(super) async fn reqwest_upload(client: &reqwest::Client, endpoint: &str, data: &Bytes) {
    let hash: String = Md5::digest(&data[..])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let to_sign = format!("mch_id={MCH}&media_hash={hash}&key={KEY}");
    let sign: String = Md5::digest(to_sign.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let form = reqwest::multipart::Form::new()
        .text("mch_id", MCH)
        .text("media_hash", hash)
        .text("sign", sign)
        .part(
            "media",
            reqwest::multipart::Part::bytes(data.to_vec())
                .file_name("a.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let text = client
        .post(format!("{endpoint}/secapi/mch/uploadmedia"))
        .multipart(form)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("reply");
    assert!(
        text.contains("<media_id>"),
        "baseline upload failed: {text}"
    );
}

/// The v3 baseline a Rust developer writes by hand today: sha2 for the
/// file's digest, serde_json for the meta, the five-line message signed
/// with ring (RSA PKCS#1 v1.5 SHA-256) and base64, the `Authorization`
/// header, a reqwest form with `meta` and `file`, and a substring check of
/// the reply: no verification of the reply's signature.
pub(super) async fn reqwest_v3_upload(
    client: &reqwest::Client,
    endpoint: &str,
    key: &BaselineV3,
    data: &Bytes,
) {
    const PATH: &str = "/v3/merchant/media/upload";
    let sha256: String = Sha256::digest(&data[..])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let meta = serde_json::to_string(&json!({ "filename": "a.jpg", "sha256": sha256 }))
        .expect("meta JSON");
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let mut random = [0u8; 16];
    key.rng.fill(&mut random).expect("random nonce");
    let nonce: String = random.iter().map(|b| format!("{b:02X}")).collect();
    let message = format!("POST\n{PATH}\n{timestamp}\n{nonce}\n{meta}\n");
    let mut signature = vec![0; key.key.public().modulus_len()];
    key.key
        .sign(
            &RSA_PKCS1_SHA256,
            &key.rng,
            message.as_bytes(),
            &mut signature,
        )
        .expect("RSA signature");
    let authorization = format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{MCH}\",nonce_str=\"{nonce}\",signature=\"{}\",timestamp=\"{timestamp}\",serial_no=\"{}\"",
        STANDARD.encode(&signature),
        key.serial_no
    );
    let form = reqwest::multipart::Form::new()
        .part(
            "meta",
            reqwest::multipart::Part::text(meta)
                .mime_str("application/json")
                .expect("mime"),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(data.to_vec())
                .file_name("a.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let reply = client
        .post(format!("{endpoint}{PATH}"))
        .header("Authorization", authorization)
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .await
        .expect("sent");
    let status = reply.status();
    let text = reply.text().await.expect("reply");
    assert!(
        status.is_success() && text.contains("\"media_id\""),
        "v3 baseline upload failed: {status} {text}"
    );
}

/// One v2 upload by the seed's curl command, a process of its own; a
/// substring check of the reply, as the seed does.
pub(super) fn curl_upload(ready: &Value, form: &CurlForm) {
    let CurlForm { file, hash, sign } = form;
    let s = |k: &str| field(ready, k);
    let out = Command::new("curl")
        .args([
            "-sS",
            "--cacert",
            &s("ca_cert"),
            "--cert",
            &s("client_cert"),
            "--key",
            &s("client_key"),
        ])
        .args([
            "-F",
            &format!("mch_id={MCH}"),
            "-F",
            &format!("media_hash={hash}"),
            "-F",
            &format!("sign={sign}"),
        ])
        .arg("-F")
        .arg(format!("media=@{}", file.display()))
        .arg(format!("{}/secapi/mch/uploadmedia", s("endpoint")))
        .output()
        .expect("curl runs");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("<media_id>"),
        "curl upload failed"
    );
}
