//! How one attempt ended and why it failed: the transport's own error carried, never re-described, from the socket to the caller.

use bytes::Bytes;
use http::Response;

use crate::Error;

/// What kind of transport failure ended an attempt. Each transport sorts
/// its own errors into these from their types (never from their text);
/// the kind decides failover and whether a retry can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The host name did not resolve.
    Dns,
    /// The TCP connection could not be made: refused, unreachable, or the
    /// connect timeout.
    Connect,
    /// The TLS handshake failed: an untrusted server, or a client
    /// certificate the server refused. Retrying cannot fix a certificate.
    Tls,
    /// The connection broke after it was made: reset, or closed before the
    /// reply was whole.
    Broken,
    /// A reply arrived but is not HTTP the transport can read (a head that
    /// does not parse, contradictory framing). The server may have acted on
    /// the request, so it is not sent again.
    Malformed,
    /// The HTTP proxy in between refused the tunnel (407: its credentials
    /// are missing or wrong; 403: its access list), or closed it before
    /// answering. Asking it again would be refused again.
    Proxy,
}

impl TransportErrorKind {
    /// Whether sending again can help: every kind but [`Self::Tls`],
    /// [`Self::Malformed`] and [`Self::Proxy`].
    pub fn is_retryable(self) -> bool {
        !matches!(
            self,
            TransportErrorKind::Tls | TransportErrorKind::Malformed | TransportErrorKind::Proxy
        )
    }
}

impl std::fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Dns => "DNS lookup failed",
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Tls => "TLS handshake failed",
            TransportErrorKind::Broken => "connection broken",
            TransportErrorKind::Malformed => "malformed HTTP reply",
            TransportErrorKind::Proxy => "the proxy refused the tunnel",
        })
    }
}

/// How one attempt ended, as the transport saw it. `E` is the
/// transport's own error type, which the core carries but never reads.
#[derive(Debug)]
#[non_exhaustive]
pub enum AttemptEnd<E> {
    /// A complete reply (any status): status, headers, and the body read
    /// within the cap.
    Reply(Response<Bytes>),
    /// The reply body went past [`Operation::reply_limit`](crate::Operation::reply_limit);
    /// reading stopped there.
    ReplyTooLarge,
    /// The attempt ran out of its time budget.
    TimedOut,
    /// The transport failed, before or after connecting.
    Failed {
        /// What kind of failure.
        kind: TransportErrorKind,
        /// The transport's own error.
        error: E,
    },
}

impl<E> AttemptEnd<E> {
    /// A transport failure of `kind`.
    pub fn failed(kind: TransportErrorKind, error: impl Into<E>) -> AttemptEnd<E> {
        AttemptEnd::Failed {
            kind,
            error: error.into(),
        }
    }
}

/// Why an attempt failed: the error a retry is made for, or the one the
/// operation gives up with. `E` is the transport's own error type.
#[derive(Debug)]
#[non_exhaustive]
pub enum AttemptError<E> {
    /// The reply was judged and refused (an API error, a bad signature, a
    /// malformed or oversized reply), or the request could not be built.
    Proto(Error),
    /// The transport failed.
    Transport {
        /// What kind of failure.
        kind: TransportErrorKind,
        /// The transport's own error, as it came.
        error: E,
    },
    /// The attempt ran out of its time budget.
    TimedOut,
}

impl<E> AttemptError<E> {
    /// Whether sending again can help: what the driver retries, and what
    /// clients' `is_retryable` report.
    pub fn is_retryable(&self) -> bool {
        match self {
            AttemptError::Proto(e) => e.is_retryable(),
            AttemptError::Transport { kind, .. } => kind.is_retryable(),
            AttemptError::TimedOut => true,
        }
    }

    /// Whether the server asked us to slow down (`FREQUENCY_LIMITED`,
    /// `RATE_LIMITED`).
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, AttemptError::Proto(e) if e.is_rate_limited())
    }
}

impl<E: std::fmt::Display> std::fmt::Display for AttemptError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttemptError::Proto(e) => e.fmt(f),
            AttemptError::Transport { kind, error } => write!(f, "{kind}: {error}"),
            AttemptError::TimedOut => f.write_str("the attempt ran out of time"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for AttemptError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AttemptError::Proto(e) => e.source(),
            AttemptError::Transport { error, .. } => Some(error),
            AttemptError::TimedOut => None,
        }
    }
}

impl<E> From<Error> for AttemptError<E> {
    fn from(e: Error) -> Self {
        AttemptError::Proto(e)
    }
}
