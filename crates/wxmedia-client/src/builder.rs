//! The builders of the two clients: the network settings they share written once, each API's credentials on its own builder.

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wxmedia_proto::endpoints::{Region, choose};
use wxmedia_proto::v2::SignType;
use wxmedia_proto::v3::{Endpoint, Signer};
use wxmedia_proto::{Boundary, Env, MchId, Rate, RetryPolicy};
use wxmedia_tls::rustls::pki_types::CertificateDer;
use wxmedia_tls::{Identity, Roots, client_config, read_ca_file};
use zeroize::Zeroizing;

use crate::BuildError as Error;
use crate::credentials::{V2Options, V3Options};
use crate::doctor::{Check, V2Credentials};
use crate::pem::Pem;
use crate::proxy::ProxyChoice;
use crate::{
    Clock, FromSettings, Limiter, NO_LIMIT, ProxyRules, Rates, Settings, SystemClock, Timeouts,
    V2Settings, V3Settings,
};

/// The builder of a client `C` of one API, whose credentials `A` holds:
/// [`V2Builder`] or [`V3Builder`]. The network settings (endpoints, roots,
/// time limits, retries) are the same on both.
///
/// Problems are reported by `build`, each naming the setting or file.
pub struct ClientBuilder<A, C> {
    net: Network,
    api: A,
    client: PhantomData<fn() -> C>,
}

/// The settings every client shares, as given (validated by `build`): a
/// new one is a field here and a setter on [`ClientBuilder`], and reaches
/// every kind of client and [`ClientBuilder::for_client`] as it is.
#[derive(Clone)]
struct Network {
    mch_id: Option<String>,
    roots: Roots,
    ca_files: Vec<PathBuf>,
    endpoint: Option<String>,
    backup: Option<Option<String>>,
    timeouts: Timeouts,
    /// `None` until `retry_policy` is called: the default policy then
    /// takes its budget from the deadline.
    retry: Option<RetryPolicy>,
    reply_limit: usize,
    clock: Option<Arc<dyn Clock>>,
    provider: Option<Arc<wxmedia_tls::rustls::crypto::CryptoProvider>>,
    rates: Rates,
    proxy: ProxyChoice,
    observers: crate::observe::Observers,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            mch_id: None,
            roots: Roots::default(),
            ca_files: Vec::new(),
            endpoint: None,
            backup: None,
            timeouts: Timeouts::default(),
            retry: None,
            reply_limit: wxmedia_proto::v2::reply::DEFAULT_REPLY_LIMIT,
            clock: None,
            provider: None,
            rates: Rates::default(),
            proxy: ProxyChoice::default(),
            observers: crate::observe::Observers::default(),
        }
    }
}

/// The builder of a v2 client `C`:
/// `V2Client::builder().mch_id(..).api_key(..).identity(..).sign_type(..).build()?`.
pub type V2Builder<C> = ClientBuilder<V2Options, C>;

/// The builder of a v3 client `C`:
/// `V3Client::builder().mch_id(..).private_key_file(..).merchant_certificate_file(..)`,
/// one or more ways to verify replies, then `.build()?`.
pub type V3Builder<C> = ClientBuilder<V3Options, C>;

impl<A, C> fmt::Debug for ClientBuilder<A, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The credentials are left out: they are secrets or hold them.
        f.debug_struct("ClientBuilder")
            .field("mch_id", &self.net.mch_id)
            .field("endpoint", &self.net.endpoint)
            .field("timeouts", &self.net.timeouts)
            .finish_non_exhaustive()
    }
}

impl<A: Default, C> Default for ClientBuilder<A, C> {
    fn default() -> Self {
        ClientBuilder {
            net: Network::default(),
            api: A::default(),
            client: PhantomData,
        }
    }
}

impl<A: Default, C> ClientBuilder<A, C> {
    /// A builder with the defaults: the official hosts, 10 s connect,
    /// 30 s per attempt, 60 s per upload, 3 attempts.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<A, C> ClientBuilder<A, C> {
    /// The merchant id (required).
    pub fn mch_id(mut self, id: impl Into<String>) -> Self {
        self.net.mch_id = Some(id.into());
        self
    }

    /// Trust the certificates of a PEM file as well (e.g. the simulator's CA).
    ///
    /// `build` reads it with [`read_ca_file`]: a regular file (or a link to
    /// one) of at most [`MAX_CA_FILE`](wxmedia_tls::MAX_CA_FILE) bytes
    /// (1 MiB, room for a bundle); a FIFO, a device or a larger file fails
    /// `build` with [`BuildError::Identity`](crate::BuildError::Identity) (a [`wxmedia_tls::Error::Read`]).
    pub fn add_root_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.net.ca_files.push(path.into());
        self
    }

    /// Trust this certificate as well.
    pub fn add_root_certificate(mut self, cert: CertificateDer<'static>) -> Self {
        self.net.roots.extra.push(cert);
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
        self.net.provider = Some(provider);
        self
    }

    /// Whether to trust the webpki (Mozilla) roots; true by default.
    pub fn webpki_roots(mut self, yes: bool) -> Self {
        self.net.roots.webpki = yes;
        self
    }

    /// The base URL (default `https://api.mch.weixin.qq.com`). Unless
    /// [`Self::backup_endpoint`] says otherwise, the official primary keeps
    /// its official twin and any other host has none
    /// ([`default_twin`](wxmedia_proto::endpoints::default_twin)).
    pub fn endpoint(mut self, base_url: impl Into<String>) -> Self {
        self.net.endpoint = Some(base_url.into());
        self
    }

    /// The region's host: [`Region::HongKong`] is
    /// `https://apihk.mch.weixin.qq.com`, for cross-border merchants, with
    /// no failover unless [`Self::backup_endpoint`] gives one. The same as
    /// [`Self::endpoint`] with [`Region::base_url`]; the last call wins.
    pub fn region(self, region: Region) -> Self {
        self.endpoint(region.base_url())
    }

    /// The host to fail over to, or `None` for no failover; replaces the
    /// default twin rule.
    pub fn backup_endpoint(mut self, base_url: Option<String>) -> Self {
        self.net.backup = Some(base_url);
        self
    }

    /// TCP connect plus TLS handshake limit.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.net.timeouts.connect = d;
        self
    }

    /// Limit for one attempt.
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.net.timeouts.attempt = d;
        self
    }

    /// Limit for a whole upload, retries included.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.net.timeouts.deadline = d;
        self
    }

    /// How to retry (default: 3 attempts, backoff from 200 ms to 5 s,
    /// retries allowed until the deadline). A policy given here keeps its
    /// own `total_budget`, capped by the deadline.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.net.retry = Some(policy);
        self
    }

    /// Cap on reply bodies (default 64 KiB).
    pub fn reply_limit(mut self, bytes: usize) -> Self {
        self.net.reply_limit = bytes;
        self
    }

    /// Read the time from this clock instead of the system's (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.net.clock = Some(clock);
        self
    }

    /// Take the rate-limit slots from `limiter` (a store shared with other
    /// processes, say) instead of the client's own [`LocalLimiter`](crate::LocalLimiter).
    /// Clients built with the same limiter share their merchant's limits.
    pub fn limiter(mut self, limiter: Arc<dyn Limiter>) -> Self {
        self.net.rates.limiter = Some(limiter);
        self
    }

    /// Do not pace uploads: send as fast as they come, and learn of the
    /// limit from `FREQUENCY_LIMITED` replies (for benchmarks against a
    /// simulator without limits; never against WeChat Pay).
    pub fn no_rate_limit(mut self) -> Self {
        self.net.rates.limiter = None;
        self
    }

    /// Keep `rate` on the endpoint at `path` instead of its documented
    /// rate (for a merchant granted more, or to leave room for another
    /// program of the same merchant).
    fn rate_at(mut self, path: &str, rate: Rate) -> Self {
        self.net.rates.overrides.insert(path.to_owned(), rate);
        self
    }

    /// Send every request (uploads, certificate downloads, `doctor`'s
    /// probes) through this HTTP proxy, by HTTP CONNECT:
    /// `http://[user:password@]host:port`. Hosts named in the environment's
    /// `NO_PROXY` still go straight. Without this, the proxy is the
    /// environment's, as curl reads it (`HTTPS_PROXY`, `ALL_PROXY`, and
    /// lowercase); a URL that cannot be used is refused by `build`.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.net.proxy = ProxyChoice::Given(Zeroizing::new(url.into()));
        self
    }

    /// Tell `observer` of every finished attempt of every operation (its
    /// endpoint, host, status, `Request-ID`, latency, decision, ...: see
    /// [`observe::Attempt`](crate::observe::Attempt)), for metrics.
    pub fn observer(mut self, observer: impl crate::observe::Observer) -> Self {
        self.net.observers = crate::observe::Observers(Some(Arc::new(observer)));
        self
    }

    /// Use no proxy, whatever the environment says.
    pub fn no_proxy(mut self) -> Self {
        self.net.proxy = ProxyChoice::Off;
        self
    }

    /// The same settings for another kind of client: a blocking face, say.
    pub fn for_client<D>(self) -> ClientBuilder<A, D> {
        ClientBuilder {
            net: self.net,
            api: self.api,
            client: PhantomData,
        }
    }

    /// Now by the client's clock, Unix seconds.
    fn now(&self) -> u64 {
        match &self.net.clock {
            Some(clock) => clock.unix_time(),
            None => SystemClock.unix_time(),
        }
    }

    /// Validate the network settings; `identity` is the client
    /// certificate TLS presents (v2's; v3 presents none).
    fn network(self, identity: Option<Identity>) -> Result<(Settings, A), Error> {
        let mch_id = self.net.mch_id.ok_or(Error::Missing {
            what: "the merchant id",
        })?;
        let mch_id = MchId::new(mch_id)?;
        let mut roots = self.net.roots;
        for file in &self.net.ca_files {
            roots.extra.extend(read_ca_file(file)?);
        }
        let provider = self.net.provider.unwrap_or_else(wxmedia_tls::provider);
        let handshakes = wxmedia_tls::Handshakes::default();
        let tls = client_config(identity.as_ref(), &roots, provider, &handshakes)?;
        let (primary, twin) = choose(
            self.net.endpoint.as_deref(),
            self.net.backup.as_ref().map(Option::as_deref),
        );
        let primary = check_url(&primary)?;
        let twin = twin.as_deref().map(check_url).transpose()?;
        // Longer limits mean "no limit": they are clamped to a century, so
        // that no transport or timer adds `Duration::MAX` to an `Instant`.
        let t = Timeouts {
            connect: self.net.timeouts.connect.min(NO_LIMIT),
            attempt: self.net.timeouts.attempt.min(NO_LIMIT),
            deadline: self.net.timeouts.deadline.min(NO_LIMIT),
        };
        if t.connect.is_zero() || t.attempt.is_zero() || t.deadline.is_zero() {
            return Err(Error::Invalid {
                what: "timeouts",
                reason: "must be greater than zero",
            });
        }
        // The deadline is what bounds an upload. With the default policy the
        // retry budget is the deadline itself (a policy budget shorter than
        // one attempt would forbid retrying a timed-out attempt); a policy
        // given explicitly keeps its budget, capped by the deadline.
        let retry = match self.net.retry {
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
            return Err(Error::Invalid {
                what: "the retry policy",
                reason: "must allow at least one attempt",
            });
        }
        let settings = Settings {
            mch_id,
            identity,
            roots,
            tls,
            primary,
            twin,
            timeouts: t,
            retry,
            reply_limit: self.net.reply_limit,
            clock: self.net.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            rates: self.net.rates,
            proxy: ProxyRules::from_choice(&self.net.proxy)?,
            handshakes,
            observers: self.net.observers,
        };
        Ok((settings, self.api))
    }
}

impl<C> ClientBuilder<V2Options, C> {
    /// Keep `rate` on the upload instead of WeChat Pay's documented 10 a
    /// second ([`v2::RATE`](wxmedia_proto::v2::RATE)).
    pub fn rate_limit(self, rate: Rate) -> Self {
        self.rate_at(wxmedia_proto::v2::UPLOAD_PATH, rate)
    }

    /// The APIv2 key (required).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api.api_key = Some(Zeroizing::new(key.into()));
        self
    }

    /// The client certificate and key for mutual TLS (required).
    pub fn identity(mut self, identity: Identity) -> Self {
        self.api.identity = Some(identity);
        self
    }

    /// A gateway (前置机) in front of WeChat Pay presents the client
    /// certificate to it (nginx's `proxy_ssl_certificate`): this client
    /// holds none and presents none, and its endpoint is the gateway's
    /// (`.endpoint("https://gateway.corp/wxpay")`). Instead of
    /// [`identity`](Self::identity).
    pub fn certificate_at_gateway(mut self) -> Self {
        self.api.certificate_at_gateway = true;
        self
    }

    /// MD5 (default) or HMAC-SHA256.
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.api.sign_type = sign_type;
        self
    }

    /// Check the v2 credentials given so far, offline, without failing at
    /// the first problem: the merchant id, the APIv2 key, and the client
    /// certificate's dates and subject (see [`doctor`](crate::doctor)).
    pub fn check(&self) -> Vec<Check> {
        let mut given = V2Credentials::default();
        if let Some(id) = &self.net.mch_id {
            given = V2Credentials::new(id.as_str());
        }
        if let Some(key) = &self.api.api_key {
            given = given.api_key(key.as_str());
        }
        if let Some(identity) = &self.api.identity {
            given = given.identity(identity.clone());
        }
        if self.api.certificate_at_gateway {
            given = given.certificate_at_gateway();
        }
        given.check_at(self.now())
    }

    /// Validate everything: the network settings and the v2 credentials.
    pub fn settings(mut self) -> Result<(Settings, V2Settings), Error> {
        // The credentials first, so that a missing one is named before a
        // network setting is looked at.
        let (api, identity) = std::mem::take(&mut self.api).build()?;
        let (settings, _) = self.network(identity)?;
        Ok((settings, api))
    }

    /// Build the client.
    pub fn build(self) -> Result<C, Error>
    where
        C: FromSettings<V2Settings>,
    {
        let (settings, api) = self.settings()?;
        C::from_settings(settings, api)
    }
}

impl<C> ClientBuilder<V3Options, C> {
    /// Keep `rate` on `endpoint` instead of its documented rate
    /// ([`Endpoint::rate`]).
    pub fn rate_limit<E: Endpoint + ?Sized>(self, endpoint: &E, rate: Rate) -> Self {
        self.rate_at(endpoint.path(), rate)
    }

    /// The merchant's API private key, a PEM file (`apiclient_key.pem`,
    /// PKCS#8 or PKCS#1).
    ///
    /// `build` reads it as a regular file (or a link to one) of at most
    /// [`MAX_PEM_FILE`](wxmedia_tls::MAX_PEM_FILE) bytes (64 KiB): a FIFO,
    /// a device such as `/dev/zero`, a directory or a larger file fails
    /// `build` at once with [`BuildError::Identity`](crate::BuildError::Identity) (a [`wxmedia_tls::Error::Read`]),
    /// naming the file and what it is (see [`read_small_file`](wxmedia_tls::read_small_file)).
    pub fn private_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.api.private_key = Some(Pem::File(path.into()));
        self
    }

    /// The merchant's API private key as PEM bytes.
    pub fn private_key_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.api.private_key = Some(Pem::Bytes(Zeroizing::new(pem.into())));
        self
    }

    /// Sign with this signer (a key in an HSM or a cloud KMS) instead
    /// of a private key file.
    pub fn signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.api.signer = Some(signer);
        self
    }

    /// The merchant API certificate (`apiclient_cert.pem`), from which
    /// the serial is read and against which the private key is checked.
    ///
    /// `build` reads it as a regular file (or a link to one) of at most
    /// [`MAX_PEM_FILE`](wxmedia_tls::MAX_PEM_FILE) bytes (64 KiB): a FIFO,
    /// a device such as `/dev/zero`, a directory or a larger file fails
    /// `build` at once with [`BuildError::Identity`](crate::BuildError::Identity) (a [`wxmedia_tls::Error::Read`]),
    /// naming the file and what it is (see [`read_small_file`](wxmedia_tls::read_small_file)).
    pub fn merchant_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.api.certificate = Some(Pem::File(path.into()));
        self
    }

    /// The merchant API certificate as PEM bytes.
    pub fn merchant_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.api.certificate = Some(Pem::Bytes(Zeroizing::new(pem.into())));
        self
    }

    /// The merchant certificate's serial, as the merchant platform
    /// shows it, instead of the certificate file.
    pub fn serial_no(mut self, serial: impl Into<String>) -> Self {
        self.api.serial_no = Some(serial.into());
        self
    }

    /// Verify replies with the WeChat Pay public key `id`
    /// (`PUB_KEY_ID_…`) in this SPKI PEM file (`pub_key.pem`).
    ///
    /// `build` reads it as a regular file (or a link to one) of at most
    /// [`MAX_PEM_FILE`](wxmedia_tls::MAX_PEM_FILE) bytes (64 KiB): a FIFO,
    /// a device such as `/dev/zero`, a directory or a larger file fails
    /// `build` at once with [`BuildError::Identity`](crate::BuildError::Identity) (a [`wxmedia_tls::Error::Read`]),
    /// naming the file and what it is (see [`read_small_file`](wxmedia_tls::read_small_file)).
    pub fn wechatpay_public_key_file(
        mut self,
        id: impl Into<String>,
        path: impl Into<PathBuf>,
    ) -> Self {
        self.api
            .public_keys
            .push((id.into(), Pem::File(path.into())));
        self
    }

    /// Verify replies with the WeChat Pay public key `id` given as PEM.
    pub fn wechatpay_public_key_pem(
        mut self,
        id: impl Into<String>,
        pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.api
            .public_keys
            .push((id.into(), Pem::Bytes(Zeroizing::new(pem.into()))));
        self
    }

    /// Verify replies with this platform certificate (repeatable: old
    /// and new during a rotation).
    ///
    /// `build` reads it as a regular file (or a link to one) of at most
    /// [`MAX_PEM_FILE`](wxmedia_tls::MAX_PEM_FILE) bytes (64 KiB): a FIFO,
    /// a device such as `/dev/zero`, a directory or a larger file fails
    /// `build` at once with [`BuildError::Identity`](crate::BuildError::Identity) (a [`wxmedia_tls::Error::Read`]),
    /// naming the file and what it is (see [`read_small_file`](wxmedia_tls::read_small_file)).
    ///
    /// A certificate that has expired by the client's clock fails `build`,
    /// naming its serial and expiry: it could never verify a reply. One not
    /// valid yet is accepted and verifies replies from its `notBefore` on.
    pub fn platform_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.api.platform_certificates.push(Pem::File(path.into()));
        self
    }

    /// Verify replies with this platform certificate given as PEM (an
    /// expired one fails `build`, as for
    /// [`platform_certificate_file`](Self::platform_certificate_file)).
    pub fn platform_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.api
            .platform_certificates
            .push(Pem::Bytes(Zeroizing::new(pem.into())));
        self
    }

    /// The APIv3 key. With it the client downloads the platform
    /// certificates itself, verifies and caches them, and downloads them
    /// again when a reply names a serial it does not know (at most once a
    /// minute).
    pub fn api_v3_key(mut self, key: impl Into<String>) -> Self {
        self.api.api_v3_key = Some(Zeroizing::new(key.into()));
        self
    }

    /// Check the v3 credentials given so far, offline, without failing at
    /// the first problem: the private key, the merchant certificate, the
    /// two together, the serial, the certificate's dates and subject, and
    /// what verifies replies (see [`doctor`](crate::doctor)). Stricter
    /// than `build`: an expired merchant certificate builds, but WeChat
    /// Pay refuses it.
    pub fn check(&self) -> Vec<Check> {
        crate::doctor::check_v3(self.net.mch_id.as_deref(), &self.api, self.now())
    }

    /// Validate everything: the network settings and the v3 credentials.
    pub fn settings(mut self) -> Result<(Settings, V3Settings), Error> {
        // An expired pinned certificate is judged by the client's clock.
        let now = self.now();
        let api = std::mem::take(&mut self.api).build(now)?;
        // v3 presents no client certificate.
        let (settings, _) = self.network(None)?;
        Ok((settings, api))
    }

    /// Build the client.
    pub fn build(self) -> Result<C, Error>
    where
        C: FromSettings<V3Settings>,
    {
        let (settings, api) = self.settings()?;
        C::from_settings(settings, api)
    }
}

fn check_url(url: &str) -> Result<String, Error> {
    let env = Env::new(url, Boundary::new("check").expect("a valid boundary"))?;
    Ok(env.base_url().to_owned())
}
