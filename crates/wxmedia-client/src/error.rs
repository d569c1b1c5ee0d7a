//! The one error of an upload, whatever the transport: the core's verdict, a transport failure with its concrete source, or a time limit with the cause it cut short.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use wxmedia_proto::{AttemptError, ErrorCode, MediaError, SignatureError};

pub use wxmedia_proto::TransportErrorKind;

/// A transport's own error, boxed as a transport hands it over.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A transport's own error as an [`Error`] keeps it: as it came, never
/// stringified, shared so that the error can be cloned (a failed
/// certificate download is told again to every upload that waited on it).
/// Callers downcast it: `source.downcast_ref::<std::io::Error>()`.
pub type SharedError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong with an upload, over any transport. `Clone`: a
/// transport's error is shared, not copied.
///
/// Use the predicates rather than matching when all you need is a
/// decision: [`Error::is_retryable`], [`Error::is_rate_limited`],
/// [`Error::is_input_error`], [`Error::api_code`],
/// [`Error::signature_error`]. [`Chain`] prints an error with its
/// sources on one line.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// Refused input, or a reply that is an error (API error, bad
    /// signature, malformed, HTTP status): see [`wxmedia_proto::Error`].
    Proto(wxmedia_proto::Error),
    /// Connecting, sending or reading failed.
    Transport {
        /// What kind of failure.
        kind: TransportErrorKind,
        /// The transport's own error.
        source: SharedError,
    },
    /// An attempt or the whole upload ran out of time.
    Timeout {
        /// The limit that ran out: the attempt's or the deadline.
        after: Duration,
        /// The failure that was being retried when the deadline came, if
        /// any: a `FREQUENCY_LIMITED`, say, which the predicates still
        /// report.
        last: Option<Box<Error>>,
    },
    /// The platform certificates are needed, their download failed a
    /// moment ago, and the next may not start yet
    /// ([`CERTIFICATE_REFRESH_INTERVAL`](crate::CERTIFICATE_REFRESH_INTERVAL)):
    /// that download's error, told again. The predicates are the cause's.
    CertificatesUnavailable {
        /// How long ago the download failed.
        since: Duration,
        /// How long until a download may start again.
        retry_in: Duration,
        /// What the download failed with.
        cause: Box<Error>,
    },
    /// The rate limiter could not give a slot (a shared store that is
    /// unreachable): nothing was sent, since sending unpaced could trip
    /// the merchant's limit for every machine that shares it.
    Limiter(SharedError),
}

impl Error {
    /// A transport failure of `kind` with the transport's own error.
    pub fn transport(kind: TransportErrorKind, source: impl Into<BoxError>) -> Error {
        Error::Transport {
            kind,
            source: Arc::from(source.into()),
        }
    }

    /// The error whose predicates this one has: the download's error for
    /// [`Error::CertificatesUnavailable`], else this one.
    fn decisive(&self) -> &Error {
        match self {
            Error::CertificatesUnavailable { cause, .. } => cause.decisive(),
            other => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Proto(e) => fmt::Display::fmt(e, f),
            Error::Transport { kind, source } => write!(f, "transport: {kind}: {source}"),
            Error::Timeout { after, last } => {
                write!(f, "timed out after {after:?}")?;
                match last {
                    Some(e) => write!(f, " (retrying after: {e})"),
                    None => Ok(()),
                }
            }
            Error::CertificatesUnavailable {
                since,
                retry_in,
                cause,
            } => write!(
                f,
                "the platform certificate download failed {} s ago and may be tried again in {} s: {cause}",
                since.as_secs(),
                retry_in.as_secs() + u64::from(retry_in.subsec_nanos() > 0)
            ),
            Error::Limiter(e) => write!(f, "the rate limiter failed, nothing was sent: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Transparent, as the core's error shows itself.
            Error::Proto(e) => e.source(),
            // The transport's error itself, not its `Arc` (whose `source`
            // would skip it), so that a walk of the chain can downcast it.
            Error::Transport { source, .. } => Some(&**source),
            Error::Timeout { last, .. } => last.as_deref().map(|e| e as _),
            Error::CertificatesUnavailable { cause, .. } => Some(&**cause),
            Error::Limiter(e) => Some(&**e),
        }
    }
}

impl From<wxmedia_proto::Error> for Error {
    fn from(e: wxmedia_proto::Error) -> Error {
        Error::Proto(e)
    }
}

/// An error and its sources on one line, `outer: inner: …`, leaving out a
/// source whose text the line already holds (many errors repeat their
/// source's text in their own). What the command line prints and the
/// tests read.
///
/// ```
/// use wxmedia_client::{Chain, Error, TransportErrorKind};
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
/// let e = Error::transport(TransportErrorKind::Broken, io);
/// assert_eq!(Chain(&e).to_string(), "transport: connection broken: reset by peer");
/// ```
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut source = self.0.source();
        while let Some(s) = source {
            let more = s.to_string();
            if !line.contains(&more) {
                line.push_str(": ");
                line.push_str(&more);
            }
            source = s.source();
        }
        f.write_str(&line)
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<MediaError> for Error {
    /// So that `Media::new(..)?` works in functions returning this error.
    fn from(e: MediaError) -> Error {
        Error::Proto(e.into())
    }
}

impl Error {
    /// The error a failed attempt ends with; `budget` is the attempt's
    /// time limit, reported when the attempt ran out of it.
    pub(crate) fn from_attempt(e: AttemptError<BoxError>, budget: Duration) -> Error {
        match e {
            AttemptError::Proto(e) => Error::Proto(e),
            AttemptError::Transport { kind, error } => Error::Transport {
                kind,
                source: Arc::from(error),
            },
            AttemptError::TimedOut => Error::Timeout {
                after: budget,
                last: None,
            },
            // `AttemptError` is non-exhaustive; a future kind is reported
            // as a broken exchange rather than dropped.
            _ => Error::transport(TransportErrorKind::Broken, "the attempt failed"),
        }
    }

    /// Whether trying again later can help. The client has already
    /// retried as its policy allows. The same rule as the retries': a TLS
    /// failure, bad input or an unverifiable reply cannot be helped.
    pub fn is_retryable(&self) -> bool {
        match self.decisive() {
            Error::Proto(e) => e.is_retryable(),
            Error::Transport { kind, .. } => kind.is_retryable(),
            _ => true,
        }
    }

    /// Whether the server asked us to slow down (`FREQUENCY_LIMITED`,
    /// `RATE_LIMITED`): callers running many uploads should pause them
    /// all. Still true when the deadline ended the retry of such a reply.
    pub fn is_rate_limited(&self) -> bool {
        match self.decisive() {
            Error::Proto(e) => e.is_rate_limited(),
            Error::Timeout { last: Some(e), .. } => e.is_rate_limited(),
            _ => false,
        }
    }

    /// The WeChat Pay error code, when the server sent one (also when the
    /// deadline ended the retry of that reply).
    pub fn api_code(&self) -> Option<&ErrorCode> {
        match self.decisive() {
            Error::Proto(e) => e.api_code(),
            Error::Timeout { last: Some(e), .. } => e.api_code(),
            _ => None,
        }
    }

    /// Why a reply's signature was refused, when that is what failed.
    pub fn signature_error(&self) -> Option<SignatureError> {
        match self.decisive() {
            Error::Proto(wxmedia_proto::Error::Signature { kind, .. }) => Some(*kind),
            _ => None,
        }
    }

    /// Whether the input was refused before anything was sent.
    pub fn is_input_error(&self) -> bool {
        matches!(self.decisive(), Error::Proto(e) if e.is_input_error())
    }

    /// The transport failure's kind, for [`Error::Transport`].
    pub fn transport_kind(&self) -> Option<TransportErrorKind> {
        match self.decisive() {
            Error::Transport { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wxmedia_proto::{ApiError, Layer};

    fn timeout(last: Option<Error>) -> Error {
        Error::Timeout {
            after: Duration::from_secs(1),
            last: last.map(Box::new),
        }
    }

    #[test]
    fn predicates() {
        let transport = Error::transport(TransportErrorKind::Tls, "bad certificate");
        // A certificate problem is not fixed by trying again: the same
        // answer the driver gives.
        assert!(!transport.is_retryable());
        assert!(!transport.is_input_error());
        assert_eq!(transport.transport_kind(), Some(TransportErrorKind::Tls));
        assert_eq!(
            transport.to_string(),
            "transport: TLS handshake failed: bad certificate"
        );
        let reset = Error::transport(TransportErrorKind::Broken, "reset");
        assert!(reset.is_retryable());
        let media: Error = MediaError::Empty.into();
        assert!(media.is_input_error() && !media.is_retryable());
        assert!(timeout(None).is_retryable());
        assert!(timeout(None).api_code().is_none());
        assert_eq!(timeout(None).to_string(), "timed out after 1s");
    }

    #[test]
    fn a_timeout_keeps_the_cause_it_cut_short() {
        let limited = Error::Proto(
            ApiError::new(
                Layer::Result,
                Some(ErrorCode::FrequencyLimitedV2),
                "slow down",
            )
            .into(),
        );
        let e = timeout(Some(limited));
        assert!(e.is_rate_limited());
        assert_eq!(e.api_code(), Some(&ErrorCode::FrequencyLimitedV2));
        assert!(e.to_string().contains("FREQUENCY_LIMITED"), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }

    /// Issue 30, item 3: an `Error` is `Clone`, and a clone keeps the
    /// transport's own error (shared, not copied), its predicates and its
    /// chain.
    #[test]
    fn an_error_clones_with_its_source_and_predicates() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = Error::transport(TransportErrorKind::Broken, io);
        let copy = e.clone();
        assert_eq!(copy.transport_kind(), Some(TransportErrorKind::Broken));
        assert!(copy.is_retryable());
        let Error::Transport { source, .. } = &copy else {
            panic!("{copy:?}")
        };
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("the io::Error itself");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
        // The chain reaches the io::Error, not its Arc.
        let first = std::error::Error::source(&copy).expect("a source");
        assert!(first.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(Chain(&copy).to_string(), Chain(&e).to_string());
        let timeout = timeout(Some(copy));
        assert_eq!(timeout.clone().to_string(), timeout.to_string());
    }
}
