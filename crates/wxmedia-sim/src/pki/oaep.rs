//! Opening what clients sealed for WeChat Pay: RSAES-OAEP (SHA-1, MGF1-SHA-1) decryption with the simulator's own WeChat Pay key or platform key, written apart from the client's encryption so that one checks the other.
//!
//! A test tool's decryption: num-bigint's exponentiation is not constant
//! time, which is no concern for a simulator's test keys but would be for
//! a real private key (the reason the client library never decrypts).

use base64::Engine as _;
use ring::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use x509_parser::der_parser::der::parse_der_sequence;
use x509_parser::der_parser::{ber::BerObject, der::parse_der};
use x509_parser::num_bigint::BigUint;

/// A private RSA key as decryption needs it.
pub(crate) struct Opener {
    n: BigUint,
    d: BigUint,
    len: usize,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opener { .. }")
    }
}

impl Opener {
    /// From a PKCS#8 or PKCS#1 PEM private key.
    pub(crate) fn from_pem(pem: &str) -> Result<Opener, String> {
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| e.to_string())?;
        let pkcs1 = match &der {
            PrivateKeyDer::Pkcs1(k) => k.secret_pkcs1_der().to_vec(),
            PrivateKeyDer::Pkcs8(k) => {
                // PrivateKeyInfo ::= SEQUENCE { version, algorithm, OCTET STRING }
                let (_, info) =
                    parse_der_sequence(k.secret_pkcs8_der()).map_err(|e| format!("PKCS#8: {e}"))?;
                let items = info.as_sequence().map_err(|e| e.to_string())?;
                items
                    .get(2)
                    .and_then(|o| o.as_slice().ok())
                    .ok_or("PKCS#8 without a private key")?
                    .to_vec()
            }
            _ => return Err("not an RSA private key".into()),
        };
        // RSAPrivateKey ::= SEQUENCE { version, n, e, d, ... }
        let (_, key) = parse_der(&pkcs1).map_err(|e| format!("PKCS#1: {e}"))?;
        let items = key.as_sequence().map_err(|e| e.to_string())?;
        let int = |i: usize| {
            items
                .get(i)
                .map(BerObject::as_biguint)
                .and_then(Result::ok)
                .ok_or_else(|| format!("PKCS#1 member {i} is not a positive integer"))
        };
        let (n, d) = (int(1)?, int(3)?);
        let len = n.bits().div_ceil(8) as usize;
        Ok(Opener { n, d, len })
    }

    /// The plaintext of a base64 OAEP ciphertext, or why it cannot be
    /// opened.
    pub(crate) fn open(&self, sealed: &str) -> Result<Vec<u8>, &'static str> {
        let c = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| "not base64")?;
        if c.len() != self.len {
            return Err("not one ciphertext block of the key's length");
        }
        let c = BigUint::from_bytes_be(&c);
        if c >= self.n {
            return Err("ciphertext out of range");
        }
        let m = c.modpow(&self.d, &self.n).to_bytes_be();
        let mut em = vec![0u8; self.len - m.len()];
        em.extend_from_slice(&m);
        oaep_decode(&em)
    }
}

/// RFC 8017 7.1.2 step 3, with an empty label.
fn oaep_decode(em: &[u8]) -> Result<Vec<u8>, &'static str> {
    const H: usize = 20;
    if em.len() < 2 * H + 2 || em[0] != 0 {
        return Err("decryption error");
    }
    let (masked_seed, masked_db) = em[1..].split_at(H);
    let mut seed = masked_seed.to_vec();
    for (s, m) in seed.iter_mut().zip(mgf1(masked_db, H)) {
        *s ^= m;
    }
    let mut db = masked_db.to_vec();
    for (b, m) in db.iter_mut().zip(mgf1(&seed, masked_db.len())) {
        *b ^= m;
    }
    let l_hash = ring::digest::digest(&SHA1_FOR_LEGACY_USE_ONLY, b"");
    if &db[..H] != l_hash.as_ref() {
        return Err("decryption error");
    }
    let rest = &db[H..];
    let one = rest
        .iter()
        .position(|&b| b != 0)
        .filter(|&i| rest[i] == 1)
        .ok_or("decryption error")?;
    Ok(rest[one + 1..].to_vec())
}

/// MGF1 with SHA-1: `len` bytes from `seed`.
fn mgf1(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 20);
    let mut counter = 0u32;
    while out.len() < len {
        let mut ctx = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(seed);
        ctx.update(&counter.to_be_bytes());
        out.extend_from_slice(ctx.finish().as_ref());
        counter += 1;
    }
    out.truncate(len);
    out
}
