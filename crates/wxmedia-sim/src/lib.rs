//! A faithful simulator of WeChat Pay's media upload endpoints, API v2 (mutual TLS, MD5/HMAC signs, XML) and API v3 (RSA signatures, JSON, signed reply headers): every check, real error codes, fault switches.
//!
//! Nobody can test against WeChat Pay itself, so this crate is where
//! transports, the command line and users' own tests meet something that
//! behaves like it. It is strict where the real endpoint is strict.
//!
//! * [`Simulator::handle_with`] is the pure core: `http::Request<Bytes>`
//!   and [`Inputs`] in, `http::Response<Bytes>` out, testable without
//!   sockets. [`Simulator::handle`] is the same with the clock and the OS's
//!   randomness read for you.
//! * [`SimServer`] serves it over hyper and rustls on loopback. The
//!   handshake **asks for** a client certificate from the dev CA (whose
//!   subject CN is the merchant id) but does not insist: API v3 needs none.
//!   The v2 endpoint refuses a request that came without one, as the real
//!   one does; a certificate that does not chain to the dev CA still fails
//!   the handshake.
//! * [`DevPki`] creates (or reuses) the CA, the server certificate for
//!   `127.0.0.1`, `::1` and `localhost`, and the merchant's
//!   `apiclient_cert.pem` / `apiclient_key.pem` (RSA 2048, PKCS#8: also
//!   the v3 signing identity, its serial the `serial_no` v3 requests name).
//!   The CA is name-constrained to those loopback names; what is on disk is
//!   checked on every load and reissued when it does not fit.
//!   The RSA keys (merchant, platform, WeChat Pay public key) come from a
//!   pool of public development keys shipped in the crate's `dev-keys/`,
//!   since ring cannot generate RSA keys; never use them for a real
//!   merchant. The CA, the server key and every certificate are still made
//!   for each state directory.
//! * The log ([`Simulator::received`]) keeps the last requests as bounded
//!   summaries; [`Simulator::counts`] counts them all. The server bounds
//!   body time, connections and form parts (see [`SimConfig`]).
//! * [`V3Keys`] beside it: a platform certificate and key, a WeChat Pay
//!   public key (SPKI PEM) with its `PUB_KEY_ID_…`, and the APIv3 key;
//!   [`V3Config`] says which of the two signs v3 replies ([`V3Signer`]).
//! * [`Faults`] switch on rate limiting, SYSTEMERROR, delays, dropped and
//!   truncated replies, forged signs, HTTP 502 and an unreachable port;
//!   for v3 also stale reply timestamps, unknown reply serials and
//!   unsigned replies.
//!
//! # Routing
//!
//! The handler routes on method and path, like the gateway in front of the
//! real service; the query string plays no part.
//!
//! | method | path | answered by |
//! |---|---|---|
//! | any | `/secapi/mch/uploadmedia` | the v2 upload endpoint (a method other than POST gets its XML INVALID_REQUEST, as the real one answers a GET) |
//! | POST | `/v3/merchant/media/upload` | v3 image upload: jpg, jpeg, png, bmp, up to [`V3_MAX_IMAGE_SIZE`] (configurable); replies `{"media_id"}` |
//! | POST | `/v3/merchant/media/video_upload` | v3 video upload: avi wmv mpeg mp4 mov mkv flv f4v m4v rmvb by suffix, up to [`V3_MAX_VIDEO_SIZE`]; replies `{"media_id"}` |
//! | POST | `/v3/marketing/favor/media/image-upload` | v3 marketing image: jpg, png, bmp, up to [`V3_MAX_MARKETING_IMAGE_SIZE`]; replies `{"media_url"}` |
//! | POST | `/v3/merchant-service/images/upload` | v3 complaint image: jpg, png, bmp, up to [`V3_MAX_COMPLAINT_IMAGE_SIZE`]; replies `{"media_id"}` |
//! | POST | `/v3/marketing/partner/product-coupon/media/upload-image` | v3 product coupon image: jpg, png, bmp, up to 2 MiB; replies `{"image_url"}` |
//! | POST | `/v3/new-tax-control-fapiao/fapiao-applications/upload-fapiao-file` | v3 fapiao file: a PDF up to 2 MiB, meta `{file_type: "PDF", digest_alogrithm: "SM3", digest}` (the SM3 checked); replies `{"fapiao_media_id"}` |
//! | POST | `/v3/ecommerce/account/cancel-applications/media` | v3 e-commerce cancellation image, meta `{file_name, file_digest}`: jpg, png, bmp, up to 2 MiB; replies `{"media_id"}` |
//! | POST | `/v3/global/merchant-storage/file/upload` | v3 global (cross-border) file storage, meta `{filename, digest}`: pdf, jpg, png, bmp, up to 5 MiB, the content checked against the suffix; replies `{"file_id"}`. (The global image upload is `/v3/merchant/media/upload`: give the simulator its 2 MiB with [`V3Config::with_max_image_size`].) |
//! | POST | `/v3/marketing/shopping-receipt/shoppingreceipts` | v3 shopping receipt: meta `{transaction_id, transaction_mchid or transaction_sub_mchid, ..., sha256, upload_time, merchant_contact_information?}`, a JPG or PNG up to 200 KiB; `Wechatpay-Serial` required and known, the sealed phone number opened with that key (logged as its SHA-256, never the number); replies `{"receipt": {...}}` |
//! | POST | `/v3/marketing/bank/packages/{package_id}/tasks` | v3 bank package task: meta `{filename, sha256, bank_type}`, a UTF-8 TXT or CSV up to 2 MiB whose lines are ids sealed for the key `Wechatpay-Serial` names (lines opened and refused are logged as counts), a file name new to the package; replies the task, `PROCESSING` |
//! | POST | [`TEST_UPLOAD_PATH`] | **the simulator's own, not WeChat Pay's**: any meta of the `{filename, sha256}` or `{file_name, file_digest}` shape, echoed back beside a `media_id` |
//! | GET | `/v3/certificates` | the platform certificate encrypted with the APIv3 key, in [`V3Signer::PlatformCert`] mode; 404 `RESOURCE_NOT_EXISTS` in public-key mode |
//! | any | anything else | the gateway: HTTP 404 with a small HTML page, logged as [`Outcome::NotFound`] |
//!
//! The v3 rows are served only by a simulator that has a [`V3Config`]
//! ([`Simulator::with_v3`]; a [`SimServer`] always has one); without it
//! they get the gateway's 404 too, since nothing could be verified.
//!
//! The `bad_gateway` fault answers HTTP 502 before routing, on every path.
//! Inside, each API generation is its own module over a shared multipart
//! layer. v3 reads forms more leniently than v2 (a missing `boundary`
//! parameter is taken from the body, as real v3 clients need), and is
//! strict where the record says the real one is: a quoted boundary, or a
//! meta part with a `filename`, leaves it without a meta part, so the
//! signature fails (401 `SIGN_ERROR`).
//!
//! # API v3 in short
//!
//! A request is authenticated by its `Authorization: WECHATPAY2-SHA256-RSA2048
//! mchid=…,nonce_str=…,timestamp=…,serial_no=…,signature=…` (any order):
//! the merchant id, the merchant certificate's serial, a timestamp within
//! 300 s of [`Inputs::unix_time`], and an RSA PKCS#1 v1.5 SHA-256
//! signature by `apiclient_key.pem` over `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nMETA\n`.
//! Every v3 reply, refusals included, carries `Wechatpay-Timestamp`,
//! `Wechatpay-Nonce`, `Wechatpay-Serial`, `Wechatpay-Signature` and
//! `Wechatpay-Signature-Type`, signed over `TIMESTAMP\nNONCE\nBODY\n`.
//!
//! # Time and randomness are inputs
//!
//! [`Simulator::handle_with`] reads no clock and draws no randomness: the
//! rate limit's window runs on [`Inputs::now`], media ids and the
//! `system_error_probability` draw come from [`Inputs::random`], and
//! v3's timestamp window, `Wechatpay-Timestamp` and the nonces come from
//! [`Inputs::unix_time`] and [`Inputs::random`] too.
//! The same request, inputs and simulator state give the same reply:
//!
//! ```
//! use bytes::Bytes;
//! use wxmedia_sim::{Inputs, Outcome, Simulator};
//!
//! let sim = Simulator::new("1900000109", wxmedia_proto::v2::ApiKey::new("0123456789abcdefghijklmnopqrstuv").unwrap());
//! let inputs = Inputs::new(std::time::Instant::now(), 1_700_000_000, [7; 64]);
//! let req = http::Request::post("https://127.0.0.1/nowhere").body(Bytes::new()).unwrap();
//! assert_eq!(sim.handle_with(req, &inputs).status(), http::StatusCode::NOT_FOUND);
//! assert_eq!(sim.received()[0].outcome, Outcome::NotFound);
//! ```
//!
//! Over TLS:
//!
//! ```no_run
//! # async fn demo() -> Result<(), wxmedia_sim::SimError> {
//! let server = wxmedia_sim::SimServer::start(wxmedia_sim::SimConfig::new("target/sim-state")).await?;
//! println!("{}", server.ready_line()); // endpoint, credentials, CA and client cert paths, v3 keys
//! // ... upload to server.endpoint() trusting server.pki().ca_cert_path() ...
//! assert_eq!(server.sim().upload_count(), 1);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod faults;
// Entry points of the fuzz targets and their regression replays: compiled
// only for them (the `fuzzing` feature) and the unit tests.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod gateway;
mod handler;
mod inputs;
mod limits;
mod log;
mod multipart;
mod pki;
pub mod samples;
mod server;
mod v2;
mod v3;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use faults::{Faults, Times};
pub use handler::{
    Counts, DEFAULT_LOG_CAPACITY, MAX_LOGGED_FIELDS, MAX_LOGGED_VALUE, MAX_MEDIA_SIZE, Outcome,
    PeerIdentity, Received, Simulator,
};
pub use inputs::Inputs;
pub use pki::{ClientIdentityPem, DevPki, V3Keys, V3KeysPem, V3Signer, subject_cn};
pub use server::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, SimConfig, SimServer, random_key,
};
pub use v3::{
    TEST_UPLOAD_PATH, V3_MAX_COMPLAINT_IMAGE_SIZE, V3_MAX_IMAGE_SIZE, V3_MAX_MARKETING_IMAGE_SIZE,
    V3_MAX_TEST_UPLOAD_SIZE, V3_MAX_VIDEO_SIZE, V3Config,
};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A file of the state directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Certificates or keys could not be made or loaded.
    #[error("dev PKI: {0}")]
    Pki(String),
    /// The listening address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// The merchant id or key is not acceptable.
    #[error("configuration: {0}")]
    Config(String),
}

impl SimError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> SimError {
        SimError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
