//! The v3 uploads as [`Operation`]s: image, video, marketing image and complaint image (PROTOCOL.md 2.1 to 2.4), and the signed `meta` + `file` request they share with [`CustomUploadV3`](super::CustomUploadV3).

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Method, Request, Response, header};
use serde::Serialize;

use crate::endpoints::USER_AGENT;
use crate::multipart::PartWriter;
use crate::v3::reply::{DEFAULT_REPLY_LIMIT, id_field, request_id, verified_body};
use crate::v3::{Signer, Verifier, auth};
use crate::{Body, Env, Error, MchId, Media, MediaError, MediaKind, Operation};

/// Which v3 upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Api {
    /// `POST /v3/merchant/media/upload`: JPG/PNG/BMP for merchant
    /// onboarding, replies `media_id`.
    Image,
    /// `POST /v3/merchant/media/video_upload`: videos, replies `media_id`.
    Video,
    /// `POST /v3/marketing/favor/media/image-upload`: JPG/PNG/BMP for
    /// coupons, replies `media_url`.
    MarketingImage,
    /// `POST /v3/merchant-service/images/upload`: JPG/PNG/BMP sent with a
    /// reply to a consumer complaint (消费者投诉2.0, 商户上传反馈图片),
    /// replies `media_id`.
    ComplaintImage,
}

impl Api {
    /// The request path.
    pub fn path(self) -> &'static str {
        match self {
            Api::Image => "/v3/merchant/media/upload",
            Api::Video => "/v3/merchant/media/video_upload",
            Api::MarketingImage => "/v3/marketing/favor/media/image-upload",
            Api::ComplaintImage => "/v3/merchant-service/images/upload",
        }
    }

    /// The default size limit: 5 MiB for images (older documents say
    /// 2 MiB; the server decides, so it can be changed with
    /// [`UploadV3::with_max_size`]), 5 MiB for videos, 2 MiB for marketing
    /// and complaint images.
    pub fn default_max_size(self) -> usize {
        match self {
            Api::Image | Api::Video => 5 * 1024 * 1024,
            Api::MarketingImage | Api::ComplaintImage => 2 * 1024 * 1024,
        }
    }

    /// The field of the reply that carries the result.
    pub fn reply_field(self) -> &'static str {
        match self {
            Api::Image | Api::Video | Api::ComplaintImage => "media_id",
            Api::MarketingImage => "media_url",
        }
    }

    /// Every API, in the order of this enum.
    pub const ALL: [Api; 4] = [
        Api::Image,
        Api::Video,
        Api::MarketingImage,
        Api::ComplaintImage,
    ];

    /// Whether this API takes media of `kind`.
    pub fn accepts(self, kind: MediaKind) -> bool {
        match self {
            Api::Image | Api::MarketingImage | Api::ComplaintImage => kind.is_image(),
            Api::Video => kind.is_video(),
        }
    }
}

/// A merchant's v3 identity: the merchant id, who signs its requests, and
/// which WeChat Pay keys its replies may be signed with. Cheap to clone and
/// share between uploads.
#[derive(Debug, Clone)]
pub struct Merchant {
    mch_id: MchId,
    signer: Arc<dyn Signer>,
    verifier: Arc<Verifier>,
}

impl Merchant {
    /// A merchant. `verifier` may be empty only for
    /// [`DownloadCertificates`](crate::v3::DownloadCertificates), which
    /// verifies with the certificates it downloads; an upload refuses an
    /// empty one.
    pub fn new(mch_id: MchId, signer: Arc<dyn Signer>, verifier: Arc<Verifier>) -> Merchant {
        Merchant {
            mch_id,
            signer,
            verifier,
        }
    }

    /// The merchant id.
    pub fn mch_id(&self) -> &MchId {
        &self.mch_id
    }

    /// The signer.
    pub fn signer(&self) -> &dyn Signer {
        &*self.signer
    }

    /// The keys replies are checked with.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The `Authorization` header of a request with this method, path and
    /// signed body, at the `Env`'s time and nonce.
    pub(crate) fn authorize(
        &self,
        env: &Env,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<String, Error> {
        let message = auth::message(method, path, env.unix_time(), env.nonce().as_str(), body);
        let signature = STANDARD.encode(self.signer.sign(&message)?);
        Ok(auth::authorization(
            self.mch_id.as_str(),
            env.nonce().as_str(),
            env.unix_time(),
            self.signer.serial_no(),
            &signature,
        ))
    }
}

/// A verified v3 upload of any [`Api`], as [`UploadV3`] yields it: the
/// result's field name comes from [`Api::reply_field`]. The clients turn
/// it into [`MediaId`] or [`MediaUrl`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadedMedia {
    /// Which upload it was.
    pub api: Api,
    /// The `media_id` (image, video) or `media_url` (marketing image), as
    /// [`Api::reply_field`] says.
    pub id: String,
    /// The SHA-256 of the media that was sent, lowercase hex (the meta's
    /// `sha256`).
    pub sha256: String,
    /// The reply's `Request-ID`, which WeChat Pay support asks for.
    pub request_id: Option<String>,
}

/// A verified image or video upload: its `media_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaId {
    /// The id to use in later API calls (merchant onboarding, ...).
    pub media_id: String,
    /// The SHA-256 of the media that was sent, lowercase hex.
    pub sha256: String,
    /// The reply's `Request-ID`, which WeChat Pay support asks for.
    pub request_id: Option<String>,
}

/// A verified marketing-image upload: its `media_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaUrl {
    /// The URL to put in a coupon's images.
    pub media_url: String,
    /// The SHA-256 of the media that was sent, lowercase hex.
    pub sha256: String,
    /// The reply's `Request-ID`, which WeChat Pay support asks for.
    pub request_id: Option<String>,
}

impl From<UploadedMedia> for MediaId {
    fn from(u: UploadedMedia) -> MediaId {
        MediaId {
            media_id: u.id,
            sha256: u.sha256,
            request_id: u.request_id,
        }
    }
}

impl From<UploadedMedia> for MediaUrl {
    fn from(u: UploadedMedia) -> MediaUrl {
        MediaUrl {
            media_url: u.id,
            sha256: u.sha256,
            request_id: u.request_id,
        }
    }
}

/// The `meta` part: the file name and its SHA-256, in this order.
#[derive(Serialize)]
struct Meta<'a> {
    filename: &'a str,
    sha256: &'a str,
}

/// One v3 upload: the media, the meta JSON (made once, signed on every
/// attempt with a fresh time and nonce), and the merchant.
///
/// The meta's `filename` is [`Media::wire_filename`], the same name the
/// file part carries: a non-ASCII name is sent as `media.<ext>` in both,
/// since a Chinese name in meta has been reported to fail on the
/// marketing endpoint.
#[derive(Clone)]
pub struct UploadV3 {
    api: Api,
    merchant: Merchant,
    media: Media,
    meta: Bytes,
    reply_limit: usize,
}

impl fmt::Debug for UploadV3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadV3")
            .field("api", &self.api)
            .field("mch_id", &self.merchant.mch_id)
            .field("media", &self.media)
            .finish_non_exhaustive()
    }
}

impl UploadV3 {
    /// Prepare an upload with the API's default size limit. The media must
    /// be of a kind the API takes and within its limit.
    pub fn new(api: Api, merchant: Merchant, media: Media) -> Result<UploadV3, Error> {
        UploadV3::with_max_size(api, merchant, media, api.default_max_size())
    }

    /// Prepare an upload with another size limit in bytes.
    pub fn with_max_size(
        api: Api,
        merchant: Merchant,
        media: Media,
        max_size: usize,
    ) -> Result<UploadV3, Error> {
        check_upload(&merchant, &media, api.accepts(media.kind()), max_size)?;
        let meta = serde_json::to_vec(&Meta {
            filename: media.wire_filename(),
            sha256: media.sha256_hex(),
        })
        .map_err(|e| Error::input("meta", e.to_string()))?;
        Ok(UploadV3 {
            api,
            merchant,
            media,
            meta: Bytes::from(meta),
            reply_limit: DEFAULT_REPLY_LIMIT,
        })
    }

    /// Change the cap on the reply body (default 64 KiB).
    pub fn with_reply_limit(mut self, limit: usize) -> UploadV3 {
        self.reply_limit = limit;
        self
    }

    /// Which upload.
    pub fn api(&self) -> Api {
        self.api
    }

    /// The media.
    pub fn media(&self) -> &Media {
        &self.media
    }

    /// The meta JSON exactly as sent and signed.
    pub fn meta(&self) -> &Bytes {
        &self.meta
    }
}

impl Operation for UploadV3 {
    type Output = UploadedMedia;

    /// The signed multipart request: part `meta` (JSON, no file name), then
    /// part `file`; `Authorization` signs the meta bytes at the `Env`'s
    /// time and nonce; `Wechatpay-Serial` names the key replies should be
    /// signed with.
    fn encode(&self, env: &Env) -> Result<Request<Body>, Error> {
        signed_request(
            &self.merchant,
            env,
            self.api.path(),
            &self.meta,
            &self.media,
        )
    }

    /// Verify the reply before reading anything from it, then take its
    /// `media_id` or `media_url`.
    fn decode(&self, env: &Env, reply: Response<Bytes>) -> Result<UploadedMedia, Error> {
        let request_id = request_id(reply.headers());
        let body = verified_reply(
            &self.merchant,
            env,
            self.api.path(),
            &self.meta,
            reply,
            self.reply_limit,
        )?;
        Ok(UploadedMedia {
            api: self.api,
            id: id_field(&body, self.api.reply_field())?,
            sha256: self.media.sha256_hex().to_owned(),
            request_id,
        })
    }

    fn reply_limit(&self) -> usize {
        self.reply_limit
    }
}

/// The request every v3 upload sends: part `meta` (JSON, no file name),
/// then part `file`; `Authorization` signs `meta` exactly as sent, at the
/// `Env`'s time and nonce; `Wechatpay-Serial` names the key replies should
/// be signed with.
pub(crate) fn signed_request(
    merchant: &Merchant,
    env: &Env,
    path: &str,
    meta: &Bytes,
    media: &Media,
) -> Result<Request<Body>, Error> {
    let boundary = env.boundary();
    let mut parts = PartWriter::new(boundary, media.content())?;
    parts.typed("meta", "application/json", meta);
    let body = parts.finish(
        "file",
        media.wire_filename(),
        media.kind().content_type(),
        media.content().clone(),
    );
    let authorization = merchant.authorize(env, "POST", path, meta)?;
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("{}{}", env.base_url(), path))
        .header(header::AUTHORIZATION, authorization)
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, boundary.content_type())
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::USER_AGENT, USER_AGENT);
    if let Some(serial) = merchant.verifier.preferred_serial() {
        request = request.header("Wechatpay-Serial", serial);
    }
    request
        .body(body)
        .map_err(|e| Error::input("request", e.to_string()))
}

/// The body of a reply to [`signed_request`], once verified; a 401
/// `SIGN_ERROR` shows the message that request signed.
pub(crate) fn verified_reply(
    merchant: &Merchant,
    env: &Env,
    path: &str,
    meta: &Bytes,
    reply: Response<Bytes>,
    limit: usize,
) -> Result<Bytes, Error> {
    verified_body(reply, &merchant.verifier, env.reply_time(), limit, || {
        auth::message("POST", path, env.unix_time(), env.nonce().as_str(), meta)
    })
}

/// The checks every v3 upload makes before anything is sent: a verifier
/// that can check the reply, a media kind the endpoint takes, the size.
pub(crate) fn check_upload(
    merchant: &Merchant,
    media: &Media,
    accepted: bool,
    max_size: usize,
) -> Result<(), Error> {
    if merchant.verifier.is_empty() {
        // Every reply would be refused: say so before anything is sent.
        return Err(Error::input(
            "verifier",
            "holds no WeChat Pay public key or platform certificate to check replies with",
        ));
    }
    if !accepted {
        return Err(MediaError::UnsupportedExtension {
            ext: media.kind().extension().to_owned(),
        }
        .into());
    }
    if media.len() > max_size {
        return Err(MediaError::TooLarge {
            size: media.len(),
            limit: max_size,
        }
        .into());
    }
    Ok(())
}
