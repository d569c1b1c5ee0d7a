//! What both embedding examples share and no HTTP stack touches: a simulator to talk to, the two uploads, and the test's check.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use wxmedia_proto::v2::{Credentials, SignType, UploadV2};
use wxmedia_proto::v3::{Api, Merchant, RsaSigner, UploadV3, Verifier};
use wxmedia_proto::{AttemptInputs, MchId, Media};
use wxmedia_sim::{SimConfig, SimServer};

pub(crate) type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

/// A simulator on its own tokio runtime, with its PKI in a temporary directory.
pub(crate) struct Sim {
    pub(crate) server: SimServer,
    #[allow(dead_code, reason = "embed_rustls only keeps it running")]
    pub(crate) runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

pub(crate) fn start() -> Result<Sim> {
    let (dir, runtime) = (tempfile::tempdir()?, tokio::runtime::Runtime::new()?);
    let server = runtime.block_on(SimServer::start(SimConfig::new(dir.path())))?;
    Ok(Sim {
        server,
        runtime,
        _dir: dir,
    })
}

/// The v2 upload: merchant id and APIv2 key (the client certificate goes
/// into the HTTP stack's TLS, not here).
pub(crate) fn upload_v2(server: &SimServer, media: Media) -> Result<UploadV2> {
    let sim = server.sim();
    let credentials = Credentials::new(sim.mch_id(), sim.api_key().expose_secret())?;
    Ok(UploadV2::new(credentials, media, SignType::HmacSha256)?)
}

/// The v3 image upload: requests signed with the merchant's key, replies
/// checked with WeChat Pay's public key. No client certificate.
pub(crate) fn upload_v3(server: &SimServer, media: Media) -> Result<UploadV3> {
    let pki = server.pki();
    let mut verifier = Verifier::new();
    let public_key = std::fs::read(pki.wechatpay_public_key_path())?;
    verifier.add_public_key_pem(server.v3().keys().wechatpay_public_key_id(), &public_key)?;
    let key = std::fs::read(pki.client_key_path())?;
    let signer = RsaSigner::from_pem(&key, &std::fs::read(pki.client_cert_path())?)?;
    let mch_id = MchId::new(server.sim().mch_id())?;
    let merchant = Merchant::new(mch_id, Arc::new(signer), Arc::new(verifier));
    Ok(UploadV3::new(Api::Image, merchant, media)?)
}

/// What the core takes as inputs for one attempt, drawn fresh each time:
/// the Unix time, random bytes for the boundary and the nonce, and the
/// backoff jitter in `[0, 1)` for `Driver::finish`.
pub(crate) fn fresh_inputs() -> Result<(AttemptInputs, f64)> {
    let mut r = [0u8; 40];
    getrandom::fill(&mut r)?;
    let (boundary, nonce) = (r[..16].try_into()?, r[16..32].try_into()?);
    let jitter = (u64::from_le_bytes(r[32..].try_into()?) >> 11) as f64 / (1u64 << 53) as f64;
    Ok((
        AttemptInputs {
            unix_time: unix_now(),
            boundary,
            nonce,
        },
        jitter,
    ))
}

/// Now in Unix seconds: v3 signs it, and replies are judged against it.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) fn sample() -> Media {
    let jpeg = Bytes::from_static(wxmedia_sim::samples::JPEG);
    Media::new("sample.jpg", jpeg).expect("the fixture is a valid JPEG")
}

/// The examples' test: the first v2 attempt gets SYSTEMERROR, so the loop
/// must sleep and try again; both media ids must be the ones the simulator issued.
#[cfg(test)]
pub(crate) fn check(sim: &Sim, upload_both: impl FnOnce() -> Result<(String, String)>) {
    use wxmedia_sim::{Outcome, Times};
    sim.server
        .sim()
        .update_faults(|f| f.system_error = Times::Next(1));
    let (v2, v3) = upload_both().expect("both uploads succeed");
    let outcomes: Vec<_> = sim
        .server
        .sim()
        .received()
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    let uploaded = |media_id: String| Outcome::Uploaded { media_id };
    assert!(matches!(outcomes[0], Outcome::Refused { ref code, .. } if code == "SYSTEMERROR"));
    assert_eq!(outcomes[1..], [uploaded(v2), uploaded(v3)]);
}
