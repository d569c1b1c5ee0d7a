//! TLS for the wxmedia transports: the merchant's client identity, the rustls configuration, and the bounded reading of key and certificate files.
//!
//! * [`Identity`] loads `apiclient_cert.pem` + `apiclient_key.pem` (PKCS#8,
//!   PKCS#1 RSA or SEC1 EC keys) or `apiclient_cert.p12` (password = merchant
//!   id, legacy RC2/3DES encryption included), and checks that key and
//!   certificate match and that the certificate is valid today. Errors name
//!   the file and what is wrong with it.
//! * [`read_small_file`] reads every key, certificate, PKCS#12 and CA file
//!   of wxmedia (here, in `wxmedia-client`'s builders and in the command
//!   line): regular files only, at most [`MAX_PEM_FILE`] bytes (CA files
//!   [`MAX_CA_FILE`]), so that a path at `/dev/zero`, a FIFO or a huge file
//!   is refused at once instead of filling the memory or hanging.
//! * [`client_config`] builds a rustls client configuration with the
//!   crypto provider of the `ring` (default) or `aws-lc-rs` feature, or one
//!   given at run time, TLS 1.2 and 1.3, the webpki roots plus any extra CA files (how
//!   tests trust the simulator), and the client certificate.
//!
//! Settings, the builder and the upload loop live in `wxmedia-client`;
//! its `BuildError` is this crate's [`Error`].
#![forbid(unsafe_code)]

// One provider, chosen at build time: with both, which one a connection used
// would depend on feature unification somewhere else in the build.
#[cfg(all(feature = "ring", feature = "aws-lc-rs"))]
compile_error!(
    "wxmedia: the features `ring` and `aws-lc-rs` are both on; enable exactly one crypto provider. \
     To use aws-lc-rs, turn the default features off: \
     `wxmedia = { version = \"0.1\", default-features = false, features = [\"hyper\", \"aws-lc-rs\"] }`"
);
#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "wxmedia: no crypto provider; enable the feature `ring` (the default) or `aws-lc-rs`"
);

mod file;
mod identity;
mod secret;
mod seen;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use file::{MAX_CA_FILE, MAX_PEM_FILE, read_small_file};
pub use identity::{Identity, provider, read_ca_file};
pub use rustls;
pub use secret::{SECRET_NOT_PATH, ShownPath, looks_like_secret};
pub use seen::{Handshakes, ServerSeen};

use rustls::pki_types::CertificateDer;

/// What went wrong while loading credentials, building TLS or validating a
/// client's settings: everything that can fail before an upload starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read, or was refused unread: not a regular file
    /// (a FIFO, a device, a directory, a socket) or larger than its cap
    /// ([`read_small_file`]). The source says which, in words.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// What was given as the path of a key, certificate or API key file
    /// names nothing on disk and [`looks_like_secret`]: the key itself was
    /// given where its path belongs. Neither the value nor its length is
    /// kept, so that no message or `Debug` output can show it.
    #[error(
        "the {what} given looks like the key itself, not a path to it: put it in a file and give that file's path"
    )]
    SecretNotPath {
        /// What the file should have held ("private key", "certificate").
        what: String,
    },
    /// A PEM file does not hold what it should.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file that is not well-formed PEM, or whose key or certificate
    /// cannot be parsed: the parser's own error is the source.
    #[error("{path}: {what}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What could not be read in it.
        what: &'static str,
        /// The parser's error.
        source: Box<dyn std::error::Error + Send + Sync>,
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
    /// rustls could not build the server certificate verifier from the
    /// roots.
    #[error("TLS server verifier: {0}")]
    Verifier(#[from] rustls::client::VerifierBuilderError),
    /// No certificate to trust a server by: the Mozilla roots were turned
    /// off and no CA was added.
    #[error("no trusted roots: the Mozilla roots are off and no CA certificate was added")]
    NoRoots,
    /// The merchant id, API key or endpoint was refused by the core.
    #[error(transparent)]
    Proto(#[from] wxmedia_proto::Error),
}

impl Error {
    pub(crate) fn parse(
        path: &Path,
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Parse {
            path: identity::pathbuf(path),
            what,
            source: Box::new(source),
        }
    }

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

/// A rustls client configuration presenting `identity` (v2 needs one; v3
/// authenticates by signature and connects without), trusting `roots`,
/// with `provider` (normally [`provider()`]), TLS 1.2+ and ALPN `http/1.1`.
pub fn client_config(
    identity: Option<&Identity>,
    roots: &Roots,
    provider: Arc<rustls::crypto::CryptoProvider>,
    handshakes: &Handshakes,
) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut store = rustls::RootCertStore::empty();
    if roots.webpki {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for cert in &roots.extra {
        store.add(cert.clone())?;
    }
    if store.is_empty() {
        return Err(Error::NoRoots);
    }
    // rustls's WebPKI verifier over these roots, as `with_root_certificates`
    // would build it, noting what it verified for `doctor`.
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(store),
        provider.clone(),
    )
    .build()?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(seen::Noting {
            inner: webpki,
            seen: handshakes.clone(),
        }));
    let mut config = match identity {
        Some(id) => {
            let mut config =
                builder.with_client_auth_cert(id.chain().to_vec(), id.key().clone_key())?;
            config.client_auth_cert_resolver = Arc::new(Counted {
                inner: Arc::clone(&config.client_auth_cert_resolver),
                requests: id.requested(),
            });
            config
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// rustls's resolver for the client certificate, counting the handshakes
/// in which the server asked for it: rustls asks the resolver only then,
/// which is how `wxmedia doctor` tells a server that checked the
/// certificate from one that never asked ([`Identity::certificate_requests`]).
#[derive(Debug)]
struct Counted {
    inner: Arc<dyn rustls::client::ResolvesClientCert>,
    requests: Arc<std::sync::atomic::AtomicU64>,
}

impl rustls::client::ResolvesClientCert for Counted {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.resolve(root_hint_subjects, sigschemes)
    }

    fn only_raw_public_keys(&self) -> bool {
        self.inner.only_raw_public_keys()
    }

    fn has_certs(&self) -> bool {
        self.inner.has_certs()
    }
}
