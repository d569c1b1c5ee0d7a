//! APIv2 `POST /secapi/mch/uploadmedia`: MD5 `media_hash`, MD5 or HMAC-SHA256 `sign` with the APIv2 key, multipart request, signed XML reply.
//!
//! | module | job |
//! |---|---|
//! | [`credentials`] | [`ApiKey`] (redacted, zeroed, constant-time), [`Credentials`], [`SignType`] |
//! | [`sign`] | [`StringToSign`]: the one canonical-string rule, for requests and replies |
//! | [`xml`] | the strict reader of the flat `<xml>` reply, and a writer for simulators and tests |
//! | [`upload`] | [`UploadV2`], the [`Operation`](crate::Operation), and its output [`Uploaded`] |
//! | [`reply`] | [`decode_reply`](reply::decode_reply): status and body to a verified media id or a typed error |

pub mod credentials;
pub mod reply;
pub mod sign;
pub mod upload;
pub mod xml;

pub use credentials::{ApiKey, Credentials, SignType};
pub use sign::{Sign, StringToSign};
pub use upload::{MAX_MEDIA_SIZE, RATE, UPLOAD_PATH, UploadV2, Uploaded};
