//! The simulator over real TLS (a client certificate asked for, required by v2 only): hyper 1 on tokio with rustls, on loopback.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use wxmedia_proto::v2::ApiKey;

use crate::SimError;
use crate::faults::Faults;
use crate::handler::{PeerIdentity, Simulator, TransportFaults};
use crate::pki::{DevPki, V3Keys, V3Signer, subject_cn};
use crate::v3::{V3_MAX_IMAGE_SIZE, V3Config};

/// Requests larger than this are not read to the end: far over the 2 MiB
/// (v2) and 5 MiB (v3) media limits plus framing. A larger configured v3
/// image limit raises it (see [`request_body_limit`]).
const MAX_REQUEST_BODY: usize = 8 * 1024 * 1024;

/// The body limit for a configured v3 image limit: room for the image and
/// its framing, never below [`MAX_REQUEST_BODY`].
fn request_body_limit(v3_max_image_size: usize) -> usize {
    MAX_REQUEST_BODY.max(v3_max_image_size.saturating_add(1024 * 1024))
}

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request's head; hyper's own timer.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The default of [`SimConfig::body_read_timeout`]: a body that has not
/// fully arrived 30 s after its head is abandoned (8 MiB at 2 Mbit/s
/// takes about that long, far slower than any test's loopback).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The default of [`SimConfig::max_connections`]: far above the 50
/// parallel uploads the test suites make, far below what exhausts file
/// descriptors or memory (each connection may hold a body of up to the
/// request limit).
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ReplyBody = BoxBody<Bytes, BoxError>;

/// Everything needed to start a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where the dev PKI lives (created when missing).
    pub state_dir: std::path::PathBuf,
    /// Address to listen on; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The simulated merchant id.
    pub mch_id: String,
    /// The simulated merchant's API key.
    pub api_key: String,
    /// Initial fault switches.
    pub faults: Faults,
    /// Which key signs v3 replies: the WeChat Pay public key (the default)
    /// or the platform certificate. Only in platform-certificate mode does
    /// `GET /v3/certificates` serve certificates.
    pub v3_signer: V3Signer,
    /// The APIv3 key for this run; when `None`, the one stored in the state
    /// directory (made on first start).
    pub api_v3_key: Option<String>,
    /// The image limit of `/v3/merchant/media/upload` (5 MiB by default).
    pub v3_max_image_size: usize,
    /// How long a request body may take to arrive once its head has
    /// ([`DEFAULT_BODY_READ_TIMEOUT`]); a client that stalls longer has its
    /// connection closed without a reply.
    pub body_read_timeout: Duration,
    /// How many connections are served at once
    /// ([`DEFAULT_MAX_CONNECTIONS`]). Further ones wait in the listen
    /// backlog until a connection ends (idle ones end at the handshake,
    /// head or body timeout).
    pub max_connections: usize,
    /// How many requests [`Simulator::received`] keeps
    /// ([`DEFAULT_LOG_CAPACITY`](crate::DEFAULT_LOG_CAPACITY)); the
    /// counters count all of them.
    pub log_capacity: usize,
    /// Listen on an address that is not loopback. Off by default: the dev
    /// CA vouches for `127.0.0.1`, `::1` and `localhost` only (its name
    /// constraints say so), so no client elsewhere could verify the server,
    /// and a simulator with published test keys should not be reachable
    /// from the network by accident.
    pub allow_non_loopback: bool,
    /// Keep WeChat Pay's documented rate limits per endpoint
    /// ([`Simulator::with_rate_limits`]). Off by default in the library,
    /// so that each test chooses; `wxmedia sim` and `wxmedia demo` turn
    /// them on.
    pub rate_limits: bool,
}

impl SimConfig {
    /// A configuration on `127.0.0.1:0` with a fresh random merchant id and
    /// key, keeping its PKI in `state_dir`.
    pub fn new(state_dir: impl Into<std::path::PathBuf>) -> SimConfig {
        SimConfig {
            state_dir: state_dir.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            mch_id: "1900000109".to_owned(),
            api_key: random_key(),
            faults: Faults::default(),
            v3_signer: V3Signer::default(),
            api_v3_key: None,
            v3_max_image_size: V3_MAX_IMAGE_SIZE,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            log_capacity: crate::DEFAULT_LOG_CAPACITY,
            allow_non_loopback: false,
            rate_limits: false,
        }
    }
}

/// A random 32-character key of `[0-9a-zA-Z]`, like real APIv2 keys.
pub fn random_key() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// A running simulator. Stops when dropped or on [`SimServer::shutdown`].
pub struct SimServer {
    sim: Simulator,
    addr: SocketAddr,
    pki: DevPki,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SimServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer")
            .field("endpoint", &self.endpoint())
            .finish_non_exhaustive()
    }
}

impl SimServer {
    /// Create the PKI if needed, bind, and serve on the current tokio runtime.
    pub async fn start(config: SimConfig) -> Result<SimServer, SimError> {
        let api_key = ApiKey::new(config.api_key.clone())
            .map_err(|e| SimError::Config(format!("api key: {e}")))?;
        wxmedia_proto::MchId::new(config.mch_id.clone())
            .map_err(|e| SimError::Config(format!("merchant id: {e}")))?;
        check_limits(&config)?;
        if !config.addr.ip().is_loopback() && !config.allow_non_loopback {
            return Err(SimError::Config(format!(
                "{} is not a loopback address: the dev CA vouches for 127.0.0.1, ::1 and localhost only, and the simulator's keys are test keys; set allow_non_loopback (wxmedia sim --allow-non-loopback) to listen there anyway",
                config.addr
            )));
        }
        let pki = DevPki::load_or_create(&config.state_dir, &config.mch_id)?;
        let v3_keys = V3Keys::load_or_create(&pki, config.api_v3_key.as_deref())?;
        let tls = TlsAcceptor::from(pki.server_config()?);
        let sim = Simulator::new(config.mch_id.clone(), api_key).with_v3(
            V3Config::new(v3_keys)
                .with_signer(config.v3_signer)
                .with_max_image_size(config.v3_max_image_size),
        );
        let limits = Limits {
            body: request_body_limit(config.v3_max_image_size),
            body_read_timeout: config.body_read_timeout,
        };
        sim.set_faults(config.faults.clone());
        sim.set_log_capacity(config.log_capacity);
        sim.set_rate_limits(config.rate_limits);
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|e| SimError::Bind(config.addr, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SimError::Bind(config.addr, e))?;
        let (stop, stopped) = watch::channel(false);
        let task = if config.faults.unreachable {
            // Keep the port number but refuse every connection.
            drop(listener);
            None
        } else {
            Some(tokio::spawn(accept_loop(
                listener,
                tls,
                sim.clone(),
                limits,
                Arc::new(Semaphore::new(config.max_connections)),
                stopped,
            )))
        };
        tracing::info!(%addr, mch_id = %config.mch_id, "simulator listening");
        Ok(SimServer {
            sim,
            addr,
            pki,
            stop,
            task,
        })
    }

    /// `https://127.0.0.1:PORT` (or the address it was given). A server
    /// listening on every address (`0.0.0.0`, `::`) names the loopback
    /// address of the same family, the one name of it its certificate
    /// covers.
    pub fn endpoint(&self) -> String {
        endpoint_of(self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The simulator itself: faults, log, credentials.
    pub fn sim(&self) -> &Simulator {
        &self.sim
    }

    /// The dev PKI (CA to trust, merchant certificate and key).
    pub fn pki(&self) -> &DevPki {
        &self.pki
    }

    /// API v3's keys and settings (always present on a server).
    pub fn v3(&self) -> V3Config {
        self.sim
            .v3()
            .expect("a server always starts its simulator with v3")
    }

    /// The JSON line `wxmedia sim` prints when ready: where to connect, the
    /// v2 credentials and files, and v3's (`mch_serial_no` is the
    /// `serial_no` requests must name; `wechatpay_public_key_id` or
    /// `platform_serial_no` is what `Wechatpay-Serial` says, depending on
    /// the signer).
    pub fn ready_line(&self) -> String {
        let v3 = self.v3();
        let keys = v3.keys();
        serde_json::json!({
            "endpoint": self.endpoint(),
            "mch_id": self.sim.mch_id(),
            "api_key": self.sim.api_key().expose_secret(),
            "ca_cert": path_str(&self.pki.ca_cert_path()),
            "client_cert": path_str(&self.pki.client_cert_path()),
            "client_key": path_str(&self.pki.client_key_path()),
            "mch_serial_no": keys.merchant_serial_no(),
            "wechatpay_public_key": path_str(&self.pki.wechatpay_public_key_path()),
            "wechatpay_public_key_id": keys.wechatpay_public_key_id(),
            "platform_cert": path_str(&self.pki.platform_cert_path()),
            "platform_serial_no": keys.platform_serial_no(),
            "api_v3_key": keys.api_v3_key(),
            "v3_signer": match v3.signer() {
                V3Signer::PlatformCert => "platform-cert",
                _ => "public-key",
            },
        })
        .to_string()
    }

    /// Stop accepting and close the connections.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Refuse limits that would make the server useless: no connection slot,
/// more than the semaphore can count, or no time at all for a body.
fn check_limits(config: &SimConfig) -> Result<(), SimError> {
    if config.max_connections == 0 || config.max_connections > Semaphore::MAX_PERMITS {
        return Err(SimError::Config(format!(
            "max_connections must be between 1 and {}, not {}",
            Semaphore::MAX_PERMITS,
            config.max_connections
        )));
    }
    if config.body_read_timeout.is_zero() {
        return Err(SimError::Config(
            "body_read_timeout must be longer than zero".into(),
        ));
    }
    Ok(())
}

/// The URL clients use for a server bound to `addr`.
fn endpoint_of(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) if a.ip().is_unspecified() => {
            format!("https://127.0.0.1:{}", a.port())
        }
        SocketAddr::V4(a) => format!("https://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) if a.ip().is_unspecified() => format!("https://[::1]:{}", a.port()),
        SocketAddr::V6(a) => format!("https://[{}]:{}", a.ip(), a.port()),
    }
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// What one request may cost the server.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// The largest body read.
    body: usize,
    /// How long the body may take to arrive.
    body_read_timeout: Duration,
}

/// Wait for a free connection slot, then for a connection. The slot is
/// taken first, so that connections beyond the limit wait in the kernel's
/// backlog instead of being accepted and held; dropping this future (the
/// loop stopping) gives the slot back.
async fn accept_within_limit(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (
    std::io::Result<(tokio::net::TcpStream, SocketAddr)>,
    OwnedSemaphorePermit,
) {
    let permit = slots
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    (listener.accept().await, permit)
}

async fn accept_loop(
    listener: TcpListener,
    tls: TlsAcceptor,
    sim: Simulator,
    limits: Limits,
    slots: Arc<Semaphore>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            (accepted, permit) = accept_within_limit(&listener, &slots) => {
                let (tcp, peer) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let served = serve_connection(tcp, peer, tls.clone(), sim.clone(), limits);
                connections.spawn(async move {
                    served.await;
                    // The slot is free once the connection is over.
                    drop(permit);
                });
            }
            // Reap finished connections so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    tls: TlsAcceptor,
    sim: Simulator,
    limits: Limits,
) {
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::info!(%peer, error = %e, "TLS handshake refused");
            return;
        }
        Err(_) => {
            tracing::info!(%peer, "TLS handshake timed out");
            return;
        }
    };
    let identity = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| subject_cn(leaf))
        .map(|common_name| PeerIdentity { common_name });
    // Read before the connection is served: hyper decides about `Date`
    // per connection, not per reply.
    let date = !sim.faults().omit_date;
    let service =
        hyper::service::service_fn(move |req| respond(req, identity.clone(), sim.clone(), limits));
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .auto_date_header(date)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

async fn respond(
    req: Request<Incoming>,
    identity: Option<PeerIdentity>,
    sim: Simulator,
    limits: Limits,
) -> Result<Response<ReplyBody>, BoxError> {
    let (parts, body) = req.into_parts();
    let body = read_body(body, limits).await?;
    let mut req = Request::from_parts(parts, body);
    if let Some(identity) = identity {
        req.extensions_mut().insert(identity);
    }
    let TransportFaults {
        delay,
        drop_it,
        truncate,
        huge,
        endless,
        latin1,
    } = sim.take_transport_faults();
    // The handler is synchronous and may take a while on a large form (up
    // to the body limit of parsing and hashing): run it on the blocking
    // pool so that it never holds an async worker, and other connections
    // (their handshakes, their replies) keep moving meanwhile.
    let handler = sim.clone();
    let response = tokio::task::spawn_blocking(move || handler.handle(req))
        .await
        .map_err(|e| -> BoxError { format!("the handler failed: {e}").into() })?;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if drop_it {
        tracing::info!("fault: dropping the connection without a reply");
        return Err("fault: connection dropped".into());
    }
    let (mut parts, body) = response.into_parts();
    let faults = sim.faults();
    if faults.clock_skew_secs != 0 && !faults.omit_date {
        // hyper writes the system's time unless a `Date` is there already.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let skewed = now.saturating_add_signed(faults.clock_skew_secs);
        let date = http::HeaderValue::from_str(&http_date(skewed)).expect("an HTTP date is ASCII");
        parts.headers.insert(http::header::DATE, date);
    }
    if latin1 {
        // "café" in ISO-8859-1: obs-text to HTTP, not UTF-8.
        let value = http::HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is a valid value");
        parts.headers.insert("x-sim-note", value);
    }
    if let Some(size) = huge {
        return Ok(huge_reply(parts, size));
    }
    if endless {
        return Ok(endless_reply(parts));
    }
    if truncate {
        return Ok(truncated_reply(parts, body));
    }
    let full = Full::new(body)
        .map_err(|never: Infallible| match never {})
        .boxed();
    Ok(Response::from_parts(parts, full))
}

/// Unix seconds as an HTTP date (IMF-fixdate), for a skewed `Date`.
fn http_date(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let unix = i64::try_from(unix).unwrap_or(i64::MAX);
    let (y, m, d, h, min, s) = crate::v3::civil(unix);
    let weekday = DAYS[unix.div_euclid(86_400).rem_euclid(7) as usize];
    let month = MONTHS[m.saturating_sub(1) as usize % 12];
    format!("{weekday}, {d:02} {month} {y:04} {h:02}:{min:02}:{s:02} GMT")
}

/// The whole request body, within the size and time limits.
async fn read_body(body: Incoming, limits: Limits) -> Result<Bytes, BoxError> {
    // hyper times the head only: without this a client that stops sending
    // the body would hold the connection and its buffered bytes forever.
    let collected = tokio::time::timeout(
        limits.body_read_timeout,
        Limited::new(body, limits.body).collect(),
    )
    .await;
    match collected {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) => {
            tracing::info!(error = %e, "request body refused");
            Err(e)
        }
        Err(_) => {
            tracing::info!(timeout = ?limits.body_read_timeout, "request body timed out");
            Err("request body timed out".into())
        }
    }
}

/// The `huge_reply` fault: the reply's head with `size` bytes of spaces
/// streamed after it, never held in memory at once.
fn huge_reply(parts: http::response::Parts, size: u64) -> Response<ReplyBody> {
    tracing::info!(size, "fault: streaming a huge reply");
    let chunk = Bytes::from(vec![b' '; 64 * 1024]);
    let chunks = size / chunk.len() as u64;
    let rest = (size % chunk.len() as u64) as usize;
    let head = futures_util::stream::iter(
        (0..chunks).map(move |_| Ok::<_, BoxError>(Frame::data(chunk.clone()))),
    );
    let tail = futures_util::stream::iter(
        (rest > 0).then(|| Ok::<_, BoxError>(Frame::data(Bytes::from(vec![b' '; rest])))),
    );
    let mut response = Response::from_parts(
        parts,
        StreamBody::new(futures_util::StreamExt::chain(head, tail)).boxed(),
    );
    response
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, size.into());
    response
}

/// The `endless_reply` fault: the reply's head, then a few bytes every
/// 100 ms for as long as the client reads.
fn endless_reply(parts: http::response::Parts) -> Response<ReplyBody> {
    tracing::info!("fault: a reply that never ends");
    let drip = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((
            Ok::<_, BoxError>(Frame::data(Bytes::from_static(b"<xml>"))),
            (),
        ))
    });
    let mut response = Response::from_parts(parts, StreamBody::new(drip).boxed());
    response.headers_mut().remove(http::header::CONTENT_LENGTH);
    response
}

/// The `truncate_reply` fault: the full Content-Length announced, half the
/// body sent, then the connection broken.
fn truncated_reply(parts: http::response::Parts, body: Bytes) -> Response<ReplyBody> {
    tracing::info!("fault: truncating the reply");
    let half = body.slice(..body.len() / 2);
    let first = futures_util::stream::once(async move { Ok::<_, BoxError>(Frame::data(half)) });
    // Pause before failing so that hyper flushes the head and the first
    // half: otherwise the client would see an empty reply instead.
    let fail = futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Err::<Frame<Bytes>, BoxError>("fault: reply truncated".into())
    });
    let mut response = Response::from_parts(
        parts,
        StreamBody::new(futures_util::StreamExt::chain(first, fail)).boxed(),
    );
    response
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, body.len().into());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_written_as_imf_fixdate() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn an_unspecified_address_is_reached_through_loopback() {
        let cases = [
            ("127.0.0.1:8443", "https://127.0.0.1:8443"),
            ("0.0.0.0:8443", "https://127.0.0.1:8443"),
            ("[::]:8443", "https://[::1]:8443"),
            ("[::1]:8443", "https://[::1]:8443"),
            ("192.0.2.7:8443", "https://192.0.2.7:8443"),
        ];
        for (addr, url) in cases {
            assert_eq!(endpoint_of(addr.parse().unwrap()), url, "{addr}");
        }
    }
}
