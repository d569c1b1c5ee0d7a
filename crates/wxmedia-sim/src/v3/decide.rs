//! The v3 decision chain: form reading, authentication, the operator's switches, then the meta and file checks of each endpoint.

use base64::Engine;
use bytes::Bytes;
use http::{Request, StatusCode};
use wxmedia_proto::MediaKind;

use super::auth::authenticate;
use super::refusal::{Refusal, param_error, refuse};
use super::{Endpoint, Limit, Suffixes, Upload, V3_MAX_TEST_UPLOAD_SIZE, V3Config, sha256_hex};
use crate::handler::{Injected, MAX_LOGGED_VALUE, Received, Simulator};
use crate::inputs::{Inputs, MEDIA_ID_BYTES};
use crate::multipart::{FormError, Part, parse_form_lenient};
use crate::pki::V3Signer;

const VIDEO_SUFFIXES: &[&str] = &[
    "avi", "wmv", "mpeg", "mp4", "mov", "mkv", "flv", "f4v", "m4v", "rmvb",
];

/// The largest meta parsed, in bytes; a larger one is refused unparsed.
/// The documented meta is `filename` (string(128)) and `sha256` (64 hex
/// digits; string(256) at most): with every character of the name written
/// as an escape (`\uXXXX`, or two of them beyond the BMP: 1,536 bytes),
/// the digest, the keys and the punctuation, under 1.7 KiB. 4 KiB leaves
/// room for pretty-printing and a few extra members, and bounds what
/// parsing costs: a signed meta of 400,000 keys used to be parsed whole,
/// about twenty times its size in memory.
const MAX_META_SIZE: usize = 4 * 1024;

/// What a request that passed every check gets.
pub(super) enum Success {
    /// An id, under the upload's reply field.
    MediaId {
        field: &'static str,
        media_id: String,
    },
    /// A JSON body of the endpoint's own (the receipt, the bank task),
    /// logged under `id`.
    Body {
        id: String,
        body: serde_json::Value,
    },
    /// The test path's: an id and the meta as read.
    Echo {
        media_id: String,
        meta: serde_json::Value,
    },
    /// A URL, under the upload's reply field.
    MediaUrl {
        field: &'static str,
        media_url: String,
    },
    Certificates,
}

/// The decision chain, in the order `docs/TESTING.md` lists.
pub(super) fn decide(
    sim: &Simulator,
    v3: &V3Config,
    endpoint: Endpoint,
    req: &Request<Bytes>,
    inputs: &Inputs,
    record: &mut Received,
) -> Result<Success, Refusal> {
    let (meta, file) = if endpoint == Endpoint::Certificates {
        (None, None)
    } else {
        read_form(req, record)?
    };
    authenticate(sim, v3, req, inputs, meta.as_deref())?;
    // From here the request is authenticated.
    if let Some(refusal) = switched_on_refusal(sim, inputs) {
        return Err(refusal);
    }
    if let Endpoint::Upload(upload) = endpoint
        && sim.over_limit(upload.path, upload.rate, inputs.now)
    {
        return Err(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "FREQUENCY_LIMITED",
            "频率超限，请降低请求接口频率",
        ));
    }
    if endpoint == Endpoint::Certificates {
        return certificates(v3.signer);
    }
    let meta = meta.ok_or_else(|| param_error("缺少meta参数"))?;
    let upload = match endpoint {
        Endpoint::Upload(upload) if upload.path == super::fapiao::FAPIAO_PATH => {
            return super::fapiao::decide(&meta, file, inputs, record);
        }
        Endpoint::Upload(upload) if upload.path == super::sealed::RECEIPT_PATH => {
            let serial = super::sealed::wechatpay_serial(v3, req)?;
            return super::sealed::receipt(v3, &serial, &meta, file, inputs, record);
        }
        Endpoint::Upload(upload) if upload.path == super::sealed::BANK_PATH => {
            let serial = super::sealed::wechatpay_serial(v3, req)?;
            let package = super::sealed::package_id(req.uri().path()).unwrap_or_default();
            return super::sealed::bank_task(
                sim, v3, &serial, package, &meta, file, inputs, record,
            );
        }
        Endpoint::Upload(upload) => upload,
        Endpoint::TestUpload => return test_upload(&meta, file, inputs, record),
        Endpoint::Certificates => return certificates(v3.signer),
    };
    let (filename, sha256) = parse_meta(upload, &meta, record)?;
    let file = file.ok_or_else(|| param_error("缺少file参数"))?;
    if !file.disposition_well_formed {
        return Err(param_error("file参数格式错误，请检查后重新提交"));
    }
    check_media(v3, upload, &filename, &sha256, &file.data)?;
    let id = media_id(inputs);
    let field = upload.reply_field;
    Ok(if upload.url && !sim.faults().url_as_media_id {
        Success::MediaUrl {
            field,
            media_url: format!("https://wxpaylogo.qpic.cn/wxpaylogo/{id}/0"),
        }
    } else if upload.url {
        // The fault: a URL upload answered as the others are.
        Success::MediaId {
            field: "media_id",
            media_id: id,
        }
    } else {
        Success::MediaId {
            field,
            media_id: id,
        }
    })
}

pub(super) fn media_id(inputs: &Inputs) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&inputs.random[MEDIA_ID_BYTES])
}

/// The test path (`TEST_UPLOAD_PATH`, not WeChat Pay's): a meta of either
/// known shape with any other members, an image whose digest it carries;
/// the meta goes back as read.
fn test_upload(
    meta: &[u8],
    file: Option<Part>,
    inputs: &Inputs,
    record: &mut Received,
) -> Result<Success, Refusal> {
    if meta.len() > MAX_META_SIZE {
        return Err(param_error("meta参数长度超过限制，请检查后重新提交"));
    }
    let Ok(serde_json::Value::Object(members)) = serde_json::from_slice(meta) else {
        return Err(param_error("meta格式错误，请检查后重新提交"));
    };
    let text = |k: &str| members.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let (filename, digest) = match (text("filename"), text("sha256")) {
        (Some(f), Some(d)) => (f, d),
        _ => match (text("file_name"), text("file_digest")) {
            (Some(f), Some(d)) => (f, d),
            _ => return Err(param_error("meta中缺少文件名或文件摘要")),
        },
    };
    record
        .fields
        .push(("filename".to_owned(), filename.clone()));
    let file = file.ok_or_else(|| param_error("缺少file参数"))?;
    let kind = image_suffix(&filename, "图片格式不正确，仅支持JPG、BMP、PNG")?;
    check_file(
        &file.data,
        V3_MAX_TEST_UPLOAD_SIZE,
        "文件大小不符合要求，请检查后重新提交",
        &digest,
        Some(kind),
    )?;
    Ok(Success::Echo {
        media_id: media_id(inputs),
        meta: serde_json::Value::Object(members),
    })
}

/// A refusal the operator switched on (a forced code, the rate limit,
/// SYSTEM_ERROR), if one fires. Asked only once a request is
/// authenticated: the real service rate-limits and fails only requests it
/// has authenticated, and a switch set to fire N times must not be used up
/// by requests refused earlier.
fn switched_on_refusal(sim: &Simulator, inputs: &Inputs) -> Option<Refusal> {
    if let Some((code, message)) = sim.take_forced_error() {
        let (status, code) = forced(&code);
        return Some(refuse(status, &code, message));
    }
    let fault = sim.take_injected_fault(inputs)?;
    Some(match fault {
        Injected::RateLimited => refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "请求过快，请稍后重试",
        ),
        Injected::SystemError => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SYSTEM_ERROR",
            "系统错误，请稍后重试",
        ),
    })
}

/// `GET /v3/certificates`: merchants on the WeChat Pay public key have no
/// platform certificate to download, and the real service says so.
fn certificates(signer: V3Signer) -> Result<Success, Refusal> {
    match signer {
        V3Signer::PlatformCert => Ok(Success::Certificates),
        V3Signer::PublicKey => Err(refuse(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_EXISTS",
            "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥",
        )),
    }
}

/// The meta and file parts of an upload, as the server finds them; what
/// was received goes into the record.
///
/// Lenient where real clients differ (no boundary parameter, parts in
/// either order, part headers in any order, a trailing `;`), strict where
/// the record says the server is: a quoted boundary, or a meta part with a
/// `filename`, leaves the server without a meta part, so that its message
/// has an empty body line and the signature fails. A form with more parts
/// than `multipart::MAX_PARTS` (32) is refused at once with 400 PARAM_ERROR, before
/// authentication, as a front end that bounds its work would.
fn read_form(
    req: &Request<Bytes>,
    record: &mut Received,
) -> Result<(Option<Bytes>, Option<Part>), Refusal> {
    let parts = match parse_form_lenient(req.headers(), req.body()) {
        Ok(parts) => parts,
        Err(FormError::TooManyParts) => return Err(param_error("请求参数过多，请检查后重新提交")),
        Err(_) => return Ok((None, None)),
    };
    let mut meta = None;
    let mut file: Option<Part> = None;
    for part in parts {
        match part.name.as_str() {
            "meta" if !part.has_filename && meta.is_none() => meta = Some(part.data),
            "file" if file.is_none() => file = Some(part),
            _ => {}
        }
    }
    if let Some(m) = &meta {
        // Only what the log keeps, not a copy of a meta of any size: a
        // character is at most 4 bytes, so the log's cut at
        // MAX_LOGGED_VALUE falls where it would in the whole text, and a
        // longer meta is still seen as cut.
        let kept = &m[..m.len().min(MAX_LOGGED_VALUE + 4)];
        record.meta = Some(String::from_utf8_lossy(kept).into_owned());
    }
    if let Some(f) = &file {
        record.filename = f.filename.clone();
        record.content_type = f.content_type.clone();
        record.media_len = f.data.len();
        record.media_sha256 = Some(sha256_hex(&f.data));
    }
    Ok((meta, file))
}

/// A JSON object's members in order, repeated names kept (a map would
/// keep only the last).
struct Members(Vec<(String, serde_json::Value)>);

/// A meta as the service reads one: within [`MAX_META_SIZE`], an object
/// (an array is not one, whatever it holds) whose members the checks read
/// are strings or null and appear at most once: a repeated member leaves
/// the value in doubt, as a typed read of the real service would say.
pub(super) struct Meta(Vec<(String, serde_json::Value)>);

/// The meta's format error, as the service words it.
fn format_error() -> Refusal {
    param_error("meta格式错误，请检查后重新提交")
}

impl Meta {
    /// Read `meta`, refusing one too long or not an object.
    pub(super) fn read(meta: &[u8]) -> Result<Meta, Refusal> {
        if meta.len() > MAX_META_SIZE {
            return Err(param_error("meta参数长度超过限制，请检查后重新提交"));
        }
        let Ok(Members(members)) = serde_json::from_slice::<Members>(meta) else {
            return Err(format_error());
        };
        Ok(Meta(members))
    }

    /// The member `name` whatever its type: `None` when absent, a format
    /// error when repeated.
    pub(super) fn value(&self, name: &str) -> Result<Option<&serde_json::Value>, Refusal> {
        let mut found = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        match (found.next(), found.next()) {
            (found, None) => Ok(found),
            _ => Err(format_error()),
        }
    }

    /// The string member `name`: `None` when absent or null, a format
    /// error when repeated or not a string.
    pub(super) fn text(&self, name: &str) -> Result<Option<String>, Refusal> {
        let mut found = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        match (found.next(), found.next()) {
            (None, _) | (Some(serde_json::Value::Null), None) => Ok(None),
            (Some(serde_json::Value::String(s)), None) => Ok(Some(s.clone())),
            _ => Err(format_error()),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Members, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The meta JSON's file-name and digest fields, by the upload's names,
/// which go into the record (and nothing else does: the record's meta
/// text shows the rest, cut to the log's limit). The meta is parsed only
/// within [`MAX_META_SIZE`].
fn parse_meta(
    upload: &Upload,
    meta: &[u8],
    record: &mut Received,
) -> Result<(String, String), Refusal> {
    let meta = Meta::read(meta)?;
    let filename = meta.text(upload.name_field)?;
    let sha256 = meta.text(upload.digest_field)?;
    for (name, value) in [
        (upload.name_field, &filename),
        (upload.digest_field, &sha256),
    ] {
        if let Some(value) = value {
            record.fields.push((name.to_owned(), value.clone()));
        }
    }
    let (Some(filename), Some(sha256)) = (
        filename.filter(|f| !f.is_empty()),
        sha256.filter(|s| !s.is_empty()),
    ) else {
        return Err(param_error(if upload.name_field == "filename" {
            "meta中缺少filename或sha256"
        } else {
            "meta中缺少文件名或文件摘要"
        }));
    };
    // A name with these cannot be put in a header or a path as it is, and
    // no real client sends one; whatever else the real service allows,
    // it does not take these.
    if filename.contains(['"', '\\', '\0', '\r', '\n']) {
        return Err(param_error(
            "meta中的filename包含非法字符，请检查后重新提交",
        ));
    }
    Ok((filename, sha256))
}

/// The file checks: suffix, size, digest, and for images the content.
fn check_media(
    v3: &V3Config,
    upload: &Upload,
    filename: &str,
    sha256: &str,
    data: &[u8],
) -> Result<(), Refusal> {
    let suffix = filename
        .rsplit_once('.')
        .map(|(_, s)| s.to_ascii_lowercase())
        .unwrap_or_default();
    let image_kind = match upload.suffixes {
        // Images only: `from_extension` knows the video suffixes too.
        Suffixes::Images => Some(
            MediaKind::from_extension(&suffix)
                .filter(|k| k.is_image())
                .ok_or_else(|| param_error(upload.suffix_message))?,
        ),
        Suffixes::JpgPngBmp => Some(image_suffix(filename, upload.suffix_message)?),
        Suffixes::Videos => {
            if !VIDEO_SUFFIXES.contains(&suffix.as_str()) {
                return Err(param_error(upload.suffix_message));
            }
            None
        }
        Suffixes::PdfJpgPngBmp => Some(
            ["pdf", "jpg", "png", "bmp"]
                .contains(&suffix.as_str())
                .then(|| MediaKind::from_extension(&suffix))
                .flatten()
                .ok_or_else(|| param_error(upload.suffix_message))?,
        ),
    };
    let limit = match upload.limit {
        Limit::ConfiguredImage => v3.max_image_size,
        Limit::Fixed(bytes) => bytes,
    };
    check_file(data, limit, upload.size_message, sha256, image_kind)
}

/// The image kind of a `jpg`, `bmp` or `png` suffix (the suffixes the
/// marketing and complaint uploads list; not `jpeg`), else `message`.
fn image_suffix(filename: &str, message: &'static str) -> Result<MediaKind, Refusal> {
    let suffix = filename
        .rsplit_once('.')
        .map(|(_, s)| s.to_ascii_lowercase())
        .unwrap_or_default();
    if !["jpg", "bmp", "png"].contains(&suffix.as_str()) {
        return Err(param_error(message));
    }
    MediaKind::from_extension(&suffix).ok_or_else(|| param_error(message))
}

/// Size (with the endpoint's own message), digest, and for images (and
/// the global file storage's PDFs) the content.
fn check_file(
    data: &[u8],
    limit: usize,
    too_large: &'static str,
    sha256: &str,
    image_kind: Option<MediaKind>,
) -> Result<(), Refusal> {
    if data.is_empty() || data.len() > limit {
        return Err(param_error(too_large));
    }
    if !sha256.eq_ignore_ascii_case(&sha256_hex(data)) {
        return Err(param_error("文件sha256值与meta中的sha256不一致"));
    }
    if let Some(kind) = image_kind
        && MediaKind::sniff(data) != Some(kind)
    {
        return Err(param_error("图片内容与文件格式不符，请检查后重新提交"));
    }
    Ok(())
}

/// A forced error code as v3 spells it, with its status. v2's spellings
/// (`SYSTEMERROR`, `SIGNERROR`) are translated so that one switch serves
/// both APIs.
fn forced(code: &str) -> (StatusCode, String) {
    let code = match code {
        "SYSTEMERROR" => "SYSTEM_ERROR",
        "SIGNERROR" => "SIGN_ERROR",
        other => other,
    };
    let status = match code {
        "SIGN_ERROR" => StatusCode::UNAUTHORIZED,
        "NO_AUTH" => StatusCode::FORBIDDEN,
        "RESOURCE_NOT_EXISTS" | "NOT_FOUND" => StatusCode::NOT_FOUND,
        "FREQUENCY_LIMITED" | "RATE_LIMITED" => StatusCode::TOO_MANY_REQUESTS,
        "SYSTEM_ERROR" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, code.to_owned())
}
