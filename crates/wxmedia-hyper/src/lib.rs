//! WeChat Pay media uploads over hyper 1, hyper-util's pooled client and hyper-rustls, on tokio.
//!
//! This crate is only a [`Transport`](wxmedia_client::Transport): it
//! connects, streams the request's segments, and reads the reply up to the
//! cap. The protocol lives in [`wxmedia_proto`]; settings, retries,
//! failover, deadlines and the error type in [`wxmedia_client`].
//!
//! The HTTP engine under it, [`engine::Engine`] (hyper's client with
//! hyper-util's pool and hyper-rustls), is runtime-agnostic: this crate
//! runs it on tokio, `wxmedia-surf` on async-std.
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

pub mod engine;
mod proxy;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiAddrs, GaiResolver, Name};
use hyper_util::rt::TokioExecutor;
use wxmedia_client::{DnsError, Exchange, Settings};

use crate::engine::Engine;

pub use wxmedia_client::{BuildError, Error, Identity, Timeouts, V2Builder, V3Builder};
pub use wxmedia_proto::v2::{ApiKey, SignType};
pub use wxmedia_proto::{self as proto, ErrorCode, Media, MediaError, v2, v3};

/// An APIv2 client over hyper. Cheap to clone; clones share the
/// connection pool and the failover state.
pub type V2Client = wxmedia_client::V2Client<Hyper>;

/// An APIv3 client over hyper. Cheap to clone; clones share the
/// connection pool, the failover state and the platform certificates.
pub type V3Client = wxmedia_client::V3Client<Hyper>;

/// The hyper transport: the [engine](engine::Engine) over hyper-util's
/// TCP connector, on tokio.
#[derive(Debug)]
pub struct Hyper {
    engine: Engine<HttpConnector<Resolver>>,
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
        Ok(Hyper {
            engine: Engine::new(http, settings, TokioExecutor::new()),
        })
    }

    fn send(
        &self,
        request: http::Request<wxmedia_proto::Body>,
        limit: usize,
        _budget: Duration,
    ) -> impl Future<Output = Exchange> + Send {
        self.engine.send(request, limit)
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}
