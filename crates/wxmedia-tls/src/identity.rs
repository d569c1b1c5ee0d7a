//! The merchant's client identity: certificate chain and private key, from PEM files or a PKCS#12 archive.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::Error;
use crate::file::{MAX_CA_FILE, read_capped, read_small_file};

/// A client certificate chain and its private key, checked to belong
/// together and to be valid now.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// How many times a server asked for this certificate; shared by the
    /// clones, as the configurations built from them are one client's.
    requests: Arc<AtomicU64>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            requests: Arc::clone(&self.requests),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("subject", &self.subject_cn())
            .field("chain_len", &self.chain.len())
            .field("key", &"***")
            .finish()
    }
}

impl Identity {
    /// Load `apiclient_cert.pem` and `apiclient_key.pem` (or any PEM pair).
    /// The key may be PKCS#8 (`BEGIN PRIVATE KEY`), PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`).
    ///
    /// Both are read with [`read_small_file`](crate::read_small_file):
    /// regular files (or links to them) of at most
    /// [`MAX_PEM_FILE`](crate::MAX_PEM_FILE) bytes; a FIFO, a device or a
    /// larger file is refused, unread, as [`Error::Read`].
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Identity, Error> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let cert_pem = read_small_file(cert, "certificate")?;
        let key_pem = read_small_file(key, "private key")?;
        Identity::from_pem_named(&cert_pem, &key_pem, cert, key)
    }

    /// Build from PEM text already in memory.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Identity, Error> {
        Identity::from_pem_named(
            cert_pem,
            key_pem,
            Path::new("<certificate PEM>"),
            Path::new("<key PEM>"),
        )
    }

    fn from_pem_named(
        cert_pem: &[u8],
        key_pem: &[u8],
        cert: &Path,
        key: &Path,
    ) -> Result<Identity, Error> {
        let mut chain = Vec::new();
        let mut labels = Vec::new();
        for item in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(cert_pem) {
            let (kind, der) = item.map_err(|e| Error::parse(cert, "not well-formed PEM", e))?;
            match kind {
                SectionKind::Certificate => chain.push(CertificateDer::from(der)),
                other => labels.push(format!("{other:?}")),
            }
        }
        if chain.is_empty() {
            return Err(Error::pem(
                cert,
                if labels.is_empty() {
                    "no PEM block found; expected BEGIN CERTIFICATE".to_owned()
                } else {
                    format!(
                        "no BEGIN CERTIFICATE block (found {}); is this the key file?",
                        labels.join(", ")
                    )
                },
            ));
        }
        let key_der = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
            let hint = if CertificateDer::from_pem_slice(key_pem).is_ok() {
                "it holds a certificate, not a private key; are the files swapped?".to_owned()
            } else {
                format!("no usable private key (PKCS#8, PKCS#1 RSA or SEC1 EC): {e}")
            };
            Error::pem(key, hint)
        })?;
        Identity::new(chain, key_der, cert, key)
    }

    /// Load a PKCS#12 archive (`apiclient_cert.p12`). WeChat Pay's password
    /// is the merchant id. The legacy encryption of such files (RC2 and
    /// 3DES with SHA-1) is supported.
    ///
    /// The archive is read with [`read_small_file`](crate::read_small_file):
    /// a regular file (or a link to one) of at most
    /// [`MAX_PEM_FILE`](crate::MAX_PEM_FILE) bytes, plenty for an archive of
    /// about 3 KiB; a FIFO, a device or a larger file is refused, unread,
    /// as [`Error::Read`].
    pub fn from_pkcs12_file(path: impl AsRef<Path>, password: &str) -> Result<Identity, Error> {
        let path = path.as_ref();
        let der = read_small_file(path, "PKCS#12")?;
        Identity::from_pkcs12_named(&der, password, path)
    }

    /// Build from PKCS#12 bytes already in memory.
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Identity, Error> {
        Identity::from_pkcs12_named(der, password, Path::new("<PKCS#12>"))
    }

    fn from_pkcs12_named(der: &[u8], password: &str, path: &Path) -> Result<Identity, Error> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            der,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| {
            let reason = match e {
                p12_keystore::error::Error::MacError(_) => {
                    "wrong password (for WeChat Pay archives it is the merchant id)".to_owned()
                }
                other => format!("not a readable PKCS#12 archive: {other}"),
            };
            Error::Pkcs12 {
                path: path.to_path_buf(),
                reason,
            }
        })?;
        let (_, chain) = store.private_key_chain().ok_or_else(|| Error::Pkcs12 {
            path: path.to_path_buf(),
            reason: "holds no private key with its certificate".to_owned(),
        })?;
        let certs: Vec<CertificateDer<'static>> = chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect();
        if certs.is_empty() {
            return Err(Error::Pkcs12 {
                path: path.to_path_buf(),
                reason: "holds a private key but no certificate".to_owned(),
            });
        }
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
        Identity::new(certs, key, path, path)
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<Identity, Error> {
        let provider = provider();
        let signing = provider
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|e| Error::parse(key_path, "the private key cannot be used", e))?;
        let certified = rustls::sign::CertifiedKey::new(chain.clone(), signing);
        match certified.keys_match() {
            Ok(()) => {}
            // Some key types cannot report their public key; the handshake
            // will tell then.
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(_) => {
                return Err(Error::KeyMismatch {
                    cert: cert_path.to_path_buf(),
                    key: key_path.to_path_buf(),
                });
            }
        }
        check_validity(&chain[0], cert_path)?;
        Ok(Identity {
            chain,
            key,
            requests: Arc::default(),
        })
    }

    /// The certificate chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKeyDer<'static> {
        &self.key
    }

    /// How many TLS handshakes, on connections made with a configuration
    /// built from this identity or a clone of it ([`client_config`](crate::client_config)),
    /// had the server ask for the client certificate (a TLS
    /// `CertificateRequest`). A handshake that completes while this count
    /// stays put was made without the certificate: the server never asked
    /// for it, so mutual TLS was not shown.
    pub fn certificate_requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The counter of [`Identity::certificate_requests`], for the resolver.
    pub(crate) fn requested(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.requests)
    }

    /// The leaf certificate's subject CN (the merchant id, for WeChat Pay).
    pub fn subject_cn(&self) -> Option<String> {
        let (_, cert) = x509_parser::parse_x509_certificate(&self.chain[0]).ok()?;
        let cn = cert.subject().iter_common_name().next()?;
        cn.as_str().ok().map(str::to_owned)
    }
}

fn check_validity(leaf: &CertificateDer<'_>, path: &Path) -> Result<(), Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| Error::parse(path, "the certificate cannot be parsed", e))?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let validity = cert.validity();
    if now > validity.not_after.timestamp() {
        return Err(Error::Expired {
            path: path.to_path_buf(),
            not_after: validity.not_after.to_string(),
        });
    }
    if now < validity.not_before.timestamp() {
        return Err(Error::NotYetValid {
            path: path.to_path_buf(),
            not_before: validity.not_before.to_string(),
        });
    }
    Ok(())
}

/// The crypto provider of every wxmedia TLS connection unless a client is
/// given another: ring with the `ring` feature (the default), aws-lc-rs
/// with `aws-lc-rs`. Named explicitly, so that no process-wide default is
/// needed and a build that has both providers still knows which is ours.
pub fn provider() -> Arc<CryptoProvider> {
    #[cfg(feature = "ring")]
    let provider = rustls::crypto::ring::default_provider();
    #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    // Without a provider the crate's compile_error! says why; this only
    // keeps that message the sole error.
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    let provider: CryptoProvider = unreachable!("no crypto provider feature");
    Arc::new(provider)
}

/// Read every certificate of a PEM file (extra trusted roots).
///
/// The file is read like a key file (see
/// [`read_small_file`](crate::read_small_file)), but up to
/// [`MAX_CA_FILE`](crate::MAX_CA_FILE) bytes, since it may be a whole
/// bundle: a FIFO, a device or a larger file is refused, unread, as
/// [`Error::Read`].
pub fn read_ca_file(path: impl AsRef<Path>) -> Result<Vec<CertificateDer<'static>>, Error> {
    let path = path.as_ref();
    let pem = read_capped(path, "CA certificate", MAX_CA_FILE)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| Error::parse(path, "not well-formed PEM", e))?;
    if certs.is_empty() {
        return Err(Error::pem(
            path,
            "no BEGIN CERTIFICATE block found".to_owned(),
        ));
    }
    Ok(certs)
}

pub(crate) fn pathbuf(p: &Path) -> PathBuf {
    p.to_path_buf()
}
