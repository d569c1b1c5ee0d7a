//! Upload the sample JPEG through wxmedia-blocking to a simulator running on its own thread.

use wxmedia_blocking::{Identity, Media, SignType, V2Client};
use wxmedia_sim::{SimConfig, SimServer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The simulator needs tokio; the client does not.
    let runtime = tokio::runtime::Runtime::new()?;
    let state = tempfile::TempDir::new()?;
    let server = runtime.block_on(SimServer::start(SimConfig::new(state.path())))?;
    let pki = server.pki();
    let client = V2Client::builder()
        .mch_id(server.sim().mch_id())
        .api_key(server.sim().api_key().expose_secret())
        .identity(Identity::from_pem_files(
            pki.client_cert_path(),
            pki.client_key_path(),
        )?)
        .endpoint(server.endpoint())
        .add_root_ca_file(pki.ca_cert_path())
        .sign_type(SignType::Md5)
        .build()?;
    let bytes = wxmedia_sim::samples::JPEG.to_vec();
    let uploaded = client.upload(Media::new("sample.jpg", bytes)?)?;
    println!("{}", uploaded.media_id);
    Ok(())
}
