//! Who signs v3 requests: a small trait, so that a key in an HSM or a cloud KMS can sign, and a ring-backed RSA signer for a key in a PEM file.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::RSA_PKCS1_SHA256;

use crate::Error;
use crate::v3::keys;

/// Signs v3 request messages with the merchant's API key (RSA 2048,
/// PKCS#1 v1.5 with SHA-256) and names the certificate that proves it.
///
/// Implement it to keep the key elsewhere (an HSM, a cloud KMS): the core
/// only ever hands over the message bytes.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The serial of the merchant API certificate (`apiclient_cert.pem`),
    /// uppercase hex: the `serial_no` of `Authorization`.
    fn serial_no(&self) -> &str;

    /// The raw signature of `message` (RSA PKCS#1 v1.5, SHA-256). An error
    /// here means nothing is sent.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
}

/// An RSA private key held in memory, signing with ring.
///
/// PKCS#1 v1.5 signatures are deterministic: the same message gives the
/// same bytes. ring draws random numbers only to blind the private-key
/// operation against timing attacks; they never reach the output.
pub struct RsaSigner {
    key: ring::rsa::KeyPair,
    serial_no: String,
    rng: SystemRandom,
}

impl fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key itself never shows; its size and serial are enough to
        // tell signers apart.
        f.debug_struct("RsaSigner")
            .field("serial_no", &self.serial_no)
            .field("modulus_bits", &(self.key.public().modulus_len() * 8))
            .finish_non_exhaustive()
    }
}

impl RsaSigner {
    /// A signer from the merchant's private key (PEM, PKCS#8 or PKCS#1)
    /// and its certificate (PEM), whose serial becomes `serial_no`. Refuses
    /// a key that does not belong to the certificate: the server would
    /// answer every request with SIGN_ERROR.
    pub fn from_pem(key_pem: &[u8], certificate_pem: &[u8]) -> Result<RsaSigner, Error> {
        let key = keys::rsa_key_pair_from_pem(key_pem)?;
        let cert = keys::certificate_from_pem("merchant certificate", certificate_pem)?;
        if key.public().as_ref() != cert.rsa_public_key.as_slice() {
            return Err(Error::input(
                KEY_MISMATCH,
                format!(
                    "does not belong to the certificate with serial {}",
                    cert.serial
                ),
            ));
        }
        Ok(RsaSigner {
            key,
            serial_no: cert.serial,
            rng: SystemRandom::new(),
        })
    }

    /// A signer from the private key (PEM) and the certificate serial as
    /// WeChat Pay shows it in the merchant platform (hex, any case).
    pub fn from_pem_and_serial(key_pem: &[u8], serial_no: &str) -> Result<RsaSigner, Error> {
        let key = keys::rsa_key_pair_from_pem(key_pem)?;
        let serial_no = keys::normalize_serial(serial_no).ok_or_else(|| {
            Error::input("certificate serial", "must be 1 to 64 hexadecimal digits")
        })?;
        Ok(RsaSigner {
            key,
            serial_no,
            rng: SystemRandom::new(),
        })
    }
}

/// The `what` of the error that says the private key does not belong to
/// the certificate: neither input alone is at fault, and a builder that
/// read them from files names both.
pub const KEY_MISMATCH: &str = "merchant private key and certificate";

impl Signer for RsaSigner {
    fn serial_no(&self) -> &str {
        &self.serial_no
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
            .map_err(|_| Error::input("signer", "RSA signing failed"))?;
        Ok(signature)
    }
}
