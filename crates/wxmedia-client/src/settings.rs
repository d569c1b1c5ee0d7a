//! The validated settings of a client: the network settings every client shares, and each API's credentials.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use wxmedia_proto::v2::{ApiKey, Credentials, SignType, UploadV2};
use wxmedia_proto::v3::{ApiV3Key, Signer, Verifier};
use wxmedia_proto::{Endpoints, MchId, Media, RetryPolicy};
use wxmedia_tls::{Identity, Roots};

use crate::BuildError;

/// The longest time limit a client keeps: a century. Anything longer
/// (`Duration::MAX` included) is taken as "no limit" and clamped to this.
pub const NO_LIMIT: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Time limits of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect plus TLS handshake (default 10 s).
    pub connect: Duration,
    /// One attempt: connect, send, read the whole reply (default 30 s).
    pub attempt: Duration,
    /// One upload, retries and backoff included (default 60 s).
    pub deadline: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            attempt: Duration::from_secs(30),
            deadline: Duration::from_secs(60),
        }
    }
}

/// Where a client reads the Unix time it signs v3 requests with and judges
/// reply timestamps against. The system clock by default; a test injects
/// its own to reproduce clock skew.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, in Unix seconds.
    fn unix_time(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_time(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// What every client and its transport need, validated: the merchant,
/// where and how to connect, and the limits. Each API's credentials are
/// beside it, in [`V2Settings`] or [`V3Settings`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// The merchant id.
    pub mch_id: MchId,
    /// The client certificate and key TLS presents: v2's mutual TLS; none
    /// for v3.
    pub identity: Option<Identity>,
    /// The trusted roots.
    pub roots: Roots,
    /// The rustls configuration built from the roots and, for v2, the
    /// client certificate (v3 presents none).
    pub tls: Arc<wxmedia_tls::rustls::ClientConfig>,
    /// The primary base URL.
    pub primary: String,
    /// The twin used after connectivity failures, if any.
    pub twin: Option<String>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Retry policy; its budget is the deadline unless a policy with a
    /// shorter one was given.
    pub retry: RetryPolicy,
    /// Cap on reply bodies.
    pub reply_limit: usize,
    /// Where the Unix time comes from.
    pub clock: Arc<dyn Clock>,
    /// The rate limits kept, and the limiter shared by the clones.
    pub rates: crate::Rates,
    /// Which requests go through which proxy (every transport asks it for
    /// every connection).
    pub proxy: crate::ProxyRules,
    /// What the last full TLS handshake showed of the server (its root,
    /// the TLS version), as [`tls`](Self::tls) notes it: `doctor` reads it.
    pub handshakes: wxmedia_tls::Handshakes,
    /// Told of every finished attempt ([`observe`](crate::observe)).
    pub observers: crate::observe::Observers,
}

impl Settings {
    /// A fresh failover state for these endpoints.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints::new(self.primary.clone(), self.twin.clone())
    }
}

/// A v2 client's credentials, validated: the APIv2 key and how requests
/// are signed. The client certificate is TLS's, in [`Settings::identity`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct V2Settings {
    /// The APIv2 key.
    pub api_key: ApiKey,
    /// How requests are signed.
    pub sign_type: SignType,
}

impl V2Settings {
    /// The v2 upload of `media` by the merchant of `settings`, with this
    /// key, sign type and the settings' reply cap. Media over the v2 limit
    /// (2 MiB) is refused here, before anything is sent.
    pub fn upload(
        &self,
        settings: &Settings,
        media: Media,
    ) -> Result<UploadV2, wxmedia_proto::Error> {
        let credentials = Credentials {
            mch_id: settings.mch_id.clone(),
            api_key: self.api_key.clone(),
        };
        Ok(UploadV2::new(credentials, media, self.sign_type)?
            .with_reply_limit(settings.reply_limit))
    }
}

/// A client's APIv3 credentials, validated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct V3Settings {
    /// Signs requests and names the merchant certificate's serial.
    pub signer: Arc<dyn Signer>,
    /// The keys replies are verified with at the start: WeChat Pay public
    /// keys and platform certificates given to the builder. Empty when the
    /// client is to download the platform certificates itself.
    pub verifier: Verifier,
    /// The APIv3 key, when the client downloads, caches and refreshes the
    /// platform certificates itself.
    pub api_v3_key: Option<ApiV3Key>,
}

/// A client that can be built from validated settings and the credentials
/// `A` of its API: [`V2Client`](crate::V2Client) from [`V2Settings`],
/// [`V3Client`](crate::V3Client) from [`V3Settings`], and their blocking
/// faces.
pub trait FromSettings<A>: Sized {
    /// Build the client.
    fn from_settings(settings: Settings, api: A) -> Result<Self, BuildError>;
}
