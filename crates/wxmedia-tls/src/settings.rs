//! The settings every wxmedia client shares, and the one builder that produces them.

use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use wxmedia_proto::encode::{PRIMARY_BASE_URL, TWIN_BASE_URL};
use wxmedia_proto::{
    ApiKey, Boundary, Credentials, Endpoints, Env, MchId, Media, RetryPolicy, SignType, UploadV2,
};

use crate::{Error, Identity, Roots, client_config, read_ca_file};

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

/// Everything a transport needs, validated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// Merchant id and API key.
    pub credentials: Credentials,
    /// How requests are signed.
    pub sign_type: SignType,
    /// The client certificate and key.
    pub identity: Identity,
    /// The trusted roots.
    pub roots: Roots,
    /// The rustls configuration built from the identity and roots.
    pub tls: Arc<rustls::ClientConfig>,
    /// The primary base URL.
    pub primary: String,
    /// The twin used after connectivity failures, if any.
    pub twin: Option<String>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Retry policy; its budget never exceeds the deadline.
    pub retry: RetryPolicy,
    /// Cap on reply bodies.
    pub reply_limit: usize,
}

impl Settings {
    /// A fresh failover state for these endpoints.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints::new(self.primary.clone(), self.twin.clone())
    }

    /// Prepare an upload of `media` with these credentials.
    pub fn upload(&self, media: Media) -> UploadV2 {
        UploadV2::new(self.credentials.clone(), media, self.sign_type)
            .with_reply_limit(self.reply_limit)
    }
}

/// 16 random bytes for a multipart boundary.
pub fn random_boundary_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    // Without OS randomness a fixed boundary is still correct: the encoder
    // refuses one that occurs in the media.
    let _ = getrandom::fill(&mut b);
    b
}

/// A random number in `[0, 1)` for backoff jitter.
pub fn jitter() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// A client that can be built from [`Settings`]: implemented by the hyper,
/// surf and blocking clients.
pub trait FromSettings: Sized {
    /// The client's error type.
    type Error: From<Error>;
    /// Build the client.
    fn from_settings(settings: Settings) -> Result<Self, Self::Error>;
}

/// The builder of every wxmedia client:
/// `Client::builder().mch_id(..).api_key(..).identity(..).sign_type(..).build()?`.
///
/// Problems are reported by `build`, each naming the setting or file.
pub struct ClientBuilder<C> {
    mch_id: Option<String>,
    api_key: Option<String>,
    identity: Option<Identity>,
    sign_type: SignType,
    roots: Roots,
    ca_files: Vec<PathBuf>,
    endpoint: Option<String>,
    backup: Option<Option<String>>,
    timeouts: Timeouts,
    retry: RetryPolicy,
    reply_limit: usize,
    client: PhantomData<fn() -> C>,
}

impl<C> std::fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("mch_id", &self.mch_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("identity", &self.identity)
            .field("sign_type", &self.sign_type)
            .field("endpoint", &self.endpoint)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl<C> Default for ClientBuilder<C> {
    fn default() -> Self {
        ClientBuilder {
            mch_id: None,
            api_key: None,
            identity: None,
            sign_type: SignType::default(),
            roots: Roots::default(),
            ca_files: Vec::new(),
            endpoint: None,
            backup: None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            reply_limit: wxmedia_proto::reply::DEFAULT_REPLY_LIMIT,
            client: PhantomData,
        }
    }
}

impl<C> ClientBuilder<C> {
    /// A builder with the defaults: MD5, the official hosts, 10 s connect,
    /// 30 s per attempt, 60 s per upload, 3 attempts.
    pub fn new() -> Self {
        Self::default()
    }

    /// The merchant id (required).
    pub fn mch_id(mut self, id: impl Into<String>) -> Self {
        self.mch_id = Some(id.into());
        self
    }

    /// The APIv2 key (required).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The client certificate and key (required).
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// MD5 (default) or HMAC-SHA256.
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// Trust the certificates of a PEM file as well (e.g. the simulator's CA).
    pub fn add_root_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// Trust this certificate as well.
    pub fn add_root_certificate(mut self, cert: CertificateDer<'static>) -> Self {
        self.roots.extra.push(cert);
        self
    }

    /// Whether to trust the webpki (Mozilla) roots; true by default.
    pub fn webpki_roots(mut self, yes: bool) -> Self {
        self.roots.webpki = yes;
        self
    }

    /// The base URL (default `https://api.mch.weixin.qq.com`). Setting it
    /// removes the default twin; set one with [`Self::backup_endpoint`].
    pub fn endpoint(mut self, base_url: impl Into<String>) -> Self {
        self.endpoint = Some(base_url.into());
        self
    }

    /// The host to fail over to, or `None` for no failover.
    pub fn backup_endpoint(mut self, base_url: Option<String>) -> Self {
        self.backup = Some(base_url);
        self
    }

    /// TCP connect plus TLS handshake limit.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.timeouts.connect = d;
        self
    }

    /// Limit for one attempt.
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.timeouts.attempt = d;
        self
    }

    /// Limit for a whole upload, retries included.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.timeouts.deadline = d;
        self
    }

    /// How to retry.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Cap on reply bodies (default 64 KiB).
    pub fn reply_limit(mut self, bytes: usize) -> Self {
        self.reply_limit = bytes;
        self
    }

    /// Validate everything into [`Settings`].
    pub fn settings(self) -> Result<Settings, Error> {
        let mch_id = self
            .mch_id
            .ok_or_else(|| Error::Settings("the merchant id is not set".into()))?;
        let api_key = self
            .api_key
            .ok_or_else(|| Error::Settings("the API key is not set".into()))?;
        let credentials = Credentials {
            mch_id: MchId::new(mch_id)?,
            api_key: ApiKey::new(api_key)?,
        };
        let identity = self.identity.ok_or_else(|| {
            Error::Settings("the client certificate (identity) is not set".into())
        })?;
        let mut roots = self.roots;
        for file in &self.ca_files {
            roots.extra.extend(read_ca_file(file)?);
        }
        let tls = client_config(&identity, &roots)?;
        let (primary, twin) = match (self.endpoint, self.backup) {
            (None, None) => (PRIMARY_BASE_URL.to_owned(), Some(TWIN_BASE_URL.to_owned())),
            (None, Some(b)) => (PRIMARY_BASE_URL.to_owned(), b),
            (Some(p), b) => (p, b.flatten()),
        };
        let primary = check_url(&primary)?;
        let twin = twin.as_deref().map(check_url).transpose()?;
        let t = self.timeouts;
        if t.connect.is_zero() || t.attempt.is_zero() || t.deadline.is_zero() {
            return Err(Error::Settings("timeouts must be greater than zero".into()));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::Settings(
                "the retry policy must allow at least one attempt".into(),
            ));
        }
        let mut retry = self.retry;
        retry.total_budget = retry.total_budget.min(t.deadline);
        Ok(Settings {
            credentials,
            sign_type: self.sign_type,
            identity,
            roots,
            tls,
            primary,
            twin,
            timeouts: t,
            retry,
            reply_limit: self.reply_limit,
        })
    }
}

impl<C: FromSettings> ClientBuilder<C> {
    /// Build the client.
    pub fn build(self) -> Result<C, C::Error> {
        C::from_settings(self.settings()?)
    }
}

fn check_url(url: &str) -> Result<String, Error> {
    let env = Env::new(url, Boundary::new("check").expect("a valid boundary"))?;
    Ok(env.base_url().to_owned())
}
