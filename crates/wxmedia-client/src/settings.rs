//! The settings every wxmedia client shares, and the one builder that produces them.

use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wxmedia_proto::endpoints::{PRIMARY_BASE_URL, default_twin};
use wxmedia_proto::v2::{ApiKey, Credentials, SignType, UploadV2};
use wxmedia_proto::{Boundary, Endpoints, Env, MchId, Media, RetryPolicy};
use wxmedia_tls::rustls::pki_types::CertificateDer;
use wxmedia_tls::{Identity, Roots, client_config, read_ca_file};

use crate::BuildError as Error;

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

/// Everything a client and its transport need, validated.
///
/// The APIv2 key and the client certificate are optional here because
/// APIv3 needs neither (it signs with an RSA key and connects without a
/// client certificate); an operation that needs them says so when it is
/// prepared (see [`Settings::upload_v2`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// The merchant id.
    pub mch_id: MchId,
    /// The APIv2 key, for v2 operations.
    pub api_key: Option<ApiKey>,
    /// How v2 requests are signed.
    pub sign_type: SignType,
    /// The client certificate and key (mutual TLS, required by v2).
    pub identity: Option<Identity>,
    /// The trusted roots.
    pub roots: Roots,
    /// The rustls configuration built from the identity (if any) and roots.
    pub tls: Arc<wxmedia_tls::rustls::ClientConfig>,
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

    /// The v2 upload of `media` with these credentials, sign type and
    /// reply cap. Fails, as an input error, when the APIv2 key or the
    /// client certificate is not set: v2 needs both.
    pub fn upload_v2(&self, media: Media) -> Result<UploadV2, wxmedia_proto::Error> {
        let missing = |what: &str| wxmedia_proto::Error::InvalidInput {
            what: "settings",
            reason: format!("a v2 upload needs {what}, and this client has none"),
        };
        let api_key = self
            .api_key
            .clone()
            .ok_or_else(|| missing("the APIv2 key"))?;
        if self.identity.is_none() {
            return Err(missing("a client certificate"));
        }
        let credentials = Credentials {
            mch_id: self.mch_id.clone(),
            api_key,
        };
        Ok(UploadV2::new(credentials, media, self.sign_type).with_reply_limit(self.reply_limit))
    }
}

/// A client that can be built from [`Settings`]: the generic
/// [`Client`](crate::Client) and the blocking client.
pub trait FromSettings: Sized {
    /// Build the client.
    fn from_settings(settings: Settings) -> Result<Self, Error>;
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
            reply_limit: wxmedia_proto::v2::reply::DEFAULT_REPLY_LIMIT,
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

    /// The APIv2 key (required for v2 uploads).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The client certificate and key (required for v2 uploads).
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

    /// The base URL (default `https://api.mch.weixin.qq.com`). Unless
    /// [`Self::backup_endpoint`] says otherwise, the official primary keeps
    /// its official twin and any other host has none
    /// ([`default_twin`](wxmedia_proto::endpoints::default_twin)).
    pub fn endpoint(mut self, base_url: impl Into<String>) -> Self {
        self.endpoint = Some(base_url.into());
        self
    }

    /// The host to fail over to, or `None` for no failover; replaces the
    /// default twin rule.
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
        let mch_id = MchId::new(mch_id)?;
        // The only operations so far are v2's, which need the APIv2 key and
        // a client certificate: refuse a client that could never upload.
        // v3 credentials will be the alternative to these two.
        let api_key = self
            .api_key
            .ok_or_else(|| Error::Settings("the API key is not set".into()))?;
        let api_key = Some(ApiKey::new(api_key)?);
        let identity = self.identity.ok_or_else(|| {
            Error::Settings("the client certificate (identity) is not set".into())
        })?;
        let identity = Some(identity);
        let mut roots = self.roots;
        for file in &self.ca_files {
            roots.extra.extend(read_ca_file(file)?);
        }
        let tls = client_config(identity.as_ref(), &roots)?;
        let primary = self.endpoint.unwrap_or_else(|| PRIMARY_BASE_URL.to_owned());
        let twin = match self.backup {
            Some(backup) => backup,
            None => default_twin(&primary).map(str::to_owned),
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
            mch_id,
            api_key,
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
    pub fn build(self) -> Result<C, Error> {
        C::from_settings(self.settings()?)
    }
}

fn check_url(url: &str) -> Result<String, Error> {
    let env = Env::new(url, Boundary::new("check").expect("a valid boundary"))?;
    Ok(env.base_url().to_owned())
}
