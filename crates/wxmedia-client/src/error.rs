//! The one error of an upload, whatever the transport: the core's verdict, a transport failure with its concrete source, or a time limit.

use std::time::Duration;

use wxmedia_proto::{ErrorCode, MediaError};

/// A transport's own error, kept as it came (boxed, never stringified) so
/// that callers can downcast to `hyper_util`'s, `ureq`'s or `std::io`'s.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of transport failure ended the last attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The host name did not resolve.
    Dns,
    /// The TCP connection could not be made: refused, unreachable, or the
    /// connect timeout.
    Connect,
    /// The TLS handshake failed: an untrusted server, or a client
    /// certificate the server refused.
    Tls,
    /// The connection broke after it was made: reset, closed mid-reply,
    /// a malformed HTTP reply.
    Broken,
}

impl std::fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Dns => "DNS lookup failed",
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Tls => "TLS handshake failed",
            TransportErrorKind::Broken => "connection broken",
        })
    }
}

/// What went wrong with an upload, over any transport.
///
/// Use the predicates rather than matching when all you need is a
/// decision: [`Error::is_retryable`], [`Error::is_rate_limited`],
/// [`Error::is_input_error`], [`Error::api_code`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Refused input, or a reply that is an error (API error, bad
    /// signature, malformed, HTTP status): see [`wxmedia_proto::Error`].
    #[error(transparent)]
    Proto(#[from] wxmedia_proto::Error),
    /// Connecting, sending or reading failed.
    #[error("transport: {kind}: {source}")]
    Transport {
        /// What kind of failure.
        kind: TransportErrorKind,
        /// The transport's own error.
        #[source]
        source: BoxError,
    },
    /// An attempt or the whole upload ran out of time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

impl From<MediaError> for Error {
    /// So that `Media::new(..)?` works in functions returning this error.
    fn from(e: MediaError) -> Error {
        Error::Proto(e.into())
    }
}

impl Error {
    /// Whether trying again later can help. The client has already
    /// retried as its policy allows.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Proto(e) => e.is_retryable(),
            Error::Transport { .. } | Error::Timeout(_) => true,
        }
    }

    /// Whether the server asked us to slow down (`FREQUENCY_LIMITED`,
    /// `RATE_LIMITED`): callers running many uploads should pause them all.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::Proto(e) if e.is_rate_limited())
    }

    /// The WeChat Pay error code, when the server sent one.
    pub fn api_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Proto(e) => e.api_code(),
            _ => None,
        }
    }

    /// Whether the input was refused before anything was sent.
    pub fn is_input_error(&self) -> bool {
        matches!(self, Error::Proto(e) if e.is_input_error())
    }

    /// The transport failure's kind, for [`Error::Transport`].
    pub fn transport_kind(&self) -> Option<TransportErrorKind> {
        match self {
            Error::Transport { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates() {
        let transport = Error::Transport {
            kind: TransportErrorKind::Tls,
            source: "bad certificate".into(),
        };
        assert!(transport.is_retryable());
        assert!(!transport.is_input_error());
        assert_eq!(transport.transport_kind(), Some(TransportErrorKind::Tls));
        assert_eq!(
            transport.to_string(),
            "transport: TLS handshake failed: bad certificate"
        );
        let media: Error = MediaError::Empty.into();
        assert!(media.is_input_error() && !media.is_retryable());
        assert!(Error::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(Error::Timeout(Duration::from_secs(1)).api_code().is_none());
    }
}
