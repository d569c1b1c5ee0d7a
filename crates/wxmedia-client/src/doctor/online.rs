//! The checks that ask the server, through a built client: the clock against the `Date` header, v3's signed `GET /v3/certificates`, v2's mutual TLS (`GET /`, nothing uploaded).

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use wxmedia_proto::v3::certificates::{CERTIFICATES_PATH, beijing_time, days_from_civil};
use wxmedia_proto::v3::{
    ApiV3Key, DownloadCertificates, Merchant, PlatformCertificate, Verifier, auth,
};
use wxmedia_proto::{Body, DecodeError, Env, ErrorCode, Operation, SignatureError};

use super::{CLOCK_FAIL_SECS, CLOCK_WARN_SECS, Check};
use crate::{Error, Transport, TransportErrorKind, V2Client, V3Client};

/// What a probe's reply said, whatever its status.
struct Reply<O> {
    status: StatusCode,
    /// The server's `Date`, Unix seconds: `None` when absent, `Some(Err)`
    /// when not an HTTP date.
    date: Option<Result<i64, String>>,
    /// This machine's clock when the reply arrived ([`Env::reply_time`]).
    arrived: u64,
    outcome: O,
}

impl<O> Reply<O> {
    fn new(env: &Env, headers: &HeaderMap, status: StatusCode, outcome: O) -> Reply<O> {
        let date = headers.get(header::DATE).map(|v| {
            let text = v.to_str().unwrap_or("");
            http_date(text).ok_or_else(|| text.to_owned())
        });
        Reply {
            status,
            date,
            arrived: env.reply_time(),
            outcome,
        }
    }
}

/// v2: `GET /` on the client's endpoint: the TLS handshake with the client
/// certificate, and a reply whose `Date` shows the server's clock. Nothing
/// is uploaded, and any status is an answer. (Not `HEAD`: the transports
/// carry the methods the core uses, `GET` and `POST`.)
struct RootProbe {
    reply_limit: usize,
}

impl Operation for RootProbe {
    type Output = Reply<()>;

    fn encode(&self, env: &Env) -> Result<Request<Body>, wxmedia_proto::Error> {
        Ok(Request::builder()
            .method(Method::GET)
            .uri(format!("{}/", env.base_url()))
            .header(header::USER_AGENT, wxmedia_proto::endpoints::USER_AGENT)
            .body(Body::default())
            // `Env` checked the base URL; its root path is a valid URI.
            .expect("the root of a checked base URL is a valid request"))
    }

    fn decode(&self, env: &Env, reply: Response<Bytes>) -> Result<Reply<()>, wxmedia_proto::Error> {
        Ok(Reply::new(env, reply.headers(), reply.status(), ()))
    }

    fn reply_limit(&self) -> usize {
        self.reply_limit
    }
}

/// What the v3 probe learnt besides status and date.
struct V3Outcome {
    /// The core's verdict on the reply: the listing (with the APIv3 key,
    /// on a 2xx) or the error reply read as an error (non-2xx; a
    /// SIGN_ERROR carries the message the server checked beside ours).
    /// `None` for a 2xx read without the APIv3 key.
    listing: Option<Result<Vec<PlatformCertificate>, wxmedia_proto::Error>>,
    /// The reply's signature checked with the keys the client was given;
    /// `None` when it was given none (only the APIv3 key).
    verified: Option<Result<(), SignatureError>>,
    /// The reply's `Wechatpay-Serial`: the key WeChat Pay signed with.
    serial: Option<String>,
    /// The message the request signed, as `wxmedia sign` prints it.
    signed: String,
}

/// v3: a signed `GET /v3/certificates`, encoded and judged by the core's
/// [`DownloadCertificates`], with the status, `Date` and reply signature
/// kept whatever the answer. Without the APIv3 key the download holds a
/// placeholder key, which neither the request (the key is not sent) nor
/// the reading of an error reply uses; a 2xx listing is then not read.
struct CertificatesProbe {
    download: DownloadCertificates,
    has_key: bool,
    verifier: Verifier,
}

impl Operation for CertificatesProbe {
    type Output = Reply<V3Outcome>;

    fn encode(&self, env: &Env) -> Result<Request<Body>, wxmedia_proto::Error> {
        self.download.encode(env)
    }

    fn decode(
        &self,
        env: &Env,
        reply: Response<Bytes>,
    ) -> Result<Self::Output, wxmedia_proto::Error> {
        let (status, headers) = (reply.status(), reply.headers().clone());
        let verified = (!self.verifier.is_empty()).then(|| {
            self.verifier
                .verify(env.reply_time(), &headers, reply.body())
        });
        let serial = headers
            .get("wechatpay-serial")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let message = auth::message(
            "GET",
            CERTIFICATES_PATH,
            env.unix_time(),
            env.nonce().as_str(),
            b"",
        );
        let listing =
            (self.has_key || !status.is_success()).then(|| self.download.decode(env, reply));
        let outcome = V3Outcome {
            listing,
            verified,
            serial,
            signed: String::from_utf8_lossy(&message).escape_debug().to_string(),
        };
        Ok(Reply::new(env, &headers, status, outcome))
    }

    fn reply_limit(&self) -> usize {
        self.download.reply_limit()
    }
}

/// The online v2 checks against the client's endpoint: `mutual-tls` (the
/// TLS handshake with the client certificate, then `GET /`; nothing is
/// uploaded) and `clock`.
pub async fn check_online_v2<T: Transport>(client: &V2Client<T>) -> Vec<Check> {
    let endpoint = client.current_endpoint();
    let identity = client.settings().identity.as_ref();
    let cn = identity
        .and_then(crate::Identity::subject_cn)
        .unwrap_or_else(|| "?".to_owned());
    let probe = RootProbe {
        reply_limit: client.settings().reply_limit,
    };
    // rustls asks for the certificate only when the server requests it:
    // the count before and after the probe says whether this server did.
    let asked_before = identity.map_or(0, crate::Identity::certificate_requests);
    let result = client.execute(probe).await;
    let asked = identity.map_or(0, crate::Identity::certificate_requests) > asked_before;
    // Say only what the handshake showed: a server that never asked for
    // the certificate has not accepted it.
    let mutual_tls = |answered: String| {
        if identity.is_none() {
            return Check::ok(
                "mutual-tls",
                format!(
                    "no client certificate here: the gateway presents it to WeChat Pay; {endpoint} {answered}; nothing was uploaded"
                ),
            )
            .with_value("certificate_requested", asked.to_string());
        }
        if asked {
            Check::ok(
                "mutual-tls",
                format!(
                    "the server asked for the client certificate (CN={cn}) and accepted it: {endpoint} {answered}; nothing was uploaded"
                ),
            )
        } else {
            Check::warn(
                "mutual-tls",
                format!(
                    "the TLS handshake completed without the server asking for the client certificate (CN={cn}): {endpoint} {answered}, but mutual TLS was not shown; WeChat Pay's v2 upload needs it (is this endpoint a gateway that presents a certificate of its own?)"
                ),
            )
        }
        .with_value("certificate_requested", asked.to_string())
    };
    let proxy = super::network::check(client.settings(), &endpoint);
    let mut checks = vec![proxy];
    checks.extend(match result {
        Ok(reply) => vec![
            mutual_tls(format!(
                "answered GET / with HTTP {}",
                reply.status.as_u16()
            )),
            clock(&reply),
        ],
        // The server answered, at more length than a reply may have: the
        // connection is proven, its `Date` unread.
        Err(Error::Proto(wxmedia_proto::Error::ReplyTooLarge { .. })) => vec![
            mutual_tls("answered GET /".to_owned()),
            Check::warn(
                "clock",
                "the server's reply to GET / was too long to read its Date header: the clock could not be compared",
            ),
        ],
        Err(e) => vec![unreached("mutual-tls", &endpoint, &e)],
    });
    checks.extend(super::network::server_root(client.settings(), &endpoint));
    checks
}

/// The online v3 checks against the client's endpoint, from one signed
/// `GET /v3/certificates`: `clock`, `signature` (WeChat Pay accepted the
/// request's signature: in public-key mode its 404 `RESOURCE_NOT_EXISTS`
/// says so too), `reply-signature` (the reply verifies with the keys
/// given), and with the APIv3 key `certificates` (the listing decrypts
/// and its certificates are valid).
pub async fn check_online_v3<T: Transport>(client: &V3Client<T>) -> Vec<Check> {
    let endpoint = client.current_endpoint();
    let (settings, v3) = (client.settings(), client.v3_settings());
    let merchant = Merchant::new(
        settings.mch_id.clone(),
        Arc::clone(&v3.signer),
        Arc::new(v3.verifier.clone()),
    );
    let placeholder = || ApiV3Key::new([0u8; 32]).expect("32 bytes is an APIv3 key");
    let key = v3.api_v3_key.clone().unwrap_or_else(placeholder);
    let probe = CertificatesProbe {
        download: DownloadCertificates::new(merchant, key).with_reply_limit(settings.reply_limit),
        has_key: v3.api_v3_key.is_some(),
        verifier: v3.verifier.clone(),
    };
    let mut checks = vec![super::network::check(settings, &endpoint)];
    checks.extend(match client.execute(probe).await {
        Ok(reply) => judge_v3(&reply, &v3.verifier, v3.signer.serial_no(), &endpoint),
        Err(e) => vec![unreached("connection", &endpoint, &e)],
    });
    checks.extend(super::network::server_root(settings, &endpoint));
    checks
}

fn judge_v3(
    reply: &Reply<V3Outcome>,
    verifier: &Verifier,
    serial_no: &str,
    endpoint: &str,
) -> Vec<Check> {
    let clock = clock(reply);
    let clock_off = clock.status == super::Status::Fail;
    let o = &reply.outcome;
    let refused = match &o.listing {
        Some(Err(wxmedia_proto::Error::Api(api))) => Some(api),
        _ => None,
    };
    let public_key_mode = reply.status == StatusCode::NOT_FOUND
        && refused.is_some_and(|a| a.code == Some(ErrorCode::ResourceNotExistsV3));
    let status = reply.status.as_u16();
    let mut out = vec![clock];
    let signature = if reply.status.is_success() {
        Check::ok(
            "signature",
            format!(
                "WeChat Pay accepted the request signature: GET /v3/certificates answered HTTP {status}, so the merchant id, the 商户API证书序列号 {serial_no} and the private key agree"
            ),
        )
    } else if public_key_mode {
        Check::ok(
            "signature",
            "WeChat Pay accepted the request signature (404 RESOURCE_NOT_EXISTS comes after authentication): public-key mode (微信支付公钥模式) is on, so there are no platform certificates to list and replies are signed with the WeChat Pay public key",
        )
    } else if let Some(api) =
        refused.filter(|a| a.code.as_ref().is_some_and(ErrorCode::is_sign_error))
    {
        let why = if clock_off {
            "this machine's clock is off (see clock)"
        } else {
            "check the private key, the certificate and the 商户API证书序列号 above; compare what the server checked with what was signed"
        };
        let check = Check::fail(
            "signature",
            format!(
                "WeChat Pay refused the request signature (HTTP {status} SIGN_ERROR): {}; {why}",
                api.message
            ),
        );
        match &api.request_id {
            Some(id) => check.with_value("request_id", id.clone()),
            None => check,
        }
        .with_value("signed_message", o.signed.clone())
    } else {
        let what = match &o.listing {
            Some(Err(e)) => e.to_string(),
            _ => format!("HTTP {status}"),
        };
        Check::fail(
            "signature",
            format!("GET /v3/certificates on {endpoint} was refused: {what}"),
        )
    };
    let accepted = signature.status != super::Status::Fail;
    out.push(signature.with_value("http_status", status.to_string()));
    if !accepted {
        return out;
    }
    let has_public_key = verifier.serials().any(|s| s.starts_with("PUB_KEY_ID_"));
    if public_key_mode && !has_public_key {
        out.push(Check::fail(
            "reply-signature",
            "public-key mode is on in the merchant platform, but no WeChat Pay public key is given: replies are signed with the 微信支付公钥 and will not verify with platform certificates or the APIv3 key; download pub_key.pem and note its 微信支付公钥ID (商户平台 → API安全 → 微信支付公钥)",
        ));
    } else if let Some(verified) = &o.verified {
        out.push(reply_signature(
            verified,
            o.serial.as_deref(),
            verifier,
            clock_off,
        ));
    }
    if let Some(listing) = o.listing.as_ref().filter(|_| reply.status.is_success()) {
        out.push(certificates(listing, verifier));
    }
    out
}

/// Whether the reply verifies with the keys given, and if not, which key
/// it named.
fn reply_signature(
    verified: &Result<(), SignatureError>,
    serial: Option<&str>,
    verifier: &Verifier,
    clock_off: bool,
) -> Check {
    const NAME: &str = "reply-signature";
    let named = serial.unwrap_or("(none)");
    match verified {
        Ok(()) => Check::ok(NAME, format!("the reply verifies: WeChat Pay signed it with {named}, a key given")),
        Err(SignatureError::Timestamp) if clock_off => Check::fail(
            NAME,
            "the reply's Wechatpay-Timestamp is more than 300 s from this machine's clock, so every reply is refused until the clock is set (see clock)",
        ),
        Err(SignatureError::UnknownSerial) => {
            let given: Vec<&str> = verifier.serials().collect();
            let hint = if named.starts_with("PUB_KEY_ID_") {
                "public-key mode is on: give that 微信支付公钥 (pub_key.pem) with its 微信支付公钥ID"
            } else {
                "give the current platform certificates (wxmedia certificates downloads them with the APIv3 key), or the WeChat Pay public key if public-key mode is on"
            };
            Check::fail(
                NAME,
                format!("the reply is signed with {named}, which is not among the keys given ({}): every reply would be refused; {hint}", given.join(", ")),
            )
        }
        Err(e) => Check::fail(NAME, format!("the reply signature {e}")),
    }
    .with_value("wechatpay_serial", named)
}

/// The listing read with the APIv3 key.
fn certificates(
    listing: &Result<Vec<PlatformCertificate>, wxmedia_proto::Error>,
    verifier: &Verifier,
) -> Check {
    match listing {
        Ok(list) => {
            let valid: Vec<String> = list
                .iter()
                .filter(|c| c.is_valid())
                .map(|c| format!("{} (until {})", c.serial_no, c.expire_time))
                .collect();
            let listed: Vec<&str> = list.iter().map(|c| c.serial_no.as_str()).collect();
            let stale: Vec<&str> = verifier
                .serials()
                .filter(|s| !s.starts_with("PUB_KEY_ID_") && !listed.contains(s))
                .collect();
            if stale.is_empty() {
                Check::ok(
                    "certificates",
                    format!(
                        "the listing decrypts with the APIv3 key and verifies; platform certificates valid now: {}",
                        valid.join(", ")
                    ),
                )
            } else {
                Check::warn(
                    "certificates",
                    format!(
                        "platform certificate {} given is not among those WeChat Pay lists now ({}): download the current ones (wxmedia certificates)",
                        stale.join(", "),
                        valid.join(", ")
                    ),
                )
            }
        }
        // The core's own reason for a listing that does not open; a test
        // with a wrong APIv3 key keeps this match honest.
        Err(wxmedia_proto::Error::Decode {
            reason: DecodeError::Json(why),
            ..
        }) if why.contains("does not decrypt") => Check::fail(
            "api-v3-key",
            "the certificate listing does not decrypt with the APIv3 key given: it is not the APIv3密钥 set in 商户平台 → API安全 (or it was changed since)",
        ),
        Err(e) => Check::fail(
            "certificates",
            format!("the certificate listing was refused: {e}"),
        ),
    }
}

/// The clock against the reply's `Date`.
fn clock<O>(reply: &Reply<O>) -> Check {
    const NAME: &str = "clock";
    let server = match &reply.date {
        None => {
            return Check::warn(
                NAME,
                "the server sent no Date header: this machine's clock could not be compared with it",
            );
        }
        Some(Err(text)) => {
            return Check::warn(
                NAME,
                format!(
                    "the server's Date header {text:?} is not an HTTP date: the clock could not be compared"
                ),
            );
        }
        Some(Ok(t)) => *t,
    };
    let skew = i64::try_from(reply.arrived)
        .unwrap_or(i64::MAX)
        .saturating_sub(server);
    let (secs, way) = (
        skew.unsigned_abs(),
        if skew > 0 { "ahead of" } else { "behind" },
    );
    let check = if skew.abs() > CLOCK_FAIL_SECS {
        Check::fail(
            NAME,
            format!(
                "this machine's clock is {secs} s {way} the server's (its Date says {}): WeChat Pay refuses requests more than {CLOCK_FAIL_SECS} s off; set the clock (NTP)",
                beijing_time(server)
            ),
        )
    } else if skew.abs() > CLOCK_WARN_SECS {
        Check::warn(
            NAME,
            format!(
                "this machine's clock is {secs} s {way} the server's: at {CLOCK_FAIL_SECS} s WeChat Pay refuses requests; set the clock (NTP)"
            ),
        )
    } else {
        Check::ok(
            NAME,
            format!("this machine's clock agrees with the server's Date header (within {secs} s)"),
        )
    };
    check.with_value("skew_secs", skew.to_string())
}

/// The server could not be asked: why, by the failure's kind.
fn unreached(name: &'static str, endpoint: &str, e: &Error) -> Check {
    let why = crate::Chain(e);
    let hint = match e.transport_kind() {
        Some(TransportErrorKind::Tls) => {
            "; the server refused the client certificate, or its own certificate is not trusted (a simulator needs --ca)"
        }
        Some(TransportErrorKind::Dns) => "; check the host name of the endpoint",
        Some(TransportErrorKind::Connect) => "; is the endpoint right, and the network open to it?",
        Some(TransportErrorKind::Proxy) => {
            "; the proxy refused: check its address, the credentials in its URL, and whether it allows CONNECT to this host and port"
        }
        _ => "",
    };
    Check::fail(name, format!("no answer from {endpoint}: {why}{hint}"))
        .with_value("endpoint", endpoint)
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the one form of
/// HTTP date servers send (RFC 9110 5.6.7), as Unix seconds.
fn http_date(text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = text.as_bytes();
    if b.len() != 29
        || &b[3..5] != b", "
        || &b[25..] != b" GMT"
        || b[7] != b' '
        || b[11] != b' '
        || b[16] != b' '
        || b[19] != b':'
        || b[22] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(r)?;
        digits
            .bytes()
            .all(|d| d.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let month = MONTHS.iter().position(|m| text.get(8..11) == Some(*m))? as i64 + 1;
    let (day, year) = (num(5..7)?, num(12..16)?);
    let (h, m, s) = (num(17..19)?, num(20..22)?, num(23..25)?);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_read_as_servers_write_them() {
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Xyz 1994 08:49:37 GMT",
            "",
        ] {
            assert_eq!(http_date(bad), None, "{bad}");
        }
    }

    fn reply_at(arrived: u64, date: Option<&str>) -> Reply<()> {
        Reply {
            status: StatusCode::OK,
            date: date.map(|d| http_date(d).ok_or_else(|| d.to_owned())),
            arrived,
            outcome: (),
        }
    }

    #[test]
    fn the_clock_warns_after_a_minute_and_fails_after_five() {
        let date = Some("Sun, 06 Nov 1994 08:49:37 GMT");
        let at = 784_111_777;
        let status = |arrived| clock(&reply_at(arrived, date)).status;
        assert_eq!(status(at + 1), super::super::Status::Ok);
        assert_eq!(status(at - 61), super::super::Status::Warn);
        assert_eq!(status(at + 301), super::super::Status::Fail);
        let c = clock(&reply_at(at - 600, date));
        assert!(c.message.contains("600 s behind"), "{}", c.message);
        assert_eq!(c.values, [("skew_secs", "-600".to_owned())]);
        assert_eq!(
            clock(&reply_at(at, None)).status,
            super::super::Status::Warn
        );
    }
}
