//! Reading v3 replies: a verified JSON success, or a non-2xx `{code, message, detail}` error kept whole.

use bytes::Bytes;
use http::Response;
use serde::Deserialize;

use crate::v3::Verifier;
use crate::v3::verify::verify_reply;
use crate::{ApiError, DecodeError, Error, ErrorCode, Layer};

/// Default cap on a v3 reply body: 64 KiB, as for v2. Upload replies are a
/// few hundred bytes; a certificate list a few KiB.
pub const DEFAULT_REPLY_LIMIT: usize = 64 * 1024;

/// Longest `media_id` or `media_url` accepted (the API documents 512).
pub const MAX_ID_LEN: usize = 512;

/// A reply's body, once trusted: within the cap, 2xx, and its signature
/// verified. Every error keeps the raw body.
///
/// `signed_message` is what the request signed; a 401 `SIGN_ERROR` shows it
/// beside the message the server says it built, so that the differing line
/// shows at once.
pub(crate) fn verified_body(
    reply: Response<Bytes>,
    verifier: &Verifier,
    reply_time: u64,
    limit: usize,
    signed_message: impl FnOnce() -> Vec<u8>,
) -> Result<Bytes, Error> {
    let (parts, body) = reply.into_parts();
    if body.len() > limit {
        return Err(Error::ReplyTooLarge {
            size: body.len(),
            limit,
        });
    }
    if !parts.status.is_success() {
        return Err(error_reply(parts, body, signed_message));
    }
    verify_reply(verifier, reply_time, &parts.headers, &body)?;
    Ok(body)
}

/// The reply's `Request-ID` header, which WeChat Pay support asks for:
/// read here once for successes and errors alike.
pub fn request_id(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The JSON of a v3 error reply, read leniently: every field optional.
#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
    detail: Option<serde_json::Value>,
}

/// A non-2xx reply as an error: `Error::Api` when the body is WeChat Pay's
/// JSON with a code, `Error::Http` (body kept) for anything else, such as a
/// gateway's HTML page.
fn error_reply(
    parts: http::response::Parts,
    body: Bytes,
    signed_message: impl FnOnce() -> Vec<u8>,
) -> Error {
    let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
    let Some(ErrorBody {
        code: Some(code),
        message,
        detail,
    }) = parsed
    else {
        return Error::Http {
            status: parts.status,
            body,
        };
    };
    let code = ErrorCode::parse(&code);
    let mut message = message.unwrap_or_default();
    if code.is_sign_error() {
        let theirs = detail
            .as_ref()
            .and_then(|d| {
                d.pointer("/detail/sign_information/truncated_sign_message")
                    .or_else(|| d.pointer("/sign_information/truncated_sign_message"))
            })
            .and_then(|m| m.as_str());
        let ours = String::from_utf8_lossy(&signed_message()).into_owned();
        match theirs {
            Some(theirs) => message.push_str(&format!(
                " (the server checked {theirs:?}; this client signed {ours:?})"
            )),
            None => message.push_str(&format!(" (this client signed {ours:?})")),
        }
    }
    let request_id = request_id(&parts.headers);
    Error::Api(ApiError {
        layer: Layer::Status,
        code: Some(code),
        message,
        status: Some(parts.status),
        request_id,
        body,
    })
}

/// The one string field `name` of a verified JSON body: present, 1 to
/// [`MAX_ID_LEN`] characters, no control characters.
pub(crate) fn id_field(body: &Bytes, name: &'static str) -> Result<String, Error> {
    let decode_err = |reason| Error::Decode {
        reason,
        body: body.clone(),
    };
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| decode_err(DecodeError::Json(e.to_string())))?;
    let field = value
        .get(name)
        .ok_or_else(|| decode_err(DecodeError::Missing(name)))?;
    let text = field
        .as_str()
        .ok_or_else(|| decode_err(DecodeError::Unexpected { field: name }))?;
    if text.is_empty() || text.chars().count() > MAX_ID_LEN || text.chars().any(char::is_control) {
        return Err(decode_err(DecodeError::Unexpected { field: name }));
    }
    Ok(text.to_owned())
}
