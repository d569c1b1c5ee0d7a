//! WeChat Pay media uploads without an async runtime: ureq 3 over rustls (ring), driven by wxmedia-proto.
//!
//! The same client as `wxmedia-hyper` and `wxmedia-surf`, with a blocking
//! `upload`. No tokio underneath: use it from plain threads or scripts.
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

use std::io::Read;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};
use wxmedia_proto::{AttemptEnd, Connectivity, Endpoints};
use wxmedia_tls::{ConnectFailure, FromSettings, Settings};

pub use wxmedia_proto::{self as proto, ApiKey, ErrorCode, Media, MediaError, SignType, Uploaded};
pub use wxmedia_tls::{ClientBuilder, Identity, Timeouts};

/// Idle connections kept for reuse (per host and in all): enough for a
/// client shared by a few dozen threads.
const MAX_IDLE: usize = 64;

/// What went wrong with a blocking upload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Refused input, or a reply that is an error: see [`wxmedia_proto::Error`].
    #[error(transparent)]
    Proto(#[from] wxmedia_proto::Error),
    /// The client could not be configured (files, certificates, settings).
    #[error(transparent)]
    Config(#[from] wxmedia_tls::Error),
    /// Connecting, sending or reading failed.
    #[error("transport: {0}")]
    Transport(#[source] ureq::Error),
    /// An attempt or the whole upload ran out of time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

wxmedia_tls::transport_error_impls!(Error);

/// A blocking upload client. Cheap to clone; clones share the connection
/// pool and the failover state and can be used from many threads at once.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    agent: ureq::Agent,
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
        let chain: Vec<Certificate<'static>> = settings
            .identity
            .chain()
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect();
        // ureq does not export its key-kind type, so the key goes in as PEM
        // with the label that names its kind.
        let key = settings.identity.key();
        let label = match key {
            rustls_pki::PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
            rustls_pki::PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
            _ => "PRIVATE KEY",
        };
        let key = PrivateKey::from_pem(pem(label, key.secret_der()).as_bytes())
            .map_err(|e| wxmedia_tls::Error::Settings(format!("client key for ureq: {e}")))?;
        // ureq takes either its own webpki roots or a list: build the list
        // so that extra CAs add to the public roots rather than replace them.
        let mut roots: Vec<Certificate<'static>> = Vec::new();
        if settings.roots.webpki {
            roots.extend(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .map(|c| Certificate::from_der(c.as_ref()).to_owned()),
            );
        }
        roots.extend(
            settings
                .roots
                .extra
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned()),
        );
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(wxmedia_tls::provider())
            .client_cert(Some(ClientCert::new_with_certs(&chain, key)))
            .root_certs(RootCerts::new_with_certs(&roots))
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .https_only(true)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(settings.timeouts.connect))
            .timeout_global(Some(settings.timeouts.attempt))
            .no_delay(true)
            // ureq keeps 3 idle connections per host by default; a client
            // shared by many threads would then pay a new TLS handshake
            // (with an RSA client certificate) on most uploads.
            .max_idle_connections(MAX_IDLE)
            .max_idle_connections_per_host(MAX_IDLE)
            .build()
            .into();
        let endpoints = Mutex::new(settings.endpoints());
        Ok(Client {
            inner: Arc::new(Inner {
                settings,
                agent,
                endpoints,
            }),
        })
    }
}

use wxmedia_tls::rustls::pki_types as rustls_pki;

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
    /// the deadline. Blocks the calling thread.
    pub fn upload(&self, media: Media) -> Result<Uploaded, Error> {
        let inner = &self.inner;
        // The loop is async so that all transports share it; here every
        // future it awaits is already complete (the attempt and the sleep
        // run synchronously), so a minimal executor drives it.
        futures_executor::block_on(wxmedia_tls::drive(
            &inner.settings,
            &inner.endpoints,
            media,
            |a| std::future::ready(self.attempt(a)),
            |d| {
                std::thread::sleep(d);
                std::future::ready(())
            },
        ))
    }

    fn endpoints(&self) -> std::sync::MutexGuard<'_, Endpoints> {
        self.inner
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn attempt(&self, attempt: wxmedia_tls::Attempt) -> (AttemptEnd, Option<Error>) {
        let (request, budget, limit) = (attempt.request, attempt.budget, attempt.reply_limit);
        let (parts, body) = request.into_parts();
        let mut builder = self
            .inner
            .agent
            .post(parts.uri.to_string())
            .config()
            .timeout_global(Some(budget))
            .build();
        for (name, value) in &parts.headers {
            builder = builder.header(name, value);
        }
        let reader = Segments::new(body.into_segments());
        let result = builder.send(ureq::SendBody::from_owned_reader(reader));
        let mut response = match result {
            Ok(r) => r,
            Err(e) => return classify(e, budget),
        };
        let status = response.status();
        // Read one byte past the cap so that "exactly at the cap" and
        // "over it" can be told apart without buffering more.
        match response
            .body_mut()
            .with_config()
            .limit(limit as u64 + 1)
            .read_to_vec()
        {
            Ok(bytes) if bytes.len() > limit => (AttemptEnd::ReplyTooLarge, None),
            Ok(bytes) => (
                AttemptEnd::Reply {
                    status,
                    body: Bytes::from(bytes),
                },
                None,
            ),
            Err(ureq::Error::BodyExceedsLimit(_)) => (AttemptEnd::ReplyTooLarge, None),
            Err(e) => classify(e, budget),
        }
    }
}

fn classify(e: ureq::Error, budget: Duration) -> (AttemptEnd, Option<Error>) {
    let end = match &e {
        ureq::Error::HostNotFound => AttemptEnd::ConnectFailed(Connectivity::DnsFailure),
        ureq::Error::ConnectionFailed => AttemptEnd::ConnectFailed(Connectivity::ConnectTimeout),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => AttemptEnd::TlsFailed,
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            AttemptEnd::ConnectFailed(Connectivity::ConnectTimeout)
        }
        ureq::Error::Timeout(_) => return (AttemptEnd::TimedOut, Some(Error::Timeout(budget))),
        ureq::Error::BodyExceedsLimit(_) => AttemptEnd::ReplyTooLarge,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            AttemptEnd::ConnectFailed(Connectivity::ConnectTimeout)
        }
        ureq::Error::Io(io) => match wxmedia_tls::classify_connect_error(io) {
            ConnectFailure::Tls => AttemptEnd::TlsFailed,
            _ => AttemptEnd::Broken,
        },
        _ => AttemptEnd::Broken,
    };
    (end, Some(Error::Transport(e)))
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The request body as a reader over the core's segments, in order, so
/// that the media is streamed from the caller's buffer, not copied into one.
struct Segments {
    segments: std::collections::VecDeque<Bytes>,
}

impl Segments {
    fn new(segments: Vec<Bytes>) -> Segments {
        Segments {
            segments: segments.into(),
        }
    }
}

impl Read for Segments {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(front) = self.segments.front_mut() {
            if front.is_empty() {
                self.segments.pop_front();
                continue;
            }
            let n = front.len().min(buf.len());
            buf[..n].copy_from_slice(&front[..n]);
            front.advance(n);
            return Ok(n);
        }
        Ok(0)
    }
}
