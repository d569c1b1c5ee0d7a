//! API v3's key material: the merchant certificate it verifies requests with, the platform certificate and WeChat Pay public key it signs replies with, and the APIv3 key.

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::dev::{DevPki, err};
use super::oaep::Opener;
use super::rsa_pool;
use super::spki::spki_pem;
use super::state::{
    API_V3_KEY, PLATFORM_CERT, PLATFORM_KEY, PUBLIC_KEY, PUBLIC_KEY_ID, PUBLIC_KEY_PRIVATE, read,
    write,
};
use crate::SimError;

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
    /// The two private keys again, as decryption of sealed fields needs
    /// them (ring's key pairs only sign).
    public_key_opener: Opener,
    platform_opener: Opener,
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
                let key = rsa_pool::next_key().map_err(err("WeChat Pay public key"))?;
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
        let public_key_opener =
            Opener::from_pem(pem.public_key_private).map_err(pki_err("public key"))?;
        let platform_opener =
            Opener::from_pem(pem.platform_key).map_err(pki_err("platform key"))?;
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
            public_key_opener,
            platform_opener,
        })
    }

    /// Open a field a client sealed (RSA-OAEP, base64) for the key named
    /// `serial` (the request's `Wechatpay-Serial`): `None` when the
    /// simulator holds no key of that name, else the plaintext or why it
    /// cannot be opened.
    pub(crate) fn open(&self, serial: &str, sealed: &str) -> Option<Result<Vec<u8>, &'static str>> {
        Some(self.opener(serial)?.open(sealed))
    }

    /// The private key `serial` names, among the two that sign replies.
    fn opener(&self, serial: &str) -> Option<&Opener> {
        if serial == self.public_key_id {
            Some(&self.public_key_opener)
        } else if serial.eq_ignore_ascii_case(&self.platform_serial) {
            Some(&self.platform_opener)
        } else {
            None
        }
    }

    /// Whether `serial` names a key the simulator can open sealed fields
    /// with.
    pub(crate) fn holds(&self, serial: &str) -> bool {
        self.opener(serial).is_some()
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
        .expect("keys are checked by signing when loaded (rsa_key)");
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
fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    raw[start..].iter().map(|b| format!("{b:02X}")).collect()
}

fn rsa_key(pem: &str) -> Result<ring::signature::RsaKeyPair, String> {
    let key = match PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| e.to_string())? {
        PrivateKeyDer::Pkcs8(k) => ring::signature::RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => ring::signature::RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => return Err("not an RSA private key".into()),
    }
    .map_err(|e| e.to_string())?;
    // ring parses a key whose CRT values disagree with the rest (found by
    // the v3_keys fuzz target) and then refuses every signature it makes:
    // sign once here, so that such a key is refused when loaded and the
    // signing of replies can never fail.
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        b"wxmedia-sim key check",
        &mut sig,
    )
    .map_err(|_| "the RSA key cannot sign (its parameters are inconsistent)".to_owned())?;
    Ok(key)
}

fn random_digits(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    bytes.iter().map(|b| char::from(b'0' + b % 10)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_that_parses_but_cannot_sign_is_refused_when_loaded() {
        // The v3_keys fuzz target's find: the replies of a simulator holding
        // such a key would each panic while being signed.
        let pem = include_str!("../../../wxmedia-proto/tests/data/v3_key_cannot_sign.pem");
        let Err(e) = rsa_key(pem) else {
            panic!("a key that cannot sign is refused")
        };
        assert!(e.contains("cannot sign"), "{e}");
        let good = include_str!("../../../wxmedia-proto/tests/data/v3_other_key.pem");
        assert!(rsa_key(good).is_ok());
    }
}
