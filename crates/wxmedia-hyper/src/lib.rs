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
use tracing::Instrument;
use wxmedia_proto::{AttemptEnd, Connectivity, Driver, Endpoints, Step};
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

impl From<MediaError> for Error {
    /// So that `Media::new(..)?` works in functions returning this error.
    fn from(e: MediaError) -> Error {
        Error::Proto(e.into())
    }
}

impl Error {
    /// Whether trying again later can help. The client has already retried
    /// as its policy allows.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Proto(e) => e.is_retryable(),
            Error::Config(_) => false,
            Error::Transport(_) | Error::Body(_) | Error::Timeout(_) => true,
        }
    }

    /// The WeChat Pay error code, when the server sent one.
    pub fn api_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Proto(e) => e.api_code(),
            _ => None,
        }
    }

    /// Whether the input was refused before anything was sent.
    pub fn is_input_error(&self) -> bool {
        matches!(self, Error::Proto(e) if e.is_input_error()) || matches!(self, Error::Config(_))
    }
}

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
        let settings = &self.inner.settings;
        let upload = settings.upload(media);
        let started = Instant::now();
        let deadline = started + settings.timeouts.deadline;
        let mut driver = Driver::new(settings.retry, started);
        loop {
            let (base, request) = driver.prepare(
                &upload,
                &mut self.endpoints(),
                Instant::now(),
                wxmedia_tls::random_boundary_bytes(),
            )?;
            let budget = settings
                .timeouts
                .attempt
                .min(deadline.saturating_duration_since(Instant::now()));
            let span = tracing::info_span!("wxmedia.attempt", n = driver.attempts(), host = %base);
            let (end, error) = self
                .attempt(request, budget, upload.reply_limit())
                .instrument(span.clone())
                .await;
            let step = driver.finish(
                &upload,
                &mut self.endpoints(),
                &base,
                end,
                Instant::now(),
                wxmedia_tls::jitter(),
            );
            let _enter = span.enter();
            match step {
                Step::Done(done) => {
                    tracing::info!(outcome = "uploaded", "upload done");
                    return Ok(done);
                }
                Step::GiveUp(proto) => {
                    let err = proto
                        .map(Error::Proto)
                        .or(error)
                        .unwrap_or(Error::Timeout(budget));
                    tracing::warn!(outcome = "failed", error = %err, "giving up");
                    return Err(err);
                }
                Step::Sleep(delay) => {
                    let retry_error = error
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "API error".into());
                    if Instant::now() + delay >= deadline {
                        tracing::warn!(outcome = "deadline", "no time left to retry");
                        return Err(Error::Timeout(settings.timeouts.deadline));
                    }
                    tracing::info!(outcome = "retry", delay_ms = delay.as_millis() as u64, error = %retry_error, "retrying");
                    drop(_enter);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn endpoints(&self) -> std::sync::MutexGuard<'_, Endpoints> {
        self.inner
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// One attempt: what happened, and the transport error if there was one.
    async fn attempt(
        &self,
        request: http::Request<wxmedia_proto::Body>,
        budget: Duration,
        limit: usize,
    ) -> (AttemptEnd, Option<Error>) {
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
