//! Reading certificates back: subject names, and whether a stored CA, certificate or key is one the current dev CA would use.

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The subject CN of a DER certificate.
pub fn subject_cn(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

pub(super) fn subject_cn_of_pem(pem: &str) -> Option<String> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    subject_cn(&der)
}

/// Whether `cert_pem` is a CA certificate this version would have made
/// with `key`: the same key, and the loopback name constraints (a CA made
/// before they existed is replaced, so that no unconstrained dev CA stays
/// in use).
pub(super) fn is_current_ca(key: &KeyPair, cert_pem: &str) -> bool {
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
pub(super) fn issued_by(cert_pem: &str, ca_key: &KeyPair) -> bool {
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
pub(super) fn key_matches(cert_pem: &str, key_pem: &str) -> bool {
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
