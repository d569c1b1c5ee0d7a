//! surf's HTTP backend: async-std TCP and name lookup, futures-rustls (rustls 0.23), and async-h1 behind our own HTTP/1.1 request writer, over the pool of `pool.rs`.
//!
//! surf's own TLS backends pull an old rustls and ring, so this crate gives
//! surf a client of its own through [`surf::Client::with_http_client`].

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_std::net::TcpStream;
use bytes::Bytes;
use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use futures_rustls::rustls::pki_types::ServerName;
use http_client::{Config, HttpClient};
use http_types::headers::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http_types::url::{Host, Url};
use http_types::{Body, Request, Response};

use crate::conn::{Conn, ConnState, Tracked};
use crate::pool::{MAX_IDLE_PER_HOST, Pool, pool_key};

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
                Host::Domain(name) => TcpStream::connect(&resolve(name, port).await?[..]).await?,
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
        let state = Arc::new(ConnState::new(Arc::clone(&self.pool), key));
        let conn = Conn::new(stream, Arc::clone(&state));
        let sent = match segments {
            Some(segments) => write_then_decode(conn, &request, segments).await,
            None => async_h1::connect(conn, request).await,
        };
        let mut response = match sent {
            Ok(r) => r,
            Err(error) => {
                return Err(Failed {
                    error,
                    written: state.written(),
                    replied: state.replied(),
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
    // The head is read here, not by async-h1: it refuses a header value
    // that is not UTF-8 (HTTP allows Latin-1 "obs-text"), and its error
    // would look like a broken connection and have a delivered upload
    // sent again. Such values are dropped, as they cannot be carried in
    // `http_types` anyway; none that matters to WeChat Pay is ever so.
    let mut reader = async_std::io::BufReader::new(conn);
    let head = read_head(&mut reader).await?;
    let clean = drop_unreadable_headers(&head);
    // From here on a reply's head arrived whole: whatever async-h1 refuses
    // in it is a malformed reply, never a reason to send the upload again.
    let rest = async_std::io::ReadExt::chain(async_std::io::Cursor::new(clean), reader);
    async_h1::client::decode(rest)
        .await
        .map_err(|e| http_types::Error::from(MalformedReply(e.to_string())))
}

/// The reply head, up to and including its empty line (`\r\n\r\n` or
/// `\n\n`, as async-h1 ends it). `Conn` caps the head at `MAX_HEAD`
/// bytes. An end of stream before the end of the head is a broken
/// connection (`UnexpectedEof`).
async fn read_head<R: async_std::io::BufRead + Unpin>(reader: &mut R) -> io::Result<Vec<u8>> {
    use async_std::io::BufReadExt;
    let mut head = Vec::new();
    loop {
        let n = reader.read_until(b'\n', &mut head).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed before the reply head ended",
            ));
        }
        if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") || head == b"\r\n" {
            return Ok(head);
        }
    }
}

/// The head without the header lines whose value is not UTF-8.
fn drop_unreadable_headers(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len());
    for (i, line) in head.split_inclusive(|&b| b == b'\n').enumerate() {
        // The status line is kept whatever it holds: async-h1 judges it.
        if i > 0 && std::str::from_utf8(line).is_err() {
            tracing::debug!("dropping a reply header whose value is not UTF-8");
            continue;
        }
        out.extend_from_slice(line);
    }
    out
}

/// A reply whose head arrived whole but which async-h1 could not read.
/// Travels through surf inside its error, where the transport finds it
/// again with `downcast`.
#[derive(Debug)]
pub(crate) struct MalformedReply(pub(crate) String);

impl std::fmt::Display for MalformedReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed reply: {}", self.0)
    }
}

impl std::error::Error for MalformedReply {}

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

/// Look `name` up; a failure is a [`DnsError`](wxmedia_client::DnsError),
/// so that it is told from a refused connection by its type.
async fn resolve(name: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    use async_std::net::ToSocketAddrs;
    match (name, port).to_socket_addrs().await {
        Ok(addrs) => Ok(addrs.collect()),
        Err(source) => Err(io::Error::new(
            source.kind(),
            wxmedia_client::DnsError {
                host: name.to_owned(),
                source,
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_that_are_not_utf8_are_dropped_and_the_rest_kept() {
        let head =
            b"HTTP/1.1 200 OK\r\nX-Note: caf\xe9\r\nContent-Length: 2\r\nX-Ok: \xc3\xa9\r\n\r\n";
        assert_eq!(
            drop_unreadable_headers(head),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Ok: \xc3\xa9\r\n\r\n"
        );
    }

    #[test]
    fn the_head_is_read_to_its_empty_line_and_no_further() {
        let mut reader = async_std::io::Cursor::new(b"HTTP/1.1 200 OK\nA: b\n\nbody".to_vec());
        let head = async_std::task::block_on(read_head(&mut reader)).unwrap();
        assert_eq!(head, b"HTTP/1.1 200 OK\nA: b\n\n");
        let mut cut = async_std::io::Cursor::new(b"HTTP/1.1 200 OK\r\nA: b".to_vec());
        let e = async_std::task::block_on(read_head(&mut cut)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn connection_tokens_are_matched_case_insensitively() {
        assert!(has_token("Close", "close"));
        assert!(has_token("keep-alive, close", "close"));
        assert!(!has_token("keep-alive", "close"));
        assert!(!has_token("closed", "close"));
    }
}
