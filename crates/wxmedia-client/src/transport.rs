//! What a transport supplies: build itself from the settings, send one request and read the capped reply, sleep.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use wxmedia_proto::Body;

use crate::{BoxError, BuildError, Settings, TransportErrorKind};

/// How one exchange ended, as the transport saw it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Sent {
    /// A whole reply, any status, its body read within the cap.
    Reply(Response<Bytes>),
    /// The reply body went past the cap; reading stopped there.
    ReplyTooLarge,
    /// The exchange ran past its budget.
    TimedOut,
    /// The transport failed, before or after connecting.
    Failed {
        /// What kind of failure (decides failover and the error's kind).
        kind: TransportErrorKind,
        /// The transport's own error, kept for the caller.
        source: BoxError,
    },
}

impl Sent {
    /// A failure of `kind` caused by `source`.
    pub fn failed(kind: TransportErrorKind, source: impl Into<BoxError>) -> Sent {
        Sent::Failed {
            kind,
            source: source.into(),
        }
    }
}

/// An HTTP stack under [`Client`](crate::Client): it moves bytes and knows
/// nothing of the protocol. Everything else (which host, which request,
/// retries, failover, verification, deadlines, logging) is the client's.
///
/// The futures must be `Send` so that uploads can run on multi-threaded
/// executors. A blocking transport does its work inside `send` and returns
/// a ready future; its `sleep` must only sleep when polled.
pub trait Transport: Sized + Send + Sync + 'static {
    /// The transport's name in logs (`hyper`, `surf`, `blocking`).
    const NAME: &'static str;

    /// Set up connection pools and TLS from the settings: the rustls
    /// configuration in [`Settings::tls`], the connect timeout.
    fn new(settings: &Settings) -> Result<Self, BuildError>;

    /// Send `request`, writing its body's segments in order (the media is
    /// shared, not copied), and read the reply body, stopping past `limit`
    /// bytes. The client races this future against [`Transport::sleep`] of
    /// `budget`; a transport that blocks must enforce `budget` itself.
    fn send(
        &self,
        request: Request<Body>,
        limit: usize,
        budget: Duration,
    ) -> impl Future<Output = Sent> + Send;

    /// Wait this long without blocking the runtime.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}
