//! Verifying v3 replies (PROTOCOL.md 2.4): the `Wechatpay-*` headers, the time window, and the key chosen by serial.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

use crate::v3::auth::SCHEMA;
use crate::v3::{certificates, keys};
use crate::{Error, SignatureError};

/// A reply whose timestamp is this many seconds or more from the time it
/// arrived is refused, as the official SDKs do.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// The prefix of WeChat Pay public key ids.
pub const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";

/// One key WeChat Pay may sign replies with.
#[derive(Debug, Clone)]
struct Key {
    /// A platform certificate serial (uppercase hex) or a public key id.
    id: String,
    /// DER `RSAPublicKey`.
    rsa_public_key: Vec<u8>,
    /// A certificate's `notBefore` and `notAfter`, Unix seconds; none for
    /// a public key, which has no validity of its own.
    validity: Option<(i64, i64)>,
}

/// The keys a client accepts reply signatures from: WeChat Pay platform
/// certificates (older merchants), chosen by serial case-insensitively, and
/// WeChat Pay public keys (`PUB_KEY_ID_…`, all new merchants), chosen by id.
/// Several at once, so that during a rotation old and new both verify.
///
/// ```
/// # let pem = include_bytes!("../../tests/data/v3_cert.pem");
/// let mut verifier = wxmedia_proto::v3::Verifier::new();
/// let serial = verifier.add_platform_certificate_pem(pem)?;
/// assert_eq!(serial, "F5765756002FDD77");
/// assert_eq!(verifier.preferred_serial(), Some("F5765756002FDD77"));
/// # Ok::<(), wxmedia_proto::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    keys: Vec<Key>,
}

impl Verifier {
    /// A verifier with no keys yet; it refuses every reply until one is added.
    pub fn new() -> Verifier {
        Verifier::default()
    }

    /// Accept replies signed by the platform certificate in `pem`; returns
    /// its serial. Adding a serial again replaces the key. The certificate
    /// verifies only replies that arrive within its own `notBefore` and
    /// `notAfter`; to refuse one that has already expired, use
    /// [`Verifier::add_platform_certificate_pem_at`].
    pub fn add_platform_certificate_pem(&mut self, pem: &[u8]) -> Result<String, Error> {
        let cert = keys::certificate_from_pem("platform certificate", pem)?;
        Ok(self.insert_certificate(cert))
    }

    /// Accept replies signed by the platform certificate in `der`, within
    /// its validity.
    pub fn add_platform_certificate_der(&mut self, der: &[u8]) -> Result<String, Error> {
        let cert = keys::certificate_from_der("platform certificate", der)?;
        Ok(self.insert_certificate(cert))
    }

    /// As [`Verifier::add_platform_certificate_pem`], but a certificate
    /// that has expired at `now` (Unix seconds) is refused as an input
    /// error naming its serial and its `notAfter`: it could never verify a
    /// reply. One that is not valid yet is accepted (the next certificate
    /// may be pinned ahead of a rotation) and verifies replies from its
    /// `notBefore` on.
    pub fn add_platform_certificate_pem_at(
        &mut self,
        pem: &[u8],
        now: u64,
    ) -> Result<String, Error> {
        let cert = keys::certificate_from_pem("platform certificate", pem)?;
        if cert.not_after < unix(now) {
            return Err(Error::input(
                "platform certificate",
                format!(
                    "{} expired {}: remove it, or download the current ones with the APIv3 key",
                    cert.serial,
                    certificates::beijing_time(cert.not_after)
                ),
            ));
        }
        Ok(self.insert_certificate(cert))
    }

    /// Accept replies signed by the WeChat Pay public key `id`
    /// (`PUB_KEY_ID_…`) given as SPKI PEM (`BEGIN PUBLIC KEY`).
    pub fn add_public_key_pem(&mut self, id: &str, pem: &[u8]) -> Result<(), Error> {
        let valid = id.strip_prefix(PUBLIC_KEY_ID_PREFIX).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if !valid || id.len() > 64 {
            return Err(Error::input(
                "public key id",
                "must be PUB_KEY_ID_ followed by letters and digits",
            ));
        }
        let key = keys::public_key_from_pem("WeChat Pay public key", pem)?;
        self.insert(Key {
            id: id.to_owned(),
            rsa_public_key: key,
            validity: None,
        });
        Ok(())
    }

    fn insert_certificate(&mut self, cert: keys::CertInfo) -> String {
        let serial = cert.serial.clone();
        self.insert(Key {
            id: cert.serial,
            rsa_public_key: cert.rsa_public_key,
            validity: Some((cert.not_before, cert.not_after)),
        });
        serial
    }

    fn insert(&mut self, key: Key) {
        self.keys.retain(|k| k.id != key.id);
        self.keys.push(key);
    }

    /// Drop the platform certificates that have expired at `now` (Unix
    /// seconds); returns their serials. Public keys have no validity and
    /// stay.
    pub fn remove_expired(&mut self, now: u64) -> Vec<String> {
        let now = unix(now);
        let mut removed = Vec::new();
        self.keys.retain(|k| match k.validity {
            Some((_, not_after)) if not_after < now => {
                removed.push(k.id.clone());
                false
            }
            _ => true,
        });
        removed
    }

    /// Whether a key held can verify a reply arriving at `now` (Unix
    /// seconds): a public key, or a platform certificate valid then.
    pub fn can_verify_at(&self, now: u64) -> bool {
        self.keys.iter().any(|k| k.valid_at(now))
    }

    /// The ids of the keys held, in the order they were added.
    pub fn serials(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// What a request names in `Wechatpay-Serial`: the public key id when
    /// one is held (WeChat Pay then signs with it), otherwise the platform
    /// certificate added last (the newest during a rotation).
    pub fn preferred_serial(&self) -> Option<&str> {
        self.keys
            .iter()
            .find(|k| k.id.starts_with(PUBLIC_KEY_ID_PREFIX))
            .or_else(|| self.keys.last())
            .map(|k| k.id.as_str())
    }

    /// The key that fields are sealed with for WeChat Pay: the one
    /// [`Verifier::preferred_serial`] names, which every request names in
    /// `Wechatpay-Serial`. An input error when no key is held.
    pub fn sealing_key(&self) -> Result<super::SealingKey, Error> {
        let id = self.preferred_serial().ok_or_else(|| {
            Error::input(
                "Wechatpay-Serial",
                "sensitive fields are encrypted with a WeChat Pay public key or platform \
                 certificate, and the verifier holds none",
            )
        })?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .expect("the preferred serial is a held key's");
        super::SealingKey::from_rsa_public_key(id, &key.rsa_public_key)
    }

    /// Whether no key is held (valid or not: see
    /// [`Verifier::can_verify_at`]).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Check a reply's signature: `Wechatpay-Timestamp` within
    /// [`MAX_CLOCK_SKEW_SECS`] of `reply_time`, `Wechatpay-Nonce` present,
    /// `Wechatpay-Signature-Type` absent or `WECHATPAY2-SHA256-RSA2048`,
    /// the key named by `Wechatpay-Serial` held and, for a platform
    /// certificate, valid at `reply_time` (its own `notBefore` to
    /// `notAfter`, both included), and `Wechatpay-Signature` (base64 RSA
    /// PKCS#1 v1.5 SHA-256) valid over `timestamp\nnonce\nbody\n`. The
    /// order of the checks is the order given here; the first failure is
    /// the error.
    pub fn verify(
        &self,
        reply_time: u64,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let timestamp = one(headers, "wechatpay-timestamp")?;
        let ts: u64 = timestamp.parse().map_err(|_| SignatureError::Timestamp)?;
        if ts.abs_diff(reply_time) >= MAX_CLOCK_SKEW_SECS {
            return Err(SignatureError::Timestamp);
        }
        let nonce = one(headers, "wechatpay-nonce")?;
        if headers.get_all("wechatpay-signature-type").iter().count() > 1 {
            return Err(SignatureError::DuplicateHeader("Wechatpay-Signature-Type"));
        }
        if let Some(kind) = headers.get("wechatpay-signature-type")
            && kind.as_bytes() != SCHEMA.as_bytes()
        {
            return Err(SignatureError::UnsupportedType);
        }
        let serial = one(headers, "wechatpay-serial")?;
        let signature = match one(headers, "wechatpay-signature") {
            Err(SignatureError::MissingHeader(_)) => return Err(SignatureError::Missing),
            other => other?,
        };
        let key = self.key_for(serial).ok_or(SignatureError::UnknownSerial)?;
        if !key.valid_at(reply_time) {
            return Err(SignatureError::CertificateNotValid);
        }
        let signature = STANDARD
            .decode(signature)
            .map_err(|_| SignatureError::Mismatch)?;
        let mut message = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
        for part in [timestamp.as_bytes(), nonce.as_bytes(), body] {
            message.extend_from_slice(part);
            message.push(b'\n');
        }
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key.rsa_public_key)
            .verify(&message, &signature)
            .map_err(|_| SignatureError::Mismatch)
    }

    /// The key a `Wechatpay-Serial` names: a public key id exactly, a
    /// certificate serial case-insensitively and without leading zeros.
    fn key_for(&self, serial: &str) -> Option<&Key> {
        if serial.starts_with(PUBLIC_KEY_ID_PREFIX) {
            return self.keys.iter().find(|k| k.id == serial);
        }
        let wanted = keys::normalize_serial(serial)?;
        self.keys.iter().find(|k| k.id == wanted)
    }
}

impl Key {
    /// Whether the key may verify a reply arriving at `now`: a public key
    /// always, a certificate within its validity.
    fn valid_at(&self, now: u64) -> bool {
        self.validity
            .is_none_or(|(not_before, not_after)| (not_before..=not_after).contains(&unix(now)))
    }
}

/// Unix seconds as the certificates' dates count them (a time past
/// `i64::MAX` is after every certificate's end).
fn unix(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// The one value of header `name`, as text.
fn one<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, SignatureError> {
    let display = display_name(name);
    let mut values = headers.get_all(name).iter();
    let value = values
        .next()
        .ok_or(SignatureError::MissingHeader(display))?;
    if values.next().is_some() {
        return Err(SignatureError::DuplicateHeader(display));
    }
    value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(SignatureError::MissingHeader(display))
}

/// Headers as WeChat Pay writes them, for messages.
fn display_name(name: &'static str) -> &'static str {
    match name {
        "wechatpay-timestamp" => "Wechatpay-Timestamp",
        "wechatpay-nonce" => "Wechatpay-Nonce",
        "wechatpay-serial" => "Wechatpay-Serial",
        "wechatpay-signature" => "Wechatpay-Signature",
        other => other,
    }
}

/// The verdict as the core's error, keeping the body.
pub(crate) fn verify_reply(
    verifier: &Verifier,
    reply_time: u64,
    headers: &HeaderMap,
    body: &bytes::Bytes,
) -> Result<(), Error> {
    verifier
        .verify(reply_time, headers, body)
        .map_err(|kind| Error::Signature {
            kind,
            body: body.clone(),
        })
}
