//! WeChat Pay media uploads without an async runtime: ureq 3 over rustls (ring), driven by wxmedia-proto.
//!
//! The same client as `wxmedia-hyper` and `wxmedia-surf`, with a blocking
//! `upload`. No tokio underneath: use it from plain threads or scripts.
//! This crate is only a [`Transport`](wxmedia_client::Transport) (ureq) and
//! a blocking face on [`wxmedia_client::Client`].
//!
//! ```no_run
//! use wxmedia_blocking::{Client, Identity, Media, SignType};
//!
//! let client = Client::builder()
//!     .mch_id("1900000109")
//!     .api_key(std::fs::read_to_string("apiv2.key")?.trim())
//!     .identity(Identity::from_pem_files("apiclient_cert.pem", "apiclient_key.pem")?)
//!     .sign_type(SignType::HmacSha256)
//!     .build()?;
//! let uploaded = client.upload(Media::new("id-card.jpg", std::fs::read("id-card.jpg")?)?)?;
//! println!("{}", uploaded.media_id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod agent;
mod resolver;
mod segments;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use wxmedia_client::{FromSettings, Sent, Settings, TransportErrorKind};
use wxmedia_tls::ConnectFailure;

use crate::segments::Segments;

pub use wxmedia_client::{BuildError, ClientBuilder, Error, Identity, Timeouts};
pub use wxmedia_proto::v2::{ApiKey, SignType, Uploaded};
pub use wxmedia_proto::{self as proto, ErrorCode, Media, MediaError, v3};

/// A blocking upload client. Cheap to clone; clones share the connection
/// pool and the failover state and can be used from many threads at once.
///
/// It is [`wxmedia_client::Client`] over [`Ureq`], with `upload` blocking
/// the calling thread instead of returning a future.
#[derive(Clone, Debug)]
pub struct Client {
    inner: wxmedia_client::Client<Ureq>,
}

impl FromSettings for Client {
    fn from_settings(settings: Settings) -> Result<Client, BuildError> {
        Ok(Client {
            inner: wxmedia_client::Client::from_settings(settings)?,
        })
    }
}

impl Client {
    /// Start configuring a client.
    pub fn builder() -> ClientBuilder<Client> {
        ClientBuilder::new()
    }

    /// The base URL the next attempt would use: the primary, or the twin
    /// while failed over. Useful for monitoring.
    pub fn current_endpoint(&self) -> String {
        self.inner.current_endpoint()
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        self.inner.settings()
    }

    /// Upload one image: retried and failed over as the policy says, within
    /// the deadline. Blocks the calling thread.
    pub fn upload(&self, media: Media) -> Result<Uploaded, Error> {
        // The loop is async so that all transports share it; here every
        // future it awaits completes on its first poll (ureq's exchange
        // runs inside `send`, the sleep blocks when polled), so a minimal
        // executor drives it.
        futures_executor::block_on(self.inner.upload(media))
    }

    /// v3 image upload (see [`wxmedia_client::Client::upload_image`]). Blocks.
    pub fn upload_image(&self, media: Media) -> Result<v3::Uploaded, Error> {
        futures_executor::block_on(self.inner.upload_image(media))
    }

    /// v3 video upload (see [`wxmedia_client::Client::upload_video`]). Blocks.
    pub fn upload_video(&self, media: Media) -> Result<v3::Uploaded, Error> {
        futures_executor::block_on(self.inner.upload_video(media))
    }

    /// v3 marketing image upload (see
    /// [`wxmedia_client::Client::upload_marketing_image`]). Blocks.
    pub fn upload_marketing_image(&self, media: Media) -> Result<v3::Uploaded, Error> {
        futures_executor::block_on(self.inner.upload_marketing_image(media))
    }

    /// Any v3 upload (see [`wxmedia_client::Client::upload_v3`]). Blocks.
    pub fn upload_v3(&self, api: v3::Api, media: Media) -> Result<v3::Uploaded, Error> {
        futures_executor::block_on(self.inner.upload_v3(api, media))
    }

    /// Download the platform certificates with the APIv3 key (see
    /// [`wxmedia_client::Client::download_certificates`]). Blocks.
    pub fn download_certificates(&self) -> Result<Vec<v3::PlatformCertificate>, Error> {
        futures_executor::block_on(self.inner.download_certificates())
    }
}

/// The ureq transport: an agent with the client certificate, the roots and
/// the time limits, and a pool sized for shared clients.
#[derive(Debug)]
pub struct Ureq {
    agent: ureq::Agent,
}

impl wxmedia_client::Transport for Ureq {
    const NAME: &'static str = "blocking";

    fn new(settings: &Settings) -> Result<Ureq, BuildError> {
        Ok(Ureq {
            agent: agent::agent(settings)?,
        })
    }

    /// The whole exchange runs here, before the future is returned: ureq
    /// blocks, and enforces `budget` itself.
    fn send(
        &self,
        request: http::Request<wxmedia_proto::Body>,
        limit: usize,
        budget: Duration,
    ) -> impl Future<Output = Sent> + Send {
        std::future::ready(self.exchange(request, limit, budget))
    }

    /// Sleeps only when polled, so that the client's timer raced against a
    /// finished `send` never blocks.
    async fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration)
    }
}

impl Ureq {
    fn exchange(
        &self,
        request: http::Request<wxmedia_proto::Body>,
        limit: usize,
        budget: Duration,
    ) -> Sent {
        let (parts, body) = request.into_parts();
        let uri = parts.uri.to_string();
        // The core sends uploads as POST and the certificate download as
        // GET; ureq types the two differently.
        let result = match parts.method {
            http::Method::GET => with_headers(self.agent.get(uri), &parts.headers, budget).call(),
            http::Method::POST => {
                let reader = Segments::new(body.into_segments());
                with_headers(self.agent.post(uri), &parts.headers, budget)
                    .send(ureq::SendBody::from_owned_reader(reader))
            }
            other => {
                let e = std::io::Error::other(format!("method {other} is not used by the core"));
                return Sent::failed(TransportErrorKind::Broken, e);
            }
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => return classify(e),
        };
        // Read one byte past the cap so that "exactly at the cap" and
        // "over it" can be told apart without buffering more.
        let read = response
            .body_mut()
            .with_config()
            .limit(limit as u64 + 1)
            .read_to_vec();
        match read {
            Ok(bytes) if bytes.len() > limit => Sent::ReplyTooLarge,
            Ok(bytes) => {
                let (parts, _) = response.into_parts();
                Sent::Reply(http::Response::from_parts(parts, Bytes::from(bytes)))
            }
            Err(ureq::Error::BodyExceedsLimit(_)) => Sent::ReplyTooLarge,
            Err(e) => classify(e),
        }
    }
}

/// The core's headers and the attempt's time limit on a ureq request.
fn with_headers<B>(
    builder: ureq::RequestBuilder<B>,
    headers: &http::HeaderMap,
    budget: Duration,
) -> ureq::RequestBuilder<B> {
    let mut builder = builder.config().timeout_global(Some(budget)).build();
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder
}

fn classify(e: ureq::Error) -> Sent {
    let kind = match &e {
        ureq::Error::HostNotFound => TransportErrorKind::Dns,
        ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => TransportErrorKind::Tls,
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            TransportErrorKind::Connect
        }
        ureq::Error::Timeout(_) => return Sent::TimedOut,
        ureq::Error::BodyExceedsLimit(_) => return Sent::ReplyTooLarge,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            TransportErrorKind::Connect
        }
        ureq::Error::Io(io) => match wxmedia_tls::classify_connect_error(io) {
            ConnectFailure::Tls => TransportErrorKind::Tls,
            _ => TransportErrorKind::Broken,
        },
        _ => TransportErrorKind::Broken,
    };
    Sent::failed(kind, e)
}
