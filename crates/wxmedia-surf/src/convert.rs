//! Between the core's `http` types and surf's `http_types`: the request out (segments streamed, kept for a replay), errors in.

use std::io;

use http_types::headers::{HeaderName, HeaderValue};
use wxmedia_client::{Exchange, TransportErrorKind, classify};
use wxmedia_proto::AttemptEnd;

use crate::connector::{ConnectFailed, MalformedReply, Segments};

/// The core's request as an `http_types` one: every header copied, the
/// body streamed from the segments, and the segments kept aside (shared,
/// not copied) in case a pooled connection fails before a byte of the
/// request is written and it has to go on a fresh one.
pub(crate) fn to_http_types(
    request: http::Request<wxmedia_proto::Body>,
) -> Result<http_types::Request, io::Error> {
    let (parts, body) = request.into_parts();
    let method: http_types::Method = parts.method.as_str().parse().map_err(into_io)?;
    let url = http_types::Url::parse(&parts.uri.to_string())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut out = http_types::Request::new(method, url);
    let segments = body.into_segments();
    let reader = wxmedia_proto::SegmentReader::new(segments.clone());
    let len = reader.remaining();
    // The body first: setting it adds a default Content-Type that the
    // core's headers below then replace.
    // The core's reader is synchronous and never waits: `AllowStdIo`
    // makes it the async reader http_types takes, as it is.
    let reader = futures_util::io::AllowStdIo::new(reader);
    out.set_body(http_types::Body::from_reader(reader, Some(len)));
    for name in parts.headers.keys() {
        let header: HeaderName = name.as_str().parse().map_err(into_io)?;
        let values = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| HeaderValue::from_bytes(v.as_bytes().to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(into_io)?;
        out.insert_header(header, &values[..]);
    }
    out.ext_mut().insert(Segments(segments));
    Ok(out)
}

/// Sort a surf error into how the attempt ended, by its types: a failure
/// of our connector is a connect failure unless its chain says TLS or DNS;
/// a reply whose head arrived but could not be read is malformed.
pub(crate) fn failed(e: surf::Error) -> Exchange {
    let e = match e.downcast::<ConnectFailed>() {
        Ok(ConnectFailed(io)) => {
            let kind = classify(&io, TransportErrorKind::Connect);
            return AttemptEnd::failed(kind, io);
        }
        Err(e) => e,
    };
    match e.downcast::<MalformedReply>() {
        Ok(malformed) => AttemptEnd::failed(TransportErrorKind::Malformed, malformed),
        Err(e) => AttemptEnd::failed(TransportErrorKind::Broken, into_io(e)),
    }
}

/// An `http_types` error as the I/O error it wraps, or as one carrying it.
fn into_io(e: http_types::Error) -> io::Error {
    match e.into_inner().downcast::<io::Error>() {
        Ok(io) => io,
        Err(other) => io::Error::other(other),
    }
}
