//! Decoding and verifying a v2 reply (PROTOCOL.md 1.3, 1.4): from status and body to a media id or a typed error.

use bytes::Bytes;
use http::StatusCode;

use crate::v2::xml::Fields;
use crate::v2::{ApiKey, SignType, StringToSign};
use crate::{ApiError, DecodeError, Error, ErrorCode, Layer, SignatureError};

/// Default cap on a reply body: 64 KiB. Real replies are a few hundred
/// bytes; anything far larger is not a WeChat Pay answer.
pub const DEFAULT_REPLY_LIMIT: usize = 64 * 1024;

/// Longest `media_id` accepted.
pub const MAX_MEDIA_ID_LEN: usize = 256;

/// Decode a v2 reply and return its verified `media_id`.
///
/// The order of the checks is the contract:
///
/// 1. a body over `limit` bytes → [`Error::ReplyTooLarge`];
/// 2. a non-2xx status → [`Error::Http`] (an HTML 502 page lands here);
/// 3. not a flat `<xml>` document → [`Error::Decode`];
/// 4. `return_code` missing or not SUCCESS/FAIL → [`Error::Decode`];
///    FAIL → [`Error::Api`] at [`Layer::Return`] with `return_msg`;
/// 5. SUCCESS without `sign`, or with a sign that does not verify over every
///    non-empty field but `sign` (unknown fields included) with `sign_type`
///    → [`Error::Signature`]: never a media id;
/// 6. `result_code` FAIL → [`Error::Api`] at [`Layer::Result`] with
///    `err_code` / `err_code_des`; SUCCESS → the `media_id`, which must be
///    1 to 256 characters without control characters.
///
/// Every error that comes from the reply keeps the raw body.
pub fn decode_reply(
    status: StatusCode,
    body: Bytes,
    key: &ApiKey,
    sign_type: SignType,
    limit: usize,
) -> Result<String, Error> {
    if body.len() > limit {
        return Err(Error::ReplyTooLarge {
            size: body.len(),
            limit,
        });
    }
    if !status.is_success() {
        return Err(Error::Http { status, body });
    }
    let fields = match Fields::parse(&body) {
        Ok(fields) => fields,
        Err(reason) => return Err(Error::Decode { reason, body }),
    };
    let decode_err = |reason| Error::Decode {
        reason,
        body: body.clone(),
    };
    match fields.get("return_code") {
        None => return Err(decode_err(DecodeError::Missing("return_code"))),
        Some("SUCCESS") => {}
        Some("FAIL") => {
            let message = fields.get("return_msg").unwrap_or_default().to_owned();
            let code = fields
                .get("err_code")
                .filter(|c| !c.is_empty())
                .map(ErrorCode::parse)
                .or_else(|| code_from_message(&message));
            return Err(Error::Api(ApiError::v2(Layer::Return, code, message, body)));
        }
        Some(_) => {
            return Err(decode_err(DecodeError::Unexpected {
                field: "return_code",
            }));
        }
    }
    verify_fields(&fields, key, sign_type).map_err(|kind| Error::Signature {
        kind,
        body: body.clone(),
    })?;
    match fields.get("result_code") {
        None => Err(decode_err(DecodeError::Missing("result_code"))),
        Some("SUCCESS") => {
            let media_id = fields
                .get("media_id")
                .ok_or_else(|| decode_err(DecodeError::Missing("media_id")))?;
            if media_id.is_empty()
                || media_id.chars().count() > MAX_MEDIA_ID_LEN
                || media_id.chars().any(char::is_control)
            {
                return Err(decode_err(DecodeError::Unexpected { field: "media_id" }));
            }
            Ok(media_id.to_owned())
        }
        Some("FAIL") => {
            let code = fields
                .get("err_code")
                .filter(|c| !c.is_empty())
                .map(ErrorCode::parse);
            let message = fields
                .get("err_code_des")
                .filter(|m| !m.is_empty())
                .or_else(|| fields.get("return_msg"))
                .unwrap_or_default()
                .to_owned();
            Err(Error::Api(ApiError::v2(Layer::Result, code, message, body)))
        }
        Some(_) => Err(decode_err(DecodeError::Unexpected {
            field: "result_code",
        })),
    }
}

/// Check the `sign` of parsed reply fields: present, and equal (in constant
/// time) to the signature of every other non-empty field.
pub fn verify_fields(
    fields: &Fields,
    key: &ApiKey,
    sign_type: SignType,
) -> Result<(), SignatureError> {
    let sign = fields
        .get("sign")
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::Missing)?;
    if StringToSign::new(fields.iter()).verify(key, sign_type, sign) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A code for a return-layer failure that carries only a message: the
/// message itself when it looks like a code (`SYSTEMERROR`), or the code of
/// one of the seed's known messages. Unknown messages give no code, which
/// makes the error non-retryable: the safe default.
fn code_from_message(message: &str) -> Option<ErrorCode> {
    if ErrorCode::looks_like_code(message) {
        return Some(ErrorCode::parse(message));
    }
    if message.contains("签名") || message.contains("验签") {
        Some(ErrorCode::SignErrorV2)
    } else if message.contains("操作过快") || message.contains("频率") {
        Some(ErrorCode::FrequencyLimitedV2)
    } else if message.contains("系统错误") || message.contains("系统繁忙") {
        Some(ErrorCode::SystemErrorV2)
    } else {
        None
    }
}
