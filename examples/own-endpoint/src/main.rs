//! A v3 upload endpoint wxmedia does not build in, defined in a user's own crate with the same power as the built-in ones (its meta, its limits, a typed result), and uploaded to through every transport against the simulator.
//!
//! 电商平台 注销申请图片上传 (`POST /v3/ecommerce/account/cancel-applications/media`)
//! wants the meta `{file_name, file_digest}` rather than the media
//! uploads' `{filename, sha256}`, takes JPG/BMP/PNG up to 2 MB, and replies
//! `media_id`. Implementing `wxmedia::v3::Endpoint` is all it takes: the
//! clients sign, send, retry, verify and type the result exactly as for
//! `v3::Image`.

use std::error::Error;

use bytes::Bytes;
use wxmedia::v3::{self, Endpoint, Reply};
use wxmedia::{Media, MediaKind, ProtoError};
use wxmedia_sim::{SimConfig, SimServer};

/// The e-commerce account-cancellation image upload.
#[derive(Debug, Clone, Copy)]
pub struct CancellationImage;

/// What it gives back, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancellationMedia {
    /// The id to put in the cancellation application.
    pub media_id: String,
    /// The SHA-256 the meta carried as `file_digest`.
    pub file_digest: String,
    /// The reply's `Request-ID`.
    pub request_id: Option<String>,
}

impl Endpoint for CancellationImage {
    type Output = CancellationMedia;

    fn path(&self) -> &str {
        "/v3/ecommerce/account/cancel-applications/media"
    }

    fn max_size(&self) -> usize {
        2 * 1024 * 1024
    }

    fn accepts(&self, kind: MediaKind) -> bool {
        matches!(kind, MediaKind::Jpeg | MediaKind::Png | MediaKind::Bmp)
    }

    /// Nothing here is sensitive, so the sealer goes unused.
    fn meta(&self, media: &Media, _: &mut v3::Sealer<'_>) -> Result<Bytes, ProtoError> {
        v3::file_meta(media, "file_name", "file_digest", &[])
    }

    /// Called only with a reply whose signature was verified.
    fn output(&self, reply: Reply<'_>) -> Result<CancellationMedia, ProtoError> {
        Ok(CancellationMedia {
            media_id: reply.id_field("media_id")?,
            file_digest: reply.media().sha256_hex().to_owned(),
            request_id: reply.request_id(),
        })
    }
}

/// Which transport an upload went through, and what it gave.
type Uploaded = (&'static str, CancellationMedia);

/// Upload `media` to [`CancellationImage`] through hyper, surf and the
/// blocking transport, each built against the simulator.
async fn upload_everywhere(
    server: &SimServer,
    media: Media,
) -> Result<Vec<Uploaded>, Box<dyn Error>> {
    // The same settings on every transport: the simulator's merchant, key,
    // certificate, WeChat Pay public key, address and test CA.
    macro_rules! build {
        ($client:ty) => {{
            let (pki, v3) = (server.pki(), server.v3());
            <$client>::builder()
                .mch_id(server.sim().mch_id())
                .private_key_file(pki.client_key_path())
                .merchant_certificate_file(pki.client_cert_path())
                .wechatpay_public_key_file(
                    v3.keys().wechatpay_public_key_id(),
                    pki.wechatpay_public_key_path(),
                )
                .endpoint(server.endpoint())
                .add_root_ca_file(pki.ca_cert_path())
                .build()?
        }};
    }
    let hyper = build!(wxmedia::hyper::V3Client);
    let surf = build!(wxmedia::surf::V3Client);
    let blocking = build!(wxmedia::blocking::V3Client);

    let mut done = vec![(
        "hyper",
        hyper.upload(&CancellationImage, media.clone()).await?,
    )];
    let m = media.clone();
    let on_surf = std::thread::spawn(move || {
        async_std::task::block_on(surf.upload(&CancellationImage, m)).map_err(|e| e.to_string())
    });
    done.push(("surf", on_surf.join().map_err(|_| "the surf thread")??));
    let on_blocking =
        tokio::task::spawn_blocking(move || blocking.upload(&CancellationImage, media));
    done.push(("blocking", on_blocking.await??));
    Ok(done)
}

/// Start a simulator and upload a sample letter on every transport.
async fn run() -> Result<Vec<Uploaded>, Box<dyn Error>> {
    let state = tempfile::TempDir::new()?;
    let server = SimServer::start(SimConfig::new(state.path())).await?;
    let letter = Media::new("letter.jpg", wxmedia_sim::samples::JPEG)?;
    let done = upload_everywhere(&server, letter).await;
    server.shutdown().await;
    done
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    for (transport, media) in run().await? {
        println!(
            "{transport:<9} media_id {} (Request-ID {:?})",
            media.media_id, media.request_id
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every transport uploads through the user's endpoint, and what the
    /// simulator read is the meta this endpoint defines.
    #[test]
    fn every_transport_uploads_through_an_endpoint_defined_here() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let done = runtime.block_on(run()).unwrap();
        let names: Vec<_> = done.iter().map(|(t, _)| *t).collect();
        assert_eq!(names, ["hyper", "surf", "blocking"]);
        let sha = Media::new("letter.jpg", wxmedia_sim::samples::JPEG)
            .unwrap()
            .sha256_hex()
            .to_owned();
        for (transport, media) in &done {
            assert!(!media.media_id.is_empty(), "{transport}");
            assert_eq!(media.file_digest, sha, "{transport}");
            assert!(media.request_id.is_some(), "{transport}");
        }
    }

    /// The endpoint's own limit and kinds are kept before anything is sent.
    #[test]
    fn its_limits_are_kept_unsent() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let state = tempfile::TempDir::new().unwrap();
            let server = SimServer::start(SimConfig::new(state.path()))
                .await
                .unwrap();
            let mut big = wxmedia_sim::samples::JPEG.to_vec();
            big.resize(2 * 1024 * 1024 + 1, 0);
            let big = Media::new("big.jpg", big).unwrap();
            let e = upload_everywhere(&server, big).await.unwrap_err();
            assert!(e.to_string().contains("2097152"), "{e}");
            assert_eq!(server.sim().request_count(), 0, "nothing was sent");
            server.shutdown().await;
        });
    }
}
