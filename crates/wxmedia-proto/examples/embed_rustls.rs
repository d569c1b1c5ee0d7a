//! The smallest honest embedding: v2 and v3 uploads over `std::net::TcpStream` + rustls, the core's `Driver` loop by hand.
//!
//! `cargo run -p wxmedia-proto --example embed_rustls`; docs/EMBEDDING.md states the contract.
mod support;

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use rustls::ClientConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use support::Result;
use wxmedia_proto::{AttemptEnd, Body, Driver, Endpoints};
use wxmedia_proto::{Operation, RetryPolicy, Step, TransportErrorKind};

const ATTEMPT: Duration = Duration::from_secs(10); // connect, and each socket read or write
const DEADLINE: Duration = Duration::from_secs(30); // the whole operation, retries included
const HEAD_MAX: u64 = 64 * 1024; // the status line and headers of a reply

/// How an attempt ended, carrying our own error type (here `io::Error`).
type End = AttemptEnd<io::Error>;
/// An attempt that failed part way (boxed: `AttemptEnd::Reply` is large).
type Failed = Box<End>;

/// One operation to its end: the core decides everything; this loop owns the
/// clock, the randomness, the socket and the sleeping.
fn drive<O: Operation>(tls: &Arc<ClientConfig>, eps: &mut Endpoints, op: O) -> Result<O::Output> {
    let (limit, started) = (op.reply_limit(), Instant::now());
    let mut driver = Driver::new(op, RetryPolicy::default(), started);
    loop {
        let (inputs, jitter) = support::fresh_inputs()?; // time and randomness: ours to supply
        let request = driver.prepare(eps, Instant::now(), inputs)?;
        let end = exchange(tls, request, limit).unwrap_or_else(|failed| *failed);
        match driver.finish(eps, end, Instant::now(), support::unix_now(), jitter) {
            Step::Done(output) => return Ok(output),
            Step::Retry { after, .. } if started.elapsed() + after < DEADLINE => {
                std::thread::sleep(after)
            }
            Step::Retry { cause, .. } | Step::GiveUp(cause) => return Err(cause.into()),
        }
    }
}

/// What an I/O error means to the core: a refused certificate ends the
/// upload, a timeout or a broken connection is retried.
fn failed(e: io::Error) -> Failed {
    Box::new(match e.kind() {
        _ if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            AttemptEnd::failed(TransportErrorKind::Tls, e)
        }
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => AttemptEnd::TimedOut,
        _ => AttemptEnd::failed(TransportErrorKind::Broken, e),
    })
}

/// One attempt: connect, write the head and then the body's segments in
/// order (rustls handshakes on the first write), read the reply within `limit`.
fn exchange(tls: &Arc<ClientConfig>, req: Request<Body>, limit: usize) -> Result<End, Failed> {
    let uri = req.uri();
    let (host, port) = (
        uri.host().unwrap_or_default(),
        uri.port_u16().unwrap_or(443),
    );
    // A host that cannot be resolved or reached counts toward failover to the twin.
    let unreachable = |kind| move |e: io::Error| Box::new(AttemptEnd::failed(kind, e));
    let dns = unreachable(TransportErrorKind::Dns);
    let addr = (host, port).to_socket_addrs().map_err(dns)?.next();
    let addr = addr.ok_or_else(|| dns(io::ErrorKind::NotFound.into()))?;
    let tcp = TcpStream::connect_timeout(&addr, ATTEMPT)
        .map_err(unreachable(TransportErrorKind::Connect))?;
    tcp.set_read_timeout(Some(ATTEMPT))
        .and(tcp.set_write_timeout(Some(ATTEMPT)))
        .map_err(failed)?;
    let tls_failed = |e: io::Error| Box::new(AttemptEnd::failed(TransportErrorKind::Tls, e));
    let name =
        ServerName::try_from(host.to_owned()).map_err(|e| tls_failed(io::Error::other(e)))?;
    let conn = rustls::ClientConnection::new(tls.clone(), name)
        .map_err(|e| tls_failed(io::Error::other(e)))?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    // HTTP/1.1 needs Host; the core gives every other header, Content-Length
    // included. One request per connection: the reply ends where the stream does.
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {host}:{port}\r\nconnection: close\r\n",
        req.method(),
        uri.path()
    );
    for (name, value) in req.headers() {
        head += &format!("{name}: {}\r\n", String::from_utf8_lossy(value.as_bytes()));
    }
    stream
        .write_all(format!("{head}\r\n").as_bytes())
        .map_err(failed)?;
    for segment in req.body().segments() {
        stream.write_all(segment).map_err(failed)?; // the media segment: the caller's buffer, never copied
    }
    stream.flush().map_err(failed)?;
    // At most the cap plus room for the head: never read what will be refused.
    let mut reply = Vec::new();
    (&mut stream)
        .take(limit as u64 + HEAD_MAX)
        .read_to_end(&mut reply)
        .map_err(failed)?;
    parse_reply(&reply, limit).map_err(|e| failed(io::Error::new(io::ErrorKind::InvalidData, e)))
}

/// httparse reads the head; the body must be exactly Content-Length bytes
/// (fewer is a reply cut short) and at most `limit`.
fn parse_reply(reply: &[u8], limit: usize) -> Result<End> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut head = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(body_at) = head.parse(reply)? else {
        return Err("the reply ended inside its head".into());
    };
    let mut response = Response::builder().status(head.code.unwrap_or_default());
    for h in head.headers.iter() {
        response = response.header(h.name, h.value);
    }
    let length = head
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"));
    let length: usize = std::str::from_utf8(length.ok_or("no Content-Length")?.value)?.parse()?;
    match &reply[body_at..] {
        _ if length > limit => Ok(AttemptEnd::ReplyTooLarge),
        body if body.len() == length => Ok(AttemptEnd::Reply(
            response.body(Bytes::copy_from_slice(body))?,
        )),
        _ => Err("the reply body is not Content-Length long".into()),
    }
}

/// TLS trusting only the simulator's CA, presenting the merchant's
/// certificate when given one (v2's mutual TLS; v3 signs its requests instead).
fn tls_config(pki: &wxmedia_sim::DevPki, mtls: bool) -> Result<Arc<ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(CertificateDer::pem_file_iter(pki.ca_cert_path())?.flatten());
    // Name the provider: when a build has several, rustls will not pick one.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config =
        ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions()?;
    let config = config.with_root_certificates(roots);
    Ok(Arc::new(if mtls {
        let chain =
            CertificateDer::pem_file_iter(pki.client_cert_path())?.collect::<Result<_, _>>()?;
        config.with_client_auth_cert(chain, PrivateKeyDer::from_pem_file(pki.client_key_path())?)?
    } else {
        config.with_no_client_auth()
    }))
}

/// A v2 and a v3 upload of the same image. An application keeps one TLS
/// config and one `Endpoints` per client and shares them between uploads.
fn upload_both(server: &wxmedia_sim::SimServer) -> Result<(String, String)> {
    let (pki, media, eps) = (server.pki(), support::sample(), || {
        Endpoints::new(server.endpoint(), None)
    });
    let v2 = drive(
        &tls_config(pki, true)?,
        &mut eps(),
        support::upload_v2(server, media.clone())?,
    )?;
    let v3 = drive(
        &tls_config(pki, false)?,
        &mut eps(),
        support::upload_v3(server, media)?,
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
