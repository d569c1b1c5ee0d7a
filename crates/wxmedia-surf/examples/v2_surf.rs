//! Upload the sample JPEG through wxmedia-surf to a simulator started in this process.

use wxmedia_sim::{SimConfig, SimServer};
use wxmedia_surf::{Identity, Media, SignType, V2Client};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The simulator is a tokio server; the client runs on async-std. Each
    // gets its own runtime: the simulator serves from tokio's worker thread
    // while this thread drives the upload.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
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
        .sign_type(SignType::HmacSha256)
        .build()?;
    let bytes = wxmedia_sim::samples::JPEG.to_vec();
    let uploaded = async_std::task::block_on(client.upload(Media::new("sample.jpg", bytes)?))?;
    println!("{}", uploaded.media_id);
    Ok(())
}
