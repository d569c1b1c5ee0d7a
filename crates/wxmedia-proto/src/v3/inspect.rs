//! What a certificate, private key or public key holds, described without the secret: the facts a configuration check (`wxmedia doctor`) reports.
//!
//! The parsing is the same the signer and the verifier use
//! ([`RsaSigner::from_pem`](crate::v3::RsaSigner::from_pem),
//! [`Verifier`](crate::v3::Verifier)): a key that passes here is one they
//! take. What is returned is public material only (serials, names, dates,
//! sizes, public keys); a private key's bytes never leave this module.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::der_parser::ber::BerObject;
use x509_parser::der_parser::parse_der;
use x509_parser::x509::AttributeTypeAndValue;

use crate::Error;
use crate::v3::keys;

/// What a certificate says about itself: enough to check its dates, to
/// print its serial as WeChat Pay writes it, and to tell a merchant API
/// certificate (subject CN = the merchant id) from a WeChat Pay platform
/// certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateSummary {
    /// The serial, uppercase hex without leading zeros: the
    /// 商户API证书序列号 (`serial_no`) of a merchant certificate, the
    /// `Wechatpay-Serial` of a platform certificate.
    pub serial_no: String,
    /// The whole subject, as `C=CN, O=…, CN=…`.
    pub subject: String,
    /// The subject's common name (CN): the merchant id on a merchant API
    /// certificate.
    pub common_name: Option<String>,
    /// The subject's organization (O).
    pub organization: Option<String>,
    /// The subject's organizational unit (OU): the merchant's name on a
    /// merchant API certificate.
    pub organizational_unit: Option<String>,
    /// `notBefore`, Unix seconds.
    pub not_before: i64,
    /// `notAfter`, Unix seconds.
    pub not_after: i64,
    /// The public key as DER `RSAPublicKey`, `None` when it is not RSA.
    pub rsa_public_key: Option<Vec<u8>>,
    /// The RSA modulus in bits (0 when the key is not RSA).
    pub key_bits: usize,
}

/// A private key's form and size; never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrivateKeySummary {
    /// `PKCS#8` (`BEGIN PRIVATE KEY`, what `apiclient_key.pem` holds) or
    /// `PKCS#1` (`BEGIN RSA PRIVATE KEY`).
    pub encoding: &'static str,
    /// The RSA modulus in bits.
    pub bits: usize,
    /// The matching public key, DER `RSAPublicKey`: what a certificate of
    /// this key carries.
    pub rsa_public_key: Vec<u8>,
}

/// Describe the first certificate of a PEM text.
pub fn certificate(pem: &[u8]) -> Result<CertificateSummary, Error> {
    let der = CertificateDer::from_pem_slice(pem)
        .map_err(|e| Error::input("certificate", format!("no PEM certificate: {e}")))?;
    certificate_der(&der)
}

/// Describe a DER certificate.
pub fn certificate_der(der: &[u8]) -> Result<CertificateSummary, Error> {
    const WHAT: &str = "certificate";
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| Error::input(WHAT, format!("not an X.509 certificate: {e}")))?;
    let subject = cert.subject();
    // The key-parsing rules are the verifier's: RSA, or no key at all.
    let rsa_public_key = keys::certificate_from_der(WHAT, der)
        .ok()
        .map(|info| info.rsa_public_key);
    let key_bits = rsa_public_key.as_deref().map_or(0, modulus_bits_of_public);
    Ok(CertificateSummary {
        serial_no: cert.tbs_certificate.serial.to_str_radix(16).to_uppercase(),
        subject: subject.to_string(),
        common_name: first(subject.iter_common_name()),
        organization: first(subject.iter_organization()),
        organizational_unit: first(subject.iter_organizational_unit()),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        rsa_public_key,
        key_bits,
    })
}

/// Describe the merchant private key in a PEM text, parsed and test-signed
/// exactly as [`RsaSigner::from_pem`](crate::v3::RsaSigner::from_pem)
/// does. A key that ring refuses as too small is refused here too, with
/// its size in the reason (WeChat Pay's keys are RSA 2048).
pub fn private_key(pem: &[u8]) -> Result<PrivateKeySummary, Error> {
    const WHAT: &str = "merchant private key";
    let der = keys::private_key_der(pem)
        .map_err(|e| Error::input(WHAT, format!("no PEM private key: {e}")))?;
    let encoding = match &*der {
        // The algorithm first: an EC key's private scalar, read as if it
        // were a modulus, would pass for "an RSA key of 255 bits".
        PrivateKeyDer::Pkcs8(k) => match pkcs8_algorithm(k.secret_pkcs8_der()).as_deref() {
            Some(RSA_ENCRYPTION) => "PKCS#8",
            Some(EC_PUBLIC_KEY) => {
                return Err(Error::input(
                    WHAT,
                    "an EC key (PKCS#8), not RSA: WeChat Pay needs RSA 2048",
                ));
            }
            Some(ED25519) => {
                return Err(Error::input(
                    WHAT,
                    "an Ed25519 key (PKCS#8), not RSA: WeChat Pay needs RSA 2048",
                ));
            }
            _ => {
                return Err(Error::input(
                    WHAT,
                    "a PKCS#8 key of another algorithm than RSA: WeChat Pay needs RSA 2048",
                ));
            }
        },
        PrivateKeyDer::Pkcs1(_) => "PKCS#1",
        PrivateKeyDer::Sec1(_) => {
            return Err(Error::input(
                WHAT,
                "an EC key (SEC1), not RSA: WeChat Pay keys are RSA 2048",
            ));
        }
        _ => return Err(Error::input(WHAT, "the key is not an RSA key")),
    };
    let bits = modulus_bits_of_private(&der);
    match keys::rsa_key_pair_from_pem(pem) {
        Ok(key) => Ok(PrivateKeySummary {
            encoding,
            bits: key.public().modulus_len() * 8,
            rsa_public_key: key.public().as_ref().to_vec(),
        }),
        // ring takes 2048 to 8192 bits: say what was found, not ring's
        // one-word reason.
        Err(_) if bits.is_some_and(|b| b < 2048) => Err(Error::input(
            WHAT,
            format!(
                "an RSA key of {} bits; WeChat Pay needs at least 2048",
                bits.unwrap_or(0)
            ),
        )),
        Err(e) => Err(e),
    }
}

/// The DER `RSAPublicKey` of an SPKI public key in PEM (`BEGIN PUBLIC
/// KEY`, the WeChat Pay public key `pub_key.pem`), refusing keys that are
/// not RSA, as [`Verifier::add_public_key_pem`](crate::v3::Verifier::add_public_key_pem)
/// does; with the modulus size in bits.
pub fn public_key(pem: &[u8]) -> Result<(Vec<u8>, usize), Error> {
    let key = keys::public_key_from_pem("WeChat Pay public key", pem)?;
    let bits = modulus_bits_of_public(&key);
    Ok((key, bits))
}

/// The first of a subject's attributes of one type, as text.
fn first<'b, 'a: 'b>(
    mut attrs: impl Iterator<Item = &'b AttributeTypeAndValue<'a>>,
) -> Option<String> {
    attrs.next()?.as_str().ok().map(str::to_owned)
}

/// The OIDs of the PKCS#8 algorithms a merchant key file may hold.
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const ED25519: &str = "1.3.101.112";

/// The algorithm OID of a PKCS#8 `PrivateKeyInfo` (`SEQUENCE { version,
/// AlgorithmIdentifier { algorithm, parameters }, privateKey }`), dotted.
fn pkcs8_algorithm(der: &[u8]) -> Option<String> {
    let (_, outer) = parse_der(der).ok()?;
    let algorithm = outer.as_sequence().ok()?.get(1)?;
    let oid = algorithm.as_sequence().ok()?.first()?.as_oid().ok()?;
    Some(oid.to_id_string())
}

/// The modulus size of a DER `RSAPublicKey` (`SEQUENCE { n, e }`).
fn modulus_bits_of_public(der: &[u8]) -> usize {
    parse_der(der)
        .ok()
        .and_then(|(_, seq)| integer_bits(seq.as_sequence().ok()?.first()?))
        .unwrap_or(0)
}

/// The modulus size of an RSA private key, read from its DER without
/// ring, so that a key ring refuses can still be described. PKCS#1 is
/// `SEQUENCE { version, n, … }`; PKCS#8 wraps it in an OCTET STRING after
/// the version and the algorithm.
fn modulus_bits_of_private(der: &PrivateKeyDer<'_>) -> Option<usize> {
    let pkcs1 = match der {
        PrivateKeyDer::Pkcs1(k) => k.secret_pkcs1_der(),
        PrivateKeyDer::Pkcs8(k) => {
            if pkcs8_algorithm(k.secret_pkcs8_der()).as_deref() != Some(RSA_ENCRYPTION) {
                return None;
            }
            let (_, outer) = parse_der(k.secret_pkcs8_der()).ok()?;
            outer.as_sequence().ok()?.get(2)?.as_slice().ok()?
        }
        _ => return None,
    };
    let (_, key) = parse_der(pkcs1).ok()?;
    integer_bits(key.as_sequence().ok()?.get(1)?)
}

/// The size in bits of a non-negative DER INTEGER.
fn integer_bits(int: &BerObject<'_>) -> Option<usize> {
    let bytes = int.as_slice().ok()?;
    let start = bytes.iter().position(|&b| b != 0)?;
    let top = bytes[start];
    Some((bytes.len() - start - 1) * 8 + (8 - top.leading_zeros() as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = include_bytes!("../../tests/data/v3_key.pem");
    const CERT: &[u8] = include_bytes!("../../tests/data/v3_cert.pem");
    const PUBLIC: &[u8] = include_bytes!("../../tests/data/v3_public_key.pem");

    /// An EC key (PKCS#8 or SEC1) and an Ed25519 key are named for their
    /// algorithm, never as an RSA key of the private scalar's size.
    #[test]
    fn item10_an_ec_key_is_named_as_one_not_as_a_small_rsa_key() {
        for (alg, want) in [
            (&rcgen::PKCS_ECDSA_P256_SHA256, "an EC key (PKCS#8)"),
            (&rcgen::PKCS_ECDSA_P384_SHA384, "an EC key (PKCS#8)"),
            (&rcgen::PKCS_ED25519, "an Ed25519 key"),
        ] {
            let pem = rcgen::KeyPair::generate_for(alg).unwrap().serialize_pem();
            let err = private_key(pem.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want) && err.contains("RSA 2048"), "{err}");
            assert!(!err.contains("bits"), "{err}");
        }
    }

    #[test]
    fn a_key_is_described_by_its_form_and_size_and_matches_its_public_key() {
        let key = private_key(KEY).unwrap();
        assert_eq!((key.encoding, key.bits), ("PKCS#8", 2048));
        let (public, bits) = public_key(PUBLIC).unwrap();
        assert_eq!(bits, 2048);
        assert_eq!(key.rsa_public_key, public);
    }

    #[test]
    fn a_certificate_is_described_by_serial_subject_and_dates() {
        let cert = certificate(CERT).unwrap();
        assert_eq!(cert.serial_no, "F5765756002FDD77");
        assert_eq!(cert.key_bits, 2048);
        assert!(cert.not_before < cert.not_after);
        // The shared vector's certificate has no CN: none is invented.
        assert_eq!(cert.subject, "C=XX, L=Default City, O=Default Company Ltd");
        assert_eq!(cert.common_name, None);
        assert_eq!(cert.organization.as_deref(), Some("Default Company Ltd"));
        assert_eq!(cert.not_before, 1_619_512_832);
    }

    #[test]
    fn what_is_not_a_private_key_is_refused_naming_it() {
        assert!(private_key(CERT).is_err());
        assert!(private_key(PUBLIC).is_err());
        assert!(certificate(KEY).is_err());
        assert!(public_key(KEY).is_err());
    }

    #[test]
    fn integer_sizes_count_the_top_byte_exactly() {
        let int = |bytes: &'static [u8]| BerObject::from_int_slice(bytes);
        assert_eq!(integer_bits(&int(&[0x00, 0x80, 0x00])), Some(16));
        assert_eq!(integer_bits(&int(&[0x01, 0x00])), Some(9));
        assert_eq!(integer_bits(&int(&[0x7f])), Some(7));
        assert_eq!(integer_bits(&int(&[0x00])), None);
    }
}
