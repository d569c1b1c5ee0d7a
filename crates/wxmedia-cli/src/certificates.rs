//! `wxmedia certificates`: download, decrypt and verify the platform certificates with the APIv3 key, and save them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::Args;
use wxmedia_proto::v3::{Api, PlatformCertificate, Validity};

use crate::client::{Configured, Uploader};
use crate::conn::{NetArgs, V3KeyArgs};
use crate::report::{CmdError, CmdResult, EXIT_OK};

/// Options of `wxmedia certificates`.
#[derive(Debug, Args)]
pub(crate) struct CertificatesArgs {
    /// Merchant id.
    #[arg(long, env = "WXMEDIA_MCH_ID", value_name = "ID")]
    mch_id: Option<String>,
    /// Merchant API private key, PEM (apiclient_key.pem); --cert-key means the same. Default: env WXMEDIA_PRIVATE_KEY.
    #[arg(long, value_name = "PEM", alias = "cert-key")]
    private_key: Option<PathBuf>,
    /// Merchant certificate, PEM (apiclient_cert.pem), whose serial is sent.
    #[arg(long, env = "WXMEDIA_CERT", value_name = "PEM")]
    cert: Option<PathBuf>,
    /// The merchant certificate's serial number, instead of --cert.
    #[arg(long, value_name = "SERIAL")]
    serial_no: Option<String>,
    #[command(flatten)]
    api_v3_key: V3KeyArgs,
    /// Directory to write wechatpay_<SERIAL>.pem into (created when missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    net: NetArgs,
}

/// The client, and the output directory made ready: every problem found
/// here is the user's to fix, before anything is sent.
fn prepare(args: &CertificatesArgs) -> anyhow::Result<Uploader> {
    let mch_id = args
        .mch_id
        .clone()
        .ok_or_else(|| anyhow!("no merchant id: pass --mch-id or set WXMEDIA_MCH_ID"))?;
    let key = crate::conn::private_key(args.private_key.as_deref(), None)?;
    let builder = crate::conn::merchant_builder(
        mch_id,
        key,
        args.cert.as_deref(),
        args.serial_no.as_deref(),
    )?;
    let api_v3_key = args.api_v3_key.read()?.ok_or_else(|| {
        anyhow!("no APIv3 key: pass --api-v3-key-file FILE or set WXMEDIA_API_V3_KEY")
    })?;
    let deadline = args.net.deadline()?;
    let builder = args
        .net
        .apply(builder.api_v3_key(api_v3_key.as_str()), deadline, None);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the directory {}", args.out.display()))?;
    // The upload kind is not used: this client only downloads.
    Ok(Uploader::build(
        args.net.transport,
        Configured::V3(builder, crate::destination::V3Target::Api(Api::Image)),
    )?)
}

/// Write one certificate as `DIR/wechatpay_<SERIAL>.pem`, through a
/// temporary file renamed into place, so that a reader never sees half a
/// certificate.
fn save(dir: &Path, cert: &PlatformCertificate) -> anyhow::Result<PathBuf> {
    // The serial comes from the server; it is checked to be hex (as the
    // core already makes it) before it becomes part of a path.
    if cert.serial_no.is_empty() || !cert.serial_no.bytes().all(|b| b.is_ascii_hexdigit()) {
        anyhow::bail!(
            "the certificate serial {:?} is not hexadecimal",
            cert.serial_no
        );
    }
    let path = dir.join(format!("wechatpay_{}.pem", cert.serial_no));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write into {}", dir.display()))?;
    tmp.write_all(cert.pem.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

pub(crate) async fn run(args: CertificatesArgs) -> CmdResult {
    let client = prepare(&args)?;
    let certificates = client.download_certificates().await.map_err(|f| {
        let request_id = f
            .request_id
            .as_deref()
            .map(|id| format!(" (Request-ID {id})"))
            .unwrap_or_default();
        CmdError {
            status: f.exit_code(),
            message: format!("certificates: {}{request_id}", f.message),
        }
    })?;
    // The core has refused a listing with no certificate valid now; of
    // the rest, only the valid ones are saved (a file in DIR is trusted by
    // whoever points --platform-cert at it).
    for cert in certificates.iter().filter(|c| c.is_valid()) {
        save(&args.out, cert).map_err(|e| CmdError::failed(format!("{e:#}")))?;
        // The serial comes from the server's listing, the dates from the
        // certificate it sent: neither is ours to print raw.
        let line = format!(
            "{} {} {}",
            cert.serial_no, cert.effective_time, cert.expire_time
        );
        println!("{}", crate::text::safe(&line));
    }
    for cert in certificates.iter().filter(|c| !c.is_valid()) {
        eprintln!("{}", crate::text::safe(&skipped(cert)));
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// Why a certificate of the listing was not saved, with its own dates.
fn skipped(cert: &PlatformCertificate) -> String {
    let why = match cert.validity {
        Validity::NotYetValid => format!(
            "is not valid before {} (the next one of a rotation: download again then)",
            cert.effective_time
        ),
        Validity::Expired => format!("expired {}", cert.expire_time),
        _ => format!(
            "is not valid now (valid {} to {})",
            cert.effective_time, cert.expire_time
        ),
    };
    format!(
        "wxmedia: not saved: platform certificate {} {why}",
        cert.serial_no
    )
}
