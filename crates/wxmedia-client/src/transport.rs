//! What a transport supplies (build itself from the settings, send one request and read the capped reply, sleep), and the one typed classification of connect errors.

use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use wxmedia_proto::{AttemptEnd, Body};

use crate::{BoxError, BuildError, Settings, TransportErrorKind};

/// How one exchange ended, as a transport reports it: the core's
/// [`AttemptEnd`] carrying the transport's own error, boxed.
pub type Exchange = AttemptEnd<BoxError>;

/// An HTTP stack under the clients: it moves bytes and knows nothing of
/// the protocol. Everything else (which host, which request, retries,
/// failover, verification, deadlines, logging) is the client's.
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
    /// bytes. A failure carries the transport's own error, sorted with
    /// [`classify`]. The client races this future against
    /// [`Transport::sleep`] of `budget`; a transport that blocks must
    /// enforce `budget` itself.
    fn send(
        &self,
        request: Request<Body>,
        limit: usize,
        budget: Duration,
    ) -> impl Future<Output = Exchange> + Send;

    /// Wait this long without blocking the runtime.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// A host name that did not resolve. Transports resolve names themselves
/// (or through a resolver of theirs) and wrap the resolver's failure in
/// this, so that [`classify`] knows a DNS failure by its type.
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup of {host} failed: {source}")]
pub struct DnsError {
    /// The name looked up.
    pub host: String,
    /// The resolver's error.
    #[source]
    pub source: io::Error,
}

/// Sort a transport error by the types in its source chain, never by its
/// text: a `rustls::Error` is a TLS failure, a [`DnsError`] a DNS failure,
/// an `io::Error` of a connect kind (refused, unreachable) a
/// connect failure. Anything else is `otherwise`: the transport knows
/// whether it had connected.
pub fn classify(
    error: &(dyn std::error::Error + 'static),
    otherwise: TransportErrorKind,
) -> TransportErrorKind {
    let mut connect = false;
    let mut current = Some(error);
    while let Some(e) = current {
        // An io::Error's inner error is not its `source` (that is the inner
        // error's source), and io::Errors nest: a TLS failure arrives as
        // io::Error(Other, io::Error(InvalidData, rustls::Error)) from
        // some connectors. Each inner error is looked at in turn.
        let mut layer = Some(e);
        while let Some(l) = layer {
            match kind_of(l) {
                Some(TransportErrorKind::Connect) => connect = true,
                Some(decisive) => return decisive,
                None => {}
            }
            layer = l
                .downcast_ref::<io::Error>()
                .and_then(io::Error::get_ref)
                .map(|inner| inner as &(dyn std::error::Error + 'static));
        }
        current = e.source();
    }
    if connect {
        TransportErrorKind::Connect
    } else {
        otherwise
    }
}

/// What one error of a chain says by its type, if anything.
fn kind_of(e: &(dyn std::error::Error + 'static)) -> Option<TransportErrorKind> {
    // A proxy that answered and refused; one that could not be reached is
    // sorted by its cause, further down the chain.
    if e.downcast_ref::<crate::ProxyError>()
        .is_some_and(|p| p.refused)
    {
        return Some(TransportErrorKind::Proxy);
    }
    if e.is::<wxmedia_tls::rustls::Error>() {
        return Some(TransportErrorKind::Tls);
    }
    if e.is::<DnsError>() {
        return Some(TransportErrorKind::Dns);
    }
    let io = e.downcast_ref::<io::Error>()?;
    match io.kind() {
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::AddrNotAvailable => Some(TransportErrorKind::Connect),
        _ => None,
    }
}

/// A whole reply, for transports: status and headers with the body read.
pub fn reply(parts: http::response::Parts, body: Bytes) -> Exchange {
    AttemptEnd::Reply(http::Response::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_error_inside_nested_io_errors_is_found() {
        let tls = wxmedia_tls::rustls::Error::InvalidCertificate(
            wxmedia_tls::rustls::CertificateError::UnknownIssuer,
        );
        let nested = io::Error::other(io::Error::new(io::ErrorKind::InvalidData, tls));
        assert_eq!(
            classify(&nested, TransportErrorKind::Connect),
            TransportErrorKind::Tls
        );
    }

    /// A proxy that answered and refused is `Proxy` (not retried); one
    /// that could not be reached is sorted by its cause.
    #[test]
    fn proxy_errors_are_sorted_by_whether_the_proxy_answered() {
        let route = crate::Route {
            proxy: "http://127.0.0.1:3128".parse().unwrap(),
            authorization: None,
            shown: "http://127.0.0.1:3128".to_owned(),
        };
        let refused = crate::ProxyError::refused(&route, "407");
        assert_eq!(
            classify(&refused, TransportErrorKind::Broken),
            TransportErrorKind::Proxy
        );
        assert!(!TransportErrorKind::Proxy.is_retryable());
        let unreachable = crate::ProxyError::failed(
            &route,
            "no tunnel",
            io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        assert_eq!(
            classify(&unreachable, TransportErrorKind::Broken),
            TransportErrorKind::Connect
        );
        assert!(unreachable.to_string().contains("http://127.0.0.1:3128"));
    }

    #[test]
    fn connect_errors_are_sorted_by_type() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            classify(&refused, TransportErrorKind::Broken),
            TransportErrorKind::Connect
        );
        let dns = DnsError {
            host: "nowhere.invalid".into(),
            source: io::Error::other("no such host"),
        };
        // Wrapped in an io::Error, as a connector returns it.
        let wrapped = io::Error::other(dns);
        assert_eq!(
            classify(&wrapped, TransportErrorKind::Connect),
            TransportErrorKind::Dns
        );
        let tls = io::Error::new(
            io::ErrorKind::InvalidData,
            wxmedia_tls::rustls::Error::DecryptError,
        );
        assert_eq!(
            classify(&tls, TransportErrorKind::Broken),
            TransportErrorKind::Tls
        );
        // Text that merely looks like a DNS failure is not one.
        let text = io::Error::other("dns error: failed to lookup address");
        assert_eq!(
            classify(&text, TransportErrorKind::Broken),
            TransportErrorKind::Broken
        );
    }
}
