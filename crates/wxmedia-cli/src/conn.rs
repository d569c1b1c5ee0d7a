//! Credentials and connection options shared by `upload`, `batch` and `certificates`, and the transport and API they select.

use std::path::{Path, PathBuf};
use std::time::Duration;
use wxmedia_tls::ShownPath;

use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};
use wxmedia_client::{ClientBuilder, Identity, V2Builder, V3Builder};
use wxmedia_proto::endpoints::Region;
use wxmedia_proto::v2::SignType;
use wxmedia_proto::v3::{Api, ApiV3Key};
use zeroize::{Zeroize, Zeroizing};

use crate::client::{Configured, Uploader};
pub(crate) use crate::destination::{ApiArg, Destination, V3Target, kind_parser};

/// How requests are signed, as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SignTypeArg {
    /// MD5 (the default; no `sign_type` field is sent).
    Md5,
    /// HMAC-SHA256.
    HmacSha256,
}

impl From<SignTypeArg> for SignType {
    fn from(s: SignTypeArg) -> SignType {
        match s {
            SignTypeArg::Md5 => SignType::Md5,
            SignTypeArg::HmacSha256 => SignType::HmacSha256,
        }
    }
}

/// Which HTTP stack carries the upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportArg {
    /// hyper on tokio.
    Hyper,
    /// surf on async-std.
    Surf,
    /// ureq, no async runtime.
    Blocking,
}

/// Read the APIv2 key from `file`, else from env WXMEDIA_API_KEY. A single
/// trailing newline (`\n` or `\r\n`) is removed, because editors add one;
/// any other surrounding whitespace is refused by the key's own
/// validation, with a message that says so. The key stays in zeroizing
/// memory from the first byte read.
pub(crate) fn read_api_key(file: Option<&Path>) -> anyhow::Result<Zeroizing<String>> {
    let raw = match file {
        Some(path) => read_secret(path)
            .with_context(|| format!("cannot read the API key file {}", ShownPath(path)))?,
        None => Zeroizing::new(std::env::var("WXMEDIA_API_KEY").map_err(|_| {
            anyhow::anyhow!("no API key: pass --api-key-file PATH or set WXMEDIA_API_KEY")
        })?),
    };
    let key = strip_newline(raw);
    wxmedia_proto::v2::ApiKey::new(key.as_str()).context("the API key is not usable")?;
    Ok(key)
}

/// A key, certificate or body file, read the way the libraries read the
/// files they are given ([`wxmedia_tls::read_small_file`]): a regular file
/// (a link to one is fine) of at most 64 KiB, into zeroizing memory. A
/// FIFO (which would block until a writer comes), a device such as
/// `/dev/zero` (which never ends), a directory or a larger file is refused
/// before it is read. The error is the I/O error alone, which says what
/// the file is: callers name the file in their own words.
pub(crate) fn read_small(path: &Path, what: &str) -> std::io::Result<Zeroizing<Vec<u8>>> {
    wxmedia_tls::read_small_file(path, what).map_err(|e| match e {
        wxmedia_tls::Error::Read { source, .. } => source,
        other => std::io::Error::other(other.to_string()),
    })
}

/// A secret file's text, in zeroizing memory. Read like the key and
/// certificate files ([`read_small`]): one way for every credential file,
/// so that an API key path at a FIFO or `/dev/zero` is refused at once
/// like a private key path is (a secret can still come from the
/// environment instead of a file).
pub(crate) fn read_secret(path: &Path) -> std::io::Result<Zeroizing<String>> {
    let mut bytes = read_small(path, "key")?;
    // `from_utf8` keeps the buffer (no copy); on failure it hands it back,
    // and it is zeroed before the error goes up.
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        }
    }
}

/// A secret as read from a file: one trailing newline (`\n` or `\r\n`) is
/// removed, because editors add one. Truncated in place, so no unzeroed
/// copy is made.
pub(crate) fn strip_newline(mut raw: Zeroizing<String>) -> Zeroizing<String> {
    let cut = if raw.ends_with("\r\n") {
        2
    } else if raw.ends_with('\n') {
        1
    } else {
        0
    };
    let len = raw.len() - cut;
    raw.truncate(len);
    raw
}

/// The APIv3 key: from a file or the environment, never a plain flag value
/// (it would show in `ps`).
#[derive(Debug, Args)]
pub(crate) struct V3KeyArgs {
    /// v3: file holding the APIv3 key (one trailing newline is ignored), to download the platform certificates with. Default: env WXMEDIA_API_V3_KEY.
    #[arg(long, value_name = "PATH")]
    pub(crate) api_v3_key_file: Option<PathBuf>,
}

impl V3KeyArgs {
    /// The key (see [`read_api_v3_key`]).
    pub(crate) fn read(&self) -> anyhow::Result<Option<Zeroizing<String>>> {
        read_api_v3_key(self.api_v3_key_file.as_deref())
    }
}

/// The APIv3 key from `file`, else env WXMEDIA_API_V3_KEY, checked for its
/// length, or `None` when neither gives one.
fn read_api_v3_key(file: Option<&Path>) -> anyhow::Result<Option<Zeroizing<String>>> {
    let raw = match file {
        Some(path) => read_secret(path)
            .with_context(|| format!("cannot read the APIv3 key file {}", ShownPath(path)))?,
        None => match std::env::var("WXMEDIA_API_V3_KEY") {
            Ok(k) if !k.is_empty() => Zeroizing::new(k),
            _ => return Ok(None),
        },
    };
    let key = strip_newline(raw);
    // The core's message says what is wrong (the length), never the key.
    ApiV3Key::new(key.as_str()).context("the APIv3 key is not usable")?;
    Ok(Some(key))
}

/// The options of APIv2 only. Given with any of [`V3Args`], clap refuses
/// the command line; given with `--api v3`, [`ConnArgs::target`] does.
#[derive(Debug, Args)]
#[group(id = "v2_options", multiple = true, conflicts_with = "v3_options")]
pub(crate) struct V2Args {
    /// File holding the APIv2 key (one trailing newline is ignored). Default: env WXMEDIA_API_KEY.
    #[arg(long, value_name = "PATH")]
    pub(crate) api_key_file: Option<PathBuf>,
    /// PKCS#12 identity (apiclient_cert.p12); password from WXMEDIA_P12_PASSWORD, default the merchant id.
    #[arg(long, value_name = "FILE")]
    pub(crate) p12: Option<PathBuf>,
    /// v2: how to sign [default: md5].
    #[arg(long, value_enum)]
    pub(crate) sign_type: Option<SignTypeArg>,
    /// v2: no client certificate here: the gateway (前置机) at --endpoint presents it to WeChat Pay (nginx proxy_ssl_certificate).
    #[arg(long, conflicts_with_all = ["cert", "cert_key", "p12"])]
    pub(crate) cert_at_gateway: bool,
}

/// The options of APIv3 only: credentials beyond the merchant id and
/// certificate (which v2 shares), and the kind of upload.
#[derive(Debug, Args)]
#[group(id = "v3_options", multiple = true)]
pub(crate) struct V3Args {
    /// v3: which upload [default: image].
    #[arg(long, value_parser = kind_parser())]
    pub(crate) kind: Option<Api>,
    /// v3: upload to this path instead of a built-in --kind: any endpoint of the meta + file shape (/v3/marketing/shopping-receipt/shoppingreceipts, ...), described by the options below; prints the verified JSON reply.
    #[arg(long, value_name = "PATH", conflicts_with = "kind")]
    pub(crate) path: Option<String>,
    /// --path: the largest file it takes: bytes, or with a unit (KB, KiB, MB, MiB: 200KiB, 2MiB) [default: 2MiB].
    #[arg(long, value_name = "SIZE", requires = "path", value_parser = crate::custom::parse_size)]
    pub(crate) max_size: Option<usize>,
    /// --path: the file extensions it takes, comma-separated (jpg,png / pdf / csv,txt) [default: jpg,png,bmp].
    #[arg(long, value_name = "EXT,...", value_delimiter = ',', requires = "path")]
    pub(crate) accept: Vec<String>,
    /// --path: the meta member that names the file [default: filename].
    #[arg(
        long,
        value_name = "NAME",
        requires = "path",
        conflicts_with = "no_file_name"
    )]
    pub(crate) name_field: Option<String>,
    /// --path: no file name in the meta (the shopping receipt's names the order instead).
    #[arg(long, requires = "path")]
    pub(crate) no_file_name: bool,
    /// --path: the meta member that carries the file's digest [default: sha256].
    #[arg(long, value_name = "NAME", requires = "path")]
    pub(crate) digest_field: Option<String>,
    /// --path: which digest of the file [default: sha256].
    #[arg(long, value_enum, requires = "path")]
    pub(crate) digest: Option<crate::custom::DigestArg>,
    /// --path: a meta member, sent as a JSON string after the file's (repeatable, in order); a dotted KEY goes into objects: a.b=v is {"a":{"b":"v"}}.
    #[arg(long = "meta", value_name = "KEY=VALUE", requires = "path")]
    pub(crate) meta: Vec<String>,
    /// --path: a meta member whose value is sealed for WeChat Pay (RSA-OAEP under the key Wechatpay-Serial names), after the others; KEY=@FILE reads the value from a file (a value on the command line shows in `ps`).
    #[arg(long = "meta-encrypted", value_name = "KEY=VALUE", requires = "path")]
    pub(crate) meta_encrypted: Vec<String>,
    /// v3: merchant API private key, PEM (apiclient_key.pem); --cert-key means the same. Default: env WXMEDIA_PRIVATE_KEY.
    #[arg(long, value_name = "PEM")]
    pub(crate) private_key: Option<PathBuf>,
    /// v3: the merchant certificate's serial number, instead of --cert.
    #[arg(long, value_name = "SERIAL")]
    pub(crate) serial_no: Option<String>,
    /// v3: verify replies with this WeChat Pay public key, PEM (pub_key.pem).
    #[arg(long, value_name = "PEM", requires = "wechatpay_public_key_id")]
    pub(crate) wechatpay_public_key: Option<PathBuf>,
    /// v3: the id of --wechatpay-public-key (PUB_KEY_ID_…).
    #[arg(long, value_name = "ID", requires = "wechatpay_public_key")]
    pub(crate) wechatpay_public_key_id: Option<String>,
    /// v3: verify replies with this platform certificate, PEM (repeatable).
    #[arg(long, value_name = "PEM")]
    pub(crate) platform_cert: Vec<PathBuf>,
    /// v3: file holding the APIv3 key (one trailing newline is ignored), to download the platform certificates with. Default: env WXMEDIA_API_V3_KEY.
    #[arg(long, value_name = "PATH")]
    pub(crate) api_v3_key_file: Option<PathBuf>,
}

/// The v3 private key: `--private-key`, else `--cert-key` (the same file
/// for v3, `apiclient_key.pem`), else env `WXMEDIA_PRIVATE_KEY`. The
/// environment is read here rather than by clap so that a v2 command line
/// run with it set is not taken for a v3 one.
pub(crate) fn private_key(
    private_key: Option<&Path>,
    cert_key: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    match (private_key, cert_key) {
        (Some(a), Some(b)) if a != b => bail!(
            "--private-key and --cert-key (or WXMEDIA_CERT_KEY) name different files; for v3 they mean the same key, give one"
        ),
        (Some(a), _) | (None, Some(a)) => Ok(a.to_owned()),
        (None, None) => std::env::var_os("WXMEDIA_PRIVATE_KEY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| {
                anyhow!(
                    "no merchant private key: pass --private-key apiclient_key.pem or set WXMEDIA_PRIVATE_KEY"
                )
            }),
    }
}

/// A v3 builder with the merchant's signing credentials.
pub(crate) fn merchant_builder(
    mch_id: String,
    key: PathBuf,
    cert: Option<&Path>,
    serial_no: Option<&str>,
) -> anyhow::Result<V3Builder<()>> {
    let builder = V3Builder::new().mch_id(mch_id).private_key_file(key);
    Ok(match (cert, serial_no) {
        (Some(_), Some(_)) => bail!(
            "give the merchant certificate (--cert or WXMEDIA_CERT) or its serial (--serial-no), not both"
        ),
        (Some(cert), None) => builder.merchant_certificate_file(cert),
        (None, Some(serial)) => builder.serial_no(serial),
        (None, None) => {
            bail!("no merchant certificate: pass --cert apiclient_cert.pem or --serial-no SERIAL")
        }
    })
}

/// Where to connect, how long to wait, which transport.
#[derive(Debug, Args)]
pub(crate) struct NetArgs {
    /// Extra trusted root certificate, PEM (repeatable).
    #[arg(long = "ca", value_name = "PEM")]
    pub(crate) ca: Vec<PathBuf>,
    /// Base URL of the API [default: https://api.mch.weixin.qq.com, or the --region's host].
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// Which WeChat Pay host: cn (api.mch.weixin.qq.com, failing over to api2) or hk (apihk.mch.weixin.qq.com, for cross-border merchants; no failover unless --backup-endpoint). Default: cn, or hk for a --kind only the Hong Kong host serves (global-file, global-image).
    #[arg(long, value_enum, conflicts_with = "endpoint")]
    pub(crate) region: Option<RegionArg>,
    /// Base URL to fail over to (default: api2.mch.weixin.qq.com for the mainland host, none for any other).
    #[arg(long, value_name = "URL")]
    pub(crate) backup_endpoint: Option<String>,
    /// HTTP stack.
    #[arg(long, value_enum, default_value = "hyper")]
    pub(crate) transport: TransportArg,
    /// Deadline per file in seconds, retries included.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub(crate) timeout: f64,
    /// Send every request through this HTTP proxy (CONNECT; TLS stays end to end): http://[user:password@]host:port. Default: HTTPS_PROXY or ALL_PROXY from the environment, as curl reads them; hosts in NO_PROXY go straight.
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub(crate) proxy: Option<String>,
    /// Use no proxy, whatever HTTPS_PROXY / ALL_PROXY say.
    #[arg(long)]
    pub(crate) no_proxy: bool,
}

/// `--region`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RegionArg {
    /// Mainland China: api.mch.weixin.qq.com.
    Cn,
    /// Hong Kong, for cross-border (境外) merchants: apihk.mch.weixin.qq.com.
    Hk,
}

impl NetArgs {
    /// The base URL: `--endpoint`, else the `--region`'s host, else the
    /// host `only` names (an upload only one region's host serves), else
    /// the mainland's. A `--region` other than `only` is refused: the
    /// upload would reach a host that does not serve it.
    pub(crate) fn endpoint(&self, only: Option<Region>) -> anyhow::Result<String> {
        let named = self.region.map(|r| match r {
            RegionArg::Cn => Region::Mainland,
            RegionArg::Hk => Region::HongKong,
        });
        if let (Some(named), Some(only)) = (named, only)
            && named != only
        {
            bail!(
                "this --kind is served only by the {} host ({}); drop --region or pass --region hk",
                region_name(only),
                only.base_url()
            );
        }
        Ok(self.base_url(only))
    }

    /// [`NetArgs::endpoint`] without the check of `--region` against
    /// `only` (made once, when the upload's client is built).
    fn base_url(&self, only: Option<Region>) -> String {
        let named = self.region.map(|r| match r {
            RegionArg::Cn => Region::Mainland,
            RegionArg::Hk => Region::HongKong,
        });
        self.endpoint.clone().unwrap_or_else(|| {
            named
                .or(only)
                .unwrap_or(Region::Mainland)
                .base_url()
                .to_owned()
        })
    }

    /// Check the timeout (a usage error when absurd).
    pub(crate) fn deadline(&self) -> anyhow::Result<Duration> {
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            bail!("--timeout must be a positive number of seconds");
        }
        // A number too large for a `Duration` (1e20) means "no limit"; the
        // client clamps every limit to a century.
        Ok(Duration::try_from_secs_f64(self.timeout).unwrap_or(Duration::MAX))
    }

    /// Add the endpoints, timeouts and trusted roots to a builder.
    pub(crate) fn apply<A>(
        &self,
        builder: ClientBuilder<A, ()>,
        deadline: Duration,
        only: Option<Region>,
    ) -> ClientBuilder<A, ()> {
        // The builder applies the twin rule: the official primary keeps its
        // official twin unless --backup-endpoint says otherwise.
        let mut builder = builder
            .endpoint(self.base_url(only))
            .deadline(deadline)
            .attempt_timeout(deadline.min(Duration::from_secs(30)))
            .connect_timeout(deadline.min(Duration::from_secs(10)));
        if let Some(backup) = &self.backup_endpoint {
            builder = builder.backup_endpoint(Some(backup.clone()));
        }
        for ca in &self.ca {
            builder = builder.add_root_ca_file(ca);
        }
        if let Some(proxy) = &self.proxy {
            builder = builder.proxy(proxy.clone());
        } else if self.no_proxy {
            builder = builder.no_proxy();
        }
        builder
    }
}

/// A region as the messages name it.
fn region_name(region: Region) -> &'static str {
    match region {
        Region::HongKong => "Hong Kong",
        _ => "mainland",
    }
}

/// Credentials, identity, endpoints and limits.
#[derive(Debug, Args)]
pub(crate) struct ConnArgs {
    /// Which API: v2 (the default) or v3.
    #[arg(long, value_enum, default_value = "v2")]
    pub(crate) api: ApiArg,
    /// Merchant id.
    #[arg(long, env = "WXMEDIA_MCH_ID", value_name = "ID")]
    pub(crate) mch_id: Option<String>,
    /// Client certificate, PEM (apiclient_cert.pem); for v3 the merchant certificate, whose serial is sent.
    // No clap `requires`: v3 takes --cert with --private-key instead of
    // --cert-key, so the pairing is checked per API in `uploader`.
    #[arg(long, env = "WXMEDIA_CERT", value_name = "PEM", conflicts_with = "p12")]
    pub(crate) cert: Option<PathBuf>,
    /// Client key, PEM: PKCS#8 or PKCS#1 (apiclient_key.pem); for v3 the same as --private-key.
    #[arg(long, env = "WXMEDIA_CERT_KEY", value_name = "PEM")]
    pub(crate) cert_key: Option<PathBuf>,
    /// The options of APIv2 only; `None` when none is given.
    #[command(flatten)]
    pub(crate) v2: Option<V2Args>,
    /// The options of APIv3 only; `None` when none is given.
    #[command(flatten)]
    pub(crate) v3: Option<V3Args>,
    #[command(flatten)]
    pub(crate) net: NetArgs,
    /// One JSON object per line instead of plain text.
    #[arg(long)]
    pub(crate) json: bool,
}

impl ConnArgs {
    /// What each upload does. The other API's options are refused here,
    /// as a group: clap already refuses v2 and v3 options together, and
    /// the API is `--api`'s value, which clap's conflicts cannot see.
    pub(crate) fn target(&self) -> anyhow::Result<Destination> {
        match (self.api, &self.v2, &self.v3) {
            (ApiArg::V2, _, Some(_)) => bail!(
                "--kind, --path (and its options), --private-key, --serial-no, --wechatpay-public-key, --platform-cert and --api-v3-key-file are APIv3 options: add --api v3"
            ),
            (ApiArg::V3, Some(_), _) => bail!(
                "--api-key-file, --p12 and --sign-type are APIv2 options; with --api v3 give --private-key, --cert or --serial-no, and a way to verify replies"
            ),
            (ApiArg::V2, _, _) => Ok(Destination::V2),
            (ApiArg::V3, _, v3) => {
                if let Some(custom) = v3
                    .as_ref()
                    .map(crate::custom::endpoint)
                    .transpose()?
                    .flatten()
                {
                    return Ok(Destination::Custom(custom));
                }
                let kind = v3.as_ref().and_then(|v3| v3.kind);
                Ok(Destination::V3(kind.unwrap_or(Api::Image)))
            }
        }
    }

    /// Build the client these options describe. Errors here are usage
    /// errors (exit 2).
    pub(crate) fn uploader(&self, rate: &crate::rate::RateArgs) -> anyhow::Result<Uploader> {
        let mch_id = self.mch_id.clone().ok_or_else(|| {
            anyhow::anyhow!("no merchant id: pass --mch-id or set WXMEDIA_MCH_ID")
        })?;
        let deadline = self.net.deadline()?;
        let configured = match self.target()? {
            Destination::V2 => {
                Configured::V2(self.net.apply(self.v2_builder(mch_id)?, deadline, None))
            }
            Destination::V3(api) => {
                // A --region the upload's host is not is a usage error.
                self.net.endpoint(api.region())?;
                Configured::V3(
                    self.net
                        .apply(self.v3_builder(mch_id)?, deadline, api.region()),
                    V3Target::Api(api),
                )
            }
            Destination::Custom(api) => Configured::V3(
                self.net.apply(self.v3_builder(mch_id)?, deadline, None),
                V3Target::Custom(api),
            ),
        };
        Ok(Uploader::build(
            self.net.transport,
            rate.apply(configured)?,
        )?)
    }

    fn v2_builder(&self, mch_id: String) -> anyhow::Result<V2Builder<()>> {
        let v2 = self.v2.as_ref();
        let key = read_api_key(v2.and_then(|v2| v2.api_key_file.as_deref()))?;
        let p12 = v2.and_then(|v2| v2.p12.as_ref());
        let at_gateway = v2.is_some_and(|v2| v2.cert_at_gateway);
        let identity = match (&self.cert, &self.cert_key, p12) {
            (None, None, None) if at_gateway => None,
            (Some(cert), Some(key), None) => Some(Identity::from_pem_files(cert, key)?),
            (None, None, Some(p12)) => {
                let password =
                    std::env::var("WXMEDIA_P12_PASSWORD").unwrap_or_else(|_| mch_id.clone());
                Some(Identity::from_pkcs12_file(p12, &password)?)
            }
            _ => bail!(
                "no client certificate: pass --cert PEM --cert-key PEM, or --p12 FILE (or --cert-at-gateway when a gateway presents it)"
            ),
        };
        let builder = V2Builder::new()
            .mch_id(mch_id)
            // The builder copies the key into its own zeroizing string.
            .api_key(key.as_str());
        let builder = match identity {
            Some(identity) => builder.identity(identity),
            None => builder.certificate_at_gateway(),
        };
        Ok(builder.sign_type(
            v2.and_then(|v2| v2.sign_type)
                .unwrap_or(SignTypeArg::Md5)
                .into(),
        ))
    }

    fn v3_builder(&self, mch_id: String) -> anyhow::Result<V3Builder<()>> {
        let v3 = self.v3.as_ref();
        let key = private_key(
            v3.and_then(|v3| v3.private_key.as_deref()),
            self.cert_key.as_deref(),
        )?;
        let serial_no = v3.and_then(|v3| v3.serial_no.as_deref());
        let mut builder = merchant_builder(mch_id, key, self.cert.as_deref(), serial_no)?;
        let api_v3_key = read_api_v3_key(v3.and_then(|v3| v3.api_v3_key_file.as_deref()))?;
        let public_key = v3.and_then(|v3| {
            let pem = v3.wechatpay_public_key.as_ref()?;
            Some((pem, v3.wechatpay_public_key_id.as_ref()?))
        });
        let platform_certs = v3.map(|v3| &v3.platform_cert[..]).unwrap_or_default();
        if public_key.is_none() && platform_certs.is_empty() && api_v3_key.is_none() {
            bail!(
                "no way to verify replies: pass --wechatpay-public-key PEM --wechatpay-public-key-id ID, --platform-cert PEM, or --api-v3-key-file FILE"
            );
        }
        if let Some((pem, id)) = public_key {
            builder = builder.wechatpay_public_key_file(id.clone(), pem);
        }
        for cert in platform_certs {
            builder = builder.platform_certificate_file(cert);
        }
        if let Some(key) = api_v3_key {
            builder = builder.api_v3_key(key.as_str());
        }
        Ok(builder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_newline_is_cut_in_place() {
        for (raw, key) in [("k\n", "k"), ("k\r\n", "k"), ("k", "k"), ("k\n\n", "k\n")] {
            assert_eq!(strip_newline(Zeroizing::new(raw.to_owned())).as_str(), key);
        }
    }

    #[test]
    fn a_secret_file_is_read_whole_but_bounded() {
        let dir = tempfile::TempDir::new().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "secret\n").unwrap();
        assert_eq!(read_secret(&key).unwrap().as_str(), "secret\n");
        std::fs::write(&key, b"\xff\xfe").unwrap();
        assert!(read_secret(&key).is_err());
        let e = read_secret(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("a character device"), "{e}");
        std::fs::write(&key, vec![b'k'; 64 * 1024 + 1]).unwrap();
        let e = read_secret(&key).unwrap_err();
        assert!(e.to_string().contains("not a key file"), "{e}");
    }

    /// `--region` picks the host; `--endpoint` is its own choice, and the
    /// two together are a usage error.
    #[test]
    fn region_picks_the_host_and_conflicts_with_endpoint() {
        use clap::Parser;
        #[derive(Parser)]
        struct Net {
            #[command(flatten)]
            net: NetArgs,
        }
        let parse = |args: &[&str]| {
            let argv = std::iter::once("wxmedia").chain(args.iter().copied());
            Net::try_parse_from(argv)
        };
        let endpoint = |args: &[&str]| parse(args).map(|n| n.net.endpoint(None).unwrap());
        assert_eq!(endpoint(&[]).unwrap(), "https://api.mch.weixin.qq.com");
        assert_eq!(
            endpoint(&["--region", "cn"]).unwrap(),
            "https://api.mch.weixin.qq.com"
        );
        assert_eq!(
            endpoint(&["--region", "hk"]).unwrap(),
            "https://apihk.mch.weixin.qq.com"
        );
        assert_eq!(
            endpoint(&["--endpoint", "https://127.0.0.1:9"]).unwrap(),
            "https://127.0.0.1:9"
        );
        let e = parse(&["--region", "hk", "--endpoint", "https://x"])
            .err()
            .unwrap();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        // An upload only the Hong Kong host serves goes there by default,
        // and --region cn is refused for it rather than sent to a host
        // that does not serve it; --endpoint (a simulator) is taken.
        let only_hk = |args: &[&str]| parse(args).unwrap().net.endpoint(Some(Region::HongKong));
        assert_eq!(only_hk(&[]).unwrap(), "https://apihk.mch.weixin.qq.com");
        assert_eq!(
            only_hk(&["--region", "hk"]).unwrap(),
            "https://apihk.mch.weixin.qq.com"
        );
        let e = only_hk(&["--region", "cn"]).unwrap_err().to_string();
        assert!(e.contains("only by the Hong Kong host"), "{e}");
        assert_eq!(
            only_hk(&["--endpoint", "https://127.0.0.1:9"]).unwrap(),
            "https://127.0.0.1:9"
        );
        assert!(endpoint(&["--region", "us"]).is_err());
    }
}
