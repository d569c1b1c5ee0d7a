//! WeChat Pay media uploads over surf 2 on async-std, with surf's backend replaced by async-h1 on futures-rustls (rustls 0.23, ring).
//!
//! All protocol logic lives in [`wxmedia_proto`]; this crate connects,
//! streams the request's segments, reads the reply up to the cap, sleeps when
//! told, and enforces the time limits.
//!
//! surf's own TLS backends pull an old rustls and ring with open advisories,
//! so surf is used without default features and given a backend of this
//! crate: async-std TCP, a futures-rustls handshake presenting the client
//! certificate, async-h1 for HTTP/1.1, and a small pool of idle connections
//! per host.
//!
//! ```no_run
//! # async fn run() -> Result<(), wxmedia_surf::Error> {
//! use wxmedia_surf::{Client, Identity, Media, SignType};
//!
//! let client = Client::builder()
//!     .mch_id("1900000109")
//!     .api_key(std::fs::read_to_string("apiv2.key").unwrap().trim())
//!     .identity(Identity::from_pem_files("apiclient_cert.pem", "apiclient_key.pem")?)
//!     .sign_type(SignType::HmacSha256)
//!     .build()?;
//! let media = Media::new("id-card.jpg", std::fs::read("id-card.jpg").unwrap())?;
//! let uploaded = client.upload(media).await?;
//! println!("{}", uploaded.media_id);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod connector;
mod segments;
#[cfg(test)]
mod tests;

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_std::io::ReadExt;
use bytes::Bytes;
use http_types::headers::{HeaderName, HeaderValue};
use wxmedia_proto::{AttemptEnd, Connectivity, Endpoints};
use wxmedia_tls::{ConnectFailure, FromSettings, Settings};

use crate::connector::{ConnectFailed, Connector, Pool, Replay};
use crate::segments::SegmentReader;

pub use wxmedia_proto::{self as proto, ApiKey, ErrorCode, Media, MediaError, SignType, Uploaded};
pub use wxmedia_tls::{ClientBuilder, Identity, Timeouts};

/// What went wrong with an upload over surf.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Refused input, or a reply that is an error (API error, bad
    /// signature, malformed, HTTP status): see [`wxmedia_proto::Error`].
    #[error(transparent)]
    Proto(#[from] wxmedia_proto::Error),
    /// The client could not be configured (files, certificates, settings).
    #[error(transparent)]
    Config(#[from] wxmedia_tls::Error),
    /// Connecting, sending or reading the reply failed. A failed TLS
    /// handshake carries the `rustls::Error` inside.
    #[error("transport: {0}")]
    Transport(#[source] io::Error),
    /// An attempt or the whole upload ran out of time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

wxmedia_tls::transport_error_impls!(Error);

/// An upload client. Cheap to clone; clones share the connection pool and
/// the failover state, and can be used from many tasks at once.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    http: surf::Client,
    pool: Arc<Pool>,
    endpoints: Mutex<Endpoints>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("mch_id", &self.inner.settings.credentials.mch_id)
            .field("primary", &self.inner.settings.primary)
            .finish_non_exhaustive()
    }
}

impl FromSettings for Client {
    type Error = Error;

    fn from_settings(settings: Settings) -> Result<Client, Error> {
        let pool = Arc::new(Pool::default());
        // The rustls configuration already holds the client certificate,
        // the roots and ALPN `http/1.1`, which is all async-h1 speaks.
        let connector = Connector::new(
            Arc::clone(&settings.tls),
            settings.timeouts.connect,
            Arc::clone(&pool),
        );
        let http = surf::Client::with_http_client(connector);
        let endpoints = Mutex::new(settings.endpoints());
        Ok(Client {
            inner: Arc::new(Inner {
                settings,
                http,
                pool,
                endpoints,
            }),
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
        self.endpoints().current(Instant::now()).to_owned()
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// How many connections this client (and its clones) opened so far:
    /// lets tests see that the pool reuses connections.
    #[doc(hidden)]
    pub fn connections_opened(&self) -> usize {
        self.inner.pool.opened()
    }

    /// Upload one image: retried and failed over as the policy says, within
    /// the deadline.
    pub async fn upload(&self, media: Media) -> Result<Uploaded, Error> {
        let inner = &self.inner;
        wxmedia_tls::drive(
            &inner.settings,
            &inner.endpoints,
            media,
            |a| self.attempt(a),
            async_std::task::sleep,
        )
        .await
    }

    fn endpoints(&self) -> std::sync::MutexGuard<'_, Endpoints> {
        self.inner
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// One attempt: what happened, and the transport error if there was one.
    async fn attempt(&self, attempt: wxmedia_tls::Attempt) -> (AttemptEnd, Option<Error>) {
        let (budget, limit) = (attempt.budget, attempt.reply_limit);
        let request = match to_http_types(attempt.request) {
            Ok(r) => r,
            Err(e) => return (AttemptEnd::Broken, Some(Error::Transport(e))),
        };
        let exchange = async {
            let mut response = match self.inner.http.send(request).await {
                Ok(r) => r,
                Err(e) => return classify(e),
            };
            let Ok(status) = http::StatusCode::from_u16(response.status().into()) else {
                let e = io::Error::new(io::ErrorKind::InvalidData, "invalid HTTP status");
                return (AttemptEnd::Broken, Some(Error::Transport(e)));
            };
            // A declared length over the cap is refused without reading.
            if response.len().is_some_and(|n| n > limit) {
                return (AttemptEnd::ReplyTooLarge, None);
            }
            let mut body = response.take_body();
            let expected = body.len();
            let mut buf = Vec::with_capacity(expected.unwrap_or(0).min(limit));
            // One byte past the cap tells "too large" from "exactly the cap".
            let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
            if let Err(e) = (&mut body).take(cap).read_to_end(&mut buf).await {
                return (AttemptEnd::Broken, Some(Error::Transport(e)));
            }
            if buf.len() > limit {
                return (AttemptEnd::ReplyTooLarge, None);
            }
            // A body that ends before its Content-Length is a connection
            // closed mid-reply: never hand half a reply to the decoder.
            if let Some(n) = expected
                && buf.len() < n
            {
                let e = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the connection closed after {} of {n} reply bytes",
                        buf.len()
                    ),
                );
                return (AttemptEnd::Broken, Some(Error::Transport(e)));
            }
            (
                AttemptEnd::Reply {
                    status,
                    body: Bytes::from(buf),
                },
                None,
            )
        };
        match async_std::future::timeout(budget, exchange).await {
            Ok(result) => result,
            Err(_) => (AttemptEnd::TimedOut, Some(Error::Timeout(budget))),
        }
    }
}

/// The core's request as an `http_types` one: every header copied, the
/// body streamed from the segments, and the segments kept aside (shared,
/// not copied) in case a dead pooled connection forces a resend.
fn to_http_types(
    request: http::Request<wxmedia_proto::Body>,
) -> Result<http_types::Request, io::Error> {
    let (parts, body) = request.into_parts();
    let method: http_types::Method = parts.method.as_str().parse().map_err(into_io)?;
    let url = http_types::Url::parse(&parts.uri.to_string())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut out = http_types::Request::new(method, url);
    let segments = body.into_segments();
    let reader = SegmentReader::new(segments.clone());
    let len = reader.remaining();
    // The body first: setting it adds a default Content-Type that the
    // core's headers below then replace.
    out.set_body(http_types::Body::from_reader(reader, Some(len)));
    for name in parts.headers.keys() {
        let header: HeaderName = name.as_str().parse().map_err(into_io)?;
        let values = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| HeaderValue::from_bytes(v.as_bytes().to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(into_io)?;
        out.insert_header(header, &values[..]);
    }
    out.ext_mut().insert(Replay(segments));
    Ok(out)
}

/// Sort a surf error into how the attempt ended.
fn classify(e: surf::Error) -> (AttemptEnd, Option<Error>) {
    match e.downcast::<ConnectFailed>() {
        Ok(ConnectFailed(io)) => {
            let end = match wxmedia_tls::classify_connect_error(&io) {
                ConnectFailure::Tls => AttemptEnd::TlsFailed,
                ConnectFailure::Dns => AttemptEnd::ConnectFailed(Connectivity::DnsFailure),
                _ => AttemptEnd::ConnectFailed(Connectivity::ConnectTimeout),
            };
            (end, Some(Error::Transport(io)))
        }
        Err(e) => (AttemptEnd::Broken, Some(Error::Transport(into_io(e)))),
    }
}

/// An `http_types` error as the I/O error it wraps, or as one carrying it.
fn into_io(e: http_types::Error) -> io::Error {
    match e.into_inner().downcast::<io::Error>() {
        Ok(io) => io,
        Err(other) => io::Error::other(other),
    }
}
