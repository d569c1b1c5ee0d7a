//! The v3 request signature (PROTOCOL.md 2.3): the signed message, the `Authorization` header, and a parser for it.

/// The authentication scheme of every v3 request and reply signature.
pub const SCHEMA: &str = "WECHATPAY2-SHA256-RSA2048";

/// The message a v3 request signs: `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`,
/// every line ending with `\n`, the last included. `url` is the path and
/// query (no scheme or host); `body` is the meta JSON of an upload and
/// empty for a GET.
///
/// ```
/// let m = wxmedia_proto::v3::auth::message("GET", "/v3/certificates", 1700000000, "N", b"");
/// assert_eq!(m, b"GET\n/v3/certificates\n1700000000\nN\n\n");
/// ```
pub fn message(method: &str, url: &str, timestamp: u64, nonce: &str, body: &[u8]) -> Vec<u8> {
    let ts = timestamp.to_string();
    let mut m =
        Vec::with_capacity(method.len() + url.len() + ts.len() + nonce.len() + body.len() + 5);
    for part in [
        method.as_bytes(),
        url.as_bytes(),
        ts.as_bytes(),
        nonce.as_bytes(),
        body,
    ] {
        m.extend_from_slice(part);
        m.push(b'\n');
    }
    m
}

/// The `Authorization` header value: the scheme, then `mchid`, `nonce_str`,
/// `timestamp`, `serial_no` and `signature` as `name="value"` joined by `,`
/// without spaces (the order of the official SDKs; the server accepts any).
pub fn authorization(
    mchid: &str,
    nonce: &str,
    timestamp: u64,
    serial_no: &str,
    signature_base64: &str,
) -> String {
    format!(
        "{SCHEMA} mchid=\"{mchid}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",serial_no=\"{serial_no}\",signature=\"{signature_base64}\""
    )
}

/// The parameters of a parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Authorization {
    /// `mchid`.
    pub mchid: String,
    /// `nonce_str`.
    pub nonce_str: String,
    /// `timestamp`, as sent (digits).
    pub timestamp: String,
    /// `serial_no` of the merchant certificate.
    pub serial_no: String,
    /// `signature`, base64 as sent.
    pub signature: String,
}

/// Why an `Authorization` header did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// It does not start with `WECHATPAY2-SHA256-RSA2048 `.
    #[error("the scheme is not {SCHEMA}")]
    Scheme,
    /// A parameter is not `name="value"`.
    #[error("a parameter is not name=\"value\"")]
    Syntax,
    /// A parameter appears twice.
    #[error("parameter {0} appears twice")]
    Duplicate(String),
    /// A required parameter is absent or empty.
    #[error("parameter {0} is missing")]
    Missing(&'static str),
}

/// Parse an `Authorization` header, with its parameters in any order (SDKs
/// differ), as the server does. Unknown parameters are ignored; a repeated
/// one is refused, since two values for one name cannot both be signed.
///
/// ```
/// use wxmedia_proto::v3::auth::{authorization, parse_authorization};
/// let header = authorization("1900000109", "N0", 1700000000, "ABC", "c2ln");
/// let parsed = parse_authorization(&header)?;
/// assert_eq!((parsed.mchid.as_str(), parsed.serial_no.as_str()), ("1900000109", "ABC"));
/// # Ok::<(), wxmedia_proto::v3::auth::AuthorizationError>(())
/// ```
pub fn parse_authorization(header: &str) -> Result<Authorization, AuthorizationError> {
    let rest = header
        .strip_prefix(SCHEMA)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(AuthorizationError::Scheme)?;
    let mut found: [Option<String>; 5] = Default::default();
    const NAMES: [&str; 5] = ["mchid", "nonce_str", "timestamp", "serial_no", "signature"];
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or(AuthorizationError::Syntax)?;
        let name = rest[..eq].trim();
        let after = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or(AuthorizationError::Syntax)?;
        let close = after.find('"').ok_or(AuthorizationError::Syntax)?;
        let value = &after[..close];
        rest = after[close + 1..].trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            return Err(AuthorizationError::Syntax);
        }
        if let Some(i) = NAMES.iter().position(|n| *n == name) {
            if found[i].is_some() {
                return Err(AuthorizationError::Duplicate(name.to_owned()));
            }
            found[i] = Some(value.to_owned());
        }
    }
    let mut take = |i: usize| {
        found[i]
            .take()
            .filter(|v| !v.is_empty())
            .ok_or(AuthorizationError::Missing(NAMES[i]))
    };
    Ok(Authorization {
        mchid: take(0)?,
        nonce_str: take(1)?,
        timestamp: take(2)?,
        serial_no: take(3)?,
        signature: take(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse_in_any_order_and_repeats_are_refused() {
        let h = format!(
            "{SCHEMA} signature=\"s\", timestamp=\"1\",serial_no=\"S\",mchid=\"m\",nonce_str=\"n\",extra=\"x\""
        );
        let a = parse_authorization(&h).unwrap();
        assert_eq!(
            (a.mchid, a.nonce_str, a.timestamp, a.serial_no, a.signature),
            ("m".into(), "n".into(), "1".into(), "S".into(), "s".into())
        );
        let dup = format!(
            "{SCHEMA} mchid=\"m\",mchid=\"n\",nonce_str=\"n\",timestamp=\"1\",serial_no=\"S\",signature=\"s\""
        );
        assert_eq!(
            parse_authorization(&dup),
            Err(AuthorizationError::Duplicate("mchid".into()))
        );
        for bad in [
            "Bearer x",
            "WECHATPAY2-SHA256-RSA2048",
            "WECHATPAY2-SHA256-RSA2048 mchid=m",
            "WECHATPAY2-SHA256-RSA2048 mchid=\"m",
            "WECHATPAY2-SHA256-RSA2048 mchid=\"m\" nonce_str=\"n\"",
        ] {
            assert!(parse_authorization(bad).is_err(), "{bad}");
        }
        let missing = format!(
            "{SCHEMA} mchid=\"m\",nonce_str=\"n\",timestamp=\"1\",serial_no=\"\",signature=\"s\""
        );
        assert_eq!(
            parse_authorization(&missing),
            Err(AuthorizationError::Missing("serial_no"))
        );
    }

    #[test]
    fn the_header_round_trips() {
        let h = authorization("1900000109", "NONCE", 1554208460, "F576", "c2lnbmF0dXJl");
        assert_eq!(
            h,
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\",nonce_str=\"NONCE\",timestamp=\"1554208460\",serial_no=\"F576\",signature=\"c2lnbmF0dXJl\""
        );
        let a = parse_authorization(&h).unwrap();
        assert_eq!(a.timestamp, "1554208460");
        assert_eq!(a.signature, "c2lnbmF0dXJl");
    }
}
