//! The client layer of wxmedia, written once for every transport: settings, the two builders, the two clients, the upload loop, and one error type.
//!
//! A transport crate implements [`Transport`] (build from [`Settings`],
//! send one request and read the capped reply, sleep) and names
//! `V2Client<ItsTransport>` and `V3Client<ItsTransport>`; everything else
//! is here:
//!
//! * [`V2Client`] speaks APIv2 (`upload(media)`), [`V3Client`] APIv3
//!   (`upload(&endpoint, media)` to any
//!   [`Endpoint`](wxmedia_proto::v3::Endpoint), its result typed by the
//!   endpoint; `upload_to(api, media)` for a built-in one chosen at run
//!   time; `download_certificates`). The API is the type: calling the
//!   other API's method does not compile.
//! * [`V2Builder`] and [`V3Builder`] validate every setting; their errors
//!   are [`BuildError`], each naming the missing credential or the file.
//! * [`blocking`] is the blocking face of both, for transports that block.
//! * [`doctor`] checks a merchant's configuration, offline at start-up
//!   (`V3Client::builder()….check()`) and against the server: the
//!   mistakes behind most `SIGN_ERROR`s, each named.
//! * [`drive`] is the loop around the core's
//!   [`Driver`](wxmedia_proto::Driver): clock, randomness, deadline,
//!   retries, failover and tracing.
//! * [`Error`] is what an upload can end with over any transport: the
//!   core's error, a transport failure with its concrete source, or a
//!   timeout (with the failure it cut short), with the predicates callers
//!   decide by.
//!
//! ```no_run
//! # async fn run<T: wxmedia_client::Transport>() -> Result<(), Box<dyn std::error::Error>> {
//! use wxmedia_client::{Identity, V2Client};
//! use wxmedia_proto::Media;
//!
//! let client: V2Client<T> = V2Client::builder()
//!     .mch_id("1900000109")
//!     .api_key(std::fs::read_to_string("apiv2.key")?.trim())
//!     .identity(Identity::from_pem_files("apiclient_cert.pem", "apiclient_key.pem")?)
//!     .build()?;
//! let uploaded = client.upload(Media::new("id-card.jpg", std::fs::read("id-card.jpg")?)?).await?;
//! println!("{}", uploaded.media_id);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod blocking;
mod build_error;
mod builder;
mod credentials;
pub mod doctor;
mod drive;
mod error;
mod limit;
pub mod observe;
mod pem;
mod proxy;
mod settings;
mod shared;
mod transport;
mod v2;
mod v3;

pub use build_error::BuildError;
pub use builder::{ClientBuilder, V2Builder, V3Builder};
pub use credentials::{V2Options, V3Options};
pub use drive::drive;
pub use error::{BoxError, Chain, Error, SharedError, TransportErrorKind};
#[cfg(feature = "redis")]
pub use limit::RedisLimiter;
pub use limit::{Limiter, LocalLimiter, Rates, limit_key};
pub use proxy::{ProxyError, ProxyRules, ProxySource, Route};
pub use settings::{
    Clock, FromSettings, NO_LIMIT, Settings, SystemClock, Timeouts, V2Settings, V3Settings,
};
pub use transport::{DnsError, Exchange, Transport, classify, reply};
pub use v2::V2Client;
pub use v3::{CERTIFICATE_REFRESH_INTERVAL, V3Client};
pub use wxmedia_proto::Rate;
pub use wxmedia_proto::endpoints::Region;
pub use wxmedia_tls::{Identity, Roots, rustls};
