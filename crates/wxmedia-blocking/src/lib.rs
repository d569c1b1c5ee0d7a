//! WeChat Pay media uploads without an async runtime: ureq 3 over rustls, driven by wxmedia-proto.
//!
//! The same clients as `wxmedia-hyper` and `wxmedia-surf`, with blocking
//! methods. No tokio underneath: use them from plain threads or scripts.
//! This crate is only a [`Transport`](wxmedia_client::Transport) (ureq);
//! the clients are the blocking faces of [`wxmedia_client::blocking`].
//!
//! ```no_run
//! use wxmedia_blocking::{Identity, Media, SignType, V2Client};
//!
//! let client = V2Client::builder()
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
mod tls;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use wxmedia_client::{Exchange, Settings, TransportErrorKind, classify};
use wxmedia_proto::AttemptEnd;

pub use wxmedia_client::{BuildError, Error, Identity, Timeouts, V2Builder, V3Builder};
pub use wxmedia_proto::v2::{ApiKey, SignType};
pub use wxmedia_proto::{self as proto, ErrorCode, Media, MediaError, v2, v3};

/// A blocking APIv2 client over ureq. Cheap to clone; clones share the
/// connection pool and the failover state and can be used from many
/// threads at once.
pub type V2Client = wxmedia_client::blocking::V2Client<Ureq>;

/// A blocking APIv3 client over ureq. Cheap to clone; clones share the
/// connection pool, the failover state and the platform certificates.
pub type V3Client = wxmedia_client::blocking::V3Client<Ureq>;

/// The ureq transport: an agent with the client certificate, the roots and
/// the time limits, and a pool sized for shared clients.
#[derive(Debug)]
pub struct Ureq {
    agent: ureq::Agent,
    /// The proxy rules of the client, asked for every request, and the
    /// proxy as ureq takes it.
    rules: wxmedia_client::ProxyRules,
    proxy: Option<ureq::Proxy>,
}

/// ureq does the whole exchange inside `send` and sleeps by blocking: the
/// blocking faces can drive it.
impl wxmedia_client::blocking::BlockingTransport for Ureq {}

impl wxmedia_client::Transport for Ureq {
    const NAME: &'static str = "blocking";

    fn new(settings: &Settings) -> Result<Ureq, BuildError> {
        Ok(Ureq {
            agent: agent::agent(settings)?,
            rules: settings.proxy.clone(),
            proxy: agent::proxy(settings)?,
        })
    }

    /// The whole exchange runs here, before the future is returned: ureq
    /// blocks, and enforces `budget` itself.
    fn send(
        &self,
        request: http::Request<wxmedia_proto::Body>,
        limit: usize,
        budget: Duration,
    ) -> impl Future<Output = Exchange> + Send {
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
    ) -> Exchange {
        let (parts, body) = request.into_parts();
        let route = self.rules.route(&parts.uri);
        let proxy = route.as_ref().and(self.proxy.clone());
        let uri = parts.uri.to_string();
        // The core sends uploads as POST and the certificate download as
        // GET; ureq types the two differently.
        let result = match parts.method {
            http::Method::GET => {
                with_headers(self.agent.get(uri), &parts.headers, budget, proxy).call()
            }
            http::Method::POST => {
                let reader = wxmedia_proto::SegmentReader::from(body);
                with_headers(self.agent.post(uri), &parts.headers, budget, proxy)
                    .send(ureq::SendBody::from_owned_reader(reader))
            }
            other => {
                let e = std::io::Error::other(format!("method {other} is not used by the core"));
                return AttemptEnd::failed(TransportErrorKind::Broken, e);
            }
        };
        let mut response = match (result, &route) {
            (Ok(r), _) => r,
            (Err(e), Some(route)) => return failed_through(route, e),
            (Err(e), None) => return failed(e),
        };
        // Read one byte past the cap so that "exactly at the cap" and
        // "over it" can be told apart without buffering more.
        let read = response
            .body_mut()
            .with_config()
            .limit(limit as u64 + 1)
            .read_to_vec();
        match read {
            Ok(bytes) if bytes.len() > limit => AttemptEnd::ReplyTooLarge,
            Ok(bytes) => {
                let (parts, _) = response.into_parts();
                wxmedia_client::reply(parts, Bytes::from(bytes))
            }
            Err(ureq::Error::BodyExceedsLimit(_)) => AttemptEnd::ReplyTooLarge,
            Err(e) => failed(e),
        }
    }
}

/// The core's headers, the attempt's time limit and the proxy (if the
/// rules send this request through one) on a ureq request.
fn with_headers<B>(
    builder: ureq::RequestBuilder<B>,
    headers: &http::HeaderMap,
    budget: Duration,
    proxy: Option<ureq::Proxy>,
) -> ureq::RequestBuilder<B> {
    let mut builder = builder
        .config()
        .timeout_global(Some(budget))
        .proxy(proxy)
        .build();
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder
}

/// A failure of a request sent through the proxy: the proxy's answer to
/// CONNECT that was not 200 (407, 403, ...) is its refusal, named; a
/// failure to reach it is a connect failure, naming it; anything after the
/// tunnel stood is sorted as without a proxy.
fn failed_through(route: &wxmedia_client::Route, e: ureq::Error) -> Exchange {
    match e {
        ureq::Error::ConnectProxyFailed(reason) => {
            // ureq's reason is the proxy's status line or "did not
            // respond": text from the proxy, kept escaped when printed.
            AttemptEnd::failed(
                TransportErrorKind::Proxy,
                wxmedia_client::ProxyError::refused(route, reason),
            )
        }
        ureq::Error::Io(ref io)
            if classify(io, TransportErrorKind::Broken) == TransportErrorKind::Connect =>
        {
            AttemptEnd::failed(
                TransportErrorKind::Connect,
                wxmedia_client::ProxyError::failed(route, "cannot connect to it", e),
            )
        }
        ureq::Error::ConnectionFailed
        | ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            AttemptEnd::failed(
                TransportErrorKind::Connect,
                wxmedia_client::ProxyError::failed(route, "cannot connect to it", e),
            )
        }
        other => failed(other),
    }
}

/// A ureq failure, sorted by its type: ureq names DNS, connect, TLS and
/// timeout failures itself; an I/O error is sorted by what it carries
/// (our resolver's [`DnsError`](wxmedia_client::DnsError), a
/// `rustls::Error`, a connect error kind).
fn failed(e: ureq::Error) -> Exchange {
    let kind = match &e {
        ureq::Error::HostNotFound => TransportErrorKind::Dns,
        ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => TransportErrorKind::Tls,
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            TransportErrorKind::Connect
        }
        ureq::Error::Timeout(_) => return AttemptEnd::TimedOut,
        ureq::Error::BodyExceedsLimit(_) => return AttemptEnd::ReplyTooLarge,
        ureq::Error::Io(io) => classify(io, TransportErrorKind::Broken),
        // The reply came but is not HTTP ureq can read: the server may have
        // acted on the upload, so it is not sent again.
        ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) => {
            TransportErrorKind::Malformed
        }
        _ => TransportErrorKind::Broken,
    };
    AttemptEnd::failed(kind, e)
}
