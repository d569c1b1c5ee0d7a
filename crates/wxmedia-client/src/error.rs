//! The one error of an upload, whatever the transport: the core's verdict, a transport failure with its concrete source, or a time limit with the cause it cut short.

use std::time::Duration;

use wxmedia_proto::{AttemptError, ErrorCode, MediaError, SignatureError};

pub use wxmedia_proto::TransportErrorKind;

/// A transport's own error, kept as it came (boxed, never stringified) so
/// that callers can downcast to `hyper_util`'s, `ureq`'s or `std::io`'s.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong with an upload, over any transport.
///
/// Use the predicates rather than matching when all you need is a
/// decision: [`Error::is_retryable`], [`Error::is_rate_limited`],
/// [`Error::is_input_error`], [`Error::api_code`],
/// [`Error::signature_error`].
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
    #[error("timed out after {after:?}{}", last.as_ref().map(|e| format!(" (retrying after: {e})")).unwrap_or_default())]
    Timeout {
        /// The limit that ran out: the attempt's or the deadline.
        after: Duration,
        /// The failure that was being retried when the deadline came, if
        /// any: a `FREQUENCY_LIMITED`, say, which the predicates still
        /// report.
        #[source]
        last: Option<Box<Error>>,
    },
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
                source: error,
            },
            AttemptError::TimedOut => Error::Timeout {
                after: budget,
                last: None,
            },
            // `AttemptError` is non-exhaustive; a future kind is reported
            // as a broken exchange rather than dropped.
            _ => Error::Transport {
                kind: TransportErrorKind::Broken,
                source: "the attempt failed".into(),
            },
        }
    }

    /// Whether trying again later can help. The client has already
    /// retried as its policy allows. The same rule as the retries': a TLS
    /// failure, bad input or an unverifiable reply cannot be helped.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Proto(e) => e.is_retryable(),
            Error::Transport { kind, .. } => kind.is_retryable(),
            Error::Timeout { .. } => true,
        }
    }

    /// Whether the server asked us to slow down (`FREQUENCY_LIMITED`,
    /// `RATE_LIMITED`): callers running many uploads should pause them
    /// all. Still true when the deadline ended the retry of such a reply.
    pub fn is_rate_limited(&self) -> bool {
        match self {
            Error::Proto(e) => e.is_rate_limited(),
            Error::Timeout { last: Some(e), .. } => e.is_rate_limited(),
            _ => false,
        }
    }

    /// The WeChat Pay error code, when the server sent one (also when the
    /// deadline ended the retry of that reply).
    pub fn api_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Proto(e) => e.api_code(),
            Error::Timeout { last: Some(e), .. } => e.api_code(),
            _ => None,
        }
    }

    /// Why a reply's signature was refused, when that is what failed.
    pub fn signature_error(&self) -> Option<SignatureError> {
        match self {
            Error::Proto(wxmedia_proto::Error::Signature { kind, .. }) => Some(*kind),
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
    use wxmedia_proto::{ApiError, Layer};

    fn timeout(last: Option<Error>) -> Error {
        Error::Timeout {
            after: Duration::from_secs(1),
            last: last.map(Box::new),
        }
    }

    #[test]
    fn predicates() {
        let transport = Error::Transport {
            kind: TransportErrorKind::Tls,
            source: "bad certificate".into(),
        };
        // A certificate problem is not fixed by trying again: the same
        // answer the driver gives.
        assert!(!transport.is_retryable());
        assert!(!transport.is_input_error());
        assert_eq!(transport.transport_kind(), Some(TransportErrorKind::Tls));
        assert_eq!(
            transport.to_string(),
            "transport: TLS handshake failed: bad certificate"
        );
        let reset = Error::Transport {
            kind: TransportErrorKind::Broken,
            source: "reset".into(),
        };
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
}
