//! The HTTP engine of both async transports: hyper 1's client with hyper-util's pool and hyper-rustls, over any runtime's sockets and executor.
//!
//! `wxmedia-hyper` runs it on tokio; `wxmedia-surf` on async-std. What a
//! transport brings is a TCP connector (a `tower` service from a URI to a
//! socket) and an executor for the connection tasks; TLS (the client's
//! rustls configuration, with its client certificate), the pool, HTTP/1.1
//! framing, the reply cap and the sorting of failures are written here
//! once.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited, StreamBody};
use hyper::body::Frame;
use hyper::rt::{Read, Write};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::Connection;
use wxmedia_client::{Exchange, Settings, TransportErrorKind, classify};
use wxmedia_proto::AttemptEnd;

use crate::proxy::Proxied;

type SegmentStream =
    futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>;

/// A request body as hyper sends it: the core's segments, one frame each
/// (the media is shared, never copied).
pub type RequestBody = StreamBody<SegmentStream>;

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(60);

/// The engine: a pooled hyper client over `C`'s sockets, wrapped in TLS
/// with the client's rustls configuration. Cheap to clone; clones share
/// the pool.
pub struct Engine<C> {
    http: HyperClient<Counted<HttpsConnector<Proxied<C>>>, RequestBody>,
    opened: Arc<AtomicUsize>,
}

impl<C> std::fmt::Debug for Engine<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("connections_opened", &self.connections_opened())
            .finish_non_exhaustive()
    }
}

impl<C: Clone> Clone for Engine<C> {
    fn clone(&self) -> Self {
        Engine {
            http: self.http.clone(),
            opened: Arc::clone(&self.opened),
        }
    }
}

impl<C> Engine<C> {
    /// How many connections (TCP and TLS handshake both done) the engine
    /// opened so far: what tells, in tests, that the pool reuses them.
    pub fn connections_opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }
}

/// The TLS connector, counting the connections it completes.
#[derive(Clone)]
struct Counted<S> {
    inner: S,
    opened: Arc<AtomicUsize>,
}

type Connecting<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S> tower_service::Service<http::Uri> for Counted<S>
where
    S: tower_service::Service<http::Uri>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Connecting<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let opened = Arc::clone(&self.opened);
        Box::pin(async move {
            let connected = connecting.await;
            if connected.is_ok() {
                opened.fetch_add(1, Ordering::Relaxed);
            }
            connected
        })
    }
}

/// What a TCP connector must be for the engine: a `tower` service from
/// the endpoint's URI to a socket that hyper can read and write, cloned
/// per connection.
pub trait TcpConnector:
    tower_service::Service<
        http::Uri,
        Response: Connection + Read + Write + Send + Unpin + 'static,
        Future: Send + 'static,
        Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<C> TcpConnector for C where
    C: tower_service::Service<
            http::Uri,
            Response: Connection + Read + Write + Send + Unpin + 'static,
            Future: Send + 'static,
            Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

impl<C: TcpConnector> Engine<C> {
    /// An engine connecting with `tcp` (straight, or through the proxy
    /// [`Settings::proxy`] names for the destination), spawning connection
    /// tasks on `executor`, with TLS from [`Settings::tls`] (roots, crypto
    /// provider, client certificate).
    pub fn new<E>(tcp: C, settings: &Settings, executor: E) -> Engine<C>
    where
        E: hyper::rt::Executor<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>
            + Send
            + Sync
            + Clone
            + 'static,
    {
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
            .wrap_connector(Proxied {
                inner: tcp,
                rules: settings.proxy.clone(),
            });
        let opened = Arc::new(AtomicUsize::new(0));
        let counted = Counted {
            inner: https,
            opened: Arc::clone(&opened),
        };
        let http = HyperClient::builder(executor)
            .pool_idle_timeout(POOL_IDLE)
            .build(counted);
        Engine { http, opened }
    }

    /// Send `request`, streaming its body's segments in order, and read
    /// the reply body up to `limit` bytes (one past it is "too large").
    pub fn send(
        &self,
        request: http::Request<wxmedia_proto::Body>,
        limit: usize,
    ) -> impl Future<Output = Exchange> + Send + 'static {
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
}

impl<C: TcpConnector> Engine<C> {
    /// Send a request of any body hyper takes as a [`RequestBody`] and
    /// hand back the reply with its body unread: for a caller with its own
    /// HTTP front (such as a `surf::Client` over this engine).
    pub fn request(
        &self,
        request: http::Request<RequestBody>,
    ) -> hyper_util::client::legacy::ResponseFuture {
        self.http.request(request)
    }
}

/// A request body of one buffer, as [`Engine::request`] takes it.
pub fn single_segment(bytes: Bytes) -> RequestBody {
    let frames = if bytes.is_empty() {
        Vec::new()
    } else {
        vec![Ok(Frame::data(bytes))]
    };
    StreamBody::new(futures_util::stream::iter(frames))
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
