//! WeChat Pay media uploads on async-std, over the same HTTP engine as `wxmedia-hyper` (hyper 1, hyper-util's pool, hyper-rustls), with a `surf::Client` on it for users who want one.
//!
//! This crate is only a [`Transport`](wxmedia_client::Transport): it
//! connects, streams the request's segments, and reads the reply up to the
//! cap. The protocol lives in [`wxmedia_proto`]; settings, retries,
//! failover, deadlines and the error type in [`wxmedia_client`]; HTTP,
//! TLS and the pool in [`wxmedia_hyper::engine`], written once for both
//! async transports. What is async-std's here is the socket (async-std's
//! name lookup and TCP), the executor of the connection tasks and the
//! timer of the retry backoff.
//!
//! surf's own TLS backends pull an old rustls and ring with open
//! advisories; surf is used without them. [`Surf::surf_client`] gives a
//! `surf::Client` whose backend is this engine (TLS with the client
//! certificate, the pool, the connect timeout of the settings).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use wxmedia_surf::{Identity, Media, SignType, V2Client};
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

mod net;
mod surf_client;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::time::Duration;

use wxmedia_client::{Exchange, Settings};
use wxmedia_hyper::engine::Engine;

use crate::net::{AsyncStdExecutor, AsyncStdTcp};

pub use wxmedia_client::{BuildError, Error, Identity, Timeouts, V2Builder, V3Builder};
pub use wxmedia_proto::v2::{ApiKey, SignType};
pub use wxmedia_proto::{self as proto, ErrorCode, Media, MediaError, v2, v3};

/// An APIv2 client over async-std. Cheap to clone; clones share the
/// connection pool and the failover state.
pub type V2Client = wxmedia_client::V2Client<Surf>;

/// An APIv3 client over async-std. Cheap to clone; clones share the
/// connection pool, the failover state and the platform certificates.
pub type V3Client = wxmedia_client::V3Client<Surf>;

/// The async-std transport: the [engine](wxmedia_hyper::engine::Engine)
/// over async-std's sockets and executor.
#[derive(Debug)]
pub struct Surf {
    engine: Engine<AsyncStdTcp>,
}

impl Surf {
    /// How many connections this transport opened so far: lets tests see
    /// that the pool reuses connections.
    #[doc(hidden)]
    pub fn connections_opened(&self) -> usize {
        self.engine.connections_opened()
    }

    /// A `surf::Client` sending through this transport's engine: the same
    /// TLS (roots, client certificate), pool and connect timeout as the
    /// uploads. Its time limits and TLS are the wxmedia settings'; surf's
    /// own configuration of the backend is refused.
    pub fn surf_client(&self) -> surf::Client {
        let config = http_client::Config::new()
            .set_http_keep_alive(true)
            .set_tcp_no_delay(true);
        surf::Client::with_http_client(surf_client::Backend {
            engine: self.engine.clone(),
            config,
        })
    }
}

impl wxmedia_client::Transport for Surf {
    const NAME: &'static str = "surf";

    fn new(settings: &Settings) -> Result<Surf, BuildError> {
        let tcp = AsyncStdTcp {
            connect_timeout: settings.timeouts.connect,
        };
        Ok(Surf {
            engine: Engine::new(tcp, settings, AsyncStdExecutor),
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
        async_std::task::sleep(duration)
    }
}
