//! The v2 signature (PROTOCOL.md 1.1): one canonical-string builder for requests and replies.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::v2::{ApiKey, SignType};

/// The parameters of a v2 message in canonical order, ready to be signed or
/// verified.
///
/// Building it applies the rule once, for both directions: `sign` and
/// empty values are left out, the rest is sorted by name byte-wise
/// (case-sensitive), and joined as `name=value` with `&`, with no encoding
/// and no trimming. The key is appended as `&key=<KEY>` only inside the
/// hash: no string holding the key is ever built.
#[derive(Clone, PartialEq, Eq)]
pub struct StringToSign<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> StringToSign<'a> {
    /// Canonicalise `params` (name, value). Duplicate names are kept in
    /// input order; the decoder refuses duplicates before it gets here.
    pub fn new<I>(params: I) -> StringToSign<'a>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut pairs: Vec<_> = params
            .into_iter()
            .filter(|(name, value)| *name != "sign" && !value.is_empty())
            .collect();
        // Byte-wise order of the names; stable so equal names keep order.
        pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        StringToSign { pairs }
    }

    /// The pairs that are signed, in order.
    pub fn pairs(&self) -> &[(&'a str, &'a str)] {
        &self.pairs
    }

    /// The canonical string without the key part: `a=1&b=2`.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        for (i, (name, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(name);
            out.push('=');
            out.push_str(value);
        }
        out
    }

    /// The string that was signed, with the key replaced by `***`:
    /// `a=1&b=2&key=***`. Safe to log; meant for people chasing a SIGNERROR.
    pub fn redacted(&self) -> String {
        let mut out = self.canonical();
        out.push_str("&key=***");
        out
    }

    /// Feed the full string to sign, key included, piece by piece.
    fn feed(&self, key: &ApiKey, mut update: impl FnMut(&[u8])) {
        for (i, (name, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                update(b"&");
            }
            update(name.as_bytes());
            update(b"=");
            update(value.as_bytes());
        }
        update(b"&key=");
        update(key.expose_secret().as_bytes());
    }

    /// The signature as uppercase hex: 32 characters for MD5, 64 for
    /// HMAC-SHA256.
    pub fn sign(&self, key: &ApiKey, sign_type: SignType) -> Sign {
        match sign_type {
            SignType::Md5 => {
                let mut h = Md5::new();
                self.feed(key, |b| h.update(b));
                Sign(crate::hex::encode(&h.finalize(), true))
            }
            SignType::HmacSha256 => {
                let mut mac =
                    <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose_secret().as_bytes())
                        .expect("HMAC accepts keys of any length");
                self.feed(key, |b| mac.update(b));
                Sign(crate::hex::encode(&mac.finalize().into_bytes(), true))
            }
        }
    }

    /// Whether `sign` is the signature of these parameters. The comparison
    /// is in constant time and exact (uppercase hex, as the server sends).
    pub fn verify(&self, key: &ApiKey, sign_type: SignType, sign: &str) -> bool {
        let expected = self.sign(key, sign_type);
        expected.0.as_bytes().ct_eq(sign.as_bytes()).into()
    }
}

impl fmt::Debug for StringToSign<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StringToSign({:?})", self.redacted())
    }
}

/// A v2 signature: uppercase hex.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sign(String);

impl Sign {
    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sign({})", self.0)
    }
}

impl fmt::Display for Sign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKey {
        ApiKey::new("192006250b4c09247ec02edce69f6a2d").unwrap()
    }

    #[test]
    fn sorts_bytewise_and_case_sensitively() {
        let s = StringToSign::new([("b", "2"), ("B", "1"), ("a_b", "3"), ("a", "4")]);
        assert_eq!(s.canonical(), "B=1&a=4&a_b=3&b=2");
    }

    #[test]
    fn skips_sign_and_empty_values_but_keeps_spaces() {
        let s = StringToSign::new([("sign", "X"), ("e", ""), ("v", " a b ")]);
        assert_eq!(s.canonical(), "v= a b ");
    }

    #[test]
    fn redacted_hides_the_key() {
        let s = StringToSign::new([("mch_id", "1")]);
        assert_eq!(s.redacted(), "mch_id=1&key=***");
        assert!(!format!("{s:?}").contains("192006"));
    }

    #[test]
    fn signatures_are_uppercase_with_the_right_length() {
        let s = StringToSign::new([("a", "1")]);
        let md5 = s.sign(&key(), SignType::Md5);
        let hmac = s.sign(&key(), SignType::HmacSha256);
        assert_eq!(md5.as_str().len(), 32);
        assert_eq!(hmac.as_str().len(), 64);
        assert_eq!(md5.as_str(), md5.as_str().to_ascii_uppercase());
        assert_eq!(hmac.as_str(), hmac.as_str().to_ascii_uppercase());
    }

    #[test]
    fn verify_rejects_lowercase_other_type_and_other_key() {
        let s = StringToSign::new([("a", "1")]);
        let sign = s.sign(&key(), SignType::Md5);
        assert!(s.verify(&key(), SignType::Md5, sign.as_str()));
        assert!(!s.verify(&key(), SignType::Md5, &sign.as_str().to_ascii_lowercase()));
        assert!(!s.verify(&key(), SignType::HmacSha256, sign.as_str()));
        assert!(!s.verify(&ApiKey::new("other").unwrap(), SignType::Md5, sign.as_str()));
        assert!(!s.verify(&key(), SignType::Md5, ""));
    }
}
