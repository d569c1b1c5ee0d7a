//! Sans-IO core of wxmedia: WeChat Pay media uploads as bytes in, bytes out.
//!
//! This crate turns a file and a merchant's credentials into a complete,
//! signed `http::Request` for either API generation (v2 `uploadmedia`; v3's
//! built-in uploads, [`v3::Api::ALL`], and any other v3 upload path of the
//! same shape, [`v3::CustomApi`] or a caller's own [`v3::Endpoint`]), and
//! turns the
//! `http::Response` that comes back
//! into a verified result or a typed [`Error`]. It does no I/O: **no
//! sockets, no files, no clock, no runtime**. Anyone can drive it from
//! their own HTTP stack; the `wxmedia-client` crate and its transports
//! (`wxmedia-hyper`, `wxmedia-surf`, `wxmedia-blocking`) are such drivers.
//!
//! # Layout
//!
//! The shared pieces sit at the top; each API generation is a module of
//! [`Operation`]s over them.
//!
//! | module | job |
//! |---|---|
//! | [`media`] | [`Media`]: kinds, sniffing, size and name checks; MD5 and SHA-256 computed on demand |
//! | [`multipart`] | [`Boundary`], the segmented [`Body`], [`PartWriter`](multipart::PartWriter) |
//! | [`env`](mod@env) | [`Env`]: base URL, boundary, Unix time, [`Nonce`]: every source of variation, as inputs |
//! | [`operation`] | the [`Operation`] trait: `encode(env)`, `decode(env, reply)`, `reply_limit()` |
//! | [`driver`] | [`Driver`]: any operation through attempts, retries and failover |
//! | [`retry`] | [`RetryPolicy::decide`]: pure backoff, jitter passed in |
//! | [`rate`] | [`Rate`], the pacing arithmetic of rate limiters ([`Pace`]), `Retry-After` |
//! | [`endpoints`] | host constants, [`default_twin`](endpoints::default_twin), the failover rule ([`Endpoints`]) |
//! | [`error`] | [`Error`], [`ErrorCode`] (v2 and v3 spellings) and their predicates |
//! | [`v2`] | `POST /secapi/mch/uploadmedia`: [`v2::UploadV2`] and everything only v2 uses |
//! | [`v3`] | one upload to any [`v3::Endpoint`] ([`v3::UploadV3`]): the built-in ones (all in [`v3::Api::ALL`]; [`v3::Image`], [`v3::MarketingImage`], ...; chosen at run time as a [`v3::Api`]), a [`v3::CustomApi`], or a caller's own; [`v3::Signer`], [`v3::Verifier`] |
//!
//! # In scope
//!
//! * Media checks before sending: empty, too large, not JPEG/PNG/BMP (or,
//!   for v3's video upload, not one of its ten video formats) by content,
//!   extension that lies, an image cut short (its end marker missing),
//!   unsafe file name; and the image's dimensions ([`Media`]).
//! * The v2 MD5 `media_hash` and signature, MD5 or HMAC-SHA256, with one
//!   canonical-string builder for requests and replies
//!   ([`v2::StringToSign`]).
//! * The multipart body, byte-exact, with the media shared rather than
//!   copied ([`Body`]).
//! * The v3 uploads ([`v3::Api::ALL`]: image, video, marketing image,
//!   complaint image, ...), uploads to a caller's own v3 path
//!   ([`v3::CustomApi`], [`v3::Endpoint`]), and the platform
//!   certificate download: JSON meta, RSA-signed `Authorization` through a
//!   pluggable [`v3::Signer`], replies verified by platform certificate or
//!   WeChat Pay public key ([`v3::Verifier`]).
//! * Strict reply decoding and signature verification
//!   ([`Operation::decode`]).
//! * Retry and failover decisions as pure functions of what happened and
//!   when ([`RetryPolicy`], [`Endpoints`]), and the whole loop as a state
//!   machine transports drive ([`Driver`]).
//!
//! # Out of scope
//!
//! * Connecting, TLS and client certificates, timeouts, sleeping: the
//!   transport's job.
//! * Reading files, reading the clock and generating randomness: the caller
//!   passes bytes, the time, the boundary and nonce bytes and the jitter in.
//!   (ring's RSA signer draws random numbers only to blind its private-key
//!   operation; the signatures, PKCS#1 v1.5, are the same for the same
//!   input.)
//!
//! # The driving loop
//!
//! A transport drives one operation like this (`wxmedia_client::drive` is
//! this loop, written once for every transport):
//!
//! 1. Build the operation, e.g. [`v2::UploadV2::new`] from
//!    [`v2::Credentials`], a [`Media`] and a [`v2::SignType`] (refusals here
//!    are input errors: nothing was sent), and a [`Driver`] around it.
//! 2. For each attempt, call [`Driver::prepare`] with the shared
//!    [`Endpoints`], the monotonic time and fresh [`AttemptInputs`] (Unix
//!    time, random bytes for boundary and nonce). It picks the host, builds
//!    the [`Env`] and calls [`Operation::encode`].
//! 3. Send the request's segments in order; read the reply body up to
//!    [`Operation::reply_limit`] bytes (stop reading at the cap).
//! 4. Describe how it ended as an [`AttemptEnd`]: a whole
//!    `http::Response<Bytes>`, a reply over the cap, a timeout, or a
//!    transport failure of a [`TransportErrorKind`] carrying the
//!    transport's own error.
//! 5. Call [`Driver::finish`] with it and the time. It records
//!    connectivity for failover, calls [`Operation::decode`] on a reply and
//!    asks [`RetryPolicy::decide`] about failures.
//! 6. Act on the [`Step`]: `Done` is a verified result; `Retry` says how
//!    long to wait and why (its cause, an [`AttemptError`]), then go to 2;
//!    `GiveUp` carries the error to report, the transport's own included.
//!
//! # Example: the exact bytes of a request
//!
//! ```
//! use bytes::Bytes;
//! use wxmedia_proto::v2::{Credentials, SignType, UploadV2};
//! use wxmedia_proto::{Boundary, Env, Media, Operation};
//!
//! let credentials = Credentials::new("1000000000", "192006250b4c09247ec02edce69f6a2d")?;
//! let media = Media::new("a.jpg", Bytes::from_static(b"\xFF\xD8\xFF\xD9"))?;
//! let upload = UploadV2::new(credentials, media, SignType::Md5)?;
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
//!           f5ee0ec808cb0da7058c84210b3fbb87\r\n\
//!           --B\r\n\
//!           Content-Disposition: form-data; name=\"sign\"\r\n\r\n\
//!           D1ABEFB0F3909CF69B44FC74E630EC60\r\n\
//!           --B\r\n\
//!           Content-Disposition: form-data; name=\"media\"; filename=\"a.jpg\"\r\n\
//!           Content-Type: image/jpeg\r\n\r\n\
//!           \xFF\xD8\xFF\xD9\r\n\
//!           --B--\r\n"
//!     )
//! );
//! # Ok::<(), wxmedia_proto::Error>(())
//! ```
//!
//! # Example: the exact bytes of a v3 upload
//!
//! The key and certificate are the shared test vectors' (serial
//! `F5765756002FDD77`); the signature below was checked with `openssl dgst
//! -sha256 -sign` over the message
//! `POST\n/v3/merchant/media/upload\n1700000000\n<nonce>\n<meta>\n`.
//!
//! ```
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use wxmedia_proto::v3::{Api, Merchant, RsaSigner, UploadV3, Verifier};
//! use wxmedia_proto::{Boundary, Env, MchId, Media, Nonce, Operation};
//!
//! let key = include_bytes!("../tests/data/v3_key.pem");
//! let cert = include_bytes!("../tests/data/v3_cert.pem");
//! let mut verifier = Verifier::new(); // the keys replies may be signed with
//! verifier.add_platform_certificate_pem(cert)?;
//! let merchant = Merchant::new(
//!     MchId::new("1900000109")?,
//!     Arc::new(RsaSigner::from_pem(key, cert)?),
//!     Arc::new(verifier),
//! );
//! let media = Media::new("a.jpg", Bytes::from_static(b"\xFF\xD8\xFF\xD9"))?;
//! let upload = UploadV3::new(Api::Image, merchant, media)?;
//! let env = Env::new("https://api.mch.weixin.qq.com", Boundary::new("B")?)?
//!     .with_time(1700000000)
//!     .with_nonce(Nonce::new("593BEC0C930BF1AFEB40B4A08C8FB242")?);
//! let request = upload.encode(&env)?;
//!
//! assert_eq!(request.uri(), "https://api.mch.weixin.qq.com/v3/merchant/media/upload");
//! assert_eq!(
//!     request.headers()["authorization"],
//!     "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\",\
//!      nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\",timestamp=\"1700000000\",\
//!      serial_no=\"F5765756002FDD77\",\
//!      signature=\"R1VR1oadXxXEFQZdFtO9yr6T84+f7YdVXCe4rfQo2PZVwOCKMDnWHPsbzYXJsiXXADcZCai3ExOOvHkTXcQs\
//!      6cr4P2sBBoYChcrRZwJswodiT6vm5JU67kHaOREgY5hdb90T96ZmI6GjtKS1iIaYBYMG1hytnTjZOkmi6m5nVoWAJs6mYtv0\
//!      tlgW9urPgFScN5b0ggiSV6G1UAokNtoTjNyQZ/r7Sa6Ei0YOhXi7LgDF8k0YpI4lFSXCWSobEYxU0OnqTPxqApATr6l8g241Q\
//!      CAY/McItMFCe/Jo3WBwtvn7Np25idaiq/adWLFEavBjjSoXSpA0QrnvQyrG7IiUbw==\""
//! );
//! assert_eq!(request.headers()["wechatpay-serial"], "F5765756002FDD77");
//! assert_eq!(request.headers()["content-length"], "291");
//! assert_eq!(
//!     request.body().to_bytes(),
//!     Bytes::from_static(
//!         b"--B\r\n\
//!           Content-Disposition: form-data; name=\"meta\"\r\n\
//!           Content-Type: application/json\r\n\r\n\
//!           {\"filename\":\"a.jpg\",\
//!           \"sha256\":\"32461d5bd1773012acef0ba15636752949bd7c2ce50f9172159d9f56cf0dd9af\"}\r\n\
//!           --B\r\n\
//!           Content-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\
//!           Content-Type: image/jpeg\r\n\r\n\
//!           \xFF\xD8\xFF\xD9\r\n\
//!           --B--\r\n"
//!     )
//! );
//! # Ok::<(), wxmedia_proto::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod attempt;
mod body_reader;
pub mod driver;
pub mod endpoints;
pub mod env;
pub mod error;
// Entry points of the fuzz targets and their regression replays: compiled
// only for them (the `fuzzing` feature, which the fuzz crate and this
// crate's own tests turn on) and this crate's unit tests, never into a
// user's build.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod hex;
mod mch_id;
pub mod media;
pub mod multipart;
pub mod operation;
pub mod rate;
pub mod retry;
pub mod v2;
pub mod v3;

pub use attempt::{AttemptEnd, AttemptError, TransportErrorKind};
pub use body_reader::SegmentReader;
pub use driver::{AttemptInputs, Driver, Step};
pub use endpoints::{Connectivity, Endpoints};
pub use env::{Env, Nonce};
pub use error::{ApiError, DecodeError, Error, ErrorCode, Layer, MediaError, SignatureError};
pub use mch_id::MchId;
pub use media::{Media, MediaHash, MediaKind};
pub use multipart::{Body, Boundary};
pub use operation::Operation;
pub use rate::{Pace, Pacing, Rate, RateParseError};
pub use retry::{Decision, RetryPolicy};
