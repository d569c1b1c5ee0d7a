//! Why a client could not be built: the client crate's own error type, one variant per kind of cause, each keeping its source error whole.

use std::path::PathBuf;

use crate::BoxError;

/// Everything that can fail before an upload starts: a setting missing
/// or refused, a key or certificate file, the identity, TLS, the core's
/// verdict on a value, the transport's set-up. Nothing was sent.
///
/// Each variant keeps what caused it as a typed source (see
/// [`std::error::Error::source`]); [`Chain`](crate::Chain) shows the whole
/// chain on one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A setting the client needs was not given.
    #[error("client settings: {what} is not set")]
    Missing {
        /// The setting, in words (`"the merchant id"`).
        what: &'static str,
    },
    /// Settings that exclude each other, or a value the builder refuses.
    #[error("client settings: {what}: {reason}")]
    Invalid {
        /// The setting, in words.
        what: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A key or certificate file was read, and the core refused what it
    /// holds.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The core's verdict on its content: a [`wxmedia_proto::Error`]
        /// (boxed whole so that a `BuildError` stays small; downcast it).
        source: BoxError,
    },
    /// A file could not be read, or the client certificate, its key, a
    /// PKCS#12 archive or a CA file was refused (each names its file), or
    /// something was given where a path belongs that looks like the
    /// secret itself.
    #[error(transparent)]
    Identity(wxmedia_tls::Error),
    /// rustls refused the TLS configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[source] wxmedia_tls::rustls::Error),
    /// The core refused a value given as such (the merchant id, the API
    /// key, an endpoint URL, the certificate serial, a key given as
    /// bytes); its `what` names the setting.
    #[error(transparent)]
    Proto(#[from] wxmedia_proto::Error),
    /// The transport could not be set up with these settings.
    #[error("transport setup: {0}")]
    Transport(#[source] BoxError),
}

impl From<wxmedia_tls::Error> for BuildError {
    /// rustls's refusals are TLS errors; every other error of the TLS
    /// crate is about the identity or a file, and names it.
    fn from(e: wxmedia_tls::Error) -> BuildError {
        match e {
            wxmedia_tls::Error::Rustls(e) => BuildError::Tls(e),
            wxmedia_tls::Error::Proto(e) => BuildError::Proto(e),
            other => BuildError::Identity(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// Every variant with a cause keeps it as its source, typed, and the
    /// chain formatter shows it once.
    #[test]
    fn causes_are_kept_as_typed_sources() {
        let refused = || wxmedia_proto::Error::InvalidInput {
            what: "certificate serial",
            reason: "not hex".into(),
        };
        let file = BuildError::File {
            path: PathBuf::from("/etc/wxmedia/pub_key.pem"),
            source: Box::new(refused()),
        };
        let source = file.source().expect("a source");
        assert!(source.downcast_ref::<wxmedia_proto::Error>().is_some());
        let line = crate::Chain(&file).to_string();
        assert_eq!(line.matches("not hex").count(), 1, "{line}");
        assert!(line.starts_with("/etc/wxmedia/pub_key.pem: "), "{line}");

        let tls: BuildError =
            wxmedia_tls::Error::Rustls(wxmedia_tls::rustls::Error::General("no protocol".into()))
                .into();
        assert!(matches!(tls, BuildError::Tls(_)), "{tls:?}");
        assert!(
            tls.source()
                .and_then(|s| s.downcast_ref::<wxmedia_tls::rustls::Error>())
                .is_some()
        );

        let io = std::io::Error::new(std::io::ErrorKind::Unsupported, "no proxy support");
        let transport = BuildError::Transport(Box::new(io));
        assert!(
            transport
                .source()
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .is_some()
        );

        let missing = BuildError::Missing {
            what: "the merchant id",
        };
        assert_eq!(
            missing.to_string(),
            "client settings: the merchant id is not set"
        );
        assert!(missing.source().is_none());
    }
}
