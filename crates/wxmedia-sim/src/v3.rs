//! API v3: the three media uploads and `GET /v3/certificates`, RSA-signed requests checked in the real gateway's order, JSON replies signed in headers.
//!
//! This is an implementation of the server side written from the protocol
//! notes alone, sharing no code with the client core's v3 support: where
//! the two agree, they agree because both follow the record, which is what
//! makes the simulator worth testing a client against.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use serde::Serialize;
use wxmedia_proto::MediaKind;

use crate::handler::{Injected, Outcome, Received, Simulator, V3ReplyFaults};
use crate::inputs::{AEAD_NONCE_BYTES, Inputs, MEDIA_ID_BYTES, NONCE_BYTES, REQUEST_ID_BYTES};
use crate::multipart::{FormError, Part, parse_form_lenient};
use crate::pki::{V3Keys, V3Signer};

/// The default size limit of `/v3/merchant/media/upload`: 5 MiB, what the
/// newer documentation says (it said 2 MB until 2024; the server decides,
/// so it is configurable with [`V3Config::with_max_image_size`]).
pub const V3_MAX_IMAGE_SIZE: usize = 5 * 1024 * 1024;
/// The size limit of `/v3/merchant/media/video_upload`: 5 MiB.
pub const V3_MAX_VIDEO_SIZE: usize = 5 * 1024 * 1024;
/// The size limit of `/v3/marketing/favor/media/image-upload`: 2 MiB.
pub const V3_MAX_MARKETING_IMAGE_SIZE: usize = 2 * 1024 * 1024;

pub(crate) const IMAGE_PATH: &str = "/v3/merchant/media/upload";
pub(crate) const VIDEO_PATH: &str = "/v3/merchant/media/video_upload";
pub(crate) const MARKETING_IMAGE_PATH: &str = "/v3/marketing/favor/media/image-upload";
pub(crate) const CERTIFICATES_PATH: &str = "/v3/certificates";

/// How far a request's timestamp may be from the server's clock.
const TIMESTAMP_WINDOW: u64 = 300;
/// How old the `stale_reply_timestamp` fault makes a reply: twice the
/// window clients allow, so that no rounding makes it pass.
const STALE_BY: u64 = 600;
const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// `truncated_sign_message` in a SIGN_ERROR reply: the real one truncates
/// long messages; at what length is not on record.
const SIGN_MESSAGE_SHOWN: usize = 1024;

const VIDEO_SUFFIXES: &[&str] = &[
    "avi", "wmv", "mpeg", "mp4", "mov", "mkv", "flv", "f4v", "m4v", "rmvb",
];

/// The v3 endpoints, each with the one method it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /v3/merchant/media/upload`.
    Image,
    /// `POST /v3/merchant/media/video_upload`.
    Video,
    /// `POST /v3/marketing/favor/media/image-upload`.
    MarketingImage,
    /// `GET /v3/certificates`.
    Certificates,
}

/// The v3 endpoint at this method and path, if any.
pub(crate) fn route(method: &Method, path: &str) -> Option<Endpoint> {
    match (method, path) {
        (&Method::POST, IMAGE_PATH) => Some(Endpoint::Image),
        (&Method::POST, VIDEO_PATH) => Some(Endpoint::Video),
        (&Method::POST, MARKETING_IMAGE_PATH) => Some(Endpoint::MarketingImage),
        (&Method::GET, CERTIFICATES_PATH) => Some(Endpoint::Certificates),
        _ => None,
    }
}

/// API v3's keys and settings for a [`Simulator`]: which key signs the
/// replies and how large an image `/v3/merchant/media/upload` takes.
/// Cheap to clone; clones share the keys.
#[derive(Debug, Clone)]
pub struct V3Config {
    keys: Arc<V3Keys>,
    signer: V3Signer,
    max_image_size: usize,
}

impl V3Config {
    /// These keys, replies signed with the WeChat Pay public key, and the
    /// 5 MiB image limit.
    pub fn new(keys: V3Keys) -> V3Config {
        V3Config {
            keys: Arc::new(keys),
            signer: V3Signer::default(),
            max_image_size: V3_MAX_IMAGE_SIZE,
        }
    }

    /// Sign replies with `signer` instead.
    #[must_use]
    pub fn with_signer(mut self, signer: V3Signer) -> V3Config {
        self.signer = signer;
        self
    }

    /// Accept images up to `bytes` on `/v3/merchant/media/upload`.
    #[must_use]
    pub fn with_max_image_size(mut self, bytes: usize) -> V3Config {
        self.max_image_size = bytes;
        self
    }

    /// The key material.
    pub fn keys(&self) -> &V3Keys {
        &self.keys
    }

    /// Which key signs the replies.
    pub fn signer(&self) -> V3Signer {
        self.signer
    }

    /// The image limit of `/v3/merchant/media/upload`, in bytes.
    pub fn max_image_size(&self) -> usize {
        self.max_image_size
    }

    /// What `Wechatpay-Serial` says on the replies.
    pub fn reply_serial(&self) -> &str {
        self.keys.serial_for(self.signer)
    }
}

/// A v3 refusal: HTTP status, code, message and the optional `detail`.
struct Refusal {
    status: StatusCode,
    code: String,
    message: &'static str,
    detail: Option<serde_json::Value>,
}

fn refuse(status: StatusCode, code: &str, message: &'static str) -> Refusal {
    Refusal {
        status,
        code: code.to_owned(),
        message,
        detail: None,
    }
}

fn param_error(message: &'static str) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, "PARAM_ERROR", message)
}

/// A 401 SIGN_ERROR about one Authorization parameter, with the `detail`
/// shape of the real replies.
fn auth_error(field: &str, issue: &str, message: &'static str) -> Refusal {
    Refusal {
        detail: Some(serde_json::json!({
            "field": field,
            "location": "authorization",
            "detail": { "issue": issue },
        })),
        ..refuse(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message)
    }
}

const BAD_AUTHORIZATION: &str =
    "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》";

/// What a request that passed every check gets.
enum Success {
    MediaId(String),
    MediaUrl(String),
    Certificates,
}

/// Answer one request routed to a v3 endpoint, filling in what was
/// received; returns what was decided and the signed reply.
pub(crate) fn handle(
    sim: &Simulator,
    v3: &V3Config,
    endpoint: Endpoint,
    req: &Request<Bytes>,
    inputs: &Inputs,
    record: &mut Received,
) -> (Outcome, Response<Bytes>) {
    let (outcome, status, body) = match decide(sim, v3, endpoint, req, inputs, record) {
        Ok(Success::MediaId(media_id)) => {
            let body = json(&serde_json::json!({ "media_id": media_id }));
            (Outcome::Uploaded { media_id }, StatusCode::OK, body)
        }
        Ok(Success::MediaUrl(media_url)) => {
            let body = json(&serde_json::json!({ "media_url": media_url }));
            (Outcome::UploadedUrl { media_url }, StatusCode::OK, body)
        }
        Ok(Success::Certificates) => (
            Outcome::Certificates,
            StatusCode::OK,
            certificates_body(v3, inputs),
        ),
        Err(r) => {
            let body = json(&ErrorBody {
                code: &r.code,
                detail: r.detail.as_ref(),
                message: r.message,
            });
            let outcome = Outcome::Refused {
                code: r.code,
                message: r.message,
            };
            (outcome, r.status, body)
        }
    };
    let faults = sim.take_v3_reply_faults();
    (outcome, reply(v3, inputs, status, body, &faults))
}

/// The error body. Its members are in the order the real replies have them
/// (alphabetical), whatever serde_json's map type does.
#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a serde_json::Value>,
    message: &'a str,
}

fn json<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("replies serialize"))
}

/// The decision chain, in the order `docs/TESTING.md` lists.
fn decide(
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
    message.extend_from_slice(meta.as_deref().unwrap_or_default());
    message.push(b'\n');
    if !v3.keys.verify_merchant(&message, &auth.signature) {
        return Err(sign_not_match(req.method(), url, &message));
    }
    // From here the request is authenticated.
    if let Some(code) = sim.take_forced_error() {
        let (status, code) = forced(&code);
        return Err(refuse(status, &code, "模拟错误"));
    }
    if let Some(fault) = sim.take_injected_fault(inputs) {
        return Err(match fault {
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
        });
    }
    if endpoint == Endpoint::Certificates {
        return match v3.signer {
            V3Signer::PlatformCert => Ok(Success::Certificates),
            V3Signer::PublicKey => Err(refuse(
                StatusCode::NOT_FOUND,
                "RESOURCE_NOT_EXISTS",
                "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥",
            )),
        };
    }
    let meta = meta.ok_or_else(|| param_error("缺少meta参数"))?;
    let (filename, sha256) = parse_meta(&meta, record)?;
    let file = file.ok_or_else(|| param_error("缺少file参数"))?;
    check_media(v3, endpoint, &filename, &sha256, &file.data)?;
    let id =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&inputs.random[MEDIA_ID_BYTES]);
    Ok(match endpoint {
        Endpoint::MarketingImage => {
            Success::MediaUrl(format!("https://wxpaylogo.qpic.cn/wxpaylogo/{id}/0"))
        }
        _ => Success::MediaId(id),
    })
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
        record.meta = Some(String::from_utf8_lossy(m).into_owned());
    }
    if let Some(f) = &file {
        record.filename = f.filename.clone();
        record.content_type = f.content_type.clone();
        record.media_len = f.data.len();
        record.media_sha256 = Some(sha256_hex(&f.data));
    }
    Ok((meta, file))
}

/// The meta JSON's `filename` and `sha256`; its string members go into the
/// record.
fn parse_meta(meta: &[u8], record: &mut Received) -> Result<(String, String), Refusal> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(meta) else {
        return Err(param_error("meta格式错误，请检查后重新提交"));
    };
    for (k, v) in &map {
        if let Some(s) = v.as_str() {
            record.fields.push((k.clone(), s.to_owned()));
        }
    }
    let text = |name: &str| {
        map.get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match (text("filename"), text("sha256")) {
        (Some(f), Some(s)) => Ok((f, s)),
        _ => Err(param_error("meta中缺少filename或sha256")),
    }
}

/// The file checks: suffix, size, digest, and for images the content.
fn check_media(
    v3: &V3Config,
    endpoint: Endpoint,
    filename: &str,
    sha256: &str,
    data: &[u8],
) -> Result<(), Refusal> {
    let suffix = filename
        .rsplit_once('.')
        .map(|(_, s)| s.to_ascii_lowercase())
        .unwrap_or_default();
    let (image_kind, limit) = match endpoint {
        Endpoint::Image => {
            // Images only: `from_extension` knows the video suffixes too.
            let kind = MediaKind::from_extension(&suffix)
                .filter(|k| k.is_image())
                .ok_or_else(|| param_error("图片格式不正确，仅支持JPG、JPEG、BMP、PNG"))?;
            (Some(kind), v3.max_image_size)
        }
        Endpoint::MarketingImage => {
            if !["jpg", "bmp", "png"].contains(&suffix.as_str()) {
                return Err(param_error("图片格式不正确，仅支持JPG、BMP、PNG"));
            }
            (
                MediaKind::from_extension(&suffix),
                V3_MAX_MARKETING_IMAGE_SIZE,
            )
        }
        Endpoint::Video => {
            if !VIDEO_SUFFIXES.contains(&suffix.as_str()) {
                return Err(param_error(
                    "视频格式不正确，仅支持avi、wmv、mpeg、mp4、mov、mkv、flv、f4v、m4v、rmvb",
                ));
            }
            (None, V3_MAX_VIDEO_SIZE)
        }
        Endpoint::Certificates => unreachable!("certificates carry no file"),
    };
    if data.is_empty() || data.len() > limit {
        return Err(param_error("文件大小不符合要求，请检查后重新提交"));
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

/// The SIGN_ERROR of a signature that does not verify, showing the message
/// the server built, as the real reply does.
fn sign_not_match(method: &Method, url: &str, message: &[u8]) -> Refusal {
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

/// `{"data":[…]}` with the platform certificate encrypted under the APIv3
/// key; members in the real reply's order.
fn certificates_body(v3: &V3Config, inputs: &Inputs) -> Bytes {
    #[derive(Serialize)]
    struct List<'a> {
        data: [Entry<'a>; 1],
    }
    #[derive(Serialize)]
    struct Entry<'a> {
        serial_no: &'a str,
        effective_time: String,
        expire_time: String,
        encrypt_certificate: Encrypted,
    }
    #[derive(Serialize)]
    struct Encrypted {
        algorithm: &'static str,
        nonce: String,
        associated_data: &'static str,
        ciphertext: String,
    }
    const ASSOCIATED_DATA: &str = "certificate";
    let keys = &v3.keys;
    let nonce = hex_lower(&inputs.random[AEAD_NONCE_BYTES]);
    let (not_before, not_after) = keys.platform_validity();
    let body = List {
        data: [Entry {
            serial_no: keys.platform_serial_no(),
            effective_time: beijing_time(not_before),
            expire_time: beijing_time(not_after),
            encrypt_certificate: Encrypted {
                algorithm: "AEAD_AES_256_GCM",
                ciphertext: seal(
                    keys.api_v3_key(),
                    &nonce,
                    ASSOCIATED_DATA,
                    keys.platform_cert_pem(),
                ),
                nonce,
                associated_data: ASSOCIATED_DATA,
            },
        }],
    };
    json(&body)
}

/// base64 of AES-256-GCM ciphertext followed by its 16-byte tag.
fn seal(key: &str, nonce: &str, associated_data: &str, plaintext: &str) -> String {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key.as_bytes()).expect("APIv3 keys are 32 bytes"),
    );
    let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes()).expect("12-byte nonce");
    let mut in_out = plaintext.as_bytes().to_vec();
    key.seal_in_place_append_tag(nonce, Aad::from(associated_data.as_bytes()), &mut in_out)
        .expect("a certificate is far below AES-GCM's limit");
    base64::engine::general_purpose::STANDARD.encode(in_out)
}

/// An unknown key id / serial for the `unknown_reply_serial` fault.
fn unknown_serial(signer: V3Signer) -> &'static str {
    match signer {
        V3Signer::PublicKey => "PUB_KEY_ID_0000000000000000000000000000000000",
        V3Signer::PlatformCert => "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
    }
}

/// The reply with its signature headers, as the fault switches allow.
fn reply(
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

fn sha256_hex(data: &[u8]) -> String {
    hex_lower(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3339 in China Standard Time (`+08:00`), as WeChat Pay writes times.
fn beijing_time(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix + 8 * 3600);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+08:00")
}

/// Year, month, day, hour, minute, second (UTC) of a Unix time; the
/// days-to-date step is Howard Hinnant's `civil_from_days`.
pub(crate) fn civil(unix: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (secs / 3600) as u32,
        (secs % 3600 / 60) as u32,
        (secs % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_ones() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(beijing_time(1_619_512_832), "2021-04-27T16:40:32+08:00");
    }

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
