//! Sans-IO core of wxmedia: WeChat Pay v2 media uploads as bytes in, bytes out.
//!
//! This crate turns a file and a merchant's credentials into a complete,
//! signed HTTP request for `POST /secapi/mch/uploadmedia`, and turns the
//! reply bytes into a verified `media_id` or a typed [`Error`]. It does no
//! I/O: **no sockets, no files, no clock, no runtime**. Anyone can drive it
//! from their own HTTP stack; the `wxmedia-hyper`, `wxmedia-surf` and
//! `wxmedia-blocking` crates are such drivers.
//!
//! # In scope
//!
//! * Media checks before sending: empty, too large, not JPEG/PNG/BMP by
//!   content, extension that lies, unsafe file name ([`Media`]).
//! * The MD5 `media_hash`, and the v2 signature, MD5 or HMAC-SHA256, with one
//!   canonical-string builder for requests and replies ([`StringToSign`]).
//! * The multipart body, byte-exact, with the media shared rather than
//!   copied ([`UploadV2::encode`], [`Body`]).
//! * Strict reply decoding and signature verification ([`UploadV2::decode`]).
//! * Retry and failover decisions as pure functions of what happened and
//!   when ([`RetryPolicy`], [`Endpoints`]), and the whole loop as a state
//!   machine transports drive ([`Driver`]).
//!
//! # Out of scope
//!
//! * Connecting, TLS and client certificates, timeouts, sleeping: the
//!   transport's job.
//! * Reading files and generating randomness: the caller passes bytes, the
//!   boundary and the jitter in.
//! * The v3 upload APIs (RSA-signed JSON meta): planned beside v2.
//!
//! # The driving loop
//!
//! A transport drives one upload like this:
//!
//! 1. Build [`Credentials`] and a [`Media`] (refusals here are input errors:
//!    nothing was sent), then an [`UploadV2`] with a [`SignType`].
//! 2. For each attempt, ask [`Endpoints::current`] for the base URL, build
//!    an [`Env`] with a fresh [`Boundary`], and call [`UploadV2::encode`].
//! 3. Send the request's segments in order; read the reply body up to
//!    [`UploadV2::reply_limit`] bytes (stop reading at the cap).
//! 4. Tell [`Endpoints::record`] whether the host was reached.
//! 5. Pass status and body to [`UploadV2::decode`]. `Ok` is a verified
//!    upload: done.
//! 6. On any failure ask [`RetryPolicy::decide`]; sleep for `RetryAfter`
//!    and go to 2, or report the error on `Stop`.
//!
//! # Example: the exact bytes of a request
//!
//! ```
//! use bytes::Bytes;
//! use wxmedia_proto::{Boundary, Credentials, Env, Media, SignType, UploadV2};
//!
//! let credentials = Credentials::new("1000000000", "192006250b4c09247ec02edce69f6a2d")?;
//! let media = Media::new("a.jpg", Bytes::from_static(b"\xFF\xD8\xFF\xE0"))?;
//! let upload = UploadV2::new(credentials, media, SignType::Md5);
//! let env = Env::new("https://api.mch.weixin.qq.com", Boundary::new("B")?)?;
//! let request = upload.encode(&env)?;
//!
//! assert_eq!(request.uri(), "https://api.mch.weixin.qq.com/secapi/mch/uploadmedia");
//! assert_eq!(request.headers()["content-type"], "multipart/form-data; boundary=B");
//! assert_eq!(request.headers()["content-length"], "354");
//! assert_eq!(
//!     request.body().to_bytes(),
//!     Bytes::from_static(
//!         b"--B\r\n\
//!           Content-Disposition: form-data; name=\"mch_id\"\r\n\r\n\
//!           1000000000\r\n\
//!           --B\r\n\
//!           Content-Disposition: form-data; name=\"media_hash\"\r\n\r\n\
//!           d03d864b7f43db9ce34df5f720509d0e\r\n\
//!           --B\r\n\
//!           Content-Disposition: form-data; name=\"sign\"\r\n\r\n\
//!           751A51D5239E5154828B42BCFA55573E\r\n\
//!           --B\r\n\
//!           Content-Disposition: form-data; name=\"media\"; filename=\"a.jpg\"\r\n\
//!           Content-Type: image/jpeg\r\n\r\n\
//!           \xFF\xD8\xFF\xE0\r\n\
//!           --B--\r\n"
//!     )
//! );
//! # Ok::<(), wxmedia_proto::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod credentials;
pub mod driver;
pub mod encode;
pub mod error;
pub mod failover;
#[doc(hidden)]
pub mod fuzzing;
mod hex;
pub mod media;
pub mod reply;
pub mod retry;
pub mod sign;
pub mod xml;

pub use credentials::{ApiKey, Credentials, MchId, SignType};
pub use driver::{AttemptEnd, Driver, Step};
pub use encode::{Body, Boundary, Env, UploadV2, Uploaded};
pub use error::{ApiError, DecodeError, Error, ErrorCode, Layer, MediaError, SignatureError};
pub use failover::{Connectivity, Endpoints};
pub use media::{Media, MediaHash, MediaKind};
pub use retry::{Decision, Failure, RetryPolicy};
pub use sign::{Sign, StringToSign};
