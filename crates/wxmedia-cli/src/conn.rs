//! Credentials and connection options shared by `upload` and `batch`, and the transport they select.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use wxmedia_client::{BuildError, ClientBuilder, FromSettings, Identity};
use wxmedia_proto::Media;
use wxmedia_proto::endpoints::PRIMARY_BASE_URL;
use wxmedia_proto::v2::{SignType, Uploaded};

use crate::report::Failure;

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

/// The API key: from a file or the environment, never a plain flag value
/// (it would show in `ps`).
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// File holding the APIv2 key (one trailing newline is ignored). Default: env WXMEDIA_API_KEY.
    #[arg(long, value_name = "PATH")]
    pub(crate) api_key_file: Option<PathBuf>,
}

impl KeyArgs {
    /// Read the key. A single trailing newline (`\n` or `\r\n`) is removed,
    /// because editors add one; any other surrounding whitespace is refused
    /// by the key's own validation, with a message that says so.
    pub(crate) fn read(&self) -> anyhow::Result<String> {
        let raw = match &self.api_key_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the API key file {}", path.display()))?,
            None => std::env::var("WXMEDIA_API_KEY").map_err(|_| {
                anyhow::anyhow!("no API key: pass --api-key-file PATH or set WXMEDIA_API_KEY")
            })?,
        };
        let key = raw
            .strip_suffix("\r\n")
            .or_else(|| raw.strip_suffix('\n'))
            .unwrap_or(&raw)
            .to_owned();
        wxmedia_proto::v2::ApiKey::new(key.clone()).context("the API key is not usable")?;
        Ok(key)
    }
}

/// Credentials, identity, endpoints and limits.
#[derive(Debug, Args)]
pub(crate) struct ConnArgs {
    /// Merchant id.
    #[arg(long, env = "WXMEDIA_MCH_ID", value_name = "ID")]
    pub(crate) mch_id: Option<String>,
    #[command(flatten)]
    pub(crate) key: KeyArgs,
    /// Client certificate, PEM (apiclient_cert.pem).
    #[arg(
        long,
        env = "WXMEDIA_CERT",
        value_name = "PEM",
        requires = "cert_key",
        conflicts_with = "p12"
    )]
    pub(crate) cert: Option<PathBuf>,
    /// Client key, PEM: PKCS#8 or PKCS#1 (apiclient_key.pem).
    #[arg(long, env = "WXMEDIA_CERT_KEY", value_name = "PEM", requires = "cert")]
    pub(crate) cert_key: Option<PathBuf>,
    /// PKCS#12 identity (apiclient_cert.p12); password from WXMEDIA_P12_PASSWORD, default the merchant id.
    #[arg(long, value_name = "FILE")]
    pub(crate) p12: Option<PathBuf>,
    /// Extra trusted root certificate, PEM (repeatable).
    #[arg(long = "ca", value_name = "PEM")]
    pub(crate) ca: Vec<PathBuf>,
    /// Base URL of the API.
    #[arg(long, value_name = "URL", default_value = PRIMARY_BASE_URL)]
    pub(crate) endpoint: String,
    /// Base URL to fail over to (default: the twin host when the default endpoint is used, none otherwise).
    #[arg(long, value_name = "URL")]
    pub(crate) backup_endpoint: Option<String>,
    /// How to sign.
    #[arg(long, value_enum, default_value = "md5")]
    pub(crate) sign_type: SignTypeArg,
    /// HTTP stack.
    #[arg(long, value_enum, default_value = "hyper")]
    pub(crate) transport: TransportArg,
    /// Deadline per file in seconds, retries included.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub(crate) timeout: f64,
    /// One JSON object per line instead of plain text.
    #[arg(long)]
    pub(crate) json: bool,
}

impl ConnArgs {
    /// Build the client these options describe. Errors here are usage
    /// errors (exit 2).
    pub(crate) fn uploader(&self) -> anyhow::Result<Uploader> {
        let mch_id = self.mch_id.clone().ok_or_else(|| {
            anyhow::anyhow!("no merchant id: pass --mch-id or set WXMEDIA_MCH_ID")
        })?;
        let key = self.key.read()?;
        let identity = match (&self.cert, &self.cert_key, &self.p12) {
            (Some(cert), Some(key), None) => Identity::from_pem_files(cert, key)?,
            (None, None, Some(p12)) => {
                let password =
                    std::env::var("WXMEDIA_P12_PASSWORD").unwrap_or_else(|_| mch_id.clone());
                Identity::from_pkcs12_file(p12, &password)?
            }
            _ => bail!("no client certificate: pass --cert PEM --cert-key PEM, or --p12 FILE"),
        };
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            bail!("--timeout must be a positive number of seconds");
        }
        let deadline = Duration::from_secs_f64(self.timeout);
        // The builder applies the twin rule: the official primary keeps its
        // official twin unless --backup-endpoint says otherwise.
        let mut builder = ClientBuilder::new()
            .mch_id(mch_id)
            .api_key(key)
            .identity(identity)
            .sign_type(self.sign_type.into())
            .endpoint(self.endpoint.clone())
            .deadline(deadline)
            .attempt_timeout(deadline.min(Duration::from_secs(30)))
            .connect_timeout(deadline.min(Duration::from_secs(10)));
        if let Some(backup) = &self.backup_endpoint {
            builder = builder.backup_endpoint(Some(backup.clone()));
        }
        for ca in &self.ca {
            builder = builder.add_root_ca_file(ca);
        }
        Ok(Uploader::build(self.transport, builder)?)
    }
}

/// One of the transports, behind one async `upload`.
#[derive(Clone, Debug)]
pub(crate) enum Uploader {
    Hyper(wxmedia_hyper::Client),
    Surf(wxmedia_surf::Client),
    Blocking(wxmedia_blocking::Client),
}

impl Uploader {
    /// The transport's name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Uploader::Hyper(_) => "hyper",
            Uploader::Surf(_) => "surf",
            Uploader::Blocking(_) => "blocking",
        }
    }

    /// A client of the chosen transport from one builder's settings.
    fn build(transport: TransportArg, builder: ClientBuilder<()>) -> Result<Uploader, BuildError> {
        let settings = builder.settings()?;
        Ok(match transport {
            TransportArg::Hyper => Uploader::Hyper(wxmedia_hyper::Client::from_settings(settings)?),
            TransportArg::Surf => Uploader::Surf(wxmedia_surf::Client::from_settings(settings)?),
            TransportArg::Blocking => {
                Uploader::Blocking(wxmedia_blocking::Client::from_settings(settings)?)
            }
        })
    }

    /// Upload, mapping the error (one type for every transport) into the
    /// CLI's report.
    pub(crate) async fn upload(&self, media: Media) -> Result<Uploaded, Failure> {
        let result = match self {
            Uploader::Hyper(c) => c.upload(media).await,
            // surf's I/O runs on async-std's own reactor, so its future can
            // be awaited from the CLI's tokio runtime.
            Uploader::Surf(c) => c.upload(media).await,
            Uploader::Blocking(c) => {
                let c = c.clone();
                match tokio::task::spawn_blocking(move || c.upload(media)).await {
                    Ok(r) => r,
                    Err(e) => return Err(Failure::internal(format!("upload thread: {e}"))),
                }
            }
        };
        result.map_err(|e| Failure::from_error(&e))
    }
}

impl Uploader {
    /// A client for an in-process simulator (the demo).
    pub(crate) fn for_simulator(
        server: &wxmedia_sim::SimServer,
        transport: TransportArg,
        sign_type: SignType,
    ) -> anyhow::Result<Uploader> {
        let pki = server.pki();
        let identity = Identity::from_pem_files(pki.client_cert_path(), pki.client_key_path())?;
        let builder = ClientBuilder::new()
            .mch_id(server.sim().mch_id())
            .api_key(server.sim().api_key().expose_secret())
            .identity(identity)
            .sign_type(sign_type)
            .endpoint(server.endpoint())
            .webpki_roots(false)
            .add_root_ca_file(pki.ca_cert_path());
        Ok(Uploader::build(transport, builder)?)
    }
}
