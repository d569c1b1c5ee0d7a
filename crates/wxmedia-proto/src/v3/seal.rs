//! Sensitive fields encrypted for WeChat Pay (PROTOCOL.md, "Sealed fields"): RSAES-OAEP with SHA-1 and MGF1-SHA-1 (RFC 8017 7.1.1) under the WeChat Pay public key or platform certificate that the request's `Wechatpay-Serial` names, base64.
//!
//! The v3 rules for sensitive fields (敏感信息加密) say: encrypt with the
//! key of WeChat Pay's that the request names in `Wechatpay-Serial`, OAEP
//! padding, base64 the ciphertext. The shopping receipt's consultation
//! phone number is such a field, and each line of a bank marketing
//! package is an id encrypted the same way.
//!
//! ring, which signs and verifies here, has no RSA encryption; the `rsa`
//! crate has an open advisory (RUSTSEC-2023-0071). Encryption needs only
//! the public key, so it is written here: OAEP's encoding byte for byte as
//! RFC 8017 gives it, SHA-1 from ring, and the one modular exponentiation
//! `m^e mod n` from num-bigint (already in the tree under x509-parser).
//! No private key is ever used, so the timing attacks on RSA decryption
//! (Marvin) do not apply; the public operation's time depends on the
//! padded message, whose OAEP seed is fresh random bytes every time.
//! `openssl pkeyutl -decrypt -pkeyopt rsa_padding_mode:oaep` opens what
//! this seals (tests/v3_openssl.rs).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY, digest};
use x509_parser::der_parser::der::parse_der_sequence;
use x509_parser::num_bigint::BigUint;

use crate::Error;
use crate::v3::Verifier;

/// SHA-1's output length, OAEP's `hLen` here.
const H_LEN: usize = 20;

/// The random bytes one sealing takes: OAEP's seed.
pub type Seed = [u8; H_LEN];

/// A WeChat Pay public key (or platform certificate's key) that fields are
/// sealed with, and the id `Wechatpay-Serial` names it by.
#[derive(Clone, PartialEq, Eq)]
pub struct SealingKey {
    id: String,
    n: BigUint,
    e: BigUint,
    /// The modulus length in bytes, OAEP's `k`.
    len: usize,
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("id", &self.id)
            .field("bits", &self.n.bits())
            .finish_non_exhaustive()
    }
}

impl SealingKey {
    /// The key in a DER `RSAPublicKey` (`SEQUENCE { n, e }`), named `id`.
    pub(crate) fn from_rsa_public_key(id: &str, der: &[u8]) -> Result<SealingKey, Error> {
        let bad = || Error::input("WeChat Pay key", format!("{id}: not an RSA public key"));
        let (rest, seq) = parse_der_sequence(der).map_err(|_| bad())?;
        let items = seq.as_sequence().map_err(|_| bad())?;
        let [n, e] = items.as_slice() else {
            return Err(bad());
        };
        let (n, e) = (
            n.as_biguint().map_err(|_| bad())?,
            e.as_biguint().map_err(|_| bad())?,
        );
        // Below 2048 bits WeChat Pay issues none, and OAEP-SHA-1 would
        // leave little room; an even modulus or exponent is no RSA key.
        if !rest.is_empty() || n.bits() < 2048 || n.bits() > 8192 || !n.bit(0) || !e.bit(0) {
            return Err(bad());
        }
        if e <= BigUint::from(1u8) || e >= n {
            return Err(bad());
        }
        let len = n.bits().div_ceil(8) as usize;
        Ok(SealingKey {
            id: id.to_owned(),
            n,
            e,
            len,
        })
    }

    /// The id `Wechatpay-Serial` names this key by: `PUB_KEY_ID_…` or a
    /// platform certificate's serial.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The longest plaintext one sealing takes, in bytes (214 for a
    /// 2048-bit key).
    pub fn max_plaintext(&self) -> usize {
        self.len - 2 * H_LEN - 2
    }

    /// `plaintext` encrypted with RSAES-OAEP (SHA-1, MGF1-SHA-1, empty
    /// label) under this key with OAEP's `seed`, base64 (standard
    /// alphabet, padded). The seed must be fresh random bytes for every
    /// call: the same seed and plaintext give the same ciphertext.
    pub fn seal(&self, plaintext: &[u8], seed: &Seed) -> Result<String, Error> {
        let em = oaep_encode(plaintext, seed, self.len).ok_or_else(|| {
            Error::input(
                "encrypted field",
                format!(
                    "is {} bytes; at most {} can be encrypted with a {}-bit key",
                    plaintext.len(),
                    self.max_plaintext(),
                    self.n.bits()
                ),
            )
        })?;
        let c = BigUint::from_bytes_be(&em).modpow(&self.e, &self.n);
        let bytes = c.to_bytes_be();
        // I2OSP: left-padded to the modulus length.
        let mut out = vec![0u8; self.len - bytes.len()];
        out.extend_from_slice(&bytes);
        Ok(STANDARD.encode(out))
    }
}

/// Where a sealing's random seed comes from: fills the slice with fresh
/// random bytes. [`Merchant`](super::Merchant)'s default is the operating
/// system's generator (through ring); tests give fixed bytes to get the
/// same request every time.
pub type Random = dyn Fn(&mut [u8]) -> Result<(), Error> + Send + Sync;

/// What an [`Endpoint`](super::Endpoint)'s meta seals its sensitive
/// fields with: the key of the merchant's [`Verifier`] that the request
/// names in `Wechatpay-Serial` ([`Verifier::preferred_serial`]), and the
/// merchant's random source.
pub struct Sealer<'a> {
    verifier: &'a Verifier,
    random: &'a Random,
    key: Option<SealingKey>,
}

impl fmt::Debug for Sealer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("key", &self.verifier.preferred_serial())
            .finish_non_exhaustive()
    }
}

impl<'a> Sealer<'a> {
    /// A sealer with `verifier`'s preferred key and `random`'s seeds.
    pub fn new(verifier: &'a Verifier, random: &'a Random) -> Sealer<'a> {
        Sealer {
            verifier,
            random,
            key: None,
        }
    }

    /// `plaintext` sealed with the key `Wechatpay-Serial` names, base64.
    /// An input error when the verifier holds no key or the text is too
    /// long for it.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<String, Error> {
        if self.key.is_none() {
            self.key = Some(self.verifier.sealing_key()?);
        }
        let mut seed = [0u8; H_LEN];
        (self.random)(&mut seed)?;
        self.key.as_ref().expect("set above").seal(plaintext, &seed)
    }
}

/// The operating system's random bytes (ring's `SystemRandom`): the
/// default [`Random`].
pub fn system_random(out: &mut [u8]) -> Result<(), Error> {
    use ring::rand::SecureRandom as _;
    ring::rand::SystemRandom::new()
        .fill(out)
        .map_err(|_| Error::input("random", "the operating system gave no random bytes"))
}

/// EME-OAEP encoding (RFC 8017 7.1.1 step 2) for a `k`-byte modulus, or
/// `None` when the message is too long.
fn oaep_encode(message: &[u8], seed: &Seed, k: usize) -> Option<Vec<u8>> {
    if message.len() > k.checked_sub(2 * H_LEN + 2)? {
        return None;
    }
    let l_hash = digest(&SHA1_FOR_LEGACY_USE_ONLY, b"");
    // DB = lHash || PS (zeros) || 0x01 || M
    let db_len = k - H_LEN - 1;
    let mut db = vec![0u8; db_len];
    db[..H_LEN].copy_from_slice(l_hash.as_ref());
    db[db_len - message.len() - 1] = 0x01;
    db[db_len - message.len()..].copy_from_slice(message);
    xor_mask(&mut db, seed);
    let mut masked_seed = *seed;
    xor_mask(&mut masked_seed, &db);
    // EM = 0x00 || maskedSeed || maskedDB
    let mut em = Vec::with_capacity(k);
    em.push(0);
    em.extend_from_slice(&masked_seed);
    em.extend_from_slice(&db);
    Some(em)
}

/// `target ^= MGF1-SHA-1(mask_seed, target.len())`.
fn xor_mask(target: &mut [u8], mask_seed: &[u8]) {
    for (counter, chunk) in target.chunks_mut(H_LEN).enumerate() {
        let mut ctx = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(mask_seed);
        ctx.update(&(counter as u32).to_be_bytes());
        for (t, m) in chunk.iter_mut().zip(ctx.finish().as_ref()) {
            *t ^= m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8017's MGF1 by hand for one block: the mask of a 20-byte
    /// target is SHA-1(seed || 00000000).
    #[test]
    fn the_first_mask_block_is_sha1_of_the_seed_and_counter_zero() {
        let mut target = [0u8; 20];
        xor_mask(&mut target, b"seed");
        let expected = digest(&SHA1_FOR_LEGACY_USE_ONLY, b"seed\0\0\0\0");
        assert_eq!(&target[..], expected.as_ref());
    }

    #[test]
    fn encoding_fits_the_modulus_and_refuses_a_message_too_long() {
        let seed = [7u8; 20];
        let em = oaep_encode(b"13800000000", &seed, 256).unwrap();
        assert_eq!((em.len(), em[0]), (256, 0));
        assert!(oaep_encode(&[0u8; 214], &seed, 256).is_some());
        assert!(oaep_encode(&[0u8; 215], &seed, 256).is_none());
        assert!(oaep_encode(b"", &seed, 30).is_none());
    }

    #[test]
    fn only_an_rsa_public_key_of_2048_bits_or_more_is_taken() {
        assert!(SealingKey::from_rsa_public_key("x", b"").is_err());
        assert!(SealingKey::from_rsa_public_key("x", &[0x30, 0x00]).is_err());
        // SEQUENCE { INTEGER 0xC5 (odd, 8 bits), INTEGER 3 }: too small.
        let tiny = [0x30, 0x07, 0x02, 0x02, 0x00, 0xC5, 0x02, 0x01, 0x03];
        assert!(SealingKey::from_rsa_public_key("x", &tiny).is_err());
    }
}
