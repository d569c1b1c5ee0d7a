//! API v2 `POST /secapi/mch/uploadmedia`: the decision chain of the real endpoint and its XML replies, signed once the request is authenticated.

use base64::Engine;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use md5::{Digest, Md5};
use std::borrow::Cow;
use wxmedia_proto::MediaKind;
use wxmedia_proto::v2::{SignType, StringToSign, xml};

use crate::handler::{Injected, Outcome, RateLimit, Received, Simulator};
use crate::inputs::{Inputs, MEDIA_ID_BYTES};
use crate::multipart::{FormError, parse_form};

/// The path this module answers. Kept here rather than taken from the
/// client core, so that a client that sent the wrong path is caught
/// instead of agreed with.
pub(crate) const UPLOAD_PATH: &str = "/secapi/mch/uploadmedia";

/// Why a request was refused, and at which layer the reply says so.
struct Refusal {
    code: String,
    message: Cow<'static, str>,
    /// Return layer (unsigned: the request was not authenticated) or result
    /// layer (signed with the request's sign type).
    signed_as: Option<SignType>,
}

enum Decision {
    Upload(SignType),
    Refuse(Refusal),
}

const INVALID_REQUEST: &str = "INVALID_REQUEST";
const PARAM_ERROR: &str = "PARAM_ERROR";
const SIGNERROR: &str = "SIGNERROR";

/// The message of every framing and field problem the seed files under
/// PARAM_ERROR without saying more.
const PARAM_WRONG: &str = "参数填写有误，请检查后重试";
/// The message of a body that is not a readable form.
const BAD_FORMAT: &str = "参数格式错误，请检查后重新提交";

fn unsigned(code: &str, message: &'static str) -> Decision {
    Decision::Refuse(Refusal {
        code: code.to_owned(),
        message: message.into(),
        signed_as: None,
    })
}

/// Answer one request routed to the v2 upload path, filling in what was
/// received; returns what was decided and the reply.
pub(crate) fn handle(
    sim: &Simulator,
    req: &Request<Bytes>,
    inputs: &Inputs,
    record: &mut Received,
) -> (Outcome, Response<Bytes>) {
    match decide(sim, req, inputs, record) {
        Decision::Upload(sign_type) => {
            let media_id = media_id(inputs);
            let response = success(sim, &media_id, sign_type);
            (Outcome::Uploaded { media_id }, response)
        }
        Decision::Refuse(r) => {
            let response = refusal(sim, &r);
            let outcome = Outcome::Refused {
                code: r.code,
                message: r.message,
            };
            (outcome, response)
        }
    }
}

/// The decision chain of the real endpoint, in the order `docs/TESTING.md`
/// lists.
fn decide(
    sim: &Simulator,
    req: &Request<Bytes>,
    inputs: &Inputs,
    record: &mut Received,
) -> Decision {
    if req.method() != Method::POST {
        return unsigned(INVALID_REQUEST, "不支持http get方法，请使用post方法");
    }
    if record.peer_cn.is_none() {
        return unsigned(INVALID_REQUEST, "获取客户端证书序列号失败");
    }
    let media = match read_parts(req, record) {
        Ok(Some(media)) => media,
        // The same verdict as a missing field: the checks below never see
        // a request without its media.
        Ok(None) => return unsigned(PARAM_ERROR, PARAM_WRONG),
        Err(refused) => return refused,
    };
    let sign_type = match authenticate(sim, record) {
        Ok(sign_type) => sign_type,
        Err(refused) => return refused,
    };
    // From here the request is authenticated: answers are signed.
    match authenticated_refusal(sim, inputs, &media, record) {
        Some((code, message)) => Decision::Refuse(Refusal {
            code,
            message,
            signed_as: Some(sign_type),
        }),
        None => Decision::Upload(sign_type),
    }
}

/// Read the form into the record: the media part's summary, and every
/// other part as a text field. Returns the media, if there was one.
fn read_parts(req: &Request<Bytes>, record: &mut Received) -> Result<Option<Bytes>, Decision> {
    let parts = match parse_form(req.headers(), req.body()) {
        Ok(parts) => parts,
        // Reported by the community: a quoted boundary is refused. More
        // parts than any real upload has is a field problem too, the same
        // verdict as a repeated field.
        Err(FormError::QuotedBoundary | FormError::TooManyParts) => {
            return Err(unsigned(PARAM_ERROR, PARAM_WRONG));
        }
        Err(FormError::NoContentType | FormError::NoBoundary | FormError::Malformed) => {
            return Err(unsigned(INVALID_REQUEST, BAD_FORMAT));
        }
    };
    let mut media: Option<Bytes> = None;
    // A set, so that finding a repeated name costs the same however many
    // fields came before it.
    let mut names = std::collections::HashSet::new();
    for part in parts {
        if part.name == "media" {
            if part.rfc2231_filename || media.is_some() {
                return Err(unsigned(PARAM_ERROR, PARAM_WRONG));
            }
            record.filename = part.filename;
            record.content_type = part.content_type;
            record.media_len = part.data.len();
            record.media_md5 = Some(md5_hex(&part.data));
            media = Some(part.data);
        } else {
            let Ok(value) = String::from_utf8(part.data.to_vec()) else {
                return Err(unsigned(PARAM_ERROR, PARAM_WRONG));
            };
            if !names.insert(part.name.clone()) {
                return Err(unsigned(PARAM_ERROR, PARAM_WRONG));
            }
            record.fields.push((part.name, value));
        }
    }
    Ok(media)
}

/// Check the recorded fields as the endpoint does before it trusts a
/// request: all present, this merchant (by field and by certificate), a
/// known sign type and a sign that verifies. Returns the sign type, which
/// the signed answers then use.
fn authenticate(sim: &Simulator, record: &Received) -> Result<SignType, Decision> {
    let get = |name: &str| record.field(name).filter(|v| !v.is_empty());
    let (Some(mch_id), Some(_), Some(sign)) = (get("mch_id"), get("media_hash"), get("sign"))
    else {
        return Err(unsigned(PARAM_ERROR, PARAM_WRONG));
    };
    if mch_id != sim.mch_id() || record.peer_cn.as_deref() != Some(mch_id) {
        return Err(unsigned(PARAM_ERROR, "商户号mchid有误，请检查后重试"));
    }
    let sign_type = match get("sign_type") {
        None | Some("MD5") => SignType::Md5,
        Some("HMAC-SHA256") => SignType::HmacSha256,
        Some(_) => return Err(unsigned(SIGNERROR, "签名校验失败，请检查后重试")),
    };
    let to_sign = StringToSign::new(record.fields.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    if !to_sign.verify(sim.api_key(), sign_type, sign) {
        return Err(unsigned(SIGNERROR, "签名校验失败，请检查后重试"));
    }
    Ok(sign_type)
}

/// The upload's documented limit: WeChat Pay's 10 image uploads a second
/// per merchant.
const RATE: RateLimit = RateLimit {
    count: 10,
    per: std::time::Duration::from_secs(1),
};

/// The refusals only an authenticated request can get, as code and
/// message: the operator's switches first (they must not be used up by
/// requests refused earlier), then the media checks.
fn authenticated_refusal(
    sim: &Simulator,
    inputs: &Inputs,
    media: &[u8],
    record: &Received,
) -> Option<(String, Cow<'static, str>)> {
    if let Some(forced) = sim.take_forced_error() {
        return Some(forced);
    }
    if let Some(fault) = sim.take_injected_fault(inputs) {
        return Some(match fault {
            Injected::RateLimited => (
                "FREQUENCY_LIMITED".to_owned(),
                "操作过快，请稍后重试".into(),
            ),
            Injected::SystemError => ("SYSTEMERROR".to_owned(), "上传图片失败，请稍后重试".into()),
        });
    }
    if sim.over_limit(UPLOAD_PATH, RATE, inputs.now) {
        return Some((
            "FREQUENCY_LIMITED".to_owned(),
            "操作过快，请稍后重试".into(),
        ));
    }
    let refused = |message: &'static str| Some((PARAM_ERROR.to_owned(), message.into()));
    if media.len() > sim.max_media_size() {
        return refused("图片大小不能超过2M，请检查后重新提交");
    }
    // Images only: `sniff` knows v3's video formats too.
    if !MediaKind::sniff(media).is_some_and(MediaKind::is_image) {
        return refused("图片格式不正确，请检查后重新提交");
    }
    // `authenticate` saw that the hash field is there and not empty.
    if record.media_md5.as_deref() != record.field("media_hash") {
        return refused("图片Hash值有误，请检查后重新提交");
    }
    None
}

fn success(sim: &Simulator, media_id: &str, sign_type: SignType) -> Response<Bytes> {
    let (wrong, omit) = sim.take_sign_faults();
    let fields = [
        ("return_code", "SUCCESS"),
        ("return_msg", "OK"),
        ("result_code", "SUCCESS"),
        ("media_id", media_id),
    ];
    if omit {
        return xml_response(xml::write(&fields));
    }
    signed_reply(sim, &fields, sign_type, wrong)
}

fn refusal(sim: &Simulator, r: &Refusal) -> Response<Bytes> {
    match r.signed_as {
        None => xml_response(xml::write(&[
            ("return_code", "FAIL"),
            ("return_msg", &r.message),
            ("err_code", &r.code),
            ("err_code_des", &r.message),
        ])),
        Some(sign_type) => {
            let wrong = sim.take_wrong_sign();
            let fields = [
                ("return_code", "SUCCESS"),
                ("return_msg", "OK"),
                ("result_code", "FAIL"),
                ("err_code", &r.code),
                ("err_code_des", &r.message),
            ];
            signed_reply(sim, &fields, sign_type, wrong)
        }
    }
}

fn signed_reply(
    sim: &Simulator,
    fields: &[(&str, &str)],
    sign_type: SignType,
    wrong: bool,
) -> Response<Bytes> {
    let sign = StringToSign::new(fields.iter().copied()).sign(sim.api_key(), sign_type);
    let mut sign = sign.as_str().to_owned();
    if wrong {
        // Flip the first hex digit: still well-formed, never valid.
        let first = if sign.starts_with('0') { "1" } else { "0" };
        sign.replace_range(0..1, first);
    }
    let mut all = fields.to_vec();
    all.push(("sign", &sign));
    xml_response(xml::write(&all))
}

fn xml_response(body: String) -> Response<Bytes> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(Bytes::from(body))
        .expect("static response parts are valid")
}

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A URL-safe media id from the request's random bytes: 33 bytes,
/// base64url, 44 characters.
fn media_id(inputs: &Inputs) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&inputs.random[MEDIA_ID_BYTES])
}
