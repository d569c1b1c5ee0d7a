//! What the caller decides for one request: base URL, multipart boundary, Unix time and nonce, so that the same inputs give the same bytes.

use std::fmt;

use http::Uri;

use crate::{Boundary, Error};

/// A request nonce: 1 to 32 ASCII letters and digits. v3 signs it (the
/// `nonce_str` of `Authorization`); v2 does not use it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Nonce(String);

impl Nonce {
    /// Validate a nonce.
    pub fn new(nonce: impl Into<String>) -> Result<Nonce, Error> {
        let n = nonce.into();
        if n.is_empty() || n.len() > 32 {
            return Err(Error::input("nonce", "must be 1 to 32 characters"));
        }
        if !n.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::input("nonce", "may only contain [0-9A-Za-z]"));
        }
        Ok(Nonce(n))
    }

    /// A nonce made from 16 random bytes the caller supplies: 32 uppercase
    /// hex digits, the length and alphabet the official SDKs send.
    pub fn from_random(random: [u8; 16]) -> Nonce {
        Nonce(crate::hex::encode(&random, true))
    }

    /// The nonce text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({})", self.0)
    }
}

/// Every source of variation of one request, as inputs: where it goes, how
/// it is framed, when it is made and its nonce, and, once a reply is in,
/// when it arrived. The core reads no clock and draws no random numbers, so
/// identical `Env`s give identical bytes, and a reply is judged against the
/// arrival time given here.
#[derive(Debug, Clone)]
pub struct Env {
    base_url: String,
    boundary: Boundary,
    unix_time: u64,
    received_at: Option<u64>,
    nonce: Nonce,
}

impl Env {
    /// `base_url` is `https://host[:port]` with an optional path prefix and
    /// no query; the operation's path is appended to it. The Unix time
    /// starts at 0 and the nonce at `0`; set them with [`Env::with_time`]
    /// and [`Env::with_nonce`] (v2 uses neither).
    pub fn new(base_url: &str, boundary: Boundary) -> Result<Env, Error> {
        let trimmed = base_url.trim_end_matches('/');
        // A URL with `user:password@` is never quoted back, parsed or not:
        // the message would carry the password into logs.
        let userinfo = |uri: Option<&Uri>| match uri.and_then(Uri::authority) {
            Some(authority) => authority.as_str().contains('@'),
            None => trimmed.contains('@'),
        };
        let parsed: Result<Uri, _> = trimmed.parse();
        if userinfo(parsed.as_ref().ok()) {
            return Err(Error::input(
                "base url",
                "must not carry a user name or password (`user:password@host`): WeChat Pay takes \
                 none in the URL; give https://host[:port][/prefix] (the URL is not shown)",
            ));
        }
        let uri =
            parsed.map_err(|_| Error::input("base url", format!("{base_url:?} is not a URL")))?;
        if uri.scheme_str() != Some("https") {
            return Err(Error::input("base url", "must start with https://"));
        }
        if uri.authority().is_none() {
            return Err(Error::input("base url", "has no host"));
        }
        if uri.query().is_some() || trimmed.contains('#') {
            return Err(Error::input(
                "base url",
                "must not have a query or fragment",
            ));
        }
        Ok(Env {
            base_url: trimmed.to_owned(),
            boundary,
            unix_time: 0,
            received_at: None,
            nonce: Nonce("0".to_owned()),
        })
    }

    /// The same request inputs at another time: when the request is made,
    /// in Unix seconds.
    pub fn with_time(mut self, unix_time: u64) -> Env {
        self.unix_time = unix_time;
        self
    }

    /// The request's inputs, with the time its reply arrived (Unix
    /// seconds): what reply timestamps are checked against.
    pub fn received_at(mut self, unix_time: u64) -> Env {
        self.received_at = Some(unix_time);
        self
    }

    /// The same request inputs with another nonce.
    pub fn with_nonce(mut self, nonce: Nonce) -> Env {
        self.nonce = nonce;
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The multipart boundary.
    pub fn boundary(&self) -> &Boundary {
        &self.boundary
    }

    /// When the request is made, in Unix seconds (v3 signs it).
    pub fn unix_time(&self) -> u64 {
        self.unix_time
    }

    /// When the reply arrived, in Unix seconds: the request's time until
    /// [`Env::received_at`] sets it.
    pub fn reply_time(&self) -> u64 {
        self.received_at.unwrap_or(self.unix_time)
    }

    /// The request nonce.
    pub fn nonce(&self) -> &Nonce {
        &self.nonce
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item5_credentials_in_the_base_url_are_refused_unechoed() {
        let b = || Boundary::new("B").unwrap();
        for url in [
            "https://merchant:s3cretPa55@h:8443/prefix",
            "https://s3cretPa55@h",
            "https://:s3cretPa55@h",
            "https://merchant:s3cretPa55@",
            "https://mer chant:s3cretPa55@h/x y",
        ] {
            let err = Env::new(url, b()).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(text.contains("user name or password"), "{url}: {text}");
            assert!(
                !text.contains("s3cretPa55") && !text.contains("merchant"),
                "{url}: {text}"
            );
        }
        // An `@` after the authority is part of the path, not a credential.
        assert!(Env::new("https://h/prefix@1", b()).is_ok());
    }

    #[test]
    fn base_urls_must_be_https_without_query() {
        let b = || Boundary::new("B").unwrap();
        assert_eq!(
            Env::new("https://h:8443/prefix/", b()).unwrap().base_url(),
            "https://h:8443/prefix"
        );
        for bad in [
            "http://h",
            "h",
            "https://h?x=1",
            "https://h#f",
            "",
            "https://",
        ] {
            assert!(Env::new(bad, b()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn time_and_nonce_are_inputs() {
        let env = Env::new("https://h", Boundary::new("B").unwrap())
            .unwrap()
            .with_time(1_700_000_000)
            .with_nonce(Nonce::from_random([0xAB; 16]));
        assert_eq!(env.unix_time(), 1_700_000_000);
        assert_eq!(env.reply_time(), 1_700_000_000);
        let later = env.clone().received_at(1_700_000_042);
        assert_eq!(
            (later.unix_time(), later.reply_time()),
            (1_700_000_000, 1_700_000_042)
        );
        assert_eq!(env.nonce().as_str(), "AB".repeat(16));
        assert!(Nonce::new("a".repeat(33)).is_err());
        assert!(Nonce::new("a-b").is_err());
        assert!(Nonce::new("").is_err());
        assert_eq!(Nonce::new("abc123").unwrap().as_str(), "abc123");
    }
}
