//! TLS for the wxmedia transports: the merchant's client identity, the rustls configuration, and the settings every client shares.
//!
//! * [`Identity`] loads `apiclient_cert.pem` + `apiclient_key.pem` (PKCS#8,
//!   PKCS#1 RSA or SEC1 EC keys) or `apiclient_cert.p12` (password = merchant
//!   id, legacy RC2/3DES encryption included), and checks that key and
//!   certificate match and that the certificate is valid today. Errors name
//!   the file and what is wrong with it.
//! * [`client_config`] builds a rustls client configuration with the ring
//!   provider, TLS 1.2 and 1.3, the webpki roots plus any extra CA files (how
//!   tests trust the simulator), and the client certificate.
//! * [`ClientBuilder`] is the one builder of the hyper, surf and blocking
//!   clients, so that all three are configured the same way, and [`drive`]
//!   is the one upload loop they all run.
#![forbid(unsafe_code)]

mod drive;
mod identity;
mod settings;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use drive::{Attempt, DeadlineExceeded, drive};
pub use identity::{Identity, provider, read_ca_file};
pub use rustls;
pub use settings::{
    ClientBuilder, FromSettings, Settings, Timeouts, jitter, random_boundary_bytes,
};

use rustls::pki_types::CertificateDer;

/// What went wrong while loading credentials or building TLS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM file does not hold what it should.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The private key does not belong to the certificate.
    #[error("the private key in {key} does not match the certificate in {cert}")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The client certificate has expired.
    #[error("the certificate in {path} expired on {not_after}")]
    Expired {
        /// The certificate file.
        path: PathBuf,
        /// When it expired.
        not_after: String,
    },
    /// The client certificate is not valid yet.
    #[error("the certificate in {path} is not valid before {not_before}")]
    NotYetValid {
        /// The certificate file.
        path: PathBuf,
        /// When it becomes valid.
        not_before: String,
    },
    /// A PKCS#12 archive could not be opened.
    #[error("{path}: {reason}")]
    Pkcs12 {
        /// The archive.
        path: PathBuf,
        /// What is wrong (a wrong password says so).
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// A required setting is missing or a value is refused.
    #[error("client settings: {0}")]
    Settings(String),
    /// The merchant id, API key or endpoint was refused by the core.
    #[error(transparent)]
    Proto(#[from] wxmedia_proto::Error),
}

impl Error {
    pub(crate) fn pem(path: &Path, reason: String) -> Error {
        Error::Pem {
            path: identity::pathbuf(path),
            reason,
        }
    }
}

/// Which server certificates to trust.
#[derive(Debug, Clone)]
pub struct Roots {
    /// Include the Mozilla roots from `webpki-roots` (true by default).
    pub webpki: bool,
    /// Extra trusted certificates, e.g. the simulator's CA.
    pub extra: Vec<CertificateDer<'static>>,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            webpki: true,
            extra: Vec::new(),
        }
    }
}

/// A rustls client configuration presenting `identity`, trusting `roots`,
/// with the ring provider, TLS 1.2+ and ALPN `http/1.1`.
pub fn client_config(
    identity: &Identity,
    roots: &Roots,
) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut store = rustls::RootCertStore::empty();
    if roots.webpki {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for cert in &roots.extra {
        store.add(cert.clone())?;
    }
    if store.is_empty() {
        return Err(Error::Settings("no trusted roots".to_owned()));
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_root_certificates(store)
        .with_client_auth_cert(identity.chain().to_vec(), identity.key().clone_key())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What kind of failure a transport's connect error is, found by walking
/// its source chain. Shared by the transports so that they classify alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectFailure {
    /// The TLS handshake failed (a `rustls::Error` in the chain).
    Tls,
    /// The name did not resolve.
    Dns,
    /// Timed out, refused, reset or unreachable.
    Unreachable,
}

/// Classify a connect error. DNS failures are recognised by the messages
/// of hyper-util's and the standard library's resolvers, since neither
/// gives them a type of their own.
pub fn classify_connect_error(err: &(dyn std::error::Error + 'static)) -> ConnectFailure {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut dns = false;
    while let Some(e) = current {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return ConnectFailure::Tls;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && inner.downcast_ref::<rustls::Error>().is_some()
        {
            return ConnectFailure::Tls;
        }
        let text = e.to_string();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            dns = true;
        }
        current = e.source();
    }
    if dns {
        ConnectFailure::Dns
    } else {
        ConnectFailure::Unreachable
    }
}

#[doc(hidden)]
pub use wxmedia_proto as __proto;

/// The conversions and predicates every transport's `Error` has, written
/// once. The error must have the variants `Proto(wxmedia_proto::Error)`,
/// `Config(wxmedia_tls::Error)` and `Timeout(Duration)`; every other
/// variant is a transport failure, which a later retry can fix.
#[macro_export]
macro_rules! transport_error_impls {
    ($error:ident) => {
        impl ::core::convert::From<$crate::DeadlineExceeded> for $error {
            fn from(d: $crate::DeadlineExceeded) -> $error {
                $error::Timeout(d.0)
            }
        }

        impl ::core::convert::From<$crate::__proto::MediaError> for $error {
            /// So that `Media::new(..)?` works in functions returning this error.
            fn from(e: $crate::__proto::MediaError) -> $error {
                $error::Proto(e.into())
            }
        }

        impl $error {
            /// Whether trying again later can help. The client has already
            /// retried as its policy allows.
            pub fn is_retryable(&self) -> bool {
                match self {
                    $error::Proto(e) => e.is_retryable(),
                    $error::Config(_) => false,
                    _ => true,
                }
            }

            /// The WeChat Pay error code, when the server sent one.
            pub fn api_code(&self) -> ::core::option::Option<&$crate::__proto::ErrorCode> {
                match self {
                    $error::Proto(e) => e.api_code(),
                    _ => None,
                }
            }

            /// Whether the input was refused before anything was sent.
            pub fn is_input_error(&self) -> bool {
                match self {
                    $error::Proto(e) => e.is_input_error(),
                    $error::Config(_) => true,
                    _ => false,
                }
            }
        }
    };
}
