//! The settings every wxmedia client shares, and the one builder that produces them.

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wxmedia_proto::endpoints::{PRIMARY_BASE_URL, default_twin};
use wxmedia_proto::v2::{ApiKey, Credentials, SignType, UploadV2};
use wxmedia_proto::v3::{ApiV3Key, RsaSigner, Signer, Verifier};
use wxmedia_proto::{Boundary, Endpoints, Env, MchId, Media, RetryPolicy};
use wxmedia_tls::rustls::pki_types::CertificateDer;
use wxmedia_tls::{Identity, Roots, client_config, read_ca_file};
use zeroize::Zeroizing;

use crate::BuildError as Error;

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

/// Everything a client and its transport need, validated.
///
/// A client speaks one API generation. v2 needs the APIv2 key and a client
/// certificate ([`Settings::upload_v2`] refuses without them); v3 needs
/// [`V3Settings`] and connects without a client certificate.
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
    /// Retry policy; its budget is the deadline unless a policy with a
    /// shorter one was given.
    pub retry: RetryPolicy,
    /// Cap on reply bodies.
    pub reply_limit: usize,
    /// The v3 credentials, for a v3 client.
    pub v3: Option<V3Settings>,
    /// Where the Unix time comes from.
    pub clock: Arc<dyn Clock>,
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
    api_key: Option<Zeroizing<String>>,
    identity: Option<Identity>,
    sign_type: SignType,
    roots: Roots,
    ca_files: Vec<PathBuf>,
    endpoint: Option<String>,
    backup: Option<Option<String>>,
    timeouts: Timeouts,
    /// `None` until `retry_policy` is called: the default policy then
    /// takes its budget from the deadline.
    retry: Option<RetryPolicy>,
    reply_limit: usize,
    v3: V3Builder,
    clock: Option<Arc<dyn Clock>>,
    provider: Option<Arc<wxmedia_tls::rustls::crypto::CryptoProvider>>,
    client: PhantomData<fn() -> C>,
}

/// A PEM given as bytes, or a file to read it from (named in errors).
#[derive(Clone)]
enum Pem {
    Bytes(Zeroizing<Vec<u8>>),
    File(PathBuf),
}

impl Pem {
    fn read(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        match self {
            Pem::Bytes(b) => Ok(b.clone()),
            Pem::File(path) => {
                std::fs::read(path)
                    .map(Zeroizing::new)
                    .map_err(|source| Error::Read {
                        path: path.clone(),
                        source,
                    })
            }
        }
    }

    /// The file named in an error about its content, if it is a file.
    fn context(&self, e: wxmedia_proto::Error) -> Error {
        match self {
            Pem::File(path) => Error::Pem {
                path: path.clone(),
                reason: e.to_string(),
            },
            Pem::Bytes(_) => Error::Proto(e),
        }
    }
}

/// What the builder was told about v3; validated in `settings`.
#[derive(Clone, Default)]
struct V3Builder {
    private_key: Option<Pem>,
    signer: Option<Arc<dyn Signer>>,
    certificate: Option<Pem>,
    serial_no: Option<String>,
    public_keys: Vec<(String, Pem)>,
    platform_certificates: Vec<Pem>,
    api_v3_key: Option<Zeroizing<String>>,
}

impl V3Builder {
    fn requested(&self) -> bool {
        self.private_key.is_some() || self.signer.is_some()
    }

    fn build(self) -> Result<V3Settings, Error> {
        let signer: Arc<dyn Signer> = match (self.signer, &self.private_key) {
            (Some(signer), None) => signer,
            (Some(_), Some(_)) => {
                return Err(Error::Settings(
                    "give the merchant private key or a signer, not both".into(),
                ));
            }
            (None, Some(key)) => {
                let key_pem = key.read()?;
                let signer = match (&self.certificate, &self.serial_no) {
                    (Some(cert), _) => {
                        let cert_pem = cert.read()?;
                        RsaSigner::from_pem(&key_pem, &cert_pem).map_err(|e| cert.context(e))?
                    }
                    (None, Some(serial)) => RsaSigner::from_pem_and_serial(&key_pem, serial)
                        .map_err(|e| key.context(e))?,
                    (None, None) => {
                        return Err(Error::Settings(
                            "v3 needs the merchant certificate (apiclient_cert.pem) or its serial number".into(),
                        ));
                    }
                };
                Arc::new(signer)
            }
            (None, None) => {
                return Err(Error::Settings(
                    "v3 needs the merchant private key or a signer".into(),
                ));
            }
        };
        let mut verifier = Verifier::new();
        for (id, pem) in &self.public_keys {
            verifier
                .add_public_key_pem(id, &pem.read()?)
                .map_err(|e| pem.context(e))?;
        }
        for pem in &self.platform_certificates {
            verifier
                .add_platform_certificate_pem(&pem.read()?)
                .map_err(|e| pem.context(e))?;
        }
        let api_v3_key = self
            .api_v3_key
            .as_ref()
            .map(|k| ApiV3Key::new(k.as_bytes()))
            .transpose()?;
        if verifier.is_empty() && api_v3_key.is_none() {
            return Err(Error::Settings(
                "v3 needs a way to verify replies: a WeChat Pay public key with its id, platform certificates, or the APIv3 key".into(),
            ));
        }
        Ok(V3Settings {
            signer,
            verifier,
            api_v3_key,
        })
    }
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
            .field("v3", &self.v3.requested())
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
            retry: None,
            reply_limit: wxmedia_proto::v2::reply::DEFAULT_REPLY_LIMIT,
            v3: V3Builder::default(),
            clock: None,
            provider: None,
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
        self.api_key = Some(Zeroizing::new(key.into()));
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

    /// The rustls crypto provider for this client's connections instead of
    /// the one the `ring` or `aws-lc-rs` feature chose
    /// ([`wxmedia_tls::provider`]): a FIPS build of aws-lc-rs, say, or a
    /// provider with fewer cipher suites.
    pub fn crypto_provider(
        mut self,
        provider: Arc<wxmedia_tls::rustls::crypto::CryptoProvider>,
    ) -> Self {
        self.provider = Some(provider);
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

    /// How to retry (default: 3 attempts, backoff from 200 ms to 5 s,
    /// retries allowed until the deadline). A policy given here keeps its
    /// own `total_budget`, capped by the deadline.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Cap on reply bodies (default 64 KiB).
    pub fn reply_limit(mut self, bytes: usize) -> Self {
        self.reply_limit = bytes;
        self
    }

    /// v3: the merchant's API private key, a PEM file (`apiclient_key.pem`,
    /// PKCS#8 or PKCS#1). Setting it makes this a v3 client.
    pub fn private_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.v3.private_key = Some(Pem::File(path.into()));
        self
    }

    /// v3: the merchant's API private key as PEM bytes.
    pub fn private_key_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.v3.private_key = Some(Pem::Bytes(Zeroizing::new(pem.into())));
        self
    }

    /// v3: sign with this signer (a key in an HSM or a cloud KMS) instead
    /// of a private key file. Setting it makes this a v3 client.
    pub fn signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.v3.signer = Some(signer);
        self
    }

    /// v3: the merchant API certificate (`apiclient_cert.pem`), from which
    /// the serial is read and against which the private key is checked.
    pub fn merchant_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.v3.certificate = Some(Pem::File(path.into()));
        self
    }

    /// v3: the merchant certificate's serial, as the merchant platform
    /// shows it, instead of the certificate file.
    pub fn serial_no(mut self, serial: impl Into<String>) -> Self {
        self.v3.serial_no = Some(serial.into());
        self
    }

    /// v3: verify replies with the WeChat Pay public key `id`
    /// (`PUB_KEY_ID_…`) in this SPKI PEM file (`pub_key.pem`).
    pub fn wechatpay_public_key_file(
        mut self,
        id: impl Into<String>,
        path: impl Into<PathBuf>,
    ) -> Self {
        self.v3
            .public_keys
            .push((id.into(), Pem::File(path.into())));
        self
    }

    /// v3: verify replies with the WeChat Pay public key `id` given as PEM.
    pub fn wechatpay_public_key_pem(
        mut self,
        id: impl Into<String>,
        pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.v3
            .public_keys
            .push((id.into(), Pem::Bytes(Zeroizing::new(pem.into()))));
        self
    }

    /// v3: verify replies with this platform certificate (repeatable: old
    /// and new during a rotation).
    pub fn platform_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.v3.platform_certificates.push(Pem::File(path.into()));
        self
    }

    /// v3: verify replies with this platform certificate given as PEM.
    pub fn platform_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.v3
            .platform_certificates
            .push(Pem::Bytes(Zeroizing::new(pem.into())));
        self
    }

    /// v3: the APIv3 key. With it the client downloads the platform
    /// certificates itself, verifies and caches them, and downloads them
    /// again when a reply names a serial it does not know (at most once a
    /// minute).
    pub fn api_v3_key(mut self, key: impl Into<String>) -> Self {
        self.v3.api_v3_key = Some(Zeroizing::new(key.into()));
        self
    }

    /// Read the time from this clock instead of the system's (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Validate everything into [`Settings`].
    pub fn settings(self) -> Result<Settings, Error> {
        let mch_id = self
            .mch_id
            .ok_or_else(|| Error::Settings("the merchant id is not set".into()))?;
        let mch_id = MchId::new(mch_id)?;
        // A client speaks one generation, so that a v3 client never
        // presents a client certificate and a half-configured client is
        // refused here rather than at its first upload.
        let (api_key, identity, v3) = if self.v3.requested() {
            if self.api_key.is_some() || self.identity.is_some() {
                return Err(Error::Settings(
                    "a client speaks one API: give v3 credentials (private key) or v2 ones (API key and client certificate), not both".into(),
                ));
            }
            (None, None, Some(self.v3.build()?))
        } else {
            let api_key = self
                .api_key
                .ok_or_else(|| Error::Settings("the API key is not set".into()))?;
            let identity = self.identity.ok_or_else(|| {
                Error::Settings("the client certificate (identity) is not set".into())
            })?;
            (Some(ApiKey::new(api_key.as_str())?), Some(identity), None)
        };
        let mut roots = self.roots;
        for file in &self.ca_files {
            roots.extra.extend(read_ca_file(file)?);
        }
        let provider = self.provider.unwrap_or_else(wxmedia_tls::provider);
        let tls = client_config(identity.as_ref(), &roots, provider)?;
        let primary = self.endpoint.unwrap_or_else(|| PRIMARY_BASE_URL.to_owned());
        let twin = match self.backup {
            Some(backup) => backup,
            None => default_twin(&primary).map(str::to_owned),
        };
        let primary = check_url(&primary)?;
        let twin = twin.as_deref().map(check_url).transpose()?;
        // Longer limits mean "no limit": they are clamped to a century, so
        // that no transport or timer adds `Duration::MAX` to an `Instant`.
        let t = Timeouts {
            connect: self.timeouts.connect.min(NO_LIMIT),
            attempt: self.timeouts.attempt.min(NO_LIMIT),
            deadline: self.timeouts.deadline.min(NO_LIMIT),
        };
        if t.connect.is_zero() || t.attempt.is_zero() || t.deadline.is_zero() {
            return Err(Error::Settings("timeouts must be greater than zero".into()));
        }
        // The deadline is what bounds an upload. With the default policy the
        // retry budget is the deadline itself (a policy budget shorter than
        // one attempt would forbid retrying a timed-out attempt); a policy
        // given explicitly keeps its budget, capped by the deadline.
        let retry = match self.retry {
            None => RetryPolicy {
                total_budget: t.deadline,
                ..RetryPolicy::default()
            },
            Some(mut policy) => {
                policy.total_budget = policy.total_budget.min(t.deadline);
                policy
            }
        };
        if retry.max_attempts == 0 {
            return Err(Error::Settings(
                "the retry policy must allow at least one attempt".into(),
            ));
        }
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
            v3,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
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
