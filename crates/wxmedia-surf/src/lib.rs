//! WeChat Pay media uploads over surf 2 on async-std, with surf's backend replaced by async-h1 on futures-rustls (rustls 0.23).
//!
//! This crate is only a [`Transport`](wxmedia_client::Transport): it
//! connects, streams the request's segments, and reads the reply up to the
//! cap. The protocol lives in [`wxmedia_proto`]; settings, retries,
//! failover, deadlines and the error type in [`wxmedia_client`].
//!
//! surf's own TLS backends pull an old rustls and ring with open advisories,
//! so surf is used without default features and given a backend of this
//! crate: async-std TCP, a futures-rustls handshake presenting the client
//! certificate, async-h1 for HTTP/1.1, and a small pool of idle connections
//! per host.
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

mod conn;
mod connector;
mod convert;
mod pool;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use async_std::io::ReadExt;
use bytes::Bytes;
use wxmedia_client::{Exchange, Settings, TransportErrorKind};
use wxmedia_proto::AttemptEnd;

use crate::connector::Connector;
use crate::convert::{failed, to_http_types};
use crate::pool::Pool;

pub use wxmedia_client::{BuildError, Error, Identity, Timeouts, V2Builder, V3Builder};
pub use wxmedia_proto::v2::{ApiKey, SignType, Uploaded};
pub use wxmedia_proto::{self as proto, ErrorCode, Media, MediaError, v3};

/// An APIv2 client over surf. Cheap to clone; clones share the
/// connection pool and the failover state.
pub type V2Client = wxmedia_client::V2Client<Surf>;

/// An APIv3 client over surf. Cheap to clone; clones share the
/// connection pool, the failover state and the platform certificates.
pub type V3Client = wxmedia_client::V3Client<Surf>;

/// The surf transport: surf over this crate's async-h1 + futures-rustls
/// backend and its pool.
pub struct Surf {
    http: surf::Client,
    pool: Arc<Pool>,
}

impl std::fmt::Debug for Surf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Surf")
            .field("connections_opened", &self.pool.opened())
            .finish_non_exhaustive()
    }
}

impl Surf {
    /// How many connections this transport opened so far: lets tests see
    /// that the pool reuses connections.
    #[doc(hidden)]
    pub fn connections_opened(&self) -> usize {
        self.pool.opened()
    }
}

impl wxmedia_client::Transport for Surf {
    const NAME: &'static str = "surf";

    fn new(settings: &Settings) -> Result<Surf, BuildError> {
        let pool = Arc::new(Pool::default());
        // The rustls configuration already holds the client certificate,
        // the roots and ALPN `http/1.1`, which is all async-h1 speaks.
        let connector = Connector::new(
            Arc::clone(&settings.tls),
            settings.timeouts.connect,
            Arc::clone(&pool),
        );
        let http = surf::Client::with_http_client(connector);
        Ok(Surf { http, pool })
    }

    async fn send(
        &self,
        request: http::Request<wxmedia_proto::Body>,
        limit: usize,
        _budget: Duration,
    ) -> Exchange {
        let request = match to_http_types(request) {
            Ok(r) => r,
            Err(e) => return AttemptEnd::failed(TransportErrorKind::Broken, e),
        };
        let mut response = match self.http.send(request).await {
            Ok(r) => r,
            Err(e) => return failed(e),
        };
        let Ok(status) = http::StatusCode::from_u16(response.status().into()) else {
            let e = io::Error::new(io::ErrorKind::InvalidData, "invalid HTTP status");
            return AttemptEnd::failed(TransportErrorKind::Broken, e);
        };
        // A declared length over the cap is refused without reading.
        if response.len().is_some_and(|n| n > limit) {
            return AttemptEnd::ReplyTooLarge;
        }
        let mut reply = http::Response::builder().status(status);
        for (name, values) in response.iter() {
            for value in values.iter() {
                // A value `http` refuses is skipped, not a failure: async-h1
                // inserts a `Date` of its own, with a line break in it, into
                // a reply that had none. The head arrived whole; it is the
                // server's reply either way.
                match http::HeaderValue::from_str(value.as_str()) {
                    Ok(value) => reply = reply.header(name.as_str(), value),
                    Err(_) => {
                        tracing::debug!(header = %name, "skipping a header value http refuses")
                    }
                }
            }
        }
        let mut body = response.take_body();
        let expected = body.len();
        let mut buf = Vec::with_capacity(expected.unwrap_or(0).min(limit));
        // One byte past the cap tells "too large" from "exactly the cap".
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        if let Err(e) = (&mut body).take(cap).read_to_end(&mut buf).await {
            return AttemptEnd::failed(TransportErrorKind::Broken, e);
        }
        if buf.len() > limit {
            return AttemptEnd::ReplyTooLarge;
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
            return AttemptEnd::failed(TransportErrorKind::Broken, e);
        }
        match reply.body(Bytes::from(buf)) {
            Ok(reply) => AttemptEnd::Reply(reply),
            Err(e) => AttemptEnd::failed(TransportErrorKind::Broken, e),
        }
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        async_std::task::sleep(duration)
    }
}
