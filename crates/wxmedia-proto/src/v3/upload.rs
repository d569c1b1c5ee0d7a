//! A v3 upload to any [`Endpoint`] as an [`Operation`] (PROTOCOL.md 2.1 to 2.4): the signed `meta` + `file` request, the verified reply, and the built-in endpoints' results.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Method, Request, Response, header};

use crate::endpoints::USER_AGENT;
use crate::multipart::PartWriter;
use crate::v3::custom::check_path;
use crate::v3::endpoint::{Api, Endpoint, Reply};
use crate::v3::reply::{DEFAULT_REPLY_LIMIT, request_id, verified_body};
use crate::v3::seal::{self, Random, Sealer};
use crate::v3::{Signer, Verifier, auth};
use crate::{Body, Env, Error, MchId, Media, MediaError, Operation};

/// A merchant's v3 identity: the merchant id, who signs its requests, and
/// which WeChat Pay keys its replies may be signed with. Cheap to clone and
/// share between uploads.
#[derive(Clone)]
pub struct Merchant {
    mch_id: MchId,
    signer: Arc<dyn Signer>,
    verifier: Arc<Verifier>,
    random: Arc<Random>,
}

impl fmt::Debug for Merchant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Merchant")
            .field("mch_id", &self.mch_id)
            .field("signer", &self.signer)
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
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
            random: Arc::new(seal::system_random),
        }
    }

    /// Take the random bytes that seal sensitive meta fields (OAEP seeds)
    /// from `random` instead of the operating system: a test's fixed bytes
    /// give the same request every time. Nothing else is random in a
    /// request (the nonce comes from the [`Env`]).
    #[must_use]
    pub fn with_random(mut self, random: Arc<Random>) -> Merchant {
        self.random = random;
        self
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

/// A verified upload to a built-in endpoint chosen at run time (an
/// [`Api`]): the result's field name comes from [`Api::reply_field`]. The
/// typed endpoints turn it into [`MediaId`] or [`MediaUrl`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadedMedia {
    /// Which upload it was.
    pub api: Api,
    /// The `media_id` (image, video) or `media_url` (marketing image), as
    /// [`Api::reply_field`] says.
    pub id: String,
    /// The reply field `id` came from: [`Api::reply_field`], or the field
    /// the host answered with instead (the marketing image's `media_id`).
    pub field: &'static str,
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

/// A verified upload whose result is a URL: the marketing image's
/// `media_url` (or another endpoint's URL field, as its
/// [`Api::reply_field`] names it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaUrl {
    /// The URL to put in a coupon's images; if the host answered with a
    /// `media_id` instead (see [`MediaUrl::field`]), that id.
    pub media_url: String,
    /// The reply field it came from: `media_url` (or the product coupon's
    /// `image_url`), or `media_id` when the host answered with that.
    pub field: &'static str,
    /// The SHA-256 of the media that was sent, lowercase hex.
    pub sha256: String,
    /// The reply's `Request-ID`, which WeChat Pay support asks for.
    pub request_id: Option<String>,
}

/// A verified fapiao file upload: its `fapiao_media_id`, which WeChat Pay
/// keeps for 3 days (issue the fapiao within them).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FapiaoMediaId {
    /// The id to name the file by when issuing the fapiao.
    pub fapiao_media_id: String,
    /// The SHA-256 of the file that was sent, lowercase hex (the meta
    /// carried its SM3; [`Media::sm3_hex`] gives that).
    pub sha256: String,
    /// The reply's `Request-ID`, which WeChat Pay support asks for.
    pub request_id: Option<String>,
}

/// A verified upload to the global file storage: its `file_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileId {
    /// The id to name the file by in later cross-border API calls.
    pub file_id: String,
    /// The SHA-256 of the file that was sent, lowercase hex (the meta's
    /// `digest`).
    pub sha256: String,
    /// The reply's `Request-ID`, which WeChat Pay support asks for.
    pub request_id: Option<String>,
}

impl From<UploadedMedia> for FapiaoMediaId {
    fn from(u: UploadedMedia) -> FapiaoMediaId {
        FapiaoMediaId {
            fapiao_media_id: u.id,
            sha256: u.sha256,
            request_id: u.request_id,
        }
    }
}

impl From<UploadedMedia> for FileId {
    fn from(u: UploadedMedia) -> FileId {
        FileId {
            file_id: u.id,
            sha256: u.sha256,
            request_id: u.request_id,
        }
    }
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
            field: u.field,
            sha256: u.sha256,
            request_id: u.request_id,
        }
    }
}

/// One v3 upload to the endpoint `E`: the media, the meta JSON (made
/// once, signed on every attempt with a fresh time and nonce), and the
/// merchant. `E` may be borrowed (`UploadV3<&E>`).
///
/// The built-in endpoints' meta `filename` is [`Media::wire_filename`], the
/// same name the file part carries: a non-ASCII name is sent as
/// `media.<ext>` in both, since a Chinese name in meta has been reported
/// to fail on the marketing endpoint.
#[derive(Clone)]
pub struct UploadV3<E = Api> {
    endpoint: E,
    merchant: Merchant,
    media: Media,
    meta: Bytes,
    reply_limit: usize,
}

impl<E: Endpoint> fmt::Debug for UploadV3<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadV3")
            .field("endpoint", &self.endpoint)
            .field("mch_id", &self.merchant.mch_id)
            .field("media", &self.media)
            .finish_non_exhaustive()
    }
}

impl<E: Endpoint> UploadV3<E> {
    /// Prepare an upload with the endpoint's size limit. The path must be
    /// one [`CustomApi::new`](super::CustomApi::new) would take, and the
    /// media of a kind the endpoint takes and within its limit.
    pub fn new(endpoint: E, merchant: Merchant, media: Media) -> Result<UploadV3<E>, Error> {
        let max_size = endpoint.max_size();
        UploadV3::with_max_size(endpoint, merchant, media, max_size)
    }

    /// Prepare an upload with another size limit in bytes.
    pub fn with_max_size(
        endpoint: E,
        merchant: Merchant,
        media: Media,
        max_size: usize,
    ) -> Result<UploadV3<E>, Error> {
        // A caller's own endpoint is held to the same path rules as a
        // `CustomApi`: it cannot leave `/v3/` or be sent other than signed.
        check_path(endpoint.path())?;
        check_upload(&merchant, &media, endpoint.accepts(media.kind()), max_size)?;
        let mut sealer = Sealer::new(&merchant.verifier, &*merchant.random);
        let meta = endpoint.meta(&media, &mut sealer)?;
        Ok(UploadV3 {
            endpoint,
            merchant,
            media,
            meta,
            reply_limit: DEFAULT_REPLY_LIMIT,
        })
    }

    /// Change the cap on the reply body (default 64 KiB).
    #[must_use]
    pub fn with_reply_limit(mut self, limit: usize) -> UploadV3<E> {
        self.reply_limit = limit;
        self
    }

    /// Which endpoint.
    pub fn endpoint(&self) -> &E {
        &self.endpoint
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

impl<E: Endpoint> Operation for UploadV3<E> {
    type Output = E::Output;

    /// The signed multipart request: part `meta` (JSON, no file name), then
    /// part `file`; `Authorization` signs the meta bytes at the `Env`'s
    /// time and nonce; `Wechatpay-Serial` names the key replies should be
    /// signed with.
    fn encode(&self, env: &Env) -> Result<Request<Body>, Error> {
        signed_request(
            &self.merchant,
            env,
            self.endpoint.path(),
            &self.meta,
            &self.media,
        )
    }

    /// Verify the reply before reading anything from it, then let the
    /// endpoint take its result.
    fn decode(&self, env: &Env, reply: Response<Bytes>) -> Result<E::Output, Error> {
        let request_id = request_id(reply.headers());
        let body = verified_body(
            reply,
            &self.merchant.verifier,
            env.reply_time(),
            self.reply_limit,
            || {
                auth::message(
                    "POST",
                    self.endpoint.path(),
                    env.unix_time(),
                    env.nonce().as_str(),
                    &self.meta,
                )
            },
        )?;
        self.endpoint.output(Reply {
            body: &body,
            media: &self.media,
            request_id,
        })
    }

    fn reply_limit(&self) -> usize {
        self.reply_limit
    }

    /// The endpoint's path and rate.
    fn pacing(&self) -> Option<crate::Pacing<'_>> {
        Some(crate::Pacing {
            path: self.endpoint.path(),
            rate: self.endpoint.rate(),
        })
    }
}

/// The request every v3 upload sends: part `meta` (JSON, no file name),
/// then part `file`; `Authorization` signs `meta` exactly as sent, at the
/// `Env`'s time and nonce; `Wechatpay-Serial` names the key replies should
/// be signed with.
fn signed_request(
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

/// The checks every v3 upload makes before anything is sent: a verifier
/// that can check the reply, a media kind the endpoint takes, the size.
fn check_upload(
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
