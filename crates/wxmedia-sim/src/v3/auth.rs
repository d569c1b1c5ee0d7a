//! The `Authorization` header of a v3 request and the checks that authenticate it: merchant, certificate serial, timestamp window, RSA signature.

use bytes::Bytes;
use http::{HeaderMap, Request, header};

use super::refusal::{BAD_AUTHORIZATION, Refusal, auth_error, sign_not_match};
use super::{SCHEME, V3Config};
use crate::handler::Simulator;
use crate::inputs::Inputs;

/// How far a request's timestamp may be from the server's clock.
const TIMESTAMP_WINDOW: u64 = 300;

/// Authenticate a request, in the real gateway's order: a well-formed
/// header, this merchant, its certificate's serial, a fresh timestamp,
/// then the signature. `meta` is the meta part the form reading found.
pub(super) fn authenticate(
    sim: &Simulator,
    v3: &V3Config,
    req: &Request<Bytes>,
    inputs: &Inputs,
    meta: Option<&[u8]>,
) -> Result<(), Refusal> {
    let auth = Authorization::parse(req.headers())
        .ok_or_else(|| auth_error("authorization", "format error", BAD_AUTHORIZATION))?;
    if auth.mchid != sim.mch_id() {
        return Err(auth_error(
            "mchid",
            "mchid not match",
            "Authorization中的商户号mchid有误",
        ));
    }
    // Case and leading zeros do not matter: openssl prints a serial in
    // whole bytes ("0DB6…"), the official SDKs print the number ("DB6…").
    let same_serial = |a: &str, b: &str| {
        a.trim_start_matches('0')
            .eq_ignore_ascii_case(b.trim_start_matches('0'))
    };
    if !same_serial(&auth.serial_no, v3.keys.merchant_serial_no()) {
        return Err(auth_error(
            "serial_no",
            "serial_no not match",
            "商户证书序列号有误。请使用签名私钥匹配的证书序列号",
        ));
    }
    if inputs.unix_time.abs_diff(auth.timestamp) > TIMESTAMP_WINDOW {
        return Err(auth_error(
            "timestamp",
            "timestamp expired",
            "Authorization中的timestamp与当前时间相差过大",
        ));
    }
    // The message the server builds: the body line is the meta part it
    // found, or empty when it found none (a GET, or a form it cannot read).
    let url = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path(), |pq| pq.as_str());
    let mut message = format!(
        "{}\n{url}\n{}\n{}\n",
        req.method(),
        auth.timestamp_text,
        auth.nonce_str
    )
    .into_bytes();
    message.extend_from_slice(meta.unwrap_or_default());
    message.push(b'\n');
    if !v3.keys.verify_merchant(&message, &auth.signature) {
        return Err(sign_not_match(req.method(), url, &message));
    }
    Ok(())
}

/// The `Authorization` header's parameters.
struct Authorization {
    mchid: String,
    nonce_str: String,
    timestamp: u64,
    /// The timestamp exactly as sent: the message uses the client's text.
    timestamp_text: String,
    serial_no: String,
    signature: String,
}

impl Authorization {
    /// `WECHATPAY2-SHA256-RSA2048 ` and the five parameters `name="value"`
    /// separated by `,`, in any order (SDKs differ). Unknown parameters are
    /// ignored; a missing, repeated or unquoted one makes the header
    /// malformed.
    fn parse(headers: &HeaderMap) -> Option<Authorization> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let params = value.strip_prefix(SCHEME)?.strip_prefix(' ')?;
        let mut found: [Option<&str>; 5] = [None; 5];
        const NAMES: [&str; 5] = ["mchid", "nonce_str", "timestamp", "serial_no", "signature"];
        for param in params.split(',') {
            let (name, quoted) = param.trim().split_once('=')?;
            let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
            if inner.contains('"') {
                return None;
            }
            if let Some(i) = NAMES.iter().position(|n| *n == name)
                && found[i].replace(inner).is_some()
            {
                return None;
            }
        }
        let [Some(mchid), Some(nonce), Some(ts), Some(serial), Some(sig)] = found else {
            return None;
        };
        if ts.is_empty() || !ts.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Authorization {
            mchid: mchid.to_owned(),
            nonce_str: nonce.to_owned(),
            timestamp: ts.parse().ok()?,
            timestamp_text: ts.to_owned(),
            serial_no: serial.to_owned(),
            signature: sig.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_parameters_come_in_any_order_and_must_all_be_there() {
        let parse = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            Authorization::parse(&h)
        };
        let a = parse(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1\",nonce_str=\"n\",signature=\"s\",timestamp=\"12\",serial_no=\"AB\"",
        )
        .unwrap();
        assert_eq!(
            (a.mchid.as_str(), a.timestamp, a.serial_no.as_str()),
            ("1", 12, "AB")
        );
        for bad in [
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1\",nonce_str=\"n\",signature=\"s\",timestamp=\"12\"",
            "WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str=\"n\",signature=\"s\",timestamp=\"12\",serial_no=\"AB\"",
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1\",mchid=\"1\",nonce_str=\"n\",signature=\"s\",timestamp=\"12\",serial_no=\"AB\"",
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1\",nonce_str=\"n\",signature=\"s\",timestamp=\"x\",serial_no=\"AB\"",
            "Bearer mchid=\"1\",nonce_str=\"n\",signature=\"s\",timestamp=\"12\",serial_no=\"AB\"",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
