//! The v2 upload as an [`Operation`]: the signed multipart request (PROTOCOL.md 1.1, 1.2) and its verified reply.

use std::fmt;

use bytes::Bytes;
use http::{Method, Request, Response, header};

use crate::endpoints::USER_AGENT;
use crate::multipart::PartWriter;
use crate::v2::reply::{DEFAULT_REPLY_LIMIT, decode_reply};
use crate::v2::{Credentials, Sign, SignType, StringToSign};
use crate::{Body, Env, Error, Media, MediaError, MediaHash, Operation};

/// Path of the v2 upload endpoint.
pub const UPLOAD_PATH: &str = "/secapi/mch/uploadmedia";

/// The upload's rate limit: WeChat Pay allows image uploads 10 times a
/// second per merchant (its FAQ on 图片上传).
pub const RATE: crate::Rate = crate::Rate::per_second(10);

/// The v2 upload's size limit: 2 MiB. The seed says "不超过2M"; the server
/// is the real judge of the exact byte count, so
/// [`UploadV2::with_max_size`] can change it.
pub const MAX_MEDIA_SIZE: usize = 2 * 1024 * 1024;

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
/// As an [`Operation`], [`encode`](Operation::encode) gives the request to
/// send (as many times as retries need: encoding again shares the media
/// again) and [`decode`](Operation::decode) turns the reply into an
/// [`Uploaded`] or an [`Error`]. v2 uses the `Env`'s base URL and boundary;
/// its time and nonce play no part.
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
    /// Prepare an upload. The signature is computed here. Media over
    /// [`MAX_MEDIA_SIZE`] is refused ([`MediaError::TooLarge`], an input
    /// error: nothing is sent).
    pub fn new(
        credentials: Credentials,
        media: Media,
        sign_type: SignType,
    ) -> Result<UploadV2, Error> {
        UploadV2::with_max_size(credentials, media, sign_type, MAX_MEDIA_SIZE)
    }

    /// Prepare an upload with another size limit in bytes.
    pub fn with_max_size(
        credentials: Credentials,
        media: Media,
        sign_type: SignType,
        max_size: usize,
    ) -> Result<UploadV2, Error> {
        if media.len() > max_size {
            return Err(MediaError::TooLarge {
                size: media.len(),
                limit: max_size,
            }
            .into());
        }
        let fields = signed_fields(&credentials, &media, sign_type);
        let to_sign = StringToSign::new(fields.iter().copied());
        let sign = to_sign.sign(&credentials.api_key, sign_type);
        let redacted = to_sign.redacted();
        Ok(UploadV2 {
            credentials,
            media,
            sign_type,
            sign,
            redacted,
            reply_limit: DEFAULT_REPLY_LIMIT,
        })
    }

    /// Change the cap on the reply body (default 64 KiB).
    pub fn with_reply_limit(mut self, limit: usize) -> UploadV2 {
        self.reply_limit = limit;
        self
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
}

impl Operation for UploadV2 {
    type Output = Uploaded;

    /// Build the HTTP request.
    ///
    /// Fails only with [`Error::BoundaryInMedia`] when the boundary
    /// delimiter occurs in the media.
    fn encode(&self, env: &Env) -> Result<Request<Body>, Error> {
        let boundary = env.boundary();
        let mut parts = PartWriter::new(boundary, self.media.content())?;
        let fields = signed_fields(&self.credentials, &self.media, self.sign_type);
        for (name, value) in fields
            .iter()
            .copied()
            .chain(std::iter::once(("sign", self.sign.as_str())))
        {
            parts.text(name, value);
        }
        let body = parts.finish(
            "media",
            self.media.wire_filename(),
            self.media.kind().content_type(),
            self.media.content().clone(),
        );
        let uri = format!("{}{}", env.base_url(), UPLOAD_PATH);
        Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, boundary.content_type())
            .header(header::CONTENT_LENGTH, body.len())
            .header(header::ACCEPT, "application/xml, text/xml")
            .header(header::USER_AGENT, USER_AGENT)
            .body(body)
            .map_err(|e| Error::input("base url", e.to_string()))
    }

    /// Decode the reply to this upload (see [`decode_reply`]); v2 replies
    /// carry everything in the body, so the headers play no part.
    fn decode(&self, _env: &Env, reply: Response<Bytes>) -> Result<Uploaded, Error> {
        let status = reply.status();
        let media_id = decode_reply(
            status,
            reply.into_body(),
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

    /// The cap on the reply body; transports stop reading beyond it.
    fn reply_limit(&self) -> usize {
        self.reply_limit
    }

    /// An image upload: WeChat Pay's 10 a second per merchant.
    fn pacing(&self) -> Option<crate::Pacing<'_>> {
        Some(crate::Pacing {
            path: UPLOAD_PATH,
            rate: RATE,
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

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = b"\xFF\xD8\xFF\xD9";

    fn jpeg_of(size: usize) -> Media {
        // Zero padding after EOI keeps the JPEG whole.
        let mut bytes = JPEG.to_vec();
        bytes.resize(size, 0);
        Media::new("a.jpg", bytes).unwrap()
    }

    fn upload(media: Media) -> Result<UploadV2, Error> {
        UploadV2::new(Credentials::new("1", "k").unwrap(), media, SignType::Md5)
    }

    #[test]
    fn the_upload_owns_its_two_mib_limit() {
        assert!(
            upload(jpeg_of(MAX_MEDIA_SIZE)).is_ok(),
            "exactly at the limit"
        );
        let e = upload(jpeg_of(MAX_MEDIA_SIZE + 1)).unwrap_err();
        assert!(e.is_input_error());
        assert!(matches!(
            e,
            Error::Media(MediaError::TooLarge { size, limit: MAX_MEDIA_SIZE })
                if size == MAX_MEDIA_SIZE + 1
        ));
        let small = UploadV2::with_max_size(
            Credentials::new("1", "k").unwrap(),
            jpeg_of(4),
            SignType::Md5,
            3,
        );
        assert!(matches!(
            small,
            Err(Error::Media(MediaError::TooLarge { size: 4, limit: 3 }))
        ));
    }
}
