//! Upload an image, a video, a marketing image and a complaint image with APIv3 through wxmedia-hyper, to a simulator started in this process.

use wxmedia_hyper::{Media, V3Client, v3};
use wxmedia_sim::{SimConfig, SimServer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let state = tempfile::TempDir::new()?;
    let server = SimServer::start(SimConfig::new(state.path())).await?;
    let (pki, keys) = (server.pki(), server.v3());
    // v3 credentials: the merchant key and certificate, and WeChat Pay's
    // public key to verify replies with. No client certificate, no APIv2 key.
    let client = V3Client::builder()
        .mch_id(server.sim().mch_id())
        .private_key_file(pki.client_key_path())
        .merchant_certificate_file(pki.client_cert_path())
        .wechatpay_public_key_file(
            keys.keys().wechatpay_public_key_id(),
            pki.wechatpay_public_key_path(),
        )
        .endpoint(server.endpoint())
        .add_root_ca_file(pki.ca_cert_path())
        .build()?;
    use wxmedia_sim::samples;
    // Media::new checks the format; each upload checks its own size limit.
    let image = Media::new("id-front.jpg", samples::JPEG.to_vec())?;
    println!(
        "image      {}",
        client.upload(&v3::Image, image).await?.media_id
    );
    println!(
        "video      {}",
        client
            .upload(&v3::Video, Media::video("clip.mp4", samples::MP4.to_vec())?)
            .await?
            .media_id
    );
    let logo = Media::new("logo.png", samples::PNG.to_vec())?;
    println!(
        "marketing  {}",
        client.upload(&v3::MarketingImage, logo).await?.media_url
    );
    let evidence = Media::new("receipt.png", samples::PNG.to_vec())?;
    println!(
        "complaint  {}",
        client.upload(&v3::ComplaintImage, evidence).await?.media_id
    );
    Ok(())
}
