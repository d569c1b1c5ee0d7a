//! The v3 refusals: the HTTP status, error code, message and `detail` of each kind of error reply.

use http::{Method, StatusCode};

/// `truncated_sign_message` in a SIGN_ERROR reply: the real one truncates
/// long messages; at what length is not on record.
const SIGN_MESSAGE_SHOWN: usize = 1024;

/// A v3 refusal: HTTP status, code, message and the optional `detail`.
pub(super) struct Refusal {
    pub(super) status: StatusCode,
    pub(super) code: String,
    pub(super) message: std::borrow::Cow<'static, str>,
    pub(super) detail: Option<serde_json::Value>,
}

pub(super) fn refuse(
    status: StatusCode,
    code: &str,
    message: impl Into<std::borrow::Cow<'static, str>>,
) -> Refusal {
    Refusal {
        status,
        code: code.to_owned(),
        message: message.into(),
        detail: None,
    }
}

pub(super) fn param_error(message: &'static str) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, "PARAM_ERROR", message)
}

/// A 401 SIGN_ERROR about one Authorization parameter, with the `detail`
/// shape of the real replies.
pub(super) fn auth_error(field: &str, issue: &str, message: &'static str) -> Refusal {
    Refusal {
        detail: Some(serde_json::json!({
            "field": field,
            "location": "authorization",
            "detail": { "issue": issue },
        })),
        ..refuse(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message)
    }
}

pub(super) const BAD_AUTHORIZATION: &str =
    "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》";

/// The SIGN_ERROR of a signature that does not verify, showing the message
/// the server built, as the real reply does.
pub(super) fn sign_not_match(method: &Method, url: &str, message: &[u8]) -> Refusal {
    let shown: String = String::from_utf8_lossy(message)
        .chars()
        .take(SIGN_MESSAGE_SHOWN)
        .collect();
    Refusal {
        detail: Some(serde_json::json!({
            "detail": { "issue": "sign not match" },
            "field": "signature",
            "location": "authorization",
            "sign_information": {
                "method": method.as_str(),
                "sign_message_length": message.len(),
                "truncated_sign_message": shown,
                "url": url,
            },
        })),
        ..refuse(
            StatusCode::UNAUTHORIZED,
            "SIGN_ERROR",
            "错误的签名,验签失败",
        )
    }
}
