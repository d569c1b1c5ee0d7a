//! Upload the sample JPEG through wxmedia-hyper to a simulator started in this process.

use wxmedia_hyper::{Identity, Media, SignType, V2Client};
use wxmedia_sim::{SimConfig, SimServer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let state = tempfile::TempDir::new()?;
    let server = SimServer::start(SimConfig::new(state.path())).await?;
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
        .sign_type(SignType::HmacSha256)
        .build()?;
    let bytes = wxmedia_sim::samples::JPEG.to_vec();
    let uploaded = client.upload(Media::new("sample.jpg", bytes)?).await?;
    println!("{}", uploaded.media_id);
    Ok(())
}
