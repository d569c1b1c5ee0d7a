//! A faithful simulator of WeChat Pay's v2 `uploadmedia` endpoint: mutual TLS, every check, real error codes, fault switches.
//!
//! Nobody can test against WeChat Pay itself, so this crate is where
//! transports, the command line and users' own tests meet something that
//! behaves like it. It is strict where the real endpoint is strict.
//!
//! * [`Simulator::handle_with`] is the pure core: `http::Request<Bytes>`
//!   and [`Inputs`] in, `http::Response<Bytes>` out, testable without
//!   sockets. [`Simulator::handle`] is the same with the clock and the OS's
//!   randomness read for you.
//! * [`SimServer`] serves it over hyper and rustls on loopback, **requiring
//!   a client certificate** from the dev CA whose subject CN is the merchant
//!   id.
//! * [`DevPki`] creates (or reuses) the CA, the server certificate for
//!   `127.0.0.1`, `::1` and `localhost`, and the merchant's
//!   `apiclient_cert.pem` / `apiclient_key.pem` (RSA 2048, PKCS#8).
//! * [`Faults`] switch on rate limiting, SYSTEMERROR, delays, dropped and
//!   truncated replies, forged signs, HTTP 502 and an unreachable port.
//!
//! # Routing
//!
//! The handler routes on method and path, like the gateway in front of the
//! real service; the query string plays no part.
//!
//! | method | path | answered by |
//! |---|---|---|
//! | any | `/secapi/mch/uploadmedia` | the v2 upload endpoint (a method other than POST gets its XML INVALID_REQUEST, as the real one answers a GET) |
//! | any | anything else | the gateway: HTTP 404 with a small HTML page, logged as [`Outcome::NotFound`] |
//!
//! The `bad_gateway` fault answers HTTP 502 before routing, on every path.
//! Inside, each API generation is its own module over a shared multipart
//! layer, so that API v3 can be added beside v2 without copying the form
//! parsing.
//!
//! # Time and randomness are inputs
//!
//! [`Simulator::handle_with`] reads no clock and draws no randomness: the
//! rate limit's window runs on [`Inputs::now`], media ids and the
//! `system_error_probability` draw come from [`Inputs::random`], and
//! [`Inputs::unix_time`] is there for the signed reply headers of API v3.
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
//! println!("{}", server.ready_line()); // endpoint, credentials, CA and client cert paths
//! // ... upload to server.endpoint() trusting server.pki().ca_cert_path() ...
//! assert_eq!(server.sim().upload_count(), 1);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod faults;
#[doc(hidden)]
pub mod fuzzing;
mod handler;
mod inputs;
mod multipart;
mod pki;
mod server;
mod v2;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use faults::{Faults, Times};
pub use handler::{MAX_MEDIA_SIZE, Outcome, PeerIdentity, Received, Simulator};
pub use inputs::Inputs;
pub use pki::{ClientIdentityPem, DevPki, subject_cn};
pub use server::{SimConfig, SimServer, random_key};

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
