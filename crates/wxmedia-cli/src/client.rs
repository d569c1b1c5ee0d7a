//! The one place the command line picks a transport and an API at run time: a client behind one async `upload`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use wxmedia_client::blocking::{self, BlockingTransport};
use wxmedia_client::doctor::{self, Check};
use wxmedia_client::{BuildError, Error, Transport, V2Builder, V2Client, V3Builder, V3Client};
use wxmedia_proto::Media;
use wxmedia_proto::v3::{Api, PlatformCertificate};

use crate::conn::{Destination, TransportArg};
use crate::destination::V3Target;
use crate::report::{Done, Failure};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the commands do with a client, whatever its transport and API.
trait Upload: Send + Sync {
    /// Upload one file as the client's target.
    fn upload(&self, media: Media) -> BoxFuture<'_, Result<Done, Error>>;
    /// Download the platform certificates (v3).
    fn download_certificates(&self) -> BoxFuture<'_, Result<Vec<PlatformCertificate>, Error>>;
    /// `wxmedia doctor`'s online checks, through this client.
    fn check_online(&self) -> BoxFuture<'_, Vec<Check>>;
}

impl<T: Transport> Upload for V2Client<T> {
    fn upload(&self, media: Media) -> BoxFuture<'_, Result<Done, Error>> {
        Box::pin(async move { V2Client::upload(self, media).await.map(Done::V2) })
    }

    fn download_certificates(&self) -> BoxFuture<'_, Result<Vec<PlatformCertificate>, Error>> {
        Box::pin(async { Err(certificates_are_v3()) })
    }

    fn check_online(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(doctor::check_online_v2(self))
    }
}

/// What a v2 client answers when asked for certificates: the platform
/// certificates are APIv3's (the certificates command builds a v3 client,
/// so this is for a caller that did not).
fn certificates_are_v3() -> Error {
    Error::Proto(wxmedia_proto::Error::InvalidInput {
        what: "api",
        reason: "the platform certificates are APIv3's: use --api v3".into(),
    })
}

/// A v3 client and the upload it does.
struct V3<C> {
    client: C,
    target: V3Target,
}

impl<T: Transport> Upload for V3<V3Client<T>> {
    fn upload(&self, media: Media) -> BoxFuture<'_, Result<Done, Error>> {
        Box::pin(async move {
            match self.target {
                V3Target::Api(api) => self.client.upload_to(api, media).await.map(Done::V3),
                V3Target::Custom(api) => self.client.upload(api, media).await.map(Done::custom),
            }
        })
    }

    fn download_certificates(&self) -> BoxFuture<'_, Result<Vec<PlatformCertificate>, Error>> {
        Box::pin(self.client.download_certificates())
    }

    fn check_online(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(doctor::check_online_v3(&self.client))
    }
}

/// A blocking client's call on tokio's blocking pool, so that a batch's
/// other uploads go on meanwhile.
async fn on_thread<C, R>(
    client: &C,
    call: impl FnOnce(C) -> Result<R, Error> + Send + 'static,
) -> Result<R, Error>
where
    C: Clone + Send + 'static,
    R: Send + 'static,
{
    let client = client.clone();
    match tokio::task::spawn_blocking(move || call(client)).await {
        Ok(r) => r,
        // The thread panicked: report it as the transport failing.
        Err(e) => Err(Error::transport(
            wxmedia_client::TransportErrorKind::Broken,
            e,
        )),
    }
}

impl<T: BlockingTransport> Upload for blocking::V2Client<T> {
    fn upload(&self, media: Media) -> BoxFuture<'_, Result<Done, Error>> {
        Box::pin(on_thread(self, |c| c.upload(media).map(Done::V2)))
    }

    fn download_certificates(&self) -> BoxFuture<'_, Result<Vec<PlatformCertificate>, Error>> {
        Box::pin(async { Err(certificates_are_v3()) })
    }

    fn check_online(&self) -> BoxFuture<'_, Vec<Check>> {
        let rt = tokio::runtime::Handle::current();
        Box::pin(checks_on_thread(on_thread(self, move |c| {
            Ok(rt.block_on(doctor::check_online_v2(c.as_async())))
        })))
    }
}

impl<T: BlockingTransport> Upload for V3<blocking::V3Client<T>> {
    fn upload(&self, media: Media) -> BoxFuture<'_, Result<Done, Error>> {
        let target = self.target;
        Box::pin(on_thread(&self.client, move |c| match target {
            V3Target::Api(api) => c.upload_to(api, media).map(Done::V3),
            V3Target::Custom(api) => c.upload(api, media).map(Done::custom),
        }))
    }

    fn download_certificates(&self) -> BoxFuture<'_, Result<Vec<PlatformCertificate>, Error>> {
        Box::pin(on_thread(&self.client, |c| c.download_certificates()))
    }

    fn check_online(&self) -> BoxFuture<'_, Vec<Check>> {
        let rt = tokio::runtime::Handle::current();
        Box::pin(checks_on_thread(on_thread(&self.client, move |c| {
            Ok(rt.block_on(doctor::check_online_v3(c.as_async())))
        })))
    }
}

/// A blocking client's checks, run on the blocking pool (ureq's exchange
/// blocks the thread that polls it), or the one check saying that thread
/// failed.
async fn checks_on_thread(checks: impl Future<Output = Result<Vec<Check>, Error>>) -> Vec<Check> {
    checks.await.unwrap_or_else(|e| {
        vec![Check::fail(
            "connection",
            format!("the check's thread failed: {e}"),
        )]
    })
}

/// A client's settings before the transport is chosen.
pub(crate) enum Configured {
    V2(V2Builder<()>),
    V3(V3Builder<()>, V3Target),
}

/// A client of the chosen transport and API, and the upload it does.
#[derive(Clone)]
pub(crate) struct Uploader {
    client: Arc<dyn Upload>,
    transport: TransportArg,
    target: Destination,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("transport", &self.transport)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// The async clients of transport `T`.
fn build_async<T: Transport>(configured: Configured) -> Result<Arc<dyn Upload>, BuildError> {
    Ok(match configured {
        Configured::V2(b) => Arc::new(b.for_client::<V2Client<T>>().build()?),
        Configured::V3(b, target) => Arc::new(V3 {
            client: b.for_client::<V3Client<T>>().build()?,
            target,
        }),
    })
}

/// The blocking faces of transport `T`.
fn build_blocking<T: BlockingTransport>(
    configured: Configured,
) -> Result<Arc<dyn Upload>, BuildError> {
    Ok(match configured {
        Configured::V2(b) => Arc::new(b.for_client::<blocking::V2Client<T>>().build()?),
        Configured::V3(b, target) => Arc::new(V3 {
            client: b.for_client::<blocking::V3Client<T>>().build()?,
            target,
        }),
    })
}

impl Uploader {
    /// A client of `transport` from the settings.
    pub(crate) fn build(
        transport: TransportArg,
        configured: Configured,
    ) -> Result<Uploader, BuildError> {
        let target = match &configured {
            Configured::V2(_) => Destination::V2,
            Configured::V3(_, target) => Destination::from(*target),
        };
        let client = match transport {
            TransportArg::Hyper => build_async::<wxmedia_hyper::Hyper>(configured)?,
            // surf's I/O runs on async-std's own reactor, so its futures
            // can be awaited from the CLI's tokio runtime.
            TransportArg::Surf => build_async::<wxmedia_surf::Surf>(configured)?,
            TransportArg::Blocking => build_blocking::<wxmedia_blocking::Ureq>(configured)?,
        };
        Ok(Uploader {
            client,
            transport,
            target,
        })
    }

    /// The transport's name.
    pub(crate) fn name(&self) -> &'static str {
        match self.transport {
            TransportArg::Hyper => "hyper",
            TransportArg::Surf => "surf",
            TransportArg::Blocking => "blocking",
        }
    }

    /// What each upload does.
    pub(crate) fn target(&self) -> Destination {
        self.target
    }

    /// Upload, mapping the error (one type for every transport) into the
    /// CLI's report.
    pub(crate) async fn upload(&self, media: Media) -> Result<Done, Failure> {
        self.client
            .upload(media)
            .await
            .map_err(|e| Failure::from_error(&e))
    }

    /// `wxmedia doctor`'s online checks (clock, signature, certificates,
    /// mutual TLS), through this client; nothing is uploaded.
    pub(crate) async fn check_online(&self) -> Vec<Check> {
        self.client.check_online().await
    }

    /// Download, decrypt and verify the platform certificates (v3, with
    /// the APIv3 key).
    pub(crate) async fn download_certificates(&self) -> Result<Vec<PlatformCertificate>, Failure> {
        self.client
            .download_certificates()
            .await
            .map_err(|e| Failure::from_error(&e))
    }
}

impl Uploader {
    /// A v2 client for an in-process simulator (the demo).
    pub(crate) fn for_simulator(
        server: &wxmedia_sim::SimServer,
        transport: TransportArg,
        sign_type: wxmedia_proto::v2::SignType,
    ) -> anyhow::Result<Uploader> {
        let pki = server.pki();
        let identity = wxmedia_client::Identity::from_pem_files(
            pki.client_cert_path(),
            pki.client_key_path(),
        )?;
        let builder = V2Builder::new()
            .mch_id(server.sim().mch_id())
            .api_key(server.sim().api_key().expose_secret())
            .identity(identity)
            .sign_type(sign_type)
            .endpoint(server.endpoint())
            .webpki_roots(false)
            .add_root_ca_file(pki.ca_cert_path());
        Ok(Uploader::build(transport, Configured::V2(builder))?)
    }

    /// A v3 client for an in-process simulator (the demo), verifying
    /// replies with the simulator's WeChat Pay public key.
    pub(crate) fn for_simulator_v3(
        server: &wxmedia_sim::SimServer,
        transport: TransportArg,
        api: Api,
    ) -> anyhow::Result<Uploader> {
        let pki = server.pki();
        let v3 = server.v3();
        let builder = V3Builder::new()
            .mch_id(server.sim().mch_id())
            .private_key_file(pki.client_key_path())
            .merchant_certificate_file(pki.client_cert_path())
            .wechatpay_public_key_file(
                v3.keys().wechatpay_public_key_id(),
                pki.wechatpay_public_key_path(),
            )
            .endpoint(server.endpoint())
            .webpki_roots(false)
            .add_root_ca_file(pki.ca_cert_path());
        Ok(Uploader::build(
            transport,
            Configured::V3(builder, V3Target::Api(api)),
        )?)
    }
}
