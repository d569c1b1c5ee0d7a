//! Upload to a v3 path wxmedia does not name, with the meta that endpoint wants: the README's example, run against the simulator's test path.

use std::error::Error;

use wxmedia::hyper::V3Client;
use wxmedia::v3::CustomApi;
use wxmedia::{Media, MediaKind};
use wxmedia_sim::{SimConfig, SimServer};

/// 电商平台注销申请图片上传 (`/v3/ecommerce/account/cancel-applications/media`):
/// its meta is `{file_name, file_digest}`, not `{filename, sha256}`.
async fn upload_cancellation_media(
    client: &V3Client,
    path: &str,
    file: &std::path::Path,
) -> Result<String, Box<dyn Error>> {
    let api = CustomApi::new(path, 2 * 1024 * 1024)? // the endpoint's own limit
        .accepting(&[MediaKind::Jpeg, MediaKind::Png, MediaKind::Bmp])
        .meta_names("file_name", "file_digest")?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("no file name")?;
    let media = Media::new(name, std::fs::read(file)?)?;
    // Signed, sent, retried and verified like every v3 upload.
    let uploaded = client.upload(&api, media).await?;
    println!(
        "Request-ID {:?}, reply {}",
        uploaded.request_id, uploaded.body
    );
    Ok(uploaded
        .media_id()
        .ok_or("the reply has no media_id")?
        .to_owned())
}

/// Start a simulator, write a sample letter, and upload it to the
/// simulator's test path (which takes this meta shape) instead of WeChat
/// Pay's path.
async fn run() -> Result<String, Box<dyn Error>> {
    let state = tempfile::TempDir::new()?;
    let server = SimServer::start(SimConfig::new(state.path())).await?;
    let (pki, v3) = (server.pki(), server.v3());
    let client = V3Client::builder()
        .mch_id(server.sim().mch_id())
        .private_key_file(pki.client_key_path())
        .merchant_certificate_file(pki.client_cert_path())
        .wechatpay_public_key_file(
            v3.keys().wechatpay_public_key_id(),
            pki.wechatpay_public_key_path(),
        )
        .endpoint(server.endpoint())
        .add_root_ca_file(pki.ca_cert_path())
        .build()?;
    let letter = state.path().join("letter.jpg");
    std::fs::write(&letter, wxmedia_sim::samples::JPEG)?;
    upload_cancellation_media(&client, wxmedia_sim::TEST_UPLOAD_PATH, &letter).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    println!("media_id {}", run().await?);
    Ok(())
}

#[test]
fn uploads_to_the_test_path() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let media_id = runtime.block_on(run()).unwrap();
    assert!(!media_id.is_empty());
}
