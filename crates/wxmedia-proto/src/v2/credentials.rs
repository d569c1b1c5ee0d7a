//! v2 credentials: the merchant id with its APIv2 key, and the sign type.

use std::fmt;
use std::str::FromStr;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Error, MchId};

/// The merchant's APIv2 key, used for MD5 and HMAC-SHA256 signatures.
///
/// The key is zeroed when dropped, never shown by `Debug` (which prints
/// `ApiKey(***)`), has no `Display`, and compares in constant time. The
/// official keys are 32 characters; any non-empty printable ASCII key is
/// accepted so that test keys work, but surrounding whitespace is refused
/// rather than silently trimmed: a key read from a file with a trailing
/// newline is a mistake the caller should fix or trim knowingly.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ApiKey(String);

impl ApiKey {
    /// Validate a key.
    pub fn new(key: impl Into<String>) -> Result<ApiKey, Error> {
        // Wrap first so that the string is zeroed even when refused.
        let key = ApiKey(key.into());
        if key.0.is_empty() {
            return Err(Error::input("api key", "is empty"));
        }
        if key.0.len() > 128 {
            return Err(Error::input("api key", "is longer than 128 bytes"));
        }
        if key.0.trim() != key.0 {
            return Err(Error::input(
                "api key",
                "has leading or trailing whitespace (a newline from a key file?)",
            ));
        }
        if !key.0.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::input(
                "api key",
                "must be printable ASCII without spaces",
            ));
        }
        Ok(key)
    }

    /// The key itself. Only the signing code and callers that really need
    /// the secret should call this.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for ApiKey {}

/// How a v2 request and its reply are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SignType {
    /// MD5 of the canonical string (the default; `sign_type` is not sent).
    #[default]
    Md5,
    /// HMAC-SHA256 keyed with the API key (`sign_type=HMAC-SHA256` is sent).
    HmacSha256,
}

impl SignType {
    /// The value of the `sign_type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::HmacSha256 => "HMAC-SHA256",
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignType {
    type Err = Error;
    /// Accepts exactly `MD5` or `HMAC-SHA256`, as they appear on the wire.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "MD5" => Ok(SignType::Md5),
            "HMAC-SHA256" => Ok(SignType::HmacSha256),
            _ => Err(Error::input("sign type", "must be MD5 or HMAC-SHA256")),
        }
    }
}

/// A merchant id and its API key.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The merchant id.
    pub mch_id: MchId,
    /// The APIv2 key.
    pub api_key: ApiKey,
}

impl Credentials {
    /// Validate both parts.
    pub fn new(
        mch_id: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Result<Credentials, Error> {
        Ok(Credentials {
            mch_id: MchId::new(mch_id)?,
            api_key: ApiKey::new(api_key)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_is_redacted_in_debug_and_errors() {
        let key = ApiKey::new("192006250b4c09247ec02edce69f6a2d").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        let creds = Credentials::new("1000000000", "192006250b4c09247ec02edce69f6a2d").unwrap();
        assert!(!format!("{creds:?}").contains("192006250b4c"));
        let err = ApiKey::new("secret-value\n").unwrap_err();
        assert!(!err.to_string().contains("secret-value"));
        assert!(!format!("{err:?}").contains("secret-value"));
    }

    #[test]
    fn api_key_refuses_whitespace_and_control() {
        for bad in ["", "key\n", " key", "ke y", "k\0y", "钥匙"] {
            assert!(ApiKey::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn api_key_equality() {
        let a = ApiKey::new("abc").unwrap();
        assert_eq!(a, ApiKey::new("abc").unwrap());
        assert_ne!(a, ApiKey::new("abd").unwrap());
        assert_ne!(a, ApiKey::new("abcd").unwrap());
    }

    #[test]
    fn sign_type_parses_wire_names_only() {
        assert_eq!("MD5".parse::<SignType>().unwrap(), SignType::Md5);
        assert_eq!(
            "HMAC-SHA256".parse::<SignType>().unwrap(),
            SignType::HmacSha256
        );
        for bad in ["md5", "HMAC-SHA1", "", "SHA256"] {
            assert!(bad.parse::<SignType>().is_err());
        }
    }
}
