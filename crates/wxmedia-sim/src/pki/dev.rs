//! The dev CA and the certificates it issues (server, merchant, platform), made once and reused from the state directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, PKCS_ECDSA_P256_SHA256, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::inspect::{is_current_ca, issued_by, key_matches, subject_cn_of_pem};
use super::rsa_pool;
use super::state::{
    CA_CERT, CA_KEY, CLIENT_CERT, CLIENT_KEY, PLATFORM_CERT, PUBLIC_KEY, SERVER_CERT, SERVER_KEY,
    create_private_dir, read, write,
};
use crate::SimError;

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

/// A random 20-byte certificate serial like WeChat Pay's; its first hex
/// digit is never 0, since some clients strip leading zeros before
/// comparing serials.
fn random_serial() -> rcgen::SerialNumber {
    let mut serial = [0u8; 20];
    getrandom::fill(&mut serial).expect("the OS has randomness");
    serial[0] = 0x10 + serial[0] % 0x70;
    rcgen::SerialNumber::from_slice(&serial)
}

pub(super) fn err(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> SimError {
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
    pub(super) fn stored_leaf(
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

    /// Issue a client certificate with subject CN `cn` from the dev CA,
    /// with a random serial.
    /// `rsa` gives an RSA 2048 key like the merchants', taken from the
    /// crate's pool of development keys; otherwise a fresh ECDSA P-256 key.
    /// Tests use this for CN-mismatch cases.
    pub fn issue_client(&self, cn: &str, rsa: bool) -> Result<ClientIdentityPem, SimError> {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, cn);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "wxmedia simulated merchant");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        // rcgen would derive the serial from the public key, and pool keys
        // recur: two simulators would then share the merchant serial v3
        // requests name. A random one keeps every issued certificate apart.
        params.serial_number = Some(random_serial());
        let key = if rsa {
            rsa_pool::next_key()
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

    /// A platform certificate like WeChat Pay's: RSA 2048 (a key from the
    /// development pool), a random 20-byte serial, valid from today for
    /// five years.
    pub(super) fn issue_platform(&self) -> Result<ClientIdentityPem, SimError> {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "Tenpay.com Root CA (wxmedia simulator)");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "wxmedia simulated WeChat Pay");
        params.serial_number = Some(random_serial());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let (y, m, d, ..) = crate::v3::civil(now);
        params.not_before = rcgen::date_time_ymd(y as i32, m as u8, d as u8);
        params.not_after = rcgen::date_time_ymd(y as i32 + 5, m as u8, d.min(28) as u8);
        let key = rsa_pool::next_key().map_err(err("platform key"))?;
        let cert = params
            .signed_by(&key, &self.issuer())
            .map_err(err("platform certificate"))?;
        Ok(ClientIdentityPem {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Path of the platform certificate (`platform_cert.pem`), once
    /// [`V3Keys::load_or_create`](crate::V3Keys::load_or_create) has made
    /// it.
    pub fn platform_cert_path(&self) -> PathBuf {
        self.dir.join(PLATFORM_CERT)
    }

    /// Path of the WeChat Pay public key (`wechatpay_public_key.pem`, SPKI),
    /// once [`V3Keys::load_or_create`](crate::V3Keys::load_or_create) has
    /// made it.
    pub fn wechatpay_public_key_path(&self) -> PathBuf {
        self.dir.join(PUBLIC_KEY)
    }
}
