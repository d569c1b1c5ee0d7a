//! `GET /v3/certificates` as an [`Operation`] (PROTOCOL.md 2.5): download the platform certificates, decrypt them with the APIv3 key, and verify the reply with one of them.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Method, Request, Response, header};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::endpoints::USER_AGENT;
use crate::v3::reply::{DEFAULT_REPLY_LIMIT, verified_body};
use crate::v3::{Merchant, Verifier, auth, keys};
use crate::{Body, DecodeError, Env, Error, Operation};

/// The path of the certificate download.
pub const CERTIFICATES_PATH: &str = "/v3/certificates";

/// The merchant's APIv3 key: 32 bytes, set in the merchant platform, a
/// different secret from the APIv2 key. `Debug` never shows it; it is
/// zeroed on drop and compared in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ApiV3Key([u8; 32]);

impl ApiV3Key {
    /// Validate a key: exactly 32 bytes (WeChat Pay's keys are 32 ASCII
    /// letters and digits).
    pub fn new(key: impl AsRef<[u8]>) -> Result<ApiV3Key, Error> {
        let key = key.as_ref();
        let bytes: [u8; 32] = key.try_into().map_err(|_| {
            Error::input("APIv3 key", format!("must be 32 bytes, not {}", key.len()))
        })?;
        Ok(ApiV3Key(bytes))
    }
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(***)")
    }
}

impl PartialEq for ApiV3Key {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for ApiV3Key {}

/// How far a listing's `effective_time` or `expire_time` may be from the
/// certificate's own `notBefore` or `notAfter` before the listing is
/// refused. WeChat Pay copies the certificate's dates to the second; the
/// minute only absorbs a rounding, never a different date.
pub const DATE_TOLERANCE_SECS: i64 = 60;

/// One platform certificate, decrypted and parsed. Its dates are the
/// certificate's own; the listing's JSON dates were only checked against
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlatformCertificate {
    /// Its serial, uppercase hex.
    pub serial_no: String,
    /// The certificate's `notBefore`, RFC 3339 in China Standard Time
    /// (`2026-11-20T10:00:00+08:00`), the form of the listing's
    /// `effective_time`.
    pub effective_time: String,
    /// The certificate's `notAfter`, in the same form (the listing's
    /// `expire_time`).
    pub expire_time: String,
    /// The certificate's `notBefore`, Unix seconds.
    pub not_before: i64,
    /// The certificate's `notAfter`, Unix seconds.
    pub not_after: i64,
    /// Where the reply's arrival time ([`Env::reply_time`]) fell in that
    /// validity. Only a [`Validity::Valid`] certificate is to be trusted
    /// or saved; the others are listed so that they can be reported.
    pub validity: Validity,
    /// The certificate, PEM, as decrypted.
    pub pem: String,
}

impl PlatformCertificate {
    /// Whether the certificate was valid when the listing arrived.
    pub fn is_valid(&self) -> bool {
        self.validity == Validity::Valid
    }
}

/// Where a time falls in a certificate's validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Validity {
    /// Within `notBefore` to `notAfter`, both included.
    Valid,
    /// Before `notBefore`: during a rotation WeChat Pay lists the next
    /// certificate ahead of time; it is trusted once it is valid.
    NotYetValid,
    /// After `notAfter`.
    Expired,
}

impl Validity {
    /// Where `now` falls between `not_before` and `not_after` (Unix seconds).
    pub fn at(now: i64, not_before: i64, not_after: i64) -> Validity {
        if now < not_before {
            Validity::NotYetValid
        } else if now > not_after {
            Validity::Expired
        } else {
            Validity::Valid
        }
    }
}

/// Download the platform certificates. The reply is trusted only once it
/// verifies with one of the certificates it carries (or a key already
/// trusted), named by its `Wechatpay-Serial` and valid when the reply
/// arrived; each certificate's serial agrees with the one listed beside
/// it, and its `notBefore`/`notAfter` with the listed `effective_time`/
/// `expire_time` (within [`DATE_TOLERANCE_SECS`]).
///
/// The output is every certificate of the listing with its
/// [`Validity`] at the reply's arrival time ([`Env::reply_time`]: the core
/// reads no clock). A listing with no certificate valid then is refused
/// (`Error::Decode`), naming each certificate and its dates; one that
/// holds a valid certificate beside an expired one or the next one of a
/// rotation is accepted, and the caller trusts only the valid ones.
/// Merchants in public-key mode get `404 RESOURCE_NOT_EXISTS` here: they
/// verify with a public key instead.
#[derive(Debug, Clone)]
pub struct DownloadCertificates {
    merchant: Merchant,
    api_v3_key: ApiV3Key,
    reply_limit: usize,
}

impl DownloadCertificates {
    /// The download for `merchant`, decrypting with `api_v3_key`.
    pub fn new(merchant: Merchant, api_v3_key: ApiV3Key) -> DownloadCertificates {
        DownloadCertificates {
            merchant,
            api_v3_key,
            reply_limit: DEFAULT_REPLY_LIMIT,
        }
    }

    /// Change the cap on the reply body (default 64 KiB).
    pub fn with_reply_limit(mut self, limit: usize) -> DownloadCertificates {
        self.reply_limit = limit;
        self
    }
}

#[derive(Deserialize)]
struct Listing {
    data: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    serial_no: String,
    effective_time: String,
    expire_time: String,
    encrypt_certificate: Encrypted,
}

#[derive(Deserialize)]
struct Encrypted {
    algorithm: String,
    nonce: String,
    associated_data: Option<String>,
    ciphertext: String,
}

/// Decrypt one `encrypt_certificate` (AEAD_AES_256_GCM: base64 of the
/// ciphertext followed by its 16-byte tag; nonce and associated data as
/// UTF-8 bytes).
pub fn decrypt(
    key: &ApiV3Key,
    algorithm: &str,
    nonce: &str,
    associated_data: &str,
    ciphertext_base64: &str,
) -> Result<Vec<u8>, DecodeError> {
    if algorithm != "AEAD_AES_256_GCM" {
        return Err(DecodeError::Json(format!(
            "unknown algorithm {algorithm:?}"
        )));
    }
    let nonce: [u8; NONCE_LEN] = nonce
        .as_bytes()
        .try_into()
        .map_err(|_| DecodeError::Json("the nonce is not 12 bytes".into()))?;
    let mut data = STANDARD
        .decode(ciphertext_base64)
        .map_err(|_| DecodeError::Json("the ciphertext is not base64".into()))?;
    let unbound = UnboundKey::new(&AES_256_GCM, &key.0).expect("32 bytes is an AES-256 key");
    let plain = LessSafeKey::new(unbound)
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(associated_data.as_bytes()),
            &mut data,
        )
        .map_err(|_| {
            DecodeError::Json("the certificate does not decrypt (wrong APIv3 key?)".into())
        })?;
    Ok(plain.to_vec())
}

impl Operation for DownloadCertificates {
    type Output = Vec<PlatformCertificate>;

    /// `GET /v3/certificates`, signed with an empty body line.
    fn encode(&self, env: &Env) -> Result<Request<Body>, Error> {
        let authorization = self
            .merchant
            .authorize(env, "GET", CERTIFICATES_PATH, b"")?;
        Request::builder()
            .method(Method::GET)
            .uri(format!("{}{}", env.base_url(), CERTIFICATES_PATH))
            .header(header::AUTHORIZATION, authorization)
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, USER_AGENT)
            .body(Body::default())
            .map_err(|e| Error::input("request", e.to_string()))
    }

    /// Decrypt and check the certificates first, then verify the reply
    /// with the certificate its `Wechatpay-Serial` names (it may be one of
    /// the new ones), plus the keys the merchant already trusts.
    fn decode(&self, env: &Env, reply: Response<Bytes>) -> Result<Self::Output, Error> {
        let (parts, body) = reply.into_parts();
        let decode_err = |reason| Error::Decode {
            reason,
            body: body.clone(),
        };
        let now = i64::try_from(env.reply_time()).unwrap_or(i64::MAX);
        let mut certificates = Vec::new();
        let mut verifier: Verifier = self.merchant.verifier().clone();
        if parts.status.is_success() && body.len() <= self.reply_limit {
            let listing: Listing = serde_json::from_slice(&body)
                .map_err(|e| decode_err(DecodeError::Json(e.to_string())))?;
            for entry in listing.data {
                let e = &entry.encrypt_certificate;
                let pem = decrypt(
                    &self.api_v3_key,
                    &e.algorithm,
                    &e.nonce,
                    e.associated_data.as_deref().unwrap_or(""),
                    &e.ciphertext,
                )
                .map_err(decode_err)?;
                let pem = String::from_utf8(pem).map_err(|_| decode_err(DecodeError::Utf8))?;
                let info = keys::certificate_from_pem("platform certificate", pem.as_bytes())?;
                if keys::normalize_serial(&entry.serial_no).as_deref() != Some(&info.serial) {
                    return Err(decode_err(DecodeError::Unexpected { field: "serial_no" }));
                }
                // The JSON dates are outside the encryption: a listing
                // whose dates disagree with the certificate is not one
                // WeChat Pay wrote, and neither is trusted.
                for (field, listed, own) in [
                    ("effective_time", &entry.effective_time, info.not_before),
                    ("expire_time", &entry.expire_time, info.not_after),
                ] {
                    check_listed_date(&info.serial, field, listed, own).map_err(decode_err)?;
                }
                // The verifier judges the certificate's validity at the
                // reply's time: an expired or future one verifies nothing.
                verifier.add_platform_certificate_pem(pem.as_bytes())?;
                certificates.push(PlatformCertificate {
                    serial_no: info.serial,
                    effective_time: beijing_time(info.not_before),
                    expire_time: beijing_time(info.not_after),
                    not_before: info.not_before,
                    not_after: info.not_after,
                    validity: Validity::at(now, info.not_before, info.not_after),
                    pem,
                });
            }
            if !certificates.iter().any(PlatformCertificate::is_valid) {
                return Err(decode_err(DecodeError::Json(none_valid(
                    &certificates,
                    now,
                ))));
            }
        }
        let reply = Response::from_parts(parts, body);
        verified_body(reply, &verifier, env.reply_time(), self.reply_limit, || {
            auth::message(
                "GET",
                CERTIFICATES_PATH,
                env.unix_time(),
                env.nonce().as_str(),
                b"",
            )
        })?;
        Ok(certificates)
    }

    fn reply_limit(&self) -> usize {
        self.reply_limit
    }
}

/// Refuse a listed date that is not RFC 3339 or is more than
/// [`DATE_TOLERANCE_SECS`] from the certificate's own.
fn check_listed_date(serial: &str, field: &str, listed: &str, own: i64) -> Result<(), DecodeError> {
    match parse_rfc3339(listed) {
        Some(t) if t.abs_diff(own) <= DATE_TOLERANCE_SECS.unsigned_abs() => Ok(()),
        Some(_) => Err(DecodeError::Json(format!(
            "certificate {serial}: {field} {listed:?} contradicts the certificate's own {}",
            beijing_time(own)
        ))),
        None => Err(DecodeError::Json(format!(
            "certificate {serial}: {field} {listed:?} is not an RFC 3339 time"
        ))),
    }
}

/// Why a listing with no certificate valid at `now` is refused, naming
/// each certificate and its dates.
fn none_valid(certificates: &[PlatformCertificate], now: i64) -> String {
    let mut why = format!(
        "no platform certificate in the listing is valid at {}",
        beijing_time(now)
    );
    if certificates.is_empty() {
        why.push_str(": the listing is empty");
    }
    for (n, c) in certificates.iter().enumerate() {
        why.push_str(if n == 0 { ": " } else { "; " });
        let state = match c.validity {
            Validity::Expired => format!("expired {}", c.expire_time),
            _ => format!("not valid before {}", c.effective_time),
        };
        why.push_str(&format!("{} {state}", c.serial_no));
    }
    why
}

/// A Unix time as WeChat Pay writes times: RFC 3339 in China Standard
/// Time, `2026-11-20T10:00:00+08:00`. Public so that the simulator writes
/// its listings with the same code the client reads them with.
pub fn beijing_time(unix: i64) -> String {
    const CST: i64 = 8 * 3600;
    let local = unix.saturating_add(CST);
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+08:00",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// An RFC 3339 time (`YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z`
/// or `±HH:MM`) as Unix seconds, the fraction dropped. A time without an
/// offset is refused: it names no instant.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // A leap second (:60) is read as the next second, as most clocks do.
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let [h1, h2, m1, m2] = digits.map(|d| i64::from(d - b'0'));
            let (h, m) = (h1 * 10 + h2, m1 * 10 + m2);
            if h > 23 || m > 59 {
                return None;
            }
            let offset = h * 3600 + m * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), the inverse of [`civil_from_days`]: public so that
/// a client reading an HTTP `Date` header uses the same calendar.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_and_read_as_wechat_pay_writes_them() {
        assert_eq!(beijing_time(0), "1970-01-01T08:00:00+08:00");
        assert_eq!(beijing_time(1_619_512_832), "2021-04-27T16:40:32+08:00");
        assert_eq!(beijing_time(951_782_400), "2000-02-29T08:00:00+08:00");
        for t in [0, 951_782_400, 1_619_512_832, 1_704_067_199, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&beijing_time(t)), Some(t), "{t}");
        }
        assert_eq!(parse_rfc3339("2021-04-27T08:40:32Z"), Some(1_619_512_832));
        assert_eq!(
            parse_rfc3339("2021-04-27T03:40:32.123-05:00"),
            Some(1_619_512_832)
        );
        for bad in [
            "",
            "2021-04-27",
            "2021-04-27T16:40:32",
            "2021-04-27 16:40:32+08:00",
            "2021-02-29T00:00:00Z",
            "2021-13-01T00:00:00Z",
            "2021-04-27T24:00:00Z",
            "2021-04-27T16:40:32+8:00",
            "2021-04-27T16:40:32.Z",
            "2021-04-27T16:40:32Z ",
            "+021-04-27T16:40:32Z",
            "２021-04-27T16:40:32Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }
}
