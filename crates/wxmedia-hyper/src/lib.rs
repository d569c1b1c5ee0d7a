//! WeChat Pay media uploads over hyper 1, hyper-util's pooled client and hyper-rustls, on tokio.
//!
//! This crate is only a [`Transport`](wxmedia_client::Transport): it
//! connects, streams the request's segments, and reads the reply up to the
//! cap. The protocol lives in [`wxmedia_proto`]; settings, retries,
//! failover, deadlines and the error type in [`wxmedia_client`].
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use wxmedia_hyper::{Identity, Media, SignType, V2Client};
//!
//! let client = V2Client::builder()
//!     .mch_id("1900000109")
//!     .api_key(std::fs::read_to_string("apiv2.key")?.trim())
//!     .identity(Identity::from_pem_files("apiclient_cert.pem", "apiclient_key.pem")?)
//!     .sign_type(SignType::HmacSha256)
//!     .build()?;
//! let media = Media::new("id-card.jpg", std::fs::read("id-card.jpg")?)?;
//! let uploaded = client.upload(media).await?;
//! println!("{}", uploaded.media_id);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited, StreamBody};
use hyper::body::Frame;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiAddrs, GaiResolver, Name};
use hyper_util::rt::TokioExecutor;
use wxmedia_client::{DnsError, Exchange, Settings, TransportErrorKind, classify};
use wxmedia_proto::AttemptEnd;

pub use wxmedia_client::{BuildError, Error, Identity, Timeouts, V2Builder, V3Builder};
pub use wxmedia_proto::v2::{ApiKey, SignType, Uploaded};
pub use wxmedia_proto::{self as proto, ErrorCode, Media, MediaError, v3};

type SegmentStream =
    futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>;
type RequestBody = StreamBody<SegmentStream>;

/// An APIv2 client over hyper. Cheap to clone; clones share the
/// connection pool and the failover state.
pub type V2Client = wxmedia_client::V2Client<Hyper>;

/// An APIv3 client over hyper. Cheap to clone; clones share the
/// connection pool, the failover state and the platform certificates.
pub type V3Client = wxmedia_client::V3Client<Hyper>;

/// The hyper transport: a pooled hyper-util client over hyper-rustls.
#[derive(Debug)]
pub struct Hyper {
    http: HyperClient<HttpsConnector<HttpConnector<Resolver>>, RequestBody>,
}

/// hyper-util's getaddrinfo resolver, its failures typed as
/// [`DnsError`] so that they are told from connect failures by type.
#[derive(Clone)]
struct Resolver(GaiResolver);

type Resolving = Pin<Box<dyn Future<Output = Result<GaiAddrs, DnsError>> + Send>>;

impl tower_service::Service<Name> for Resolver {
    type Response = GaiAddrs;
    type Error = DnsError;
    type Future = Resolving;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), DnsError>> {
        self.0.poll_ready(cx).map_err(|source| DnsError {
            host: String::new(),
            source,
        })
    }

    fn call(&mut self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let lookup = self.0.call(name);
        Box::pin(async move { lookup.await.map_err(|source| DnsError { host, source }) })
    }
}

impl wxmedia_client::Transport for Hyper {
    const NAME: &'static str = "hyper";

    fn new(settings: &Settings) -> Result<Hyper, BuildError> {
        let mut http = HttpConnector::new_with_resolver(Resolver(GaiResolver::new()));
        http.enforce_http(false);
        http.set_connect_timeout(Some(settings.timeouts.connect));
        http.set_nodelay(true);
        // hyper-rustls refuses a configuration that already has ALPN
        // protocols and sets them itself from the enabled HTTP versions;
        // with HTTP/1.1 alone it offers no ALPN at all, which servers take
        // as HTTP/1.1.
        let mut tls = (*settings.tls).clone();
        tls.alpn_protocols.clear();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        Ok(Hyper { http })
    }

    fn send(
        &self,
        request: http::Request<wxmedia_proto::Body>,
        limit: usize,
        _budget: Duration,
    ) -> impl Future<Output = Exchange> + Send {
        let (parts, body) = request.into_parts();
        let frames: Vec<Result<Frame<Bytes>, Infallible>> = body
            .into_segments()
            .into_iter()
            .map(|s| Ok(Frame::data(s)))
            .collect();
        let request =
            http::Request::from_parts(parts, StreamBody::new(futures_util::stream::iter(frames)));
        let sending = self.http.request(request);
        async move {
            let response = match sending.await {
                Ok(r) => r,
                Err(e) => return failed(e),
            };
            let (parts, body) = response.into_parts();
            match Limited::new(body, limit).collect().await {
                Ok(collected) => wxmedia_client::reply(parts, collected.to_bytes()),
                Err(e) => match e.downcast::<hyper::Error>() {
                    Ok(hyper_err) => AttemptEnd::failed(TransportErrorKind::Broken, *hyper_err),
                    // The only other error `Limited` produces is the cap.
                    Err(_) => AttemptEnd::ReplyTooLarge,
                },
            }
        }
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// A failed request, sorted by its error's types: hyper-util says
/// whether it was connecting; the chain says whether TLS or DNS failed; a
/// reply hyper could not parse is malformed (the server may have acted on
/// the upload, so it is not sent again).
fn failed(e: hyper_util::client::legacy::Error) -> Exchange {
    let parse = std::error::Error::source(&e)
        .and_then(|s| s.downcast_ref::<hyper::Error>())
        .is_some_and(hyper::Error::is_parse);
    let otherwise = if e.is_connect() {
        TransportErrorKind::Connect
    } else if parse {
        TransportErrorKind::Malformed
    } else {
        TransportErrorKind::Broken
    };
    AttemptEnd::failed(classify(&e, otherwise), e)
}
