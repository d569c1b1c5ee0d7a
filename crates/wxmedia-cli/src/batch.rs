//! `wxmedia batch`: many files, a ledger that survives crashes, resumption, and a summary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use futures_util::StreamExt;
use wxmedia_proto::Media;

mod ledger;

use ledger::{Entry, Ledger, Reuse, Status, failed_entry, unix_now};

use crate::client::Uploader;
use crate::conn::{ConnArgs, Destination};
use crate::fit::{FitFlags, FitNote, FitOptions};
use crate::report::{self, CmdError, CmdResult, Done, EXIT_OK, Failure};

/// Options of `wxmedia batch`.
#[derive(Debug, Args)]
pub(crate) struct BatchArgs {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    fit: FitFlags,
    #[command(flatten)]
    rate: crate::rate::RateArgs,
    /// Files, or directories whose files of the upload's kind are taken (recursively, in name order, not into symlinked directories): images, or videos for --kind video.
    #[arg(required = true, value_name = "DIR|FILE")]
    paths: Vec<PathBuf>,
    /// Append-only JSON-lines ledger: one line per finished file; a rerun skips what succeeded. Locked while a run uses it.
    #[arg(long, value_name = "FILE.jsonl")]
    ledger: PathBuf,
    /// How long a result in the ledger is reused by a rerun: 90s, 30m, 12h, 3d, or forever. After it (or for a line without an upload time) the file is uploaded again, since WeChat Pay's ids do not live for ever: it documents 3 days for fapiao files and nothing for the others.
    #[arg(long, value_name = "DURATION", default_value = "3d", value_parser = ledger::parse_reuse)]
    reuse_for: Reuse,
    /// Uploads in flight at once; each holds its file in memory. Default: one per upload a second that --rate allows, 2 to 16 (16 with --rate off). A FREQUENCY_LIMITED reply pauses them all.
    // 16 unpaced: within about 5% of the best concurrency in every measured
    // run of docs/BENCHMARKS.md, where 4 was 10-15% below it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: Option<u16>,
}

/// The files to upload, in order. Symbolic links named on the command line
/// are followed; inside a directory, a link to a file is taken, but a link
/// to a directory is not descended into (and is reported): a link such as
/// `self -> .` would otherwise take the same files again and again.
///
/// With `--fit` (`fit`), a directory's WebP photos are taken too when the
/// upload takes JPEGs: `--fit` converts them, so a batch must not skip
/// what it can make uploadable.
fn collect(paths: &[PathBuf], target: Destination, fit: bool) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(
        dir: &Path,
        target: Destination,
        fit: bool,
        out: &mut Vec<PathBuf>,
    ) -> anyhow::Result<()> {
        let cannot = || format!("cannot read the directory {}", dir.display());
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(cannot)?
            .collect::<Result<_, _>>()
            .with_context(cannot)?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            // The entry's own type: a symbolic link is not followed here.
            let file_type = e.file_type().with_context(cannot)?;
            if file_type.is_dir() {
                walk(&path, target, fit, out)?;
            } else if file_type.is_symlink() && path.is_dir() {
                eprintln!(
                    "wxmedia: {}: a symbolic link to a directory; not followed",
                    crate::text::shown(&path)
                );
            } else if path
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|ext| {
                    // Only what this upload takes: images, or videos for v3's
                    // video upload (and, with --fit, WebP, which becomes a
                    // JPEG). Anything named so that is not a regular file (a
                    // FIFO, a link to a device) is refused when read.
                    let kind = wxmedia_proto::MediaKind::from_extension(ext);
                    kind.is_some_and(|kind| target.takes(kind))
                        || (fit
                            && ext.eq_ignore_ascii_case("webp")
                            && target.takes(wxmedia_proto::MediaKind::Jpeg))
                })
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, target, fit, &mut files)?;
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

#[derive(Default)]
struct Counts {
    uploaded: usize,
    skipped: usize,
    failed: usize,
    status: u8,
}

pub(crate) async fn run(args: BatchArgs) -> CmdResult {
    let uploader = args.conn.uploader(&args.rate)?;
    let mch_id = args.conn.mch_id.clone().unwrap_or_default();
    let target = uploader.target();
    if let Destination::Custom(_) = target {
        // A ledger line names a built-in upload and its one result field;
        // a custom endpoint's result is a whole reply.
        return Err(anyhow::anyhow!(
            "--path is for `wxmedia upload`: a batch's ledger keeps the built-in uploads (--kind) only"
        )
        .into());
    }
    let fit = args.fit.options(target)?;
    let files = collect(&args.paths, target, fit.is_some())?;
    let ledger = Arc::new(Ledger::open(&args.ledger, args.reuse_for)?);
    let progress = crate::progress::bar(files.len());
    let workers = usize::from(
        args.concurrency
            .unwrap_or_else(|| args.rate.concurrency(target)),
    );
    // Files are read (off the async workers) a few at a time but handed on
    // in order, so that of two files with the same content the earlier one
    // is uploaded and the later one reported as its duplicate.
    let loaded = futures_util::stream::iter(files)
        .map(|file| {
            let (ledger, mch_id, fit) = (ledger.clone(), mch_id.clone(), fit.clone());
            async move {
                let loaded = load(&file, target, fit.as_ref(), &ledger, &mch_id).await;
                (file, loaded)
            }
        })
        .buffered(workers);
    // Media hash -> the file of this run that uploads it.
    let mut claimed: HashMap<String, PathBuf> = HashMap::new();
    let results = loaded
        .map(|(file, media)| {
            let plan = plan(media, &file, &ledger, &mch_id, target, &mut claimed);
            let (uploader, ledger, mch_id) = (uploader.clone(), ledger.clone(), mch_id.clone());
            async move { process(&uploader, &ledger, &mch_id, file, plan).await }
        })
        .buffer_unordered(workers);
    futures_util::pin_mut!(results);
    let mut report = Report {
        counts: Counts::default(),
        progress,
        target,
        json: args.conn.json,
        told_rate_limited: false,
    };
    while let Some((file, outcome)) = results.next().await {
        report.file(&file, &outcome, &args.ledger)?;
    }
    Ok(report.finish(args.rate.rate_limited()))
}

/// A file read (and fitted); `None` when, with `--fit`, the file on disk
/// was fitted and uploaded by an earlier run.
type Loaded = Option<(Media, Option<FitNote>)>;

/// Read a file as the upload's media. With `--fit`, the file's own hash
/// is looked up in the ledger first, so that a rerun skips a photo
/// without fitting it again.
async fn load(
    file: &Path,
    target: Destination,
    fit: Option<&FitOptions>,
    ledger: &Ledger,
    mch_id: &str,
) -> Result<Loaded, Failure> {
    let Some(options) = fit else {
        let (media, _) = crate::upload::load(file, target, None).await?;
        return Ok(Some((media, None)));
    };
    let bytes = crate::upload::read(file, target, true).await?;
    let (bytes, hash) = crate::fit::hashed(bytes).await?;
    if ledger.is_done(mch_id, target, &hash) {
        return Ok(None);
    }
    let name = crate::upload::file_name(file);
    let (media, note) = crate::fit::prepare(name, bytes, hash, target, options).await?;
    Ok(Some((media, Some(note))))
}

/// What to do with a file once it is read: refuse it, skip it (done by an
/// earlier run, or a duplicate within this one), or upload it and claim its
/// content for this run.
fn plan(
    media: Result<Loaded, Failure>,
    file: &Path,
    ledger: &Ledger,
    mch_id: &str,
    target: Destination,
    claimed: &mut HashMap<String, PathBuf>,
) -> Plan {
    let (media, note) = match media {
        Err(f) => return Plan::Refused(f),
        Ok(None) => return Plan::Skip,
        Ok(Some(loaded)) => loaded,
    };
    let hash = media.hash().to_string();
    if ledger.is_done(mch_id, target, &hash) {
        Plan::Skip
    } else if let Some(first) = claimed.get(&hash) {
        Plan::Duplicate(first.clone())
    } else {
        claimed.insert(hash.clone(), file.to_owned());
        Plan::Upload(media, hash, note)
    }
}

/// The run's report as files finish: counts, result lines, the progress bar.
struct Report {
    counts: Counts,
    progress: Option<indicatif::ProgressBar>,
    target: Destination,
    json: bool,
    /// Whether the rate-limit note was printed: once a run is enough.
    told_rate_limited: bool,
}

impl Report {
    /// A line on stderr that does not tear the bar.
    fn line(&self, text: String) {
        // File names and ids are not ours: never print them raw.
        let text = crate::text::safe(&text).into_owned();
        match &self.progress {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// Account for one finished file. A ledger that cannot be written
    /// stops the run.
    fn file(&mut self, file: &Path, outcome: &FileOutcome, ledger: &Path) -> Result<(), CmdError> {
        match outcome {
            FileOutcome::Skipped => self.counts.skipped += 1,
            FileOutcome::Duplicate(first) => {
                self.counts.skipped += 1;
                let same = match (std::fs::canonicalize(file), std::fs::canonicalize(first)) {
                    (Ok(a), Ok(b)) if a == b => "the same file",
                    _ => "the same content",
                };
                self.line(format!(
                    "wxmedia: skipping {}: {same} as {}, uploaded by this run",
                    file.display(),
                    first.display()
                ));
            }
            FileOutcome::Done(result, note) => {
                match result {
                    Ok(_) => self.counts.uploaded += 1,
                    Err(f) => {
                        self.counts.failed += 1;
                        self.counts.status = report::combine([self.counts.status, f.exit_code()]);
                        if f.is_rate_limited() && !self.told_rate_limited {
                            self.told_rate_limited = true;
                            self.line(
                                "wxmedia: WeChat Pay answered FREQUENCY_LIMITED past the retries: every upload of this endpoint now waits the pause it asked for. Is another program uploading for this merchant? Lower --rate, or share the limit with --rate-store."
                                    .to_owned(),
                            );
                        }
                    }
                }
                crate::progress::print_above(self.progress.as_ref(), || {
                    report::print_outcome(file, result, note.as_ref(), self.target, self.json)
                });
                if let Ok(done) = result {
                    let fitted = match note {
                        Some(n) if !n.report.unchanged => format!(" (fitted: {})", n.report),
                        _ => String::new(),
                    };
                    self.line(format!("uploaded {} {}{fitted}", file.display(), done.id()));
                }
            }
            FileOutcome::LedgerFailed(e) => {
                // The upload may have happened but is not recorded: stop
                // rather than go on losing track of what was sent.
                return Err(CmdError::failed(format!(
                    "cannot write the ledger {}: {e}",
                    ledger.display()
                )));
            }
        }
        if let Some(bar) = &self.progress {
            bar.inc(1);
        }
        Ok(())
    }

    /// The summary line and the exit status.
    /// The summary; `rate_limited` attempts were answered FREQUENCY_LIMITED
    /// (said once, here: each was retried, and its file is counted as what
    /// became of it).
    fn finish(self, rate_limited: u64) -> ExitCode {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
        if rate_limited > 0 {
            eprintln!(
                "wxmedia: WeChat Pay answered FREQUENCY_LIMITED {rate_limited} time(s); every upload of the endpoint waited the pause it asked for. Is another program uploading for this merchant? Lower --rate, or share the limit with --rate-store."
            );
        }
        let c = &self.counts;
        eprintln!(
            "uploaded {}, skipped {}, failed {}",
            c.uploaded, c.skipped, c.failed
        );
        ExitCode::from(if c.failed == 0 { EXIT_OK } else { c.status })
    }
}

/// How one file of the run ended.
enum FileOutcome {
    /// Already uploaded, says the ledger.
    Skipped,
    /// The same file or content as this earlier file of the run.
    Duplicate(PathBuf),
    Done(Result<Done, Failure>, Option<FitNote>),
    LedgerFailed(std::io::Error),
}

/// What to do with one file once it is read.
enum Plan {
    /// Refused before sending (unreadable, not a regular file, bad media).
    Refused(Failure),
    /// Already uploaded, says the ledger.
    Skip,
    /// An earlier file of this run has the same content.
    Duplicate(PathBuf),
    /// Upload it; the string is its media hash, the note what `--fit` did.
    Upload(Media, String, Option<FitNote>),
}

async fn process(
    uploader: &Uploader,
    ledger: &Ledger,
    mch_id: &str,
    file: PathBuf,
    plan: Plan,
) -> (PathBuf, FileOutcome) {
    let name = file.display().to_string();
    let target = uploader.target();
    let (media, hash, note) = match plan {
        Plan::Refused(f) => {
            let entry = failed_entry(&name, mch_id, target, None, &f);
            return match ledger.append(&entry) {
                Ok(()) => (file, FileOutcome::Done(Err(f), None)),
                Err(e) => (file, FileOutcome::LedgerFailed(e)),
            };
        }
        Plan::Skip => return (file, FileOutcome::Skipped),
        Plan::Duplicate(first) => return (file, FileOutcome::Duplicate(first)),
        Plan::Upload(media, hash, note) => (media, hash, note),
    };
    let result = uploader.upload(media).await;
    let entry = match &result {
        Ok(done) => {
            let mut entry = Entry {
                file: name,
                mch_id: mch_id.to_owned(),
                api: target.name().to_owned(),
                media_hash: Some(hash),
                status: Status::Uploaded,
                media_id: None,
                media_url: None,
                sign_type: None,
                request_id: None,
                error: None,
                source_hash: None,
                fit: None,
                uploaded_at: Some(unix_now()),
            };
            if let Some(n) = note.as_ref().filter(|n| !n.report.unchanged) {
                entry.source_hash = Some(n.source_hash.clone());
                entry.fit = Some(n.report.to_string());
            }
            match done {
                Done::V2(done) => {
                    entry.media_id = Some(done.media_id.clone());
                    entry.sign_type = Some(done.sign_type.as_str().to_owned());
                }
                // Refused before the batch starts.
                Done::Custom(done, _) => entry.request_id = done.request_id.clone(),
                Done::V3(done) => {
                    // The core names the field the result came in: a URL
                    // (a marketing image's media_url, a product coupon's
                    // image_url), or an id (media_id, fapiao_media_id).
                    let field = match done.field {
                        "media_url" | "image_url" => &mut entry.media_url,
                        _ => &mut entry.media_id,
                    };
                    *field = Some(done.id.clone());
                    entry.request_id = done.request_id.clone();
                }
            }
            entry
        }
        Err(f) => failed_entry(&name, mch_id, target, Some(hash), f),
    };
    match ledger.append(&entry) {
        Ok(()) => (file, FileOutcome::Done(result, note)),
        Err(e) => (file, FileOutcome::LedgerFailed(e)),
    }
}
