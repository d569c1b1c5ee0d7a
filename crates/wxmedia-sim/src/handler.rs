//! The pure request handler: `http::Request<Bytes>` in, `http::Response<Bytes>` out, every check of the real endpoint.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use futures_util::stream;
use http::{Method, Request, Response, StatusCode, header};
use md5::{Digest, Md5};
use wxmedia_proto::{ApiKey, MediaKind, SignType, StringToSign, xml};

use crate::faults::Faults;

/// The seed's limit: "图片大小不能超过2M", taken as 2 MiB.
pub const MAX_MEDIA_SIZE: usize = 2 * 1024 * 1024;

/// The identity the TLS layer proved, put in the request's extensions by
/// the server. A request without it is treated as sent without a
/// certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The subject CN of the client certificate.
    pub common_name: String,
}

/// What the simulator decided about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Accepted: this media id was returned.
    Uploaded {
        /// The new media id.
        media_id: String,
    },
    /// Refused with a WeChat Pay code and message.
    Refused {
        /// The error code, e.g. `PARAM_ERROR`.
        code: String,
        /// The message sent with it.
        message: &'static str,
    },
    /// Answered with an HTTP 502 gateway page (fault switch).
    BadGateway,
}

/// One request as the simulator received it, for assertions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Received {
    /// The HTTP method.
    pub method: Method,
    /// The client certificate's CN, if any.
    pub peer_cn: Option<String>,
    /// Text fields in the order they came (the `media` part excluded).
    pub fields: Vec<(String, String)>,
    /// The file name of the `media` part.
    pub filename: Option<String>,
    /// The `Content-Type` of the `media` part.
    pub content_type: Option<String>,
    /// Size of the media in bytes.
    pub media_len: usize,
    /// MD5 of the media actually received, lowercase hex.
    pub media_md5: Option<String>,
    /// What was decided.
    pub outcome: Outcome,
}

impl Received {
    /// A text field's value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The sign type the request named (`None` when the field was absent).
    pub fn sign_type(&self) -> Option<&str> {
        self.field("sign_type")
    }
}

/// The simulated endpoint: one merchant, its key, the fault switches and
/// the log of what was received. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    mch_id: String,
    api_key: ApiKey,
    max_media_size: usize,
    faults: Mutex<Faults>,
    log: Mutex<Vec<Received>>,
    window: Mutex<(Instant, u32)>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("mch_id", &self.inner.mch_id)
            .field("api_key", &self.inner.api_key)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one request must not take the simulator down with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why a request was refused, and at which layer the reply says so.
struct Refusal {
    code: String,
    message: &'static str,
    /// Return layer (unsigned: the request was not authenticated) or result
    /// layer (signed with the request's sign type).
    signed_as: Option<SignType>,
}

const INVALID_REQUEST: &str = "INVALID_REQUEST";
const PARAM_ERROR: &str = "PARAM_ERROR";
const SIGNERROR: &str = "SIGNERROR";

fn unsigned(code: &str, message: &'static str) -> Refusal {
    Refusal {
        code: code.to_owned(),
        message,
        signed_as: None,
    }
}

impl Simulator {
    /// A simulator for merchant `mch_id` with API key `api_key`.
    pub fn new(mch_id: impl Into<String>, api_key: ApiKey) -> Simulator {
        Simulator {
            inner: Arc::new(Inner {
                mch_id: mch_id.into(),
                api_key,
                max_media_size: MAX_MEDIA_SIZE,
                faults: Mutex::new(Faults::default()),
                log: Mutex::new(Vec::new()),
                window: Mutex::new((Instant::now(), 0)),
            }),
        }
    }

    /// The merchant id it accepts.
    pub fn mch_id(&self) -> &str {
        &self.inner.mch_id
    }

    /// The merchant's API key.
    pub fn api_key(&self) -> &ApiKey {
        &self.inner.api_key
    }

    /// Change the fault switches.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.inner.faults) = faults;
    }

    /// Change the fault switches in place.
    pub fn update_faults(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut lock(&self.inner.faults));
    }

    /// A copy of the current fault switches.
    pub fn faults(&self) -> Faults {
        lock(&self.inner.faults).clone()
    }

    /// The transport-level faults for the next reply: delay, drop the
    /// connection, truncate the reply. Counted down under one lock.
    pub(crate) fn take_transport_faults(&self) -> TransportFaults {
        let mut faults = lock(&self.inner.faults);
        let drop_it = faults.drop_connection.take();
        let truncate = !drop_it && faults.truncate_reply.take();
        TransportFaults {
            delay: faults.reply_delay,
            drop_it,
            truncate,
            huge: faults.huge_reply,
            endless: faults.endless_reply,
        }
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.inner.log).clone()
    }

    /// How many requests reached the handler.
    pub fn request_count(&self) -> usize {
        lock(&self.inner.log).len()
    }

    /// How many uploads succeeded.
    pub fn upload_count(&self) -> usize {
        lock(&self.inner.log)
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Uploaded { .. }))
            .count()
    }

    /// Answer one request. Pure apart from the simulator's own state (the
    /// log, the fault switches, the rate window and fresh media ids).
    pub fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let mut record = Received {
            method: req.method().clone(),
            peer_cn: req
                .extensions()
                .get::<PeerIdentity>()
                .map(|p| p.common_name.clone()),
            fields: Vec::new(),
            filename: None,
            content_type: None,
            media_len: 0,
            media_md5: None,
            outcome: Outcome::BadGateway,
        };
        let response = match self.decide(&req, &mut record) {
            Decision::Upload(sign_type) => {
                let media_id = new_media_id();
                record.outcome = Outcome::Uploaded {
                    media_id: media_id.clone(),
                };
                self.success(&media_id, sign_type)
            }
            Decision::Refuse(r) => {
                record.outcome = Outcome::Refused {
                    code: r.code.clone(),
                    message: r.message,
                };
                self.refusal(&r)
            }
            Decision::BadGateway => bad_gateway(),
        };
        lock(&self.inner.log).push(record);
        response
    }

    fn decide(&self, req: &Request<Bytes>, record: &mut Received) -> Decision {
        // A gateway in front of the service answers before any check.
        if lock(&self.inner.faults).bad_gateway.take() {
            return Decision::BadGateway;
        }
        if req.method() != Method::POST {
            return Decision::Refuse(unsigned(
                INVALID_REQUEST,
                "不支持http get方法，请使用post方法",
            ));
        }
        if record.peer_cn.is_none() {
            return Decision::Refuse(unsigned(INVALID_REQUEST, "获取客户端证书序列号失败"));
        }
        let Some(content_type) = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        else {
            return Decision::Refuse(unsigned(INVALID_REQUEST, "参数格式错误，请检查后重新提交"));
        };
        let Ok(boundary) = multer::parse_boundary(content_type) else {
            return Decision::Refuse(unsigned(INVALID_REQUEST, "参数格式错误，请检查后重新提交"));
        };
        // Reported by the community: a quoted boundary is refused.
        if content_type.contains("boundary=\"") {
            return Decision::Refuse(unsigned(PARAM_ERROR, "参数填写有误，请检查后重试"));
        }
        let Ok(parts) = parse_parts(req.body().clone(), &boundary) else {
            return Decision::Refuse(unsigned(INVALID_REQUEST, "参数格式错误，请检查后重新提交"));
        };
        let mut media: Option<Bytes> = None;
        for part in parts {
            if part.name == "media" {
                if part.rfc2231_filename || media.is_some() {
                    return Decision::Refuse(unsigned(PARAM_ERROR, "参数填写有误，请检查后重试"));
                }
                record.filename = part.filename;
                record.content_type = part.content_type;
                record.media_len = part.data.len();
                record.media_md5 = Some(md5_hex(&part.data));
                media = Some(part.data);
            } else {
                let Ok(value) = String::from_utf8(part.data.to_vec()) else {
                    return Decision::Refuse(unsigned(PARAM_ERROR, "参数填写有误，请检查后重试"));
                };
                if record.fields.iter().any(|(n, _)| *n == part.name) {
                    return Decision::Refuse(unsigned(PARAM_ERROR, "参数填写有误，请检查后重试"));
                }
                record.fields.push((part.name, value));
            }
        }
        let get = |name: &str| {
            record
                .fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let (Some(mch_id), Some(media_hash), Some(sign), Some(media)) =
            (get("mch_id"), get("media_hash"), get("sign"), media)
        else {
            return Decision::Refuse(unsigned(PARAM_ERROR, "参数填写有误，请检查后重试"));
        };
        if mch_id != self.inner.mch_id || record.peer_cn.as_deref() != Some(mch_id) {
            return Decision::Refuse(unsigned(PARAM_ERROR, "商户号mchid有误，请检查后重试"));
        }
        let sign_type = match get("sign_type") {
            None | Some("MD5") => SignType::Md5,
            Some("HMAC-SHA256") => SignType::HmacSha256,
            Some(_) => return Decision::Refuse(unsigned(SIGNERROR, "签名校验失败，请检查后重试")),
        };
        let to_sign =
            StringToSign::new(record.fields.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        if !to_sign.verify(&self.inner.api_key, sign_type, sign) {
            return Decision::Refuse(unsigned(SIGNERROR, "签名校验失败，请检查后重试"));
        }
        // From here the request is authenticated: answers are signed.
        let signed = |code: &str, message: &'static str| {
            Decision::Refuse(Refusal {
                code: code.to_owned(),
                message,
                signed_as: Some(sign_type),
            })
        };
        if let Some(code) = self.forced_error() {
            return signed(&code, "模拟错误");
        }
        if let Some(fault) = self.injected_fault() {
            return match fault {
                Injected::RateLimited => signed("FREQUENCY_LIMITED", "操作过快，请稍后重试"),
                Injected::SystemError => signed("SYSTEMERROR", "上传图片失败，请稍后重试"),
            };
        }
        if media.len() > self.inner.max_media_size {
            return signed(PARAM_ERROR, "图片大小不能超过2M，请检查后重新提交");
        }
        if MediaKind::sniff(&media).is_none() {
            return signed(PARAM_ERROR, "图片格式不正确，请检查后重新提交");
        }
        if record.media_md5.as_deref() != Some(media_hash) {
            return signed(PARAM_ERROR, "图片Hash值有误，请检查后重新提交");
        }
        Decision::Upload(sign_type)
    }

    fn forced_error(&self) -> Option<String> {
        let mut faults = lock(&self.inner.faults);
        let (code, times) = faults.forced_error.as_mut()?;
        times.take().then(|| code.clone())
    }

    fn injected_fault(&self) -> Option<Injected> {
        let mut faults = lock(&self.inner.faults);
        if let Some(limit) = faults.rate_limit_per_sec {
            let mut window = lock(&self.inner.window);
            let now = Instant::now();
            if now.duration_since(window.0) >= Duration::from_secs(1) {
                *window = (now, 0);
            }
            window.1 += 1;
            if window.1 > limit {
                return Some(Injected::RateLimited);
            }
        }
        if faults.system_error.take() {
            return Some(Injected::SystemError);
        }
        if faults.system_error_probability > 0.0 && random_unit() < faults.system_error_probability
        {
            return Some(Injected::SystemError);
        }
        None
    }

    fn success(&self, media_id: &str, sign_type: SignType) -> Response<Bytes> {
        let (wrong, omit) = {
            let mut faults = lock(&self.inner.faults);
            (faults.wrong_sign.take(), faults.omit_sign.take())
        };
        if omit {
            return xml_response(xml::write(&[
                ("return_code", "SUCCESS"),
                ("return_msg", "OK"),
                ("result_code", "SUCCESS"),
                ("media_id", media_id),
            ]));
        }
        let fields = [
            ("return_code", "SUCCESS"),
            ("return_msg", "OK"),
            ("result_code", "SUCCESS"),
            ("media_id", media_id),
        ];
        self.signed_reply(&fields, sign_type, wrong)
    }

    fn refusal(&self, r: &Refusal) -> Response<Bytes> {
        match r.signed_as {
            None => xml_response(xml::write(&[
                ("return_code", "FAIL"),
                ("return_msg", r.message),
                ("err_code", &r.code),
                ("err_code_des", r.message),
            ])),
            Some(sign_type) => {
                let wrong = lock(&self.inner.faults).wrong_sign.take();
                let fields = [
                    ("return_code", "SUCCESS"),
                    ("return_msg", "OK"),
                    ("result_code", "FAIL"),
                    ("err_code", &r.code),
                    ("err_code_des", r.message),
                ];
                self.signed_reply(&fields, sign_type, wrong)
            }
        }
    }

    fn signed_reply(
        &self,
        fields: &[(&str, &str)],
        sign_type: SignType,
        wrong: bool,
    ) -> Response<Bytes> {
        let sign = StringToSign::new(fields.iter().copied()).sign(&self.inner.api_key, sign_type);
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
}

/// What the server does to the next reply's delivery.
pub(crate) struct TransportFaults {
    pub(crate) delay: Duration,
    pub(crate) drop_it: bool,
    pub(crate) truncate: bool,
    pub(crate) huge: Option<u64>,
    pub(crate) endless: bool,
}

enum Decision {
    Upload(SignType),
    Refuse(Refusal),
    BadGateway,
}

enum Injected {
    RateLimited,
    SystemError,
}

pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    rfc2231_filename: bool,
    pub(crate) content_type: Option<String>,
    pub(crate) data: Bytes,
}

pub(crate) fn parse_parts(body: Bytes, boundary: &str) -> Result<Vec<Part>, multer::Error> {
    let mut mp = multer::Multipart::new(
        stream::once(async { Ok::<_, std::io::Error>(body) }),
        boundary,
    );
    // The whole body is already in memory, so every await is ready at once.
    futures_executor::block_on(async {
        let mut parts = Vec::new();
        while let Some(field) = mp.next_field().await? {
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let rfc2231_filename = field
                .headers()
                .get(header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("filename*"));
            let content_type = field.content_type().map(|m| m.to_string());
            let data = field.bytes().await?;
            parts.push(Part {
                name,
                filename,
                rfc2231_filename,
                content_type,
                data,
            });
        }
        Ok(parts)
    })
}

fn xml_response(body: String) -> Response<Bytes> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(Bytes::from(body))
        .expect("static response parts are valid")
}

fn bad_gateway() -> Response<Bytes> {
    Response::builder()
        .status(StatusCode::BAD_GATEWAY)
        .header(header::CONTENT_TYPE, "text/html")
        .body(Bytes::from_static(
            b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>stgw</center>\r\n</body>\r\n</html>\r\n",
        ))
        .expect("static response parts are valid")
}

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fresh URL-safe media id: 33 random bytes, base64url, 44 characters.
fn new_media_id() -> String {
    let mut bytes = [0u8; 33];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}
