//! WeChat Pay media uploads over hyper 1, hyper-util's pooled client and hyper-rustls (ring), on tokio.
//!
//! All protocol logic lives in [`wxmedia_proto`]; this crate connects,
//! streams the request's segments, reads the reply up to the cap, sleeps when
//! told, and enforces the time limits.
//!
//! ```no_run
//! # async fn run() -> Result<(), wxmedia_hyper::Error> {
//! use wxmedia_hyper::{Client, Identity, Media, SignType};
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

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited, StreamBody};
use hyper::body::Frame;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wxmedia_proto::{AttemptEnd, Connectivity, Endpoints};
use wxmedia_tls::{ConnectFailure, FromSettings, Settings};

pub use wxmedia_proto::{self as proto, ApiKey, ErrorCode, Media, MediaError, SignType, Uploaded};
pub use wxmedia_tls::{ClientBuilder, Identity, Timeouts};

type SegmentStream =
    futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>;
type RequestBody = StreamBody<SegmentStream>;

/// What went wrong with an upload over hyper.
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
    /// Connecting or sending failed.
    #[error("transport: {0}")]
    Transport(#[source] hyper_util::client::legacy::Error),
    /// Reading the reply failed.
    #[error("reading the reply: {0}")]
    Body(#[source] hyper::Error),
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
    http: HyperClient<HttpsConnector<HttpConnector>, RequestBody>,
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
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(settings.timeouts.connect));
        http.set_nodelay(true);
        // hyper-rustls sets ALPN itself from the enabled HTTP versions.
        let mut tls = (*settings.tls).clone();
        tls.alpn_protocols.clear();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        let endpoints = Mutex::new(settings.endpoints());
        Ok(Client {
            inner: Arc::new(Inner {
                settings,
                http: client,
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

    /// Upload one image: retried and failed over as the policy says, within
    /// the deadline.
    pub async fn upload(&self, media: Media) -> Result<Uploaded, Error> {
        let inner = &self.inner;
        wxmedia_tls::drive(
            &inner.settings,
            &inner.endpoints,
            media,
            |a| self.attempt(a),
            tokio::time::sleep,
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
        let (request, budget, limit) = (attempt.request, attempt.budget, attempt.reply_limit);
        let (parts, body) = request.into_parts();
        let frames: Vec<Result<Frame<Bytes>, Infallible>> = body
            .into_segments()
            .into_iter()
            .map(|s| Ok(Frame::data(s)))
            .collect();
        let request =
            http::Request::from_parts(parts, StreamBody::new(futures_util::stream::iter(frames)));
        let exchange = async {
            let response = match self.inner.http.request(request).await {
                Ok(r) => r,
                Err(e) => return classify(e),
            };
            let (parts, body) = response.into_parts();
            match Limited::new(body, limit).collect().await {
                Ok(collected) => (
                    AttemptEnd::Reply {
                        status: parts.status,
                        body: collected.to_bytes(),
                    },
                    None,
                ),
                Err(e) => match e.downcast::<hyper::Error>() {
                    Ok(hyper_err) => (AttemptEnd::Broken, Some(Error::Body(*hyper_err))),
                    // The only other error `Limited` produces is the cap.
                    Err(_) => (AttemptEnd::ReplyTooLarge, None),
                },
            }
        };
        match tokio::time::timeout(budget, exchange).await {
            Ok(result) => result,
            Err(_) => (AttemptEnd::TimedOut, Some(Error::Timeout(budget))),
        }
    }
}

fn classify(e: hyper_util::client::legacy::Error) -> (AttemptEnd, Option<Error>) {
    let end = if e.is_connect() {
        match wxmedia_tls::classify_connect_error(&e) {
            ConnectFailure::Tls => AttemptEnd::TlsFailed,
            ConnectFailure::Dns => AttemptEnd::ConnectFailed(Connectivity::DnsFailure),
            _ => AttemptEnd::ConnectFailed(Connectivity::ConnectTimeout),
        }
    } else {
        AttemptEnd::Broken
    };
    (end, Some(Error::Transport(e)))
}
