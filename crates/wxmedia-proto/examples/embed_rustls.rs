//! The smallest honest embedding: v2 and v3 uploads over `std::net::TcpStream` + rustls, the core's `Driver` loop by hand.
//!
//! `cargo run -p wxmedia-proto --example embed_rustls`; docs/EMBEDDING.md states the contract.
mod support;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use support::Result;
use wxmedia_proto::{AttemptEnd, Body, Connectivity, Driver, Endpoints};
use wxmedia_proto::{Operation, RetryPolicy, Step};

const ATTEMPT: Duration = Duration::from_secs(10); // connect, and each socket read or write
const DEADLINE: Duration = Duration::from_secs(30); // the whole operation, retries included

/// How an attempt failed, and why (boxed: `AttemptEnd::Reply` is large).
type Failed = Box<(AttemptEnd, Box<dyn std::error::Error + Send + Sync>)>;

/// One operation to its end: the core decides everything; this loop owns the
/// clock, the randomness, the socket and the sleeping.
fn drive<O: Operation>(
    tls: &Arc<rustls::ClientConfig>,
    eps: &mut Endpoints,
    op: O,
) -> Result<O::Output> {
    let (limit, started) = (op.reply_limit(), Instant::now());
    let mut driver = Driver::new(op, RetryPolicy::default(), started);
    loop {
        let (inputs, jitter) = support::fresh_inputs()?; // time and randomness: ours to supply
        let request = driver.prepare(eps, Instant::now(), inputs)?;
        // Keep our own error: the core cannot hold it and answers `GiveUp(None)`.
        let (end, error) = exchange(tls, request, limit)
            .map_or_else(|failed| (failed.0, Some(failed.1)), |end| (end, None));
        match driver.finish(eps, end, Instant::now(), support::unix_now(), jitter) {
            Step::Done(output) => return Ok(output),
            Step::GiveUp(core) => {
                return Err(core.map(Into::into).or(error).unwrap_or("gave up".into()));
            }
            Step::Sleep(d) if started.elapsed() + d < DEADLINE => std::thread::sleep(d),
            Step::Sleep(_) => {
                return Err(format!("no time left for a retry within {DEADLINE:?}").into());
            }
        }
    }
}

/// Tag an error with how the attempt ended, for `map_err`.
fn ended<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
    end: AttemptEnd,
) -> impl FnOnce(E) -> Failed {
    move |e| Box::new((end, e.into()))
}

/// One attempt: connect, handshake, write the head and then the body's
/// segments in order, read the reply within `limit`.
fn exchange(
    tls: &Arc<rustls::ClientConfig>,
    req: Request<Body>,
    limit: usize,
) -> Result<AttemptEnd, Failed> {
    let (host, port) = (
        req.uri().host().unwrap_or_default(),
        req.uri().port_u16().unwrap_or(443),
    );
    let addr = (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or("cannot resolve the host");
    let addr = addr.map_err(ended(AttemptEnd::ConnectFailed(Connectivity::DnsFailure)))?;
    let refused = AttemptEnd::ConnectFailed(Connectivity::ConnectTimeout); // counts toward failover
    let tcp = TcpStream::connect_timeout(&addr, ATTEMPT).map_err(ended(refused))?;
    tcp.set_read_timeout(Some(ATTEMPT))
        .and(tcp.set_write_timeout(Some(ATTEMPT)))
        .map_err(ended(AttemptEnd::Broken))?;
    let name = ServerName::try_from(host.to_owned()).map_err(ended(AttemptEnd::TlsFailed))?;
    let conn =
        rustls::ClientConnection::new(tls.clone(), name).map_err(ended(AttemptEnd::TlsFailed))?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    // Handshake on its own, so that a refused certificate (give up) is told
    // apart from a connection that broke later (retry).
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(ended(AttemptEnd::TlsFailed))?;
    }
    let io_end = |e: io::Error| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            Box::new((AttemptEnd::TimedOut, e.into()))
        }
        _ => Box::new((AttemptEnd::Broken, e.into())),
    };
    // HTTP/1.1 needs Host; the core gives every other header, Content-Length
    // included. One request per connection keeps the reading simple.
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nhost: {host}:{port}\r\nconnection: close\r\n",
        req.method()
    );
    for (name, value) in req.headers() {
        head += &format!(
            "{name}: {}\r\n",
            value.to_str().map_err(ended(AttemptEnd::Broken))?
        );
    }
    tls.write_all(format!("{head}\r\n").as_bytes())
        .map_err(io_end)?;
    for segment in req.body().segments() {
        // The media segment is the caller's buffer: written, never copied.
        tls.write_all(segment).map_err(io_end)?;
    }
    tls.flush().map_err(io_end)?;
    read_reply(BufReader::new(tls), limit).map_err(io_end)
}

/// The status line and headers (64 KiB at most), then a Content-Length body
/// of at most `limit` bytes.
fn read_reply(mut r: impl BufRead, limit: usize) -> io::Result<AttemptEnd> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let (mut head, mut line) = ((&mut r).take(64 * 1024), String::new());
    head.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("no status line"))?;
    let mut reply = Response::builder().status(status);
    loop {
        line.clear();
        if head.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad("malformed header"))?;
        reply = reply.header(name.trim(), value.trim());
    }
    let length = reply
        .headers_ref()
        .and_then(|h| h.get("content-length")?.to_str().ok()?.parse().ok());
    let length: usize =
        length.ok_or_else(|| bad("this client reads Content-Length bodies only"))?;
    if length > limit {
        return Ok(AttemptEnd::ReplyTooLarge); // stop at the cap: never read what will be refused
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body)?; // a reply cut short is a broken connection
    reply
        .body(Bytes::from(body))
        .map(AttemptEnd::Reply)
        .map_err(|_| bad("malformed header"))
}

/// TLS trusting only `ca`; with `identity` (v2) it presents the merchant's certificate.
fn tls_config(ca: &Path, identity: Option<(&Path, &Path)>) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(CertificateDer::pem_file_iter(ca)?.flatten());
    // Name the provider: when a build has several, rustls will not pick one.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?;
    let config = config.with_root_certificates(roots);
    Ok(Arc::new(match identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)?.collect::<Result<_, _>>()?;
            config.with_client_auth_cert(chain, PrivateKeyDer::from_pem_file(key)?)?
        }
        None => config.with_no_client_auth(),
    }))
}

/// A v2 upload (mutual TLS) and a v3 one (no client certificate) of the same
/// image. An application keeps one TLS config and one `Endpoints` per client
/// and shares them between uploads: failover is learned per client.
fn upload_both(server: &wxmedia_sim::SimServer) -> Result<(String, String)> {
    let (pki, media) = (server.pki(), support::sample());
    let (ca, identity) = (
        pki.ca_cert_path(),
        (pki.client_cert_path(), pki.client_key_path()),
    );
    let tls = tls_config(&ca, Some((&identity.0, &identity.1)))?;
    let op = support::upload_v2(server, media.clone())?;
    let v2 = drive(&tls, &mut Endpoints::new(server.endpoint(), None), op)?;
    let op = support::upload_v3(server, media)?;
    let v3 = drive(
        &tls_config(&ca, None)?,
        &mut Endpoints::new(server.endpoint(), None),
        op,
    )?;
    Ok((v2.media_id, v3.id))
}

fn main() -> Result<()> {
    let sim = support::start()?; // the simulator serves from tokio; our I/O above is plain blocking
    let (v2, v3) = upload_both(&sim.server)?;
    println!("v2 media_id: {v2}\nv3 media_id: {v3}");
    Ok(())
}

#[test]
fn uploads_to_the_simulator_and_retries() {
    let sim = support::start().unwrap();
    support::check(&sim, || upload_both(&sim.server));
}
