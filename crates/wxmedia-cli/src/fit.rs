//! `wxmedia fit` and `--fit`: phone photos made uploadable (size, orientation, format, metadata) by `wxmedia-fit` before they are sent, the original file never touched.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::Args;
use serde::Serialize;
use tokio::sync::Semaphore;
use wxmedia_fit::FitReport;
use wxmedia_proto::v3::Api;
use wxmedia_proto::{Media, MediaHash};

use crate::conn::{ApiArg, Destination, kind_parser};
use crate::report::{CmdError, CmdResult, EXIT_OK, Failure};

/// The largest photo read for fitting: a 50 MP phone photo is about
/// 25 MB; a file four times larger is not a photo to send.
pub(crate) const MAX_FIT_INPUT: usize = 100 * 1024 * 1024;

/// `--fit` and its options on `upload` and `batch`.
#[derive(Debug, Clone, Args)]
pub(crate) struct FitFlags {
    /// Fit images to the upload before sending: apply the EXIF orientation, remove EXIF/GPS/XMP/comments, convert WebP (and PNG/BMP over the limit) to JPEG, pick the highest quality that fits, downscale only if it must. The file on disk is not changed.
    #[arg(long)]
    pub(crate) fit: bool,
    /// With --fit: keep EXIF and XMP (GPS included) instead of removing them.
    #[arg(long, requires = "fit")]
    pub(crate) keep_metadata: bool,
    /// With --fit: never downscale below this long side, in pixels.
    #[arg(long, requires = "fit", value_name = "PIXELS", default_value_t = 1600,
          value_parser = clap::value_parser!(u32).range(1..=65_535))]
    pub(crate) min_long_side: u32,
}

impl FitFlags {
    /// The fitting asked for, if any; `--fit` on videos and PDFs is a
    /// usage error.
    pub(crate) fn options(&self, target: Destination) -> anyhow::Result<Option<FitOptions>> {
        if !self.fit {
            return Ok(None);
        }
        if !matches!(target, Destination::V2) && !target.takes(wxmedia_proto::MediaKind::Jpeg) {
            anyhow::bail!(
                "--fit is for images; videos and PDFs are sent as they are (a PDF is checked whole, never changed)"
            );
        }
        Ok(Some(FitOptions {
            target: fit_target(target, self.keep_metadata, self.min_long_side),
        }))
    }
}

/// What `--fit` fits to.
#[derive(Debug, Clone)]
pub(crate) struct FitOptions {
    target: wxmedia_fit::Target,
}

/// The fit target of an upload: its limit, the image formats it takes.
fn fit_target(target: Destination, keep_metadata: bool, min_long_side: u32) -> wxmedia_fit::Target {
    let base = match target {
        Destination::V2 => wxmedia_fit::Target::for_v2(),
        Destination::V3(api) => wxmedia_fit::Target::for_endpoint(&api)
            .unwrap_or_else(|| wxmedia_fit::Target::with_limit(target.max_size())),
        Destination::Custom(api) => wxmedia_fit::Target::for_endpoint(api)
            .unwrap_or_else(|| wxmedia_fit::Target::with_limit(target.max_size())),
    };
    base.with_keep_metadata(keep_metadata)
        .with_min_long_side(min_long_side)
}

/// What fitting did to one file, for the result line, `--json` and the
/// ledger.
#[derive(Debug, Clone)]
pub(crate) struct FitNote {
    /// Boxed: the report is several times the size of the rest of what a
    /// batch carries per file.
    pub(crate) report: Box<FitReport>,
    /// The MD5 of the file as it is on disk (the media hash is that of
    /// what was sent).
    pub(crate) source_hash: String,
}

impl FitNote {
    /// The `fit` member of a JSON line.
    pub(crate) fn json(&self) -> serde_json::Value {
        let r = &self.report;
        serde_json::json!({
            "changed": !r.unchanged,
            "summary": r.to_string(),
            "format_before": r.format_before.name(),
            "format_after": r.format_after.name(),
            "bytes_before": r.bytes_before,
            "bytes_after": r.bytes_after,
            "width": r.dims_after.width,
            "height": r.dims_after.height,
            "quality": r.quality,
            "oriented": r.oriented.map(|o| o.to_string()),
            "removed": r.metadata_removed.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "source_hash": self.source_hash,
        })
    }
}

/// Fits run on the blocking pool, at most one per core (they are CPU
/// work), and together within [`FIT_MEMORY_MIB`].
fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS
        .get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())))
}

/// The memory all fits in flight may hold together, in MiB: twice the
/// most one fit may take (`wxmedia_fit`'s default `max_alloc`, 512 MiB),
/// whatever the number of cores. A batch on a 64-core host then holds at
/// most 1 GiB of photos, not 64 × 512 MiB.
const FIT_MEMORY_MIB: u32 = 1024;

/// The memory budget of the fits in flight: a semaphore on MiB, not on
/// files. Each fit takes what `wxmedia_fit::peak_bytes` says it will use
/// (an upper bound, from the headers) before it starts, and gives it back
/// when done.
fn memory() -> &'static Semaphore {
    static MEMORY: OnceLock<Semaphore> = OnceLock::new();
    MEMORY.get_or_init(|| Semaphore::new(FIT_MEMORY_MIB as usize))
}

/// The MiB a fit of `peak` bytes takes from a budget of `budget` MiB: at
/// least 1, and never more than the whole budget, so that one fit larger
/// than the budget (a raised `max_alloc`) runs alone rather than never.
fn mib_for(peak: u64, budget: u32) -> u32 {
    let mib = peak.div_ceil(1 << 20).max(1);
    u32::try_from(mib).unwrap_or(u32::MAX).min(budget)
}

/// The MD5 of a file's bytes, as the ledger keys files.
pub(crate) fn source_hash(bytes: &[u8]) -> String {
    MediaHash::of(bytes).to_string()
}

/// The bytes with their MD5, computed on the blocking pool (a batch
/// looks the original up in its ledger before fitting it).
pub(crate) async fn hashed(bytes: Vec<u8>) -> Result<(Vec<u8>, String), Failure> {
    tokio::task::spawn_blocking(move || {
        let hash = source_hash(&bytes);
        (bytes, hash)
    })
    .await
    .map_err(|e| Failure::internal(format!("hash thread: {e}")))
}

/// Fit `bytes` (the file `name`, whose MD5 is `source_hash`) and check
/// the result as the upload's media: the name's extension becomes `.jpg`
/// when the format changed.
pub(crate) async fn prepare(
    name: String,
    bytes: Vec<u8>,
    source_hash: String,
    target: Destination,
    options: &FitOptions,
) -> Result<(Media, FitNote), Failure> {
    let fit_target = options.target.clone();
    let cannot = |e: wxmedia_fit::FitError| {
        Failure::refused(
            "fit",
            format!("cannot fit the photo: {e}; nothing was sent"),
        )
    };
    // What the fit will hold at most, from the headers (a refusal here is
    // the one `fit` would give), taken from the memory budget first.
    let (bytes, peak) = {
        let target = fit_target.clone();
        tokio::task::spawn_blocking(move || {
            let peak = wxmedia_fit::peak_bytes(&bytes, &target);
            (bytes, peak)
        })
        .await
        .map_err(|e| Failure::internal(format!("fit thread: {e}")))?
    };
    let peak = peak.map_err(cannot)?;
    let _memory = memory()
        .acquire_many(mib_for(peak, FIT_MEMORY_MIB))
        .await
        .map_err(|e| Failure::internal(format!("fit memory: {e}")))?;
    let _permit = permits()
        .acquire()
        .await
        .map_err(|e| Failure::internal(format!("fit permits: {e}")))?;
    let fitted = tokio::task::spawn_blocking(move || {
        wxmedia_fit::fit(&bytes, &fit_target).map(|f| {
            let report = f.report.clone();
            (f.into_vec(), report)
        })
    })
    .await
    .map_err(|e| Failure::internal(format!("fit thread: {e}")))?;
    let (out, report) = fitted.map_err(cannot)?;
    let name = wxmedia_fit::name_for(&name, report.format_after);
    let media = target.media(name, out).map_err(Failure::media)?;
    Ok((
        media,
        FitNote {
            report: Box::new(report),
            source_hash,
        },
    ))
}

/// Options of `wxmedia fit`.
#[derive(Debug, Args)]
pub(crate) struct FitArgs {
    /// The photo: JPEG, PNG, BMP, WebP or HEIC/HEIF (`wxmedia --version` lists the decoders).
    #[arg(value_name = "IN")]
    input: PathBuf,
    /// Where to write the result; never the input itself. Written whole, then renamed into place.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Fit to this API's upload [default: v2, 2 MiB].
    #[arg(long, value_enum)]
    api: Option<ApiArg>,
    /// With --api v3: which upload's limit [default: image].
    #[arg(long, value_parser = kind_parser(), requires = "api")]
    kind: Option<Api>,
    /// Fit to this many bytes instead of an upload's limit.
    #[arg(long, value_name = "BYTES", conflicts_with_all = ["api", "kind"],
          value_parser = clap::value_parser!(u64).range(1024..=(MAX_FIT_INPUT as u64)))]
    limit: Option<u64>,
    #[command(flatten)]
    fit: FitFlagsNoSwitch,
    /// One JSON object instead of the line.
    #[arg(long)]
    json: bool,
}

/// The options `--fit` takes, without the switch itself (`fit` always fits).
#[derive(Debug, Args)]
struct FitFlagsNoSwitch {
    /// Keep EXIF and XMP (GPS included) instead of removing them.
    #[arg(long)]
    keep_metadata: bool,
    /// Never downscale below this long side, in pixels.
    #[arg(long, value_name = "PIXELS", default_value_t = 1600,
          value_parser = clap::value_parser!(u32).range(1..=65_535))]
    min_long_side: u32,
}

impl FitArgs {
    fn target(&self) -> Result<wxmedia_fit::Target, CmdError> {
        let upload = match (self.api, self.kind) {
            (None | Some(ApiArg::V2), None) => Destination::V2,
            (Some(ApiArg::V2), Some(_)) => {
                return Err(CmdError::usage("--kind is for --api v3"));
            }
            (_, kind) => Destination::V3(kind.unwrap_or(Api::Image)),
        };
        if matches!(upload, Destination::V3(api) if !api.accepts(wxmedia_proto::MediaKind::Jpeg)) {
            return Err(CmdError::usage(
                "fit makes photos; videos and PDFs are sent as they are",
            ));
        }
        let keep = self.fit.keep_metadata;
        let min = self.fit.min_long_side;
        Ok(match self.limit {
            Some(bytes) => {
                // At most MAX_FIT_INPUT, so it fits in usize (the parser's range).
                let bytes = usize::try_from(bytes).unwrap_or(MAX_FIT_INPUT);
                wxmedia_fit::Target::with_limit(bytes)
                    .with_keep_metadata(keep)
                    .with_min_long_side(min)
            }
            None => fit_target(upload, keep, min),
        })
    }
}

/// `wxmedia fit IN -o OUT`: one line (or JSON object) saying what changed.
pub(crate) fn run(args: FitArgs) -> CmdResult {
    let target = args.target()?;
    check_not_the_input(&args.input, &args.output)?;
    let bytes = crate::upload::read_limited(&args.input, MAX_FIT_INPUT)
        .map_err(|f| CmdError::usage(format!("{}: {}", args.input.display(), f.message)))?;
    let fitted = wxmedia_fit::fit(&bytes, &target).map_err(|e| {
        CmdError::usage(format!(
            "{}: cannot fit the photo: {e}",
            args.input.display()
        ))
    })?;
    let report = fitted.report.clone();
    write_new(&args.output, &fitted.bytes)
        .map_err(|e| CmdError::failed(format!("cannot write {}: {e}", args.output.display())))?;
    let note = FitNote {
        report: Box::new(report),
        source_hash: source_hash(&bytes),
    };
    if args.json {
        #[derive(Serialize)]
        struct Line<'a> {
            file: String,
            output: String,
            fit: &'a serde_json::Value,
        }
        let line = Line {
            file: args.input.display().to_string(),
            output: args.output.display().to_string(),
            fit: &note.json(),
        };
        println!("{}", serde_json::to_string(&line).expect("serializable"));
    } else {
        // The name is the user's; the report is ours.
        println!(
            "{}",
            crate::text::safe(&format!(
                "{}: {} -> {}",
                args.input.display(),
                note.report,
                args.output.display()
            ))
        );
    }
    Ok(ExitCode::from(EXIT_OK))
}

/// Refuse an output that is the input (or a link to it): the original is
/// never overwritten.
fn check_not_the_input(input: &Path, output: &Path) -> Result<(), CmdError> {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(output))
        && a.dev() == b.dev()
        && a.ino() == b.ino()
    {
        return Err(CmdError::usage(format!(
            "{} is the input file; fit never overwrites the original: give another -o",
            output.display()
        )));
    }
    Ok(())
}

/// Write `bytes` to `path` whole or not at all: into a temporary file
/// beside it, synced, then renamed over it.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Item 2 of hardening round 4: a fit takes its estimate in MiB, at
    /// least 1 and at most the whole budget.
    #[test]
    fn item2_a_fit_takes_its_peak_from_the_budget() {
        assert_eq!(mib_for(0, 1024), 1);
        assert_eq!(mib_for(1, 1024), 1);
        assert_eq!(mib_for(1 << 20, 1024), 1);
        assert_eq!(mib_for((1 << 20) + 1, 1024), 2);
        assert_eq!(mib_for(300 << 20, 1024), 300);
        // Over the budget: alone, not never.
        assert_eq!(mib_for(5 << 30, 1024), 1024);
        assert_eq!(mib_for(u64::MAX, 1024), 1024);
    }

    /// Item 2: fits whose estimates add up past the budget do not run at
    /// once, however many tasks ask: the MiB held never exceed it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn item2_fits_in_flight_stay_within_the_memory_budget() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};
        let budget = 1024;
        let memory = Arc::new(Semaphore::new(budget as usize));
        let held = Arc::new(AtomicU32::new(0));
        let most = Arc::new(AtomicU32::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (memory, held, most) = (memory.clone(), held.clone(), most.clone());
                // 300 to 450 MiB each: three never fit at once.
                let peak = (300u64 + 10 * i) << 20;
                tokio::spawn(async move {
                    let mib = mib_for(peak, budget);
                    let _permit = memory.acquire_many(mib).await.unwrap();
                    let now = held.fetch_add(mib, Ordering::SeqCst) + mib;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    held.fetch_sub(mib, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(most <= budget, "{most} MiB held at once");
        assert!(most >= 600, "two fits ran together ({most} MiB)");
    }
}
