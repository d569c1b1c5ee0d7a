//! Checks of a merchant's configuration, offline and against the server: the mistakes behind most SIGN_ERRORs, each found and named before WeChat Pay is asked.
//!
//! WeChat Pay answers most configuration mistakes with the same opaque
//! error (`SIGN_ERROR`, or a failed handshake). Every rule below is one
//! wxmedia already applies somewhere; here they are run one by one, and
//! each gives a [`Check`]: a name, a [`Status`], one sentence saying what
//! was found (and, when it is not ok, what to do), the files involved and
//! the values worth showing. Never key material: an API key is described
//! by its length, a private key by its form and size.
//!
//! * Offline, v3: [`V3Builder::check`](crate::V3Builder::check) on a
//!   builder given the credentials (`V3Client::builder().mch_id(..)
//!   .private_key_file(..)….check()`), at application start-up or from
//!   `wxmedia doctor --api v3`.
//! * Offline, v2: [`V2Credentials::check`], from the files as a user
//!   names them (PEM pair or PKCS#12), or
//!   [`V2Builder::check`](crate::V2Builder::check) on a builder holding an
//!   [`Identity`](crate::Identity) already loaded.
//! * Online: [`check_online_v3`] (the clock, a signed `GET
//!   /v3/certificates`, the keys the replies are signed with) and
//!   [`check_online_v2`] (the clock, mutual TLS with the client
//!   certificate; nothing is uploaded), through a built client, so that
//!   the transport, time limits and TLS settings are the ones uploads use.
//!
//! # Telling a merchant certificate from a platform certificate
//!
//! WeChat Pay issues both from the same CA (`Tenpay.com Root CA`), so the
//! issuer says nothing. The subject does: a merchant API certificate
//! (`apiclient_cert.pem`) names the merchant, `CN=<merchant id>` (digits),
//! `OU=<merchant name>`, `O=微信商户系统`; a platform certificate (平台证书)
//! names WeChat Pay, `O=Tenpay.com`, `CN=Tenpay.com sign`. A certificate
//! is taken for a platform certificate when its CN is not a merchant id
//! and its CN or O names Tenpay (or 财付通), and for a merchant
//! certificate when its CN is the merchant id or all digits, or its O is
//! 微信商户系统. Given as a platform certificate, one that holds the
//! merchant's own key or serial is the merchant's certificate whatever
//! its subject says.

mod network;
mod online;
mod rules;
#[cfg(test)]
mod tests;
mod v2;
mod v3;

use std::fmt;
use std::path::PathBuf;

pub use online::{check_online_v2, check_online_v3};
pub use v2::V2Credentials;
pub(crate) use v3::check_v3;

/// A certificate that expires within this many days is a warning: renew
/// it in the merchant platform before requests start failing.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// A clock further than this many seconds from the server's is a warning.
pub const CLOCK_WARN_SECS: i64 = 60;

/// A clock further than this many seconds from the server's fails: WeChat
/// Pay refuses v3 requests whose timestamp is more than five minutes off,
/// and replies whose timestamp is that far from the client's clock are
/// refused by the client.
pub const CLOCK_FAIL_SECS: i64 = 300;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Nothing wrong found.
    Ok,
    /// Works now, but worth fixing (a certificate about to expire, a clock
    /// a minute off, an APIv2 key of an unusual length).
    Warn,
    /// WeChat Pay will refuse requests, or replies will not verify, until
    /// this is fixed.
    Fail,
}

impl Status {
    /// `ok`, `warn` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// What was checked, a stable name: `private-key`,
    /// `key-matches-certificate`, `serial-no`, `clock`, … (the README
    /// lists them).
    pub name: &'static str,
    /// How it came out.
    pub status: Status,
    /// One sentence: what was found and, unless ok, what to do. It may
    /// quote what a server sent: print it escaped.
    pub message: String,
    /// The files the check read (never a secret given as a path: see
    /// [`Check::with_file`]).
    pub files: Vec<PathBuf>,
    /// Values worth showing (`serial_no`, `not_after`, `skew_secs`, …),
    /// never key material.
    pub values: Vec<(&'static str, String)>,
}

impl Check {
    /// A check with no files or values yet.
    pub fn new(name: &'static str, status: Status, message: impl Into<String>) -> Check {
        Check {
            name,
            status,
            message: message.into(),
            files: Vec::new(),
            values: Vec::new(),
        }
    }

    /// An ok check.
    pub fn ok(name: &'static str, message: impl Into<String>) -> Check {
        Check::new(name, Status::Ok, message)
    }

    /// A warning.
    pub fn warn(name: &'static str, message: impl Into<String>) -> Check {
        Check::new(name, Status::Warn, message)
    }

    /// A failure.
    pub fn fail(name: &'static str, message: impl Into<String>) -> Check {
        Check::new(name, Status::Fail, message)
    }

    /// The same check naming `file` too, unless `file` names nothing on
    /// disk and [`looks_like_secret`](wxmedia_tls::looks_like_secret): a
    /// key given where its path belongs is left out, so that no report
    /// (text or JSON) carries it.
    #[must_use]
    pub fn with_file(mut self, file: impl Into<PathBuf>) -> Check {
        let file = file.into();
        if !wxmedia_tls::looks_like_secret(&file) {
            self.files.push(file);
        }
        self
    }

    /// The same check with `name = value` too.
    #[must_use]
    pub fn with_value(mut self, name: &'static str, value: impl Into<String>) -> Check {
        self.values.push((name, value.into()));
        self
    }
}

/// Whether any check failed.
pub fn any_failed(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.status == Status::Fail)
}
