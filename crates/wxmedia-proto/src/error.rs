//! The one error type of the core, and the API error codes of both generations (PROTOCOL.md 1.4, 2.4).

use std::fmt;

use bytes::Bytes;
use http::StatusCode;

/// Everything that can go wrong between "here is a file" and "here is a
/// verified `media_id`".
///
/// Errors that come from a reply keep the raw reply body (see
/// [`Error::raw_body`]) so that a user can show exactly what the server said.
/// Use [`Error::is_retryable`] and [`Error::api_code`] rather than matching
/// when all you need is a decision.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The media was refused before anything was sent.
    #[error(transparent)]
    Media(#[from] MediaError),

    /// A merchant id, API key, boundary or base URL is not acceptable.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// Which input was refused (`"merchant id"`, `"api key"`, ...).
        what: &'static str,
        /// Why it was refused. Never contains a secret.
        reason: String,
    },

    /// The multipart boundary occurs inside the media bytes, so the body
    /// could not be framed. Pick another boundary.
    #[error("the multipart boundary occurs inside the media; choose another boundary")]
    BoundaryInMedia,

    /// The server answered with a non-2xx HTTP status (for example a 502
    /// page from a gateway). The body is kept as it came, so that an
    /// operation whose errors arrive as non-2xx JSON (v3's `{code, message,
    /// detail}`) can read it.
    #[error("HTTP status {status} from the server")]
    Http {
        /// The HTTP status.
        status: StatusCode,
        /// The raw reply body.
        body: Bytes,
    },

    /// The reply body is larger than the decoder accepts.
    #[error("reply body of at least {size} bytes exceeds the limit of {limit} bytes")]
    ReplyTooLarge {
        /// Bytes seen (a lower bound when the reader stopped at the cap).
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// The reply is not a well-formed WeChat Pay answer (v2 XML, v3 JSON).
    #[error("malformed reply: {reason}")]
    Decode {
        /// What is wrong with it.
        reason: DecodeError,
        /// The raw reply body.
        body: Bytes,
    },

    /// The reply claims success but its signature is missing or wrong. No
    /// media id is ever returned in this case.
    #[error("reply signature {kind}")]
    Signature {
        /// Missing or mismatched.
        kind: SignatureError,
        /// The raw reply body.
        body: Bytes,
    },

    /// WeChat Pay answered and refused the upload.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl Error {
    /// Whether sending the same upload again later can succeed.
    ///
    /// `FREQUENCY_LIMITED` and `SYSTEMERROR` can; so can an HTTP 5xx or 429
    /// from a gateway. Bad input, `SIGNERROR`, `PARAM_ERROR`, malformed or
    /// unverifiable replies cannot.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => api.is_retryable(),
            Error::Http { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }

    /// Whether the server asked us to slow down (`FREQUENCY_LIMITED`, or
    /// v3's `RATE_LIMITED`): a caller running many uploads should pause
    /// them all, not just retry this one.
    pub fn is_rate_limited(&self) -> bool {
        self.api_code().is_some_and(ErrorCode::is_rate_limited)
    }

    /// The WeChat Pay error code, when the server sent one.
    pub fn api_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api(api) => api.code.as_ref(),
            _ => None,
        }
    }

    /// The raw reply body, for errors that come from a reply.
    pub fn raw_body(&self) -> Option<&Bytes> {
        match self {
            Error::Http { body, .. }
            | Error::Decode { body, .. }
            | Error::Signature { body, .. } => Some(body),
            Error::Api(api) => Some(&api.body),
            _ => None,
        }
    }

    /// Whether this error was raised before anything was sent: the input
    /// itself is unusable. A command line maps these to "usage" failures.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            Error::Media(_) | Error::InvalidInput { .. } | Error::BoundaryInMedia
        )
    }

    pub(crate) fn input(what: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            what,
            reason: reason.into(),
        }
    }
}

/// Why a file was refused as upload media. Each case is its own variant so
/// that callers can tell the user exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The content is empty.
    #[error("media is empty")]
    Empty,
    /// The content is larger than the configured limit.
    #[error("media is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Size of the content.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The content is not JPEG, PNG or BMP by its magic bytes.
    #[error("media content is not JPEG, PNG or BMP")]
    UnknownContent,
    /// The file name has no extension, or one that is not jpg/jpeg/png/bmp.
    #[error("file extension {ext:?} is not one of jpg, jpeg, png, bmp")]
    UnsupportedExtension {
        /// The extension found (empty when there is none).
        ext: String,
    },
    /// The extension names another format than the content has.
    #[error("file extension {ext:?} does not match its {detected} content")]
    ExtensionMismatch {
        /// The extension found.
        ext: String,
        /// The format the content really has.
        detected: crate::MediaKind,
    },
    /// The file name cannot be put into a multipart header safely.
    #[error("file name is not usable: {reason}")]
    BadFilename {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The content starts like its format but its end is missing: the
    /// file was probably copied or downloaded only in part.
    #[error(
        "media looks cut short: the {kind} data ends before its end marker (was the file copied or downloaded completely?)"
    )]
    Truncated {
        /// The format the content has.
        kind: crate::MediaKind,
    },
    /// For a video upload: the file name has no extension, or one that is
    /// not in v3's video list.
    #[error(
        "file extension {ext:?} is not one of avi, wmv, mpeg, mp4, mov, mkv, flv, f4v, m4v, rmvb"
    )]
    UnsupportedVideoExtension {
        /// The extension found (empty when there is none).
        ext: String,
    },
    /// For a document upload: the file name's extension is not `pdf`.
    #[error("file extension {ext:?} is not pdf")]
    UnsupportedDocumentExtension {
        /// The extension found (empty when there is none).
        ext: String,
    },
    /// For a text upload: the file name's extension is not `txt` or `csv`.
    #[error("file extension {ext:?} is not txt or csv")]
    UnsupportedTextExtension {
        /// The extension found (empty when there is none).
        ext: String,
    },
    /// For a text upload: the content is not plain UTF-8 text (or is, but
    /// another format's by its magic bytes: see
    /// [`ExtensionMismatch`](MediaError::ExtensionMismatch)).
    #[error("media is not UTF-8 text ({kind}): {reason}, at byte {at}")]
    NotText {
        /// The format the extension names.
        kind: crate::MediaKind,
        /// The offset of the first offending byte.
        at: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// For a document upload: the content does not start with `%PDF-`.
    #[error("media content is not a PDF (it does not start with %PDF-)")]
    UnknownDocumentContent,
    /// For a video upload: the content is none of the video formats by its
    /// magic bytes.
    #[error("media content is not AVI, WMV, MPEG, MP4/MOV/M4V/F4V, MKV, FLV or RMVB video")]
    UnknownVideoContent,
    /// For a video upload: a box, chunk, element or tag of the container
    /// declares an end past the end of the file: the file was probably
    /// copied or downloaded only in part.
    #[error(
        "media looks cut short: the {kind} {part} at byte {at} declares its end at byte {declared_end} but the file is {len} bytes (was the file copied or downloaded completely?)"
    )]
    VideoCutShort {
        /// The format, as the extension names it.
        kind: crate::MediaKind,
        /// Which part ran past the end, with any name from the file
        /// escaped (`box 'mdat'`, `video tag`, `Segment element`).
        part: String,
        /// Where that part starts.
        at: u64,
        /// Where it says it ends (the end of its header when even that
        /// is missing).
        declared_end: u64,
        /// The file's length.
        len: u64,
    },
    /// An image's structure is broken in a way that is not a cut (a
    /// second start-of-image, a JPEG segment length under 2, a PNG chunk
    /// length over 2^31): decoders refuse it, so it is not sent.
    #[error("media is not a well-formed {kind} file: {reason}")]
    MalformedImage {
        /// The format.
        kind: crate::MediaKind,
        /// What is wrong.
        reason: &'static str,
    },
    /// For a video upload: the container's structure is broken in a way
    /// that is not a cut (a box smaller than its header, no `moov`, …).
    #[error("media is not a well-formed {kind} file: {reason}")]
    MalformedVideo {
        /// The format, as the extension names it.
        kind: crate::MediaKind,
        /// What is wrong, with any name from the file escaped.
        reason: String,
    },
}

/// What is structurally wrong with a reply body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The XML could not be parsed.
    #[error("XML syntax: {0}")]
    Syntax(String),
    /// The body has a `<!DOCTYPE`, which could declare entities (XXE).
    #[error("DOCTYPE is not allowed")]
    Doctype,
    /// An entity other than the five predefined ones (and character
    /// references) was used.
    #[error("entity not allowed: {0}")]
    Entity(String),
    /// Text is not valid UTF-8.
    #[error("text is not valid UTF-8")]
    Utf8,
    /// The root element is not `<xml>`, or there is more than one root.
    #[error("root element must be a single <xml>")]
    Root,
    /// An element inside a field, or other structure the flat format has not.
    #[error("nested element <{0}> is not allowed")]
    Nested(String),
    /// The same field name appears twice.
    #[error("duplicate field <{0}>")]
    Duplicate(String),
    /// A required field is absent.
    #[error("missing field <{0}>")]
    Missing(&'static str),
    /// A field has a value the protocol does not define.
    #[error("unexpected value for <{field}>")]
    Unexpected {
        /// The field name.
        field: &'static str,
    },
    /// The body is empty or holds only whitespace.
    #[error("empty body")]
    Empty,
    /// A v3 body is not the JSON expected.
    #[error("JSON: {0}")]
    Json(String),
}

/// Why a reply's signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The reply carries no signature (v2: SUCCESS without `sign`; v3: no
    /// `Wechatpay-Signature`).
    #[error("is missing")]
    Missing,
    /// The signature does not match the reply (v2: its fields and the API
    /// key; v3: the timestamp, nonce and body under the named key).
    #[error("does not verify")]
    Mismatch,
    /// v3: a `Wechatpay-*` header the signature needs is absent or not text.
    #[error("cannot be checked: header {0} is missing")]
    MissingHeader(&'static str),
    /// v3: a `Wechatpay-*` header appears more than once.
    #[error("cannot be checked: header {0} appears twice")]
    DuplicateHeader(&'static str),
    /// v3: `Wechatpay-Serial` names no key this client holds.
    #[error("names a key this client does not hold (Wechatpay-Serial)")]
    UnknownSerial,
    /// v3: `Wechatpay-Serial` names a platform certificate this client
    /// holds but that, when the reply arrived, had expired or was not yet
    /// valid (its `notBefore`/`notAfter`).
    #[error("names a platform certificate that is expired or not yet valid (Wechatpay-Serial)")]
    CertificateNotValid,
    /// v3: `Wechatpay-Timestamp` is not a number, or 300 s or more from
    /// the time the reply arrived: stale or replayed.
    #[error("is outside the 300 s window (Wechatpay-Timestamp)")]
    Timestamp,
    /// v3: `Wechatpay-Signature-Type` is not `WECHATPAY2-SHA256-RSA2048`.
    #[error("has an unsupported type (Wechatpay-Signature-Type)")]
    UnsupportedType,
}

/// Which layer of a reply carried the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layer {
    /// v2 `return_code` = FAIL: the communication layer (message in `return_msg`).
    Return,
    /// v2 `result_code` = FAIL: the business layer (`err_code`, `err_code_des`).
    Result,
    /// v3: a non-2xx status with a JSON `{code, message, detail}` body.
    Status,
}

/// A refusal by WeChat Pay, with its code when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", code.as_ref().map(|c| format!("{c}: ")).unwrap_or_default())]
#[non_exhaustive]
pub struct ApiError {
    /// Which layer failed.
    pub layer: Layer,
    /// The error code (v2 `err_code` or a code found at the return layer;
    /// v3 `code`).
    pub code: Option<ErrorCode>,
    /// The server's description (v2 `err_code_des` or `return_msg`; v3
    /// `message`, with a diagnostic appended for a v3 `SIGN_ERROR`).
    pub message: String,
    /// The HTTP status (v3 errors; v2 errors come with 200).
    pub status: Option<StatusCode>,
    /// v3's `Request-ID` header, which WeChat Pay support asks for.
    pub request_id: Option<String>,
    /// The raw reply body.
    pub body: Bytes,
}

impl ApiError {
    /// An API error with no reply behind it (no status, request id or
    /// body): for tests of code that handles these errors.
    pub fn new(layer: Layer, code: Option<ErrorCode>, message: impl Into<String>) -> ApiError {
        ApiError::v2(layer, code, message.into(), Bytes::new())
    }

    /// An error of a v2 reply (HTTP 200, no request id).
    pub(crate) fn v2(layer: Layer, code: Option<ErrorCode>, message: String, body: Bytes) -> Self {
        ApiError {
            layer,
            code,
            message,
            status: None,
            request_id: None,
            body,
        }
    }

    /// Whether a later retry can help: `FREQUENCY_LIMITED`, `SYSTEMERROR`
    /// and their v3 spellings, or a v3 error with status 429 or 5xx.
    pub fn is_retryable(&self) -> bool {
        self.code.as_ref().is_some_and(ErrorCode::is_retryable)
            || self
                .status
                .is_some_and(|s| s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS)
    }
}

/// The error codes of the upload APIs (PROTOCOL.md 1.4 for v2, 2.4 for v3).
/// Unknown codes are kept as data rather than refused.
///
/// v2 and v3 spell some codes differently (`SIGNERROR` / `SIGN_ERROR`,
/// `SYSTEMERROR` / `SYSTEM_ERROR`, `FREQUENCY_LIMITED` / `RATE_LIMITED`);
/// each spelling has its own variant, so that [`ErrorCode::as_str`] gives
/// back exactly what the server wrote, and the predicates
/// ([`ErrorCode::is_retryable`], [`ErrorCode::is_rate_limited`],
/// [`ErrorCode::is_sign_error`]) treat the spellings alike. The naming
/// rule: a code of one API only ends in `V2` or `V3`; a code both APIs
/// send (`INVALID_REQUEST`, `PARAM_ERROR`) has no suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `INVALID_REQUEST`: wrong method, bad XML, certificate problem or no
    /// permission.
    InvalidRequest,
    /// v2 `SIGNERROR`: the request signature did not verify on the server.
    SignErrorV2,
    /// `PARAM_ERROR`: a parameter is wrong (image format, size, hash,
    /// merchant id...).
    ParamError,
    /// v2 `FREQUENCY_LIMITED`: too many requests, slow down and retry.
    FrequencyLimitedV2,
    /// v2 `SYSTEMERROR`: server-side failure, retry later.
    SystemErrorV2,
    /// v3 `SIGN_ERROR` (HTTP 401): the request signature did not verify.
    SignErrorV3,
    /// v3 `SYSTEM_ERROR` (HTTP 500): server-side failure, retry later.
    SystemErrorV3,
    /// v3 `RATE_LIMITED` (HTTP 429): too many requests, slow down and retry.
    RateLimitedV3,
    /// v3 `NO_AUTH` (HTTP 403): the merchant may not call this API.
    NoAuthV3,
    /// v3 `RESOURCE_NOT_EXISTS` (HTTP 404), e.g. platform certificates for a
    /// merchant in public-key mode.
    ResourceNotExistsV3,
    /// A code this library does not know.
    Other(String),
}

impl ErrorCode {
    /// Parse a code as the server writes it.
    pub fn parse(code: &str) -> ErrorCode {
        match code {
            "INVALID_REQUEST" => ErrorCode::InvalidRequest,
            "SIGNERROR" => ErrorCode::SignErrorV2,
            "PARAM_ERROR" => ErrorCode::ParamError,
            "FREQUENCY_LIMITED" => ErrorCode::FrequencyLimitedV2,
            "SYSTEMERROR" => ErrorCode::SystemErrorV2,
            "SIGN_ERROR" => ErrorCode::SignErrorV3,
            "SYSTEM_ERROR" => ErrorCode::SystemErrorV3,
            "RATE_LIMITED" => ErrorCode::RateLimitedV3,
            "NO_AUTH" => ErrorCode::NoAuthV3,
            "RESOURCE_NOT_EXISTS" => ErrorCode::ResourceNotExistsV3,
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    /// The code as the server writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::SignErrorV2 => "SIGNERROR",
            ErrorCode::ParamError => "PARAM_ERROR",
            ErrorCode::FrequencyLimitedV2 => "FREQUENCY_LIMITED",
            ErrorCode::SystemErrorV2 => "SYSTEMERROR",
            ErrorCode::SignErrorV3 => "SIGN_ERROR",
            ErrorCode::SystemErrorV3 => "SYSTEM_ERROR",
            ErrorCode::RateLimitedV3 => "RATE_LIMITED",
            ErrorCode::NoAuthV3 => "NO_AUTH",
            ErrorCode::ResourceNotExistsV3 => "RESOURCE_NOT_EXISTS",
            ErrorCode::Other(s) => s,
        }
    }

    /// Whether a retry can help: rate limits and server-side failures, in
    /// either spelling.
    pub fn is_retryable(&self) -> bool {
        self.is_rate_limited()
            || matches!(self, ErrorCode::SystemErrorV2 | ErrorCode::SystemErrorV3)
    }

    /// Whether the server asked us to slow down, in either spelling.
    pub fn is_rate_limited(&self) -> bool {
        matches!(
            self,
            ErrorCode::FrequencyLimitedV2 | ErrorCode::RateLimitedV3
        )
    }

    /// Whether the server refused the request's signature, in either spelling.
    pub fn is_sign_error(&self) -> bool {
        matches!(self, ErrorCode::SignErrorV2 | ErrorCode::SignErrorV3)
    }

    /// Whether this looks like an error code (upper-case ASCII letters,
    /// digits and `_`), used to pick a code out of a `return_msg`.
    pub(crate) fn looks_like_code(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code this library names, in both spellings, and one it does not.
    const CODES: [&str; 11] = [
        "INVALID_REQUEST",
        "SIGNERROR",
        "PARAM_ERROR",
        "FREQUENCY_LIMITED",
        "SYSTEMERROR",
        "SIGN_ERROR",
        "SYSTEM_ERROR",
        "RATE_LIMITED",
        "NO_AUTH",
        "RESOURCE_NOT_EXISTS",
        "SOMETHING_NEW",
    ];

    #[test]
    fn every_known_spelling_round_trips() {
        for code in CODES {
            let parsed = ErrorCode::parse(code);
            assert_eq!(parsed.as_str(), code);
            assert_eq!(
                matches!(parsed, ErrorCode::Other(_)),
                code == "SOMETHING_NEW",
                "{code}"
            );
        }
    }

    #[test]
    fn predicates_treat_both_spellings_alike() {
        let retryable = [
            "FREQUENCY_LIMITED",
            "RATE_LIMITED",
            "SYSTEMERROR",
            "SYSTEM_ERROR",
        ];
        let rate = ["FREQUENCY_LIMITED", "RATE_LIMITED"];
        let sign = ["SIGNERROR", "SIGN_ERROR"];
        for code in CODES {
            let c = ErrorCode::parse(code);
            assert_eq!(c.is_retryable(), retryable.contains(&code), "{code}");
            assert_eq!(c.is_rate_limited(), rate.contains(&code), "{code}");
            assert_eq!(c.is_sign_error(), sign.contains(&code), "{code}");
        }
    }

    #[test]
    fn rate_limited_errors_are_told_apart_from_other_retryable_ones() {
        let api = |code: &str| {
            Error::Api(ApiError::v2(
                Layer::Result,
                Some(ErrorCode::parse(code)),
                String::new(),
                Bytes::new(),
            ))
        };
        assert!(api("FREQUENCY_LIMITED").is_rate_limited());
        assert!(api("RATE_LIMITED").is_rate_limited());
        assert!(!api("SYSTEMERROR").is_rate_limited());
        assert!(api("SYSTEMERROR").is_retryable());
        let http = Error::Http {
            status: StatusCode::BAD_GATEWAY,
            body: Bytes::from_static(b"<html>502</html>"),
        };
        assert!(!http.is_rate_limited());
        assert_eq!(http.raw_body().unwrap().as_ref(), b"<html>502</html>");
    }
}
