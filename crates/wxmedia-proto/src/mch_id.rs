//! The merchant id, shared by both API generations (v2 `mch_id`, v3 `mchid`).

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A WeChat Pay merchant id (`mch_id`): 1 to 32 characters of ASCII letters,
/// digits, `_` or `-`. Anything else (`&`, `=`, spaces, CR/LF) would change
/// the signed string or the multipart framing, so it is refused.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MchId(String);

impl MchId {
    /// Validate a merchant id.
    pub fn new(id: impl Into<String>) -> Result<MchId, Error> {
        let id = id.into();
        if id.is_empty() || id.len() > 32 {
            return Err(Error::input("merchant id", "must be 1 to 32 characters"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Error::input(
                "merchant id",
                "may only contain ASCII letters, digits, '_' and '-'",
            ));
        }
        Ok(MchId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MchId({})", self.0)
    }
}

impl fmt::Display for MchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for MchId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MchId::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_id_rules() {
        assert!(MchId::new("1000000000").is_ok());
        assert!(MchId::new("a".repeat(32)).is_ok());
        for bad in ["", "a&b", "a=b", "a b", "a\r\n", &"1".repeat(33), "商户"] {
            assert!(MchId::new(bad).is_err(), "{bad:?}");
        }
    }
}
