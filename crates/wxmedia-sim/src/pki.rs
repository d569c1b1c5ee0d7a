//! The simulator's development PKI: a CA, a server certificate for loopback, and merchant client certificates.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, RsaKeySize, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::SimError;

const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key";
const SERVER_CERT: &str = "server.pem";
const SERVER_KEY: &str = "server.key";
/// Named like the pair WeChat Pay gives merchants.
const CLIENT_CERT: &str = "apiclient_cert.pem";
const CLIENT_KEY: &str = "apiclient_key.pem";

/// A client certificate and its key, both PEM.
#[derive(Clone)]
pub struct ClientIdentityPem {
    /// The certificate (`BEGIN CERTIFICATE`).
    pub cert_pem: String,
    /// The PKCS#8 private key (`BEGIN PRIVATE KEY`).
    pub key_pem: String,
}

impl std::fmt::Debug for ClientIdentityPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientIdentityPem { .. }")
    }
}

/// The development PKI in a state directory. Created on first use, reused
/// afterwards; the merchant certificate is reissued when the merchant id
/// changes.
///
/// What is on disk is checked on every load, so that a partial or mixed
/// state directory repairs itself instead of failing every client: a CA
/// whose key is missing or does not match, or that lacks the name
/// constraints, is replaced; a server, merchant or platform certificate
/// that the current CA did not issue, or whose key does not match it, is
/// reissued. Reissuing the merchant certificate changes its serial, the
/// `serial_no` v3 requests name (the ready line always prints the current
/// one).
///
/// The directory is created readable by its owner only (0700); private
/// keys are written 0600 from their first byte, through a new file renamed
/// into place; a symbolic link where a state file should be is refused
/// rather than followed.
pub struct DevPki {
    dir: PathBuf,
    ca_params: CertificateParams,
    ca_key: KeyPair,
    ca_cert_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
}

impl std::fmt::Debug for DevPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevPki")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn ca_params() -> CertificateParams {
    // The CA's name and constraints are fixed, so an issuer can be rebuilt
    // from the stored key alone.
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "wxmedia simulator dev CA");
    dn.push(DnType::OrganizationName, "wxmedia test fixtures");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // The CA vouches for loopback names only, whatever it signs: a leaked
    // `ca.pem` that someone trusted can never vouch for a real host.
    // Subject names (the merchant certificates' CN) are not constrained.
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 1], 32)),
            GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(
                std::net::Ipv6Addr::LOCALHOST.octets(),
                128,
            )),
            GeneralSubtree::DnsName("localhost".into()),
        ],
        excluded_subtrees: Vec::new(),
    });
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn err(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> SimError {
    let what = what.into();
    move |e| SimError::Pki(format!("{what}: {e}"))
}

impl DevPki {
    /// Load the PKI from `dir`, creating what is missing, with a merchant
    /// certificate whose subject CN is `mch_id` (RSA 2048, PKCS#8 key).
    pub fn load_or_create(dir: &Path, mch_id: &str) -> Result<DevPki, SimError> {
        create_private_dir(dir)?;
        let dir = dir.canonicalize().map_err(|e| SimError::io(dir, e))?;
        let ca_params = ca_params();
        let stored = match (read(&dir.join(CA_KEY))?, read(&dir.join(CA_CERT))?) {
            (Some(key), Some(cert)) => {
                let key = KeyPair::from_pem(&key).map_err(err("ca.key"))?;
                is_current_ca(&key, &cert).then_some((key, cert))
            }
            _ => None,
        };
        let (ca_key, ca_cert_pem) = match stored {
            Some(ca) => ca,
            None => {
                tracing::info!(dir = %dir.display(), "making a new dev CA; certificates it did not issue will be reissued");
                let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err("CA key"))?;
                let cert = ca_params.self_signed(&key).map_err(err("CA certificate"))?;
                write(&dir.join(CA_KEY), &key.serialize_pem())?;
                write(&dir.join(CA_CERT), &cert.pem())?;
                (key, cert.pem())
            }
        };
        let mut pki = DevPki {
            dir,
            ca_params,
            ca_key,
            ca_cert_pem,
            server_cert_pem: String::new(),
            server_key_pem: String::new(),
        };
        match pki.stored_leaf(SERVER_CERT, SERVER_KEY)? {
            Some((cert, key)) => {
                pki.server_cert_pem = cert;
                pki.server_key_pem = key;
            }
            None => {
                let id = pki.issue_server()?;
                write(&pki.dir.join(SERVER_KEY), &id.key_pem)?;
                write(&pki.dir.join(SERVER_CERT), &id.cert_pem)?;
                pki.server_cert_pem = id.cert_pem;
                pki.server_key_pem = id.key_pem;
            }
        }
        let current = pki
            .stored_leaf(CLIENT_CERT, CLIENT_KEY)?
            .is_some_and(|(cert, _)| subject_cn_of_pem(&cert).as_deref() == Some(mch_id));
        if !current {
            let id = pki.issue_client(mch_id, true)?;
            write(&pki.dir.join(CLIENT_KEY), &id.key_pem)?;
            write(&pki.dir.join(CLIENT_CERT), &id.cert_pem)?;
        }
        Ok(pki)
    }

    /// A certificate and key pair from the state directory, if both are
    /// there, the current CA issued the certificate and the key is its
    /// key; otherwise `None`, and the caller issues a new pair.
    fn stored_leaf(
        &self,
        cert_name: &str,
        key_name: &str,
    ) -> Result<Option<(String, String)>, SimError> {
        let (Some(cert), Some(key)) = (
            read(&self.dir.join(cert_name))?,
            read(&self.dir.join(key_name))?,
        ) else {
            return Ok(None);
        };
        if issued_by(&cert, &self.ca_key) && key_matches(&cert, &key) {
            Ok(Some((cert, key)))
        } else {
            tracing::warn!(
                file = cert_name,
                "not issued by the current dev CA, or not matching its key: reissuing it"
            );
            Ok(None)
        }
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.ca_params, &self.ca_key)
    }

    fn issue_server(&self) -> Result<ClientIdentityPem, SimError> {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "wxmedia simulator");
        params.subject_alt_names = vec![
            SanType::IpAddress("127.0.0.1".parse().expect("IPv4 loopback")),
            SanType::IpAddress("::1".parse().expect("IPv6 loopback")),
            SanType::DnsName("localhost".try_into().expect("a DNS name")),
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err("server key"))?;
        let cert = params
            .signed_by(&key, &self.issuer())
            .map_err(err("server certificate"))?;
        Ok(ClientIdentityPem {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Issue a client certificate with subject CN `cn` from the dev CA.
    /// `rsa` gives an RSA 2048 key like the merchants' (slower to make);
    /// otherwise ECDSA P-256. Tests use this for CN-mismatch cases.
    pub fn issue_client(&self, cn: &str, rsa: bool) -> Result<ClientIdentityPem, SimError> {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, cn);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "wxmedia simulated merchant");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = if rsa {
            KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
        } else {
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        }
        .map_err(err("client key"))?;
        let cert = params
            .signed_by(&key, &self.issuer())
            .map_err(err("client certificate"))?;
        Ok(ClientIdentityPem {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The state directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the CA certificate clients must trust.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join(CA_CERT)
    }

    /// Path of the merchant certificate (`apiclient_cert.pem`).
    pub fn client_cert_path(&self) -> PathBuf {
        self.dir.join(CLIENT_CERT)
    }

    /// Path of the merchant key (`apiclient_key.pem`, PKCS#8).
    pub fn client_key_path(&self) -> PathBuf {
        self.dir.join(CLIENT_KEY)
    }

    /// The CA certificate, PEM.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_cert_pem
    }

    /// A rustls server configuration that asks for a client certificate
    /// issued by the dev CA but lets a client without one through, with
    /// the ring provider.
    ///
    /// API v3 needs no client certificate (its requests are signed), so the
    /// handshake cannot insist on one; the v2 endpoint refuses a request
    /// that came without one itself (no [`PeerIdentity`](crate::PeerIdentity)),
    /// as the real one answers. A certificate that is presented must still
    /// chain to the dev CA, or the handshake fails.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, SimError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_cert_pem.as_bytes()) {
            let cert = cert.map_err(|e| SimError::Pki(format!("ca.pem: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| SimError::Pki(format!("ca.pem: {e}")))?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()
        .map_err(|e| SimError::Pki(format!("client verifier: {e}")))?;
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.server_cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| SimError::Pki(format!("server.pem: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes())
            .map_err(|e| SimError::Pki(format!("server.key: {e}")))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| SimError::Pki(format!("TLS versions: {e}")))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| SimError::Pki(format!("server certificate: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The subject CN of a DER certificate.
pub fn subject_cn(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

fn subject_cn_of_pem(pem: &str) -> Option<String> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    subject_cn(&der)
}

/// Whether `cert_pem` is a CA certificate this version would have made
/// with `key`: the same key, and the loopback name constraints (a CA made
/// before they existed is replaced, so that no unconstrained dev CA stays
/// in use).
fn is_current_ca(key: &KeyPair, cert_pem: &str) -> bool {
    let Ok(der) = CertificateDer::from_pem_slice(cert_pem.as_bytes()) else {
        return false;
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else {
        return false;
    };
    key.algorithm() == &PKCS_ECDSA_P256_SHA256
        && cert.public_key().subject_public_key.data.as_ref() == key.public_key_raw()
        && matches!(cert.name_constraints(), Ok(Some(_)))
        && issued_by(cert_pem, key)
}

/// Whether the CA key `ca_key` (ECDSA P-256, as every dev CA is) signed
/// the certificate `cert_pem`.
fn issued_by(cert_pem: &str, ca_key: &KeyPair) -> bool {
    let Ok(der) = CertificateDer::from_pem_slice(cert_pem.as_bytes()) else {
        return false;
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else {
        return false;
    };
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        ca_key.public_key_raw(),
    )
    .verify(cert.tbs_certificate.as_ref(), &cert.signature_value.data)
    .is_ok()
}

/// Whether the private key `key_pem` belongs to the certificate `cert_pem`.
fn key_matches(cert_pem: &str, key_pem: &str) -> bool {
    let Ok(key) = KeyPair::from_pem(key_pem) else {
        return false;
    };
    let Ok(der) = CertificateDer::from_pem_slice(cert_pem.as_bytes()) else {
        return false;
    };
    x509_parser::parse_x509_certificate(&der).is_ok_and(|(_, cert)| {
        cert.public_key().subject_public_key.data.as_ref() == key.public_key_raw()
    })
}

/// No state file is this large; a larger one is not ours.
const MAX_STATE_FILE: u64 = 1024 * 1024;

/// A symbolic link, or anything but a regular file, where a state file
/// should be.
fn not_a_state_file(path: &Path, what: &str) -> SimError {
    SimError::io(
        path,
        std::io::Error::other(format!(
            "{what} where a state file should be; refusing it (remove it and the simulator makes the file anew)"
        )),
    )
}

/// The state directory, created readable by its owner only: it holds
/// private keys. An existing directory keeps its mode (it may be one the
/// user made for other things too), since each key file is 0600 anyway.
fn create_private_dir(dir: &Path) -> Result<(), SimError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| SimError::io(dir, e))
}

/// A state file's text; `None` when it does not exist. A symbolic link or
/// anything but a regular file is an error, never followed: the files are
/// private keys and the certificates that go with them.
fn read(path: &Path) -> Result<Option<String>, SimError> {
    use std::io::Read;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SimError::io(path, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(not_a_state_file(path, "a symbolic link"));
    }
    if !meta.is_file() {
        return Err(not_a_state_file(path, "something other than a file"));
    }
    let file = std::fs::File::open(path).map_err(|e| SimError::io(path, e))?;
    // The file opened must be the one looked at: a link swapped in between
    // would lead elsewhere.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let opened = file.metadata().map_err(|e| SimError::io(path, e))?;
        if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
            return Err(not_a_state_file(path, "a file replaced while opened"));
        }
    }
    let mut text = String::new();
    file.take(MAX_STATE_FILE)
        .read_to_string(&mut text)
        .map_err(|e| SimError::io(path, e))?;
    Ok(Some(text))
}

/// Whether a state file holds a private key (0600) rather than a
/// certificate or public data (0644).
fn is_private(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "key") || path.ends_with(CLIENT_KEY)
}

/// Write a state file: a new file (`create_new`, never an existing file or
/// a link's target) with its final mode from the first byte, renamed over
/// `path`. Renaming replaces a directory entry, never what a link points
/// to, and readers never see half a file.
fn write(path: &Path, text: &str) -> Result<(), SimError> {
    use std::io::Write;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(not_a_state_file(path, "a symbolic link"));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).expect("the OS has randomness");
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let temp = path.with_file_name(format!(".{name}.{suffix}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(
        &mut options,
        if is_private(path) { 0o600 } else { 0o644 },
    );
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&temp);
        return Err(SimError::io(path, e));
    }
    Ok(())
}

/// The platform certificate WeChat Pay signs replies with (older merchants).
const PLATFORM_CERT: &str = "platform_cert.pem";
const PLATFORM_KEY: &str = "platform_key.key";
/// The WeChat Pay public key merchants download (`pub_key.pem`), SPKI PEM.
const PUBLIC_KEY: &str = "wechatpay_public_key.pem";
/// The simulator's private half of that public key: never give it out.
const PUBLIC_KEY_PRIVATE: &str = "wechatpay_public_key.key";
const PUBLIC_KEY_ID: &str = "wechatpay_public_key_id.txt";
/// Ends in `.key` so that it is written readable by its owner only.
const API_V3_KEY: &str = "apiv3.key";

/// Which key signs the simulator's v3 replies, and so what
/// `Wechatpay-Serial` names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum V3Signer {
    /// The WeChat Pay public key (`Wechatpay-Serial: PUB_KEY_ID_…`), what
    /// every new merchant gets. `GET /v3/certificates` answers 404
    /// `RESOURCE_NOT_EXISTS` in this mode, as it does for such merchants.
    #[default]
    PublicKey,
    /// The platform certificate (`Wechatpay-Serial:` its uppercase hex
    /// serial), what older merchants have; `GET /v3/certificates` serves it.
    PlatformCert,
}

impl std::str::FromStr for V3Signer {
    type Err = String;

    /// `public-key` or `platform-cert`, as the command line spells them.
    fn from_str(s: &str) -> Result<V3Signer, String> {
        match s {
            "public-key" => Ok(V3Signer::PublicKey),
            "platform-cert" => Ok(V3Signer::PlatformCert),
            other => Err(format!(
                "{other:?} is neither `public-key` nor `platform-cert`"
            )),
        }
    }
}

/// The key material of API v3: what the simulator verifies merchants'
/// requests with and signs its replies with.
///
/// * the merchant certificate's public key and serial (`apiclient_cert.pem`
///   of the [`DevPki`], RSA 2048): requests must be signed with the
///   matching `apiclient_key.pem` and name this serial;
/// * a platform certificate (RSA 2048, issued by the dev CA, a random
///   20-byte serial) and its key;
/// * a WeChat Pay public key (RSA 2048, SPKI PEM) with its id
///   `PUB_KEY_ID_` followed by digits;
/// * the merchant's 32-character APIv3 key (the AES-256-GCM key of
///   `/v3/certificates`).
pub struct V3Keys {
    merchant_serial: String,
    /// ASN.1 `RSAPublicKey`, the form ring verifies with.
    merchant_public_key: Vec<u8>,
    platform_key: ring::signature::RsaKeyPair,
    platform_cert_pem: String,
    platform_serial: String,
    /// The platform certificate's validity, Unix seconds.
    platform_validity: (i64, i64),
    public_key: ring::signature::RsaKeyPair,
    public_key_id: String,
    public_key_pem: String,
    api_v3_key: String,
}

impl std::fmt::Debug for V3Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3Keys")
            .field("merchant_serial", &self.merchant_serial)
            .field("platform_serial", &self.platform_serial)
            .field("public_key_id", &self.public_key_id)
            .field("api_v3_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// PEM text from which [`V3Keys::from_pem`] builds the key material, for
/// tests that bring their own (for instance the Go SDK's fixtures).
#[derive(Clone, Copy)]
pub struct V3KeysPem<'a> {
    /// The merchant certificate (`apiclient_cert.pem`, RSA).
    pub merchant_cert: &'a str,
    /// The platform certificate (RSA).
    pub platform_cert: &'a str,
    /// The platform certificate's private key (PKCS#8 or PKCS#1).
    pub platform_key: &'a str,
    /// The WeChat Pay public key's id, `PUB_KEY_ID_…`.
    pub public_key_id: &'a str,
    /// The WeChat Pay public key's private half (PKCS#8 or PKCS#1).
    pub public_key_private: &'a str,
    /// The APIv3 key: 32 bytes.
    pub api_v3_key: &'a str,
}

impl std::fmt::Debug for V3KeysPem<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("V3KeysPem { .. }")
    }
}

fn pki_err(what: &str) -> impl FnOnce(String) -> SimError + '_ {
    move |e| SimError::Pki(format!("{what}: {e}"))
}

impl V3Keys {
    /// Load the v3 key material from the PKI's state directory, creating
    /// what is missing; the merchant side is the PKI's current
    /// `apiclient_cert.pem`. `api_v3_key` replaces the stored APIv3 key
    /// for this run (it is not written).
    pub fn load_or_create(pki: &DevPki, api_v3_key: Option<&str>) -> Result<V3Keys, SimError> {
        let dir = pki.dir();
        // Checked against the CA like the other leaves: a platform
        // certificate from a previous CA would not chain to `ca.pem`.
        let (platform_cert, platform_key) = match pki.stored_leaf(PLATFORM_CERT, PLATFORM_KEY)? {
            Some(pair) => pair,
            None => {
                let id = pki.issue_platform()?;
                write(&dir.join(PLATFORM_KEY), &id.key_pem)?;
                write(&dir.join(PLATFORM_CERT), &id.cert_pem)?;
                (id.cert_pem, id.key_pem)
            }
        };
        let (public_key_private, public_key_id) = match (
            read(&dir.join(PUBLIC_KEY_PRIVATE))?,
            read(&dir.join(PUBLIC_KEY_ID))?,
            read(&dir.join(PUBLIC_KEY))?,
        ) {
            (Some(key), Some(id), Some(_)) => (key, id.trim().to_owned()),
            _ => {
                let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
                    .map_err(err("WeChat Pay public key"))?;
                let id = format!("PUB_KEY_ID_{}", random_digits(30));
                write(&dir.join(PUBLIC_KEY_PRIVATE), &key.serialize_pem())?;
                write(&dir.join(PUBLIC_KEY), &key.public_key_pem())?;
                write(&dir.join(PUBLIC_KEY_ID), &format!("{id}\n"))?;
                (key.serialize_pem(), id)
            }
        };
        let stored_v3_key = match read(&dir.join(API_V3_KEY))? {
            Some(k) => k.trim().to_owned(),
            None => {
                let k = crate::random_key();
                write(&dir.join(API_V3_KEY), &format!("{k}\n"))?;
                k
            }
        };
        let merchant_cert = read(&pki.client_cert_path())?
            .ok_or_else(|| SimError::Pki("apiclient_cert.pem is missing".into()))?;
        V3Keys::from_pem(V3KeysPem {
            merchant_cert: &merchant_cert,
            platform_cert: &platform_cert,
            platform_key: &platform_key,
            public_key_id: &public_key_id,
            public_key_private: &public_key_private,
            api_v3_key: api_v3_key.unwrap_or(&stored_v3_key),
        })
    }

    /// Key material from PEM text.
    pub fn from_pem(pem: V3KeysPem<'_>) -> Result<V3Keys, SimError> {
        let merchant = rsa_cert(pem.merchant_cert).map_err(pki_err("merchant certificate"))?;
        let platform = rsa_cert(pem.platform_cert).map_err(pki_err("platform certificate"))?;
        let platform_key = rsa_key(pem.platform_key).map_err(pki_err("platform key"))?;
        if platform_key.public().as_ref() != platform.public_key.as_slice() {
            return Err(SimError::Pki(
                "the platform key does not match the platform certificate".into(),
            ));
        }
        let public_key = rsa_key(pem.public_key_private).map_err(pki_err("public key"))?;
        let id = pem.public_key_id;
        if !id
            .strip_prefix("PUB_KEY_ID_")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(SimError::Config(format!(
                "public key id {id:?} is not PUB_KEY_ID_ followed by digits"
            )));
        }
        if pem.api_v3_key.len() != 32 || !pem.api_v3_key.is_ascii() {
            return Err(SimError::Config(
                "the APIv3 key must be 32 ASCII characters".into(),
            ));
        }
        let public_key_pem = spki_pem(public_key.public().as_ref());
        Ok(V3Keys {
            merchant_serial: merchant.serial,
            merchant_public_key: merchant.public_key,
            platform_key,
            platform_cert_pem: pem.platform_cert.to_owned(),
            platform_serial: platform.serial,
            platform_validity: platform.validity,
            public_key,
            public_key_id: id.to_owned(),
            public_key_pem,
            api_v3_key: pem.api_v3_key.to_owned(),
        })
    }

    /// The merchant certificate's serial, uppercase hex: the `serial_no`
    /// requests must name.
    pub fn merchant_serial_no(&self) -> &str {
        &self.merchant_serial
    }

    /// The platform certificate's serial, uppercase hex.
    pub fn platform_serial_no(&self) -> &str {
        &self.platform_serial
    }

    /// The platform certificate, PEM.
    pub fn platform_cert_pem(&self) -> &str {
        &self.platform_cert_pem
    }

    /// The platform certificate's `notBefore` and `notAfter`, Unix seconds.
    pub fn platform_validity(&self) -> (i64, i64) {
        self.platform_validity
    }

    /// The WeChat Pay public key's id, `PUB_KEY_ID_…`.
    pub fn wechatpay_public_key_id(&self) -> &str {
        &self.public_key_id
    }

    /// The WeChat Pay public key, SPKI PEM (`BEGIN PUBLIC KEY`).
    pub fn wechatpay_public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    /// The APIv3 key (a test secret for the simulator only).
    pub fn api_v3_key(&self) -> &str {
        &self.api_v3_key
    }

    /// What `Wechatpay-Serial` says for replies signed by `signer`.
    pub fn serial_for(&self, signer: V3Signer) -> &str {
        match signer {
            V3Signer::PublicKey => &self.public_key_id,
            V3Signer::PlatformCert => &self.platform_serial,
        }
    }

    /// RSA PKCS#1 v1.5 SHA-256 of `message` with `signer`'s key, base64:
    /// what the simulator puts in `Wechatpay-Signature`.
    pub fn sign(&self, signer: V3Signer, message: &[u8]) -> String {
        let key = match signer {
            V3Signer::PublicKey => &self.public_key,
            V3Signer::PlatformCert => &self.platform_key,
        };
        let mut sig = vec![0u8; key.public().modulus_len()];
        // PKCS#1 v1.5 is deterministic: ring wants a generator only for
        // blinding, which hides timing and never changes the bytes. So the
        // handler stays a function of its inputs.
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            message,
            &mut sig,
        )
        .expect("a 2048-bit or larger key signs any message");
        base64::engine::general_purpose::STANDARD.encode(sig)
    }

    /// Whether `signature` (base64) is the merchant key's RSA PKCS#1 v1.5
    /// SHA-256 signature of `message`.
    pub fn verify_merchant(&self, message: &[u8], signature: &str) -> bool {
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature) else {
            return false;
        };
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &self.merchant_public_key,
        )
        .verify(message, &sig)
        .is_ok()
    }
}

use base64::Engine as _;

/// What v3 needs of a certificate.
struct RsaCert {
    serial: String,
    public_key: Vec<u8>,
    validity: (i64, i64),
}

fn rsa_cert(pem: &str) -> Result<RsaCert, String> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| e.to_string())?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| e.to_string())?;
    let spki = cert.public_key();
    match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) if rsa.key_size() >= 2048 => {}
        _ => return Err("not an RSA key of 2048 bits or more".into()),
    }
    Ok(RsaCert {
        serial: serial_hex(cert.tbs_certificate.raw_serial()),
        public_key: spki.subject_public_key.data.to_vec(),
        validity: (
            cert.validity().not_before.timestamp(),
            cert.validity().not_after.timestamp(),
        ),
    })
}

/// A DER serial as WeChat Pay and `openssl x509 -serial` write it:
/// uppercase hex, without the zero byte DER adds to keep it positive.
pub(crate) fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    raw[start..].iter().map(|b| format!("{b:02X}")).collect()
}

fn rsa_key(pem: &str) -> Result<ring::signature::RsaKeyPair, String> {
    match PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| e.to_string())? {
        PrivateKeyDer::Pkcs8(k) => ring::signature::RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => ring::signature::RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => return Err("not an RSA private key".into()),
    }
    .map_err(|e| e.to_string())
}

/// SPKI PEM (`BEGIN PUBLIC KEY`) of an ASN.1 `RSAPublicKey`, the only
/// form some SDKs load.
fn spki_pem(rsa_public_key: &[u8]) -> String {
    // AlgorithmIdentifier rsaEncryption with NULL parameters.
    const ALG: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bit_string = vec![0u8];
    bit_string.extend_from_slice(rsa_public_key);
    let mut inner = ALG.to_vec();
    inner.extend(der_tlv(0x03, &bit_string));
    let spki = der_tlv(0x30, &inner);
    let b64 = base64::engine::general_purpose::STANDARD.encode(spki);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

fn random_digits(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    bytes.iter().map(|b| char::from(b'0' + b % 10)).collect()
}

impl DevPki {
    /// A platform certificate like WeChat Pay's: RSA 2048, a random 20-byte
    /// serial (first hex digit never 0, since some clients strip leading
    /// zeros before comparing), valid from today for five years.
    fn issue_platform(&self) -> Result<ClientIdentityPem, SimError> {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "Tenpay.com Root CA (wxmedia simulator)");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "wxmedia simulated WeChat Pay");
        let mut serial = [0u8; 20];
        getrandom::fill(&mut serial).expect("the OS has randomness");
        serial[0] = 0x10 + serial[0] % 0x70;
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let (y, m, d, ..) = crate::v3::civil(now);
        params.not_before = rcgen::date_time_ymd(y as i32, m as u8, d as u8);
        params.not_after = rcgen::date_time_ymd(y as i32 + 5, m as u8, d.min(28) as u8);
        let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
            .map_err(err("platform key"))?;
        let cert = params
            .signed_by(&key, &self.issuer())
            .map_err(err("platform certificate"))?;
        Ok(ClientIdentityPem {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Path of the platform certificate (`platform_cert.pem`), once
    /// [`V3Keys::load_or_create`] has made it.
    pub fn platform_cert_path(&self) -> PathBuf {
        self.dir.join(PLATFORM_CERT)
    }

    /// Path of the WeChat Pay public key (`wechatpay_public_key.pem`, SPKI),
    /// once [`V3Keys::load_or_create`] has made it.
    pub fn wechatpay_public_key_path(&self) -> PathBuf {
        self.dir.join(PUBLIC_KEY)
    }
}
