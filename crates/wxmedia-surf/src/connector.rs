//! surf's HTTP backend: async-std TCP, futures-rustls (rustls 0.23) and async-h1, with a small pool of idle connections per host.
//!
//! surf's own TLS backends pull an old rustls and ring, so this crate gives
//! surf a client of its own through [`surf::Client::with_http_client`].

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use std::time::{Duration, Instant};

use async_std::io::{BufRead, Read, Write};
use async_std::net::TcpStream;
use bytes::Bytes;
use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use futures_rustls::rustls::pki_types::ServerName;
use http_client::{Config, HttpClient};
use http_types::headers::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http_types::url::{Host, Url};
use http_types::{Body, Request, Response};

/// Idle connections kept per host; more are closed. A client shared by
/// many tasks needs one per task in flight, or each upload beyond the pool
/// pays a new TLS handshake (with an RSA client certificate): at 64, 256
/// concurrent uploads handshook on three of four. Idle ones are closed
/// after the idle timeout all the same.
const MAX_IDLE_PER_HOST: usize = 256;

/// Idle connections older than this are closed rather than reused, as
/// hyper's pool does: servers drop idle connections sooner or later.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The most a reply head (status line and headers) may take. async-h1
/// checks its own 8 KiB limit only at the end of each line, so a header
/// line that never ends would be buffered whole; hyper stops at its head
/// limit and ureq at 64 KiB.
const MAX_HEAD: usize = 64 * 1024;

/// The request body as the core's segments, carried as a request extension
/// beside the `http_types::Body` (which can be read only once, and only
/// through a generic reader). The connector writes these directly, and
/// again on a fresh connection when a pooled one failed before a byte of
/// the request was written.
#[derive(Debug, Clone)]
pub(crate) struct Segments(pub(crate) Vec<Bytes>);

/// Segments smaller than this are copied into one buffer with the head
/// (fewer TLS records and writes); larger ones, the media, are written
/// from the caller's memory as they are.
const COALESCE_BELOW: usize = 16 * 1024;

/// A failure to connect (TCP or TLS), as opposed to a failure after
/// connecting. Travels through surf inside its error, where the upload
/// loop finds it again with `downcast`.
#[derive(Debug)]
pub(crate) struct ConnectFailed(pub(crate) io::Error);

impl fmt::Display for ConnectFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connect: {}", self.0)
    }
}

impl std::error::Error for ConnectFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// An idle connection and since when it has been idle.
type Idle = (Instant, TlsStream<TcpStream>);

/// Idle TLS connections by `host:port`, and how many were ever opened.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<HashMap<String, Vec<Idle>>>,
    opened: AtomicUsize,
}

impl Pool {
    /// Connections opened so far (TCP connected and TLS handshake done).
    pub(crate) fn opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    /// The most recently used idle connection to `key` that is still young
    /// enough and still open; the others are closed on the way.
    fn take(&self, key: &str) -> Option<TlsStream<TcpStream>> {
        loop {
            let mut stream = self.take_young(key)?;
            if is_open(&mut stream) {
                return Some(stream);
            }
            tracing::debug!("an idle connection was closed by the server; dropping it");
        }
    }

    /// The most recently used idle connection to `key` still young enough;
    /// older ones are closed on the way.
    fn take_young(&self, key: &str) -> Option<TlsStream<TcpStream>> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle.get_mut(key)?;
        let now = Instant::now();
        list.retain(|(since, _)| now.saturating_duration_since(*since) < IDLE_TIMEOUT);
        let found = list.pop();
        if list.is_empty() {
            idle.remove(key);
        }
        found.map(|(_, stream)| stream)
    }

    fn put(&self, key: &str, stream: TlsStream<TcpStream>) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle.entry(key.to_owned()).or_default();
        if list.len() < MAX_IDLE_PER_HOST {
            list.push((Instant::now(), stream));
        }
    }
}

/// Whether an idle connection can still carry a request: it has nothing to
/// read. A server that closed it (close_notify or a bare FIN), a reset, or
/// stray bytes all make it unusable. Found here, before a byte of the
/// request is written, such a connection is replaced with no doubt about
/// what the server got; found later, it could not be.
fn is_open(stream: &mut TlsStream<TcpStream>) -> bool {
    // One poll that must not wait: the real reads later register their own
    // waker, which replaces this one.
    let mut cx = Context::from_waker(Waker::noop());
    let mut probe = [0u8; 1];
    Pin::new(stream).poll_read(&mut cx, &mut probe).is_pending()
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Pool")
            .field(
                "idle",
                &idle.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>(),
            )
            .field("opened", &self.opened())
            .finish()
    }
}

/// What a connection in use shares with the response body reading from it.
#[derive(Debug)]
struct ConnState {
    pool: Arc<Pool>,
    key: String,
    /// Request bytes the stream accepted. Any at all and the server may
    /// have the whole request (and act on it): a failure after that is
    /// never resent here, only reported.
    written: AtomicUsize,
    /// Set by the first byte read: the server answered something.
    response_started: AtomicBool,
    /// Set when the response body was read to its end and the server did
    /// not ask to close: the connection then goes back to the pool.
    reusable: AtomicBool,
}

/// A TLS connection lent to one exchange. Goes back to the pool when
/// dropped, if the exchange ended cleanly.
struct Conn {
    /// Always `Some` until `drop` moves it to the pool.
    stream: Option<TlsStream<TcpStream>>,
    state: Arc<ConnState>,
    head: HeadLimit,
}

/// Counts the reply's bytes as they are read, up to the end of its head,
/// and fails once the head passes [`MAX_HEAD`]: async-h1 reads the head
/// itself and cannot be told a limit, so the cap sits under it.
#[derive(Debug, Default)]
struct HeadLimit {
    /// Head bytes read so far.
    read: usize,
    /// The last bytes seen, to find the end across reads.
    tail: [u8; 4],
    /// Past the head: the body is not counted.
    done: bool,
}

impl HeadLimit {
    /// Account for `bytes`, just read. The head ends where async-h1 ends
    /// it: at `\r\n\r\n`, or at `\n\n`.
    fn check(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.done {
            return Ok(());
        }
        let mut taken = bytes.len();
        for (i, &b) in bytes.iter().enumerate() {
            self.tail = [self.tail[1], self.tail[2], self.tail[3], b];
            if self.tail == *b"\r\n\r\n" || self.tail[2..] == *b"\n\n" {
                self.done = true;
                taken = i + 1;
                break;
            }
        }
        self.read = self.read.saturating_add(taken);
        if self.read > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the reply head is over {MAX_HEAD} bytes"),
            ));
        }
        Ok(())
    }
}

impl Conn {
    fn stream(&mut self) -> io::Result<Pin<&mut TlsStream<TcpStream>>> {
        self.stream
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "connection returned"))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.state.reusable.load(Ordering::Acquire)
            && let Some(stream) = self.stream.take()
        {
            self.state.pool.put(&self.state.key, stream);
        }
    }
}

impl Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(self.stream()?.poll_read(cx, buf))?;
        if n > 0 {
            self.state.response_started.store(true, Ordering::Release);
        }
        self.head.check(&buf[..n])?;
        Poll::Ready(Ok(n))
    }
}

impl Write for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(self.stream()?.poll_write(cx, buf))?;
        // Counted when the TLS stream takes the bytes, which may be before
        // they leave: this errs toward "maybe delivered", never the other way.
        self.state.written.fetch_add(n, Ordering::AcqRel);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream()?.poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream()?.poll_close(cx)
    }
}

/// The response body as async-h1 decoded it, watched for its clean end so
/// that the connection can be reused.
struct Tracked {
    inner: Body,
    state: Arc<ConnState>,
    /// Bytes still due by `Content-Length`; `None` for a chunked body,
    /// whose decoder reports its end as end of file.
    remaining: Option<usize>,
    /// Whether the server allows another request on this connection.
    keep_alive: bool,
}

impl Tracked {
    fn new(inner: Body, state: Arc<ConnState>, keep_alive: bool) -> Tracked {
        let tracked = Tracked {
            remaining: inner.len(),
            inner,
            state,
            keep_alive,
        };
        if tracked.remaining == Some(0) {
            tracked.finished();
        }
        tracked
    }

    /// Account for `n` bytes read; `n == 0` with room to read is the end.
    fn advance(&mut self, n: usize, eof: bool) {
        match &mut self.remaining {
            Some(left) => {
                *left = left.saturating_sub(n);
                if *left == 0 && n > 0 {
                    self.finished();
                }
            }
            // A chunked body's end of file is its terminating chunk: the
            // decoder reports a connection closed early as an error.
            None if eof => self.finished(),
            None => {}
        }
    }

    fn finished(&self) {
        if self.keep_alive {
            self.state.reusable.store(true, Ordering::Release);
        }
    }
}

impl Read for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let eof = n == 0 && !buf.is_empty();
        self.advance(n, eof);
        Poll::Ready(Ok(n))
    }
}

impl BufRead for Tracked {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        let available = ready!(Pin::new(&mut this.inner).poll_fill_buf(cx))?;
        if available.is_empty() && this.remaining.is_none() && this.keep_alive {
            this.state.reusable.store(true, Ordering::Release);
        }
        Poll::Ready(Ok(available))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.inner).consume(amt);
        self.advance(amt, false);
    }
}

/// surf's backend. Cheap to share: the pool is behind an `Arc`.
pub(crate) struct Connector {
    tls: TlsConnector,
    connect_timeout: Duration,
    pool: Arc<Pool>,
    config: Config,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("connect_timeout", &self.connect_timeout)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// A backend presenting the client certificate of `tls` and giving up
    /// on a connect (TCP and handshake) after `connect_timeout`.
    pub(crate) fn new(
        tls: Arc<futures_rustls::rustls::ClientConfig>,
        connect_timeout: Duration,
        pool: Arc<Pool>,
    ) -> Connector {
        // What this backend does, for whoever asks surf: connections are
        // kept alive and `timeout` is the connect limit.
        let config = Config::new()
            .set_http_keep_alive(true)
            .set_tcp_no_delay(true)
            .set_timeout(Some(connect_timeout))
            .set_max_connections_per_host(MAX_IDLE_PER_HOST);
        Connector {
            tls: TlsConnector::from(tls),
            connect_timeout,
            pool,
            config,
        }
    }

    /// TCP connect and TLS handshake to the URL's host, within the connect
    /// timeout.
    async fn connect(&self, url: &Url) -> io::Result<TlsStream<TcpStream>> {
        if url.scheme() != "https" {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "refusing to send over {}: only https is allowed",
                    url.scheme()
                ),
            ));
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let host = url
            .host()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the URL has no host"))?;
        // rustls checks an IP address against the certificate's IP SANs,
        // which is how the simulator on 127.0.0.1 is verified.
        let server_name = match &host {
            Host::Domain(name) => ServerName::try_from((*name).to_owned())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?,
            Host::Ipv4(ip) => ServerName::from(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => ServerName::from(IpAddr::V6(*ip)),
        };
        let handshake = async {
            let tcp = match host {
                Host::Domain(name) => TcpStream::connect((name, port)).await?,
                Host::Ipv4(ip) => TcpStream::connect(SocketAddr::from((ip, port))).await?,
                Host::Ipv6(ip) => TcpStream::connect(SocketAddr::from((ip, port))).await?,
            };
            // The request head and the multipart head are small writes:
            // do not let Nagle hold them back.
            tcp.set_nodelay(true)?;
            self.tls.connect(server_name, tcp).await
        };
        let stream = async_std::future::timeout(self.connect_timeout, handshake)
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connect timed out after {:?}", self.connect_timeout),
                )
            })??;
        self.pool.opened.fetch_add(1, Ordering::Relaxed);
        Ok(stream)
    }

    /// One request/response on `stream`. On failure, also tells how far
    /// the exchange got.
    async fn exchange(
        &self,
        key: &str,
        stream: TlsStream<TcpStream>,
        request: Request,
        segments: Option<&[Bytes]>,
    ) -> Result<Response, Failed> {
        let state = Arc::new(ConnState {
            pool: Arc::clone(&self.pool),
            key: key.to_owned(),
            written: AtomicUsize::new(0),
            response_started: AtomicBool::new(false),
            reusable: AtomicBool::new(false),
        });
        let conn = Conn {
            stream: Some(stream),
            state: Arc::clone(&state),
            head: HeadLimit::default(),
        };
        let sent = match segments {
            Some(segments) => write_then_decode(conn, &request, segments).await,
            None => async_h1::connect(conn, request).await,
        };
        let mut response = match sent {
            Ok(r) => r,
            Err(error) => {
                return Err(Failed {
                    error,
                    written: state.written.load(Ordering::Acquire),
                    replied: state.response_started.load(Ordering::Acquire),
                });
            }
        };
        let close = response
            .header(CONNECTION)
            .is_some_and(|v| v.iter().any(|v| has_token(v.as_str(), "close")));
        let chunked = response
            .header(TRANSFER_ENCODING)
            .is_some_and(|v| v.last().as_str().eq_ignore_ascii_case("chunked"));
        // Without either framing header the body runs to the close, which
        // async-h1 does not read: such a connection is never reused.
        let framed = chunked || response.header(CONTENT_LENGTH).is_some();
        let body = response.take_body();
        let len = body.len();
        let tracked = Tracked::new(body, state, framed && !close);
        response.set_body(Body::from_reader(tracked, len));
        Ok(response)
    }
}

/// Write the request head and then the body's segments straight to the
/// connection, and let async-h1 decode the reply. async-h1's own encoder
/// would pull the body through `futures_lite::io::copy`, 8 KiB at a time,
/// copying every byte of the media once more and cutting it into as many
/// writes; here the media leaves from the caller's buffer in one write.
/// The head is what async-h1 would write: the request line, `host` (with
/// the URL's port when it has one) and the headers, with `content-length`
/// from the segments.
async fn write_then_decode(
    mut conn: Conn,
    request: &Request,
    segments: &[Bytes],
) -> Result<Response, http_types::Error> {
    use async_std::io::WriteExt;

    let len: usize = segments.iter().map(Bytes::len).sum();
    // Small segments (the multipart framing, the v3 meta) ride with the
    // head; each large one is written from where it is.
    let mut pending = request_head(request, len)?;
    for segment in segments {
        if segment.len() < COALESCE_BELOW {
            pending.extend_from_slice(segment);
            continue;
        }
        if !pending.is_empty() {
            conn.write_all(&pending).await?;
            pending.clear();
        }
        conn.write_all(segment).await?;
    }
    if !pending.is_empty() {
        conn.write_all(&pending).await?;
    }
    conn.flush().await?;
    async_h1::client::decode(conn).await
}

/// The request line and headers, as async-h1 would write them for a body
/// of `len` bytes.
fn request_head(request: &Request, len: usize) -> io::Result<Vec<u8>> {
    use std::io::Write as _;

    let url = request.url();
    let mut head = Vec::with_capacity(512);
    write!(head, "{} {}", request.method(), url.path())?;
    if let Some(query) = url.query() {
        write!(head, "?{query}")?;
    }
    head.extend_from_slice(b" HTTP/1.1\r\n");
    if request.header(http_types::headers::HOST).is_none() {
        let host = url.host_str().unwrap_or_default();
        match url.port() {
            Some(port) => write!(head, "host: {host}:{port}\r\n")?,
            None => write!(head, "host: {host}\r\n")?,
        }
    }
    for (name, values) in request.iter() {
        // The length is the segments'; the body is never chunked.
        if *name == CONTENT_LENGTH || *name == TRANSFER_ENCODING {
            continue;
        }
        for value in values.iter() {
            write!(head, "{name}: {value}\r\n")?;
        }
    }
    write!(head, "content-length: {len}\r\n\r\n")?;
    Ok(head)
}

/// A failed exchange and how far it got.
struct Failed {
    error: http_types::Error,
    /// Request bytes written before the failure.
    written: usize,
    /// Whether any reply byte had arrived.
    replied: bool,
}

impl Failed {
    /// Whether the server cannot have any of the request: only then may it
    /// be sent again without the retry policy's say.
    fn unsent(&self) -> bool {
        self.written == 0 && !self.replied
    }
}

/// Whether a comma-separated header value holds `token`, case-insensitively.
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// `host:port` of a URL: the pool key.
fn pool_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(443)
    )
}

#[http_client::async_trait]
impl HttpClient for Connector {
    async fn send(&self, mut request: Request) -> Result<Response, http_types::Error> {
        let key = pool_key(request.url());
        let segments = request.ext_mut().remove::<Segments>();
        let segments = segments.as_ref().map(|Segments(s)| &s[..]);
        if let Some(stream) = self.pool.take(&key) {
            // Without segments (a request that did not come from our
            // transport) the body can be read once only: no second try.
            let spare = segments.map(|_| request.clone());
            match (self.exchange(&key, stream, request, segments).await, spare) {
                (Ok(response), _) => return Ok(response),
                // The pooled connection failed before a byte of the request
                // left: the server has nothing, so it goes on a fresh
                // connection within the same attempt.
                (Err(failed), Some(spare)) if failed.unsent() => {
                    tracing::debug!(error = %failed.error, "idle connection was dead before writing; sending on a new one");
                    request = spare;
                }
                // Once bytes were written, the server may have the whole
                // request and act on it; a silent resend would be a second
                // upload outside the retry policy. It is reported as a
                // broken connection, and the policy decides.
                (Err(failed), _) => {
                    tracing::debug!(
                        error = %failed.error,
                        written = failed.written,
                        replied = failed.replied,
                        "pooled connection failed after the request was written; not resending"
                    );
                    return Err(failed.error);
                }
            }
        }
        let stream = self
            .connect(request.url())
            .await
            .map_err(|e| http_types::Error::from(ConnectFailed(e)))?;
        self.exchange(&key, stream, request, segments)
            .await
            .map_err(|failed| failed.error)
    }

    fn set_config(&mut self, _config: Config) -> http_types::Result<()> {
        // Time limits and TLS come from the wxmedia settings, in one place.
        Err(http_types::Error::from_str(
            http_types::StatusCode::InternalServerError,
            "wxmedia-surf is configured with wxmedia_client::ClientBuilder, not surf::Config",
        ))
    }

    fn config(&self) -> &Config {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_tokens_are_matched_case_insensitively() {
        assert!(has_token("Close", "close"));
        assert!(has_token("keep-alive, close", "close"));
        assert!(!has_token("keep-alive", "close"));
        assert!(!has_token("closed", "close"));
    }

    #[test]
    fn the_head_limit_counts_the_head_only() {
        let mut head = HeadLimit::default();
        head.check(b"HTTP/1.1 200 OK\r\nContent-Length: 70000\r")
            .unwrap();
        // The end split across reads, the body after it not counted.
        head.check(b"\n\r\nbody").unwrap();
        assert!(head.done);
        assert_eq!(head.read, 42);
        head.check(&vec![b'x'; 2 * MAX_HEAD]).unwrap();
        assert_eq!(head.read, 42);

        let mut bare = HeadLimit::default();
        bare.check(b"HTTP/1.1 200 OK\nA: b\n\nbody").unwrap();
        assert!(bare.done);
    }

    #[test]
    fn a_head_past_the_limit_fails_even_within_one_line() {
        let mut head = HeadLimit::default();
        head.check(b"HTTP/1.1 200 OK\r\nX-Endless: ").unwrap();
        let line = vec![b'a'; 8 * 1024];
        let mut checks = 0;
        while head.check(&line).is_ok() {
            checks += 1;
            assert!(checks <= MAX_HEAD / line.len(), "no error past the limit");
        }
        assert!(head.read > MAX_HEAD);

        // A head that ends past the limit in the very read that ends it.
        let mut late = HeadLimit::default();
        let mut big = vec![b'a'; MAX_HEAD];
        big.extend_from_slice(b"\r\n\r\n");
        assert!(late.check(&big).is_err());
    }

    #[test]
    fn pool_keys_carry_the_port() {
        let url = Url::parse("https://127.0.0.1:8443/secapi/mch/uploadmedia").unwrap();
        assert_eq!(pool_key(&url), "127.0.0.1:8443");
        let url = Url::parse("https://api.mch.weixin.qq.com/x").unwrap();
        assert_eq!(pool_key(&url), "api.mch.weixin.qq.com:443");
    }
}
