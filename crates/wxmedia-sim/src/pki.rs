//! The simulator's development PKI: a CA, a server certificate for loopback, and merchant client certificates.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, RsaKeySize, SanType,
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
        std::fs::create_dir_all(dir).map_err(|e| SimError::io(dir, e))?;
        let dir = dir.canonicalize().map_err(|e| SimError::io(dir, e))?;
        let ca_params = ca_params();
        let (ca_key, ca_cert_pem) = match (read(&dir.join(CA_KEY)), read(&dir.join(CA_CERT))) {
            (Some(key), Some(cert)) => (KeyPair::from_pem(&key).map_err(err("ca.key"))?, cert),
            _ => {
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
        match (
            read(&pki.dir.join(SERVER_CERT)),
            read(&pki.dir.join(SERVER_KEY)),
        ) {
            (Some(cert), Some(key)) => {
                pki.server_cert_pem = cert;
                pki.server_key_pem = key;
            }
            _ => {
                let id = pki.issue_server()?;
                write(&pki.dir.join(SERVER_CERT), &id.cert_pem)?;
                write(&pki.dir.join(SERVER_KEY), &id.key_pem)?;
                pki.server_cert_pem = id.cert_pem;
                pki.server_key_pem = id.key_pem;
            }
        }
        let current_cn = read(&pki.dir.join(CLIENT_CERT)).and_then(|pem| subject_cn_of_pem(&pem));
        if current_cn.as_deref() != Some(mch_id) || read(&pki.dir.join(CLIENT_KEY)).is_none() {
            let id = pki.issue_client(mch_id, true)?;
            write(&pki.dir.join(CLIENT_CERT), &id.cert_pem)?;
            write(&pki.dir.join(CLIENT_KEY), &id.key_pem)?;
        }
        Ok(pki)
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

    /// A rustls server configuration that requires a client certificate
    /// issued by the dev CA, with the ring provider.
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

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn write(path: &Path, text: &str) -> Result<(), SimError> {
    std::fs::write(path, text).map_err(|e| SimError::io(path, e))?;
    // Private keys are readable by their owner only, like real ones should be.
    #[cfg(unix)]
    if path.extension().is_some_and(|e| e == "key") || path.ends_with(CLIENT_KEY) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| SimError::io(path, e))?;
    }
    Ok(())
}
