//! Upload an image with APIv3 through wxmedia-blocking, downloading the platform certificates with the APIv3 key, to a simulator on its own thread.

use wxmedia_blocking::{Media, V3Client, v3};
use wxmedia_sim::{SimConfig, SimServer, V3Signer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The simulator needs tokio; the client does not.
    let runtime = tokio::runtime::Runtime::new()?;
    let state = tempfile::TempDir::new()?;
    let mut config = SimConfig::new(state.path());
    config.v3_signer = V3Signer::PlatformCert; // certificates are served in this mode
    let server = runtime.block_on(SimServer::start(config))?;
    let pki = server.pki();
    // With the APIv3 key the client fetches, decrypts, verifies and caches
    // the platform certificates itself, and refreshes them on rotation.
    let client = V3Client::builder()
        .mch_id(server.sim().mch_id())
        .private_key_file(pki.client_key_path())
        .merchant_certificate_file(pki.client_cert_path())
        .api_v3_key(server.v3().keys().api_v3_key())
        .endpoint(server.endpoint())
        .add_root_ca_file(pki.ca_cert_path())
        .build()?;
    let bytes = wxmedia_sim::samples::JPEG.to_vec();
    // Media::new checks the format; the upload checks the image limit (5 MiB).
    let media = Media::new("id-front.jpg", bytes)?;
    println!("{}", client.upload(&v3::Image, media)?.media_id);
    Ok(())
}
