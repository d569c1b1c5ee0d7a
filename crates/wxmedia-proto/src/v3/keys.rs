//! Reading the RSA material of v3 from PEM: certificates (serial, public key, validity), SPKI public keys and private keys.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, SubjectPublicKeyInfoDer};
use x509_parser::prelude::FromDer;

use crate::Error;

/// What v3 needs of an X.509 certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertInfo {
    /// The serial number, uppercase hex without leading zeros, as WeChat
    /// Pay writes it in `serial_no` and `Wechatpay-Serial`.
    pub(crate) serial: String,
    /// The RSA public key as DER `RSAPublicKey` (what ring verifies with).
    pub(crate) rsa_public_key: Vec<u8>,
    /// Validity, Unix seconds.
    pub(crate) not_before: i64,
    /// Validity, Unix seconds.
    pub(crate) not_after: i64,
}

/// Parse one certificate from PEM (the first `CERTIFICATE` block).
pub(crate) fn certificate_from_pem(what: &'static str, pem: &[u8]) -> Result<CertInfo, Error> {
    let der = CertificateDer::from_pem_slice(pem)
        .map_err(|e| Error::input(what, format!("no PEM certificate: {e}")))?;
    certificate_from_der(what, &der)
}

/// Parse one DER certificate.
pub(crate) fn certificate_from_der(what: &'static str, der: &[u8]) -> Result<CertInfo, Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| Error::input(what, format!("not an X.509 certificate: {e}")))?;
    let serial = cert.tbs_certificate.serial.to_str_radix(16).to_uppercase();
    let spki = cert.tbs_certificate.subject_pki.raw;
    Ok(CertInfo {
        serial,
        rsa_public_key: rsa_public_key_of_spki(what, spki)?,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// The DER `RSAPublicKey` of an SPKI public key in PEM (`BEGIN PUBLIC KEY`,
/// the form WeChat Pay hands out its public key in).
pub(crate) fn public_key_from_pem(what: &'static str, pem: &[u8]) -> Result<Vec<u8>, Error> {
    let der = SubjectPublicKeyInfoDer::from_pem_slice(pem)
        .map_err(|e| Error::input(what, format!("no PEM public key: {e}")))?;
    rsa_public_key_of_spki(what, &der)
}

/// The DER `RSAPublicKey` inside an SPKI, refusing keys that are not RSA.
fn rsa_public_key_of_spki(what: &'static str, spki: &[u8]) -> Result<Vec<u8>, Error> {
    const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
    let (_, info) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki)
        .map_err(|e| Error::input(what, format!("not a public key: {e}")))?;
    if info.algorithm.algorithm.to_id_string() != RSA_ENCRYPTION {
        return Err(Error::input(what, "the key is not an RSA key"));
    }
    Ok(info.subject_public_key.data.to_vec())
}

/// An RSA private key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`, what
/// `apiclient_key.pem` holds) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
///
/// The DER decoded from the PEM is ours, and is zeroed when this returns
/// ([`private_key_der`]). ring then holds the key in its own form for the
/// life of the `KeyPair` and does not zero it when dropped; that memory is
/// ring's to manage, not ours.
pub(crate) fn rsa_key_pair_from_pem(pem: &[u8]) -> Result<ring::rsa::KeyPair, Error> {
    const WHAT: &str = "merchant private key";
    let key =
        private_key_der(pem).map_err(|e| Error::input(WHAT, format!("no PEM private key: {e}")))?;
    let parsed = match &*key {
        PrivateKeyDer::Pkcs8(der) => ring::rsa::KeyPair::from_pkcs8(der.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(der) => ring::rsa::KeyPair::from_der(der.secret_pkcs1_der()),
        _ => return Err(Error::input(WHAT, "the key is not an RSA key")),
    };
    // ring's reason says what is wrong with the key without showing it.
    let key = parsed.map_err(|e| Error::input(WHAT, format!("not a usable RSA key: {e}")))?;
    // ring parses a key whose CRT values disagree with the rest (found by
    // the v3_keys fuzz target) and then refuses every signature it makes.
    // Signing once here refuses such a key when it is loaded, naming it,
    // rather than failing the first upload as "RSA signing failed".
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        b"wxmedia key check",
        &mut signature,
    )
    .map_err(|_| {
        Error::input(
            WHAT,
            "the RSA key cannot sign: its parameters are inconsistent",
        )
    })?;
    Ok(key)
}

/// The DER of the PEM's private key, in memory that is zeroed when dropped
/// (rustls-pki-types' key types can be zeroed but do not zero themselves).
pub(crate) fn private_key_der(
    pem: &[u8],
) -> Result<zeroize::Zeroizing<PrivateKeyDer<'static>>, rustls_pki_types::pem::Error> {
    PrivateKeyDer::from_pem_slice(pem).map(zeroize::Zeroizing::new)
}

/// A certificate serial as WeChat Pay spells it in `serial_no` and
/// `Wechatpay-Serial`: uppercase hex, leading zeros dropped (one SDK strips
/// them, certificates never carry them); `None` when `serial` is not 1 to
/// 64 hexadecimal digits.
///
/// ```
/// use wxmedia_proto::v3::normalize_serial;
/// assert_eq!(normalize_serial("05157f09e").as_deref(), Some("5157F09E"));
/// assert_eq!(normalize_serial("PUB_KEY_ID_0114"), None);
/// ```
pub fn normalize_serial(serial: &str) -> Option<String> {
    if serial.is_empty() || serial.len() > 64 || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let trimmed = serial.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0" } else { trimmed }.to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroize;

    const KEY: &[u8] = include_bytes!("../../tests/data/v3_key.pem");

    #[test]
    fn the_decoded_private_key_is_held_where_it_is_wiped() {
        // What `Zeroizing` does on drop, done here where it can be seen:
        // the key's DER bytes are overwritten.
        let mut key = private_key_der(KEY).unwrap();
        let PrivateKeyDer::Pkcs8(der) = &*key else {
            panic!("the test key is PKCS#8")
        };
        assert!(der.secret_pkcs8_der().iter().any(|&b| b != 0));
        key.zeroize();
        let PrivateKeyDer::Pkcs8(der) = &*key else {
            panic!("still PKCS#8")
        };
        assert!(der.secret_pkcs8_der().iter().all(|&b| b == 0));
        assert!(rsa_key_pair_from_pem(KEY).is_ok());
    }

    #[test]
    fn a_key_that_parses_but_cannot_sign_is_refused_when_loaded() {
        // The v3_keys fuzz target's find (its regression input, less the
        // mode byte): v3_other_key.pem with one CRT value changed.
        let pem = include_bytes!("../../tests/data/v3_key_cannot_sign.pem");
        let e = rsa_key_pair_from_pem(pem).unwrap_err();
        assert!(e.to_string().contains("cannot sign"), "{e}");
    }
}
