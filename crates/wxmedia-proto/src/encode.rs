//! Building the signed multipart request of a v2 upload (PROTOCOL.md 1.1, 1.2).

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use http::{Method, Request, StatusCode, Uri, header};

use crate::reply::{DEFAULT_REPLY_LIMIT, decode_reply};
use crate::{Credentials, Error, Media, MediaHash, Sign, SignType, StringToSign};

/// Path of the v2 upload endpoint.
pub const UPLOAD_PATH: &str = "/secapi/mch/uploadmedia";

/// The primary host.
pub const PRIMARY_BASE_URL: &str = "https://api.mch.weixin.qq.com";

/// The disaster-recovery twin of the primary host.
pub const TWIN_BASE_URL: &str = "https://api2.mch.weixin.qq.com";

/// The `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("wxmedia/", env!("CARGO_PKG_VERSION"));

/// A multipart boundary: 1 to 70 characters of `[0-9A-Za-z-]`, which is
/// what the server accepts unquoted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Boundary(String);

impl Boundary {
    /// Validate a boundary.
    pub fn new(boundary: impl Into<String>) -> Result<Boundary, Error> {
        let b = boundary.into();
        if b.is_empty() || b.len() > 70 {
            return Err(Error::input("boundary", "must be 1 to 70 characters"));
        }
        if !b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            return Err(Error::input("boundary", "may only contain [0-9A-Za-z-]"));
        }
        Ok(Boundary(b))
    }

    /// A boundary made from 16 random bytes the caller supplies (the core
    /// has no randomness of its own): `wxmedia-` and 32 hex digits.
    pub fn from_random(random: [u8; 16]) -> Boundary {
        Boundary(format!("wxmedia-{}", crate::hex::encode(&random, false)))
    }

    /// The boundary text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Boundary({})", self.0)
    }
}

/// What the caller decides for one request: where it goes and how it is
/// framed. Everything that would make the output vary lives here, so the
/// same inputs give the same bytes.
#[derive(Debug, Clone)]
pub struct Env {
    base_url: String,
    boundary: Boundary,
}

impl Env {
    /// `base_url` is `https://host[:port]` with an optional path prefix and
    /// no query; the upload path is appended to it.
    pub fn new(base_url: &str, boundary: Boundary) -> Result<Env, Error> {
        let trimmed = base_url.trim_end_matches('/');
        let uri: Uri = trimmed
            .parse()
            .map_err(|_| Error::input("base url", format!("{base_url:?} is not a URL")))?;
        if uri.scheme_str() != Some("https") {
            return Err(Error::input(
                "base url",
                "must start with https:// (the upload needs mutual TLS)",
            ));
        }
        if uri.authority().is_none() {
            return Err(Error::input("base url", "has no host"));
        }
        if uri.query().is_some() || trimmed.contains('#') {
            return Err(Error::input(
                "base url",
                "must not have a query or fragment",
            ));
        }
        Ok(Env {
            base_url: trimmed.to_owned(),
            boundary,
        })
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The multipart boundary.
    pub fn boundary(&self) -> &Boundary {
        &self.boundary
    }
}

/// A request body as an ordered list of byte segments: the multipart head,
/// the caller's media (shared, never copied), and the closing delimiter.
/// Transports write the segments in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    segments: Vec<Bytes>,
}

impl Body {
    /// The segments, in order.
    pub fn segments(&self) -> &[Bytes] {
        &self.segments
    }

    /// Take the segments.
    pub fn into_segments(self) -> Vec<Bytes> {
        self.segments
    }

    /// Total length in bytes (the `Content-Length`).
    pub fn len(&self) -> usize {
        self.segments.iter().map(Bytes::len).sum()
    }

    /// Whether the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole body in one buffer. This copies the media: for tests and
    /// for transports that cannot write segments.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.len());
        for s in &self.segments {
            out.put_slice(s);
        }
        out.freeze()
    }
}

/// A successful upload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Uploaded {
    /// The id to use in later API calls.
    pub media_id: String,
    /// The MD5 of the media that was sent, lowercase hex.
    pub media_hash: MediaHash,
    /// How the request and the reply were signed.
    pub sign_type: SignType,
}

/// One v2 upload: validated media, credentials and sign type, signed once.
///
/// [`UploadV2::encode`] gives the request to send (as many times as retries
/// need: encoding again shares the media again); [`UploadV2::decode`] turns
/// the reply into an [`Uploaded`] or an [`Error`].
#[derive(Clone)]
pub struct UploadV2 {
    credentials: Credentials,
    media: Media,
    sign_type: SignType,
    sign: Sign,
    redacted: String,
    reply_limit: usize,
}

impl UploadV2 {
    /// Prepare an upload. The signature is computed here.
    pub fn new(credentials: Credentials, media: Media, sign_type: SignType) -> UploadV2 {
        let fields = signed_fields(&credentials, &media, sign_type);
        let to_sign = StringToSign::new(fields.iter().copied());
        let sign = to_sign.sign(&credentials.api_key, sign_type);
        let redacted = to_sign.redacted();
        UploadV2 {
            credentials,
            media,
            sign_type,
            sign,
            redacted,
            reply_limit: DEFAULT_REPLY_LIMIT,
        }
    }

    /// Change the cap on the reply body (default 64 KiB).
    pub fn with_reply_limit(mut self, limit: usize) -> UploadV2 {
        self.reply_limit = limit;
        self
    }

    /// The cap on the reply body; transports stop reading beyond it.
    pub fn reply_limit(&self) -> usize {
        self.reply_limit
    }

    /// The media.
    pub fn media(&self) -> &Media {
        &self.media
    }

    /// The sign type.
    pub fn sign_type(&self) -> SignType {
        self.sign_type
    }

    /// The request signature.
    pub fn sign(&self) -> &Sign {
        &self.sign
    }

    /// The string that was signed, key replaced by `***`.
    pub fn string_to_sign_redacted(&self) -> &str {
        &self.redacted
    }

    /// Build the HTTP request.
    ///
    /// Fails only with [`Error::BoundaryInMedia`] when the boundary
    /// delimiter occurs in the media.
    pub fn encode(&self, env: &Env) -> Result<Request<Body>, Error> {
        let boundary = env.boundary().as_str();
        let mut delimiter = Vec::with_capacity(boundary.len() + 2);
        delimiter.extend_from_slice(b"--");
        delimiter.extend_from_slice(boundary.as_bytes());
        if memchr::memmem::find(self.media.content(), &delimiter).is_some() {
            return Err(Error::BoundaryInMedia);
        }

        let mut head = BytesMut::with_capacity(512);
        let fields = signed_fields(&self.credentials, &self.media, self.sign_type);
        for (name, value) in fields
            .iter()
            .copied()
            .chain(std::iter::once(("sign", self.sign.as_str())))
        {
            put(&mut head, &["--", boundary, "\r\n"]);
            put(
                &mut head,
                &[
                    "Content-Disposition: form-data; name=\"",
                    name,
                    "\"\r\n\r\n",
                    value,
                    "\r\n",
                ],
            );
        }
        put(&mut head, &["--", boundary, "\r\n"]);
        put(
            &mut head,
            &[
                "Content-Disposition: form-data; name=\"media\"; filename=\"",
                self.media.wire_filename(),
                "\"\r\nContent-Type: ",
                self.media.kind().content_type(),
                "\r\n\r\n",
            ],
        );
        let mut tail = BytesMut::with_capacity(boundary.len() + 8);
        put(&mut tail, &["\r\n--", boundary, "--\r\n"]);

        let body = Body {
            segments: vec![head.freeze(), self.media.content().clone(), tail.freeze()],
        };
        let uri = format!("{}{}", env.base_url(), UPLOAD_PATH);
        Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::CONTENT_LENGTH, body.len())
            .header(header::ACCEPT, "application/xml, text/xml")
            .header(header::USER_AGENT, USER_AGENT)
            .body(body)
            .map_err(|e| Error::input("base url", e.to_string()))
    }

    /// Decode the reply to this upload (see [`crate::reply::decode_reply`]).
    pub fn decode(&self, status: StatusCode, body: Bytes) -> Result<Uploaded, Error> {
        let media_id = decode_reply(
            status,
            body,
            &self.credentials.api_key,
            self.sign_type,
            self.reply_limit,
        )?;
        Ok(Uploaded {
            media_id,
            media_hash: self.media.hash().clone(),
            sign_type: self.sign_type,
        })
    }
}

impl fmt::Debug for UploadV2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadV2")
            .field("mch_id", &self.credentials.mch_id)
            .field("media", &self.media)
            .field("sign_type", &self.sign_type)
            .field("sign", &self.sign)
            .finish_non_exhaustive()
    }
}

/// The signed text fields, in the order they are sent.
fn signed_fields<'a>(
    credentials: &'a Credentials,
    media: &'a Media,
    sign_type: SignType,
) -> Vec<(&'static str, &'a str)> {
    let mut fields = vec![
        ("mch_id", credentials.mch_id.as_str()),
        ("media_hash", media.hash().as_str()),
    ];
    if sign_type == SignType::HmacSha256 {
        fields.push(("sign_type", sign_type.as_str()));
    }
    fields
}

fn put(buf: &mut BytesMut, parts: &[&str]) {
    for p in parts {
        buf.put_slice(p.as_bytes());
    }
}
