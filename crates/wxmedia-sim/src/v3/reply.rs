//! The v3 reply: JSON body, `Request-ID`, and the `Wechatpay-*` signature headers, as the reply fault switches allow.

use bytes::Bytes;
use http::{Response, StatusCode, header};
use serde::Serialize;

use super::{SCHEME, V3Config, hex_lower};
use crate::handler::V3ReplyFaults;
use crate::inputs::{Inputs, NONCE_BYTES, REQUEST_ID_BYTES};
use crate::pki::V3Signer;

/// How old the `stale_reply_timestamp` fault makes a reply: twice the
/// window clients allow, so that no rounding makes it pass.
const STALE_BY: u64 = 600;

/// The error body. Its members are in the order the real replies have them
/// (alphabetical), whatever serde_json's map type does.
#[derive(Serialize)]
pub(super) struct ErrorBody<'a> {
    pub(super) code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) detail: Option<&'a serde_json::Value>,
    pub(super) message: &'a str,
}

pub(super) fn json<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("replies serialize"))
}

/// An unknown key id / serial for the `unknown_reply_serial` fault.
fn unknown_serial(signer: V3Signer) -> &'static str {
    match signer {
        V3Signer::PublicKey => "PUB_KEY_ID_0000000000000000000000000000000000",
        V3Signer::PlatformCert => "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
    }
}

/// The reply with its signature headers, as the fault switches allow.
pub(super) fn reply(
    v3: &V3Config,
    inputs: &Inputs,
    status: StatusCode,
    body: Bytes,
    faults: &V3ReplyFaults,
) -> Response<Bytes> {
    let request_id = format!(
        "{:08X}{}",
        inputs.unix_time,
        hex_lower(&inputs.random[REQUEST_ID_BYTES]).to_ascii_uppercase()
    );
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .header("Request-ID", request_id);
    if !faults.unsigned {
        let timestamp = if faults.stale {
            inputs.unix_time.saturating_sub(STALE_BY)
        } else {
            inputs.unix_time
        };
        let nonce = hex_lower(&inputs.random[NONCE_BYTES]);
        let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
        message.extend_from_slice(&body);
        message.push(b'\n');
        if faults.wrong {
            // A real signature of other bytes: well-formed, never valid.
            message.push(b'\n');
        }
        let serial = if faults.unknown_serial {
            unknown_serial(v3.signer)
        } else {
            v3.reply_serial()
        };
        builder = builder
            .header("Wechatpay-Timestamp", timestamp.to_string())
            .header("Wechatpay-Nonce", nonce)
            .header("Wechatpay-Serial", serial)
            .header("Wechatpay-Signature-Type", SCHEME);
        if !faults.omit {
            builder = builder.header("Wechatpay-Signature", v3.keys.sign(v3.signer, &message));
        }
    }
    builder
        .body(body)
        .expect("reply headers are valid header values")
}
