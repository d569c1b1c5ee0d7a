//! Upload an image with APIv3 through wxmedia-surf, verifying replies with the platform certificate, to a simulator started in this process.

use wxmedia_sim::{SimConfig, SimServer, V3Signer};
use wxmedia_surf::{Media, V3Client, v3};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The simulator is a tokio server; the client runs on async-std.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let state = tempfile::TempDir::new()?;
    let mut config = SimConfig::new(state.path());
    config.v3_signer = V3Signer::PlatformCert; // an older merchant: platform certificates
    let server = runtime.block_on(SimServer::start(config))?;
    let pki = server.pki();
    let client = V3Client::builder()
        .mch_id(server.sim().mch_id())
        .private_key_file(pki.client_key_path())
        .merchant_certificate_file(pki.client_cert_path())
        .platform_certificate_file(pki.platform_cert_path())
        .endpoint(server.endpoint())
        .add_root_ca_file(pki.ca_cert_path())
        .build()?;
    let bytes = wxmedia_sim::samples::JPEG.to_vec();
    // Media::new checks the format; the upload checks the image limit (5 MiB).
    let media = Media::new("id-front.jpg", bytes)?;
    let uploaded = async_std::task::block_on(client.upload(&v3::Image, media))?;
    println!(
        "{} (request {})",
        uploaded.media_id,
        uploaded.request_id.unwrap_or_default()
    );
    Ok(())
}
