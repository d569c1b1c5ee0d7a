//! The client layer of wxmedia, written once for every transport: settings, the builder, the upload loop, and one error type.
//!
//! A transport crate implements [`Transport`] (build from [`Settings`],
//! send one request and read the capped reply, sleep) and names
//! `Client<ItsTransport>`; everything else is here:
//!
//! * [`ClientBuilder`] validates every setting into [`Settings`]; its
//!   errors are [`BuildError`].
//! * [`Client`] holds the settings, the transport and the failover state;
//!   [`Client::upload`] runs the v2 upload, [`Client::execute`] any
//!   [`Operation`](wxmedia_proto::Operation).
//! * [`drive`] is the loop around the core's
//!   [`Driver`](wxmedia_proto::Driver): clock, randomness, deadline,
//!   retries, failover and tracing.
//! * [`Error`] is what an upload can end with over any transport: the
//!   core's error, a transport failure with its concrete source, or a
//!   timeout, with the predicates callers decide by.
//!
//! ```no_run
//! # async fn run<T: wxmedia_client::Transport>() -> Result<(), Box<dyn std::error::Error>> {
//! use wxmedia_client::{Client, Identity};
//! use wxmedia_proto::Media;
//!
//! let client: Client<T> = Client::builder()
//!     .mch_id("1900000109")
//!     .api_key(std::fs::read_to_string("apiv2.key")?.trim())
//!     .identity(Identity::from_pem_files("apiclient_cert.pem", "apiclient_key.pem")?)
//!     .build()?;
//! let uploaded = client.upload(Media::new("id-card.jpg", std::fs::read("id-card.jpg")?)?).await?;
//! println!("{}", uploaded.media_id);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod client;
mod drive;
mod error;
mod settings;
mod transport;

pub use client::{CERTIFICATE_REFRESH_INTERVAL, Client};
pub use drive::drive;
pub use error::{BoxError, Error, TransportErrorKind};
pub use settings::{
    ClientBuilder, Clock, FromSettings, NO_LIMIT, Settings, SystemClock, Timeouts, V3Settings,
};
pub use transport::{Sent, Transport};
pub use wxmedia_tls::{Identity, Roots};

/// Everything that can fail before an upload starts: loading the identity,
/// building TLS, validating settings, setting up the transport.
pub use wxmedia_tls::Error as BuildError;
