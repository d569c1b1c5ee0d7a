//! `wxmedia batch`: many files, a ledger that survives crashes, resumption, and a summary.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::conn::{ConnArgs, Target, Uploader};
use crate::report::{self, Done, EXIT_OK, EXIT_USAGE, Failure};

/// How long every worker pauses after the server says FREQUENCY_LIMITED
/// (on top of the client's own backoff, which has already been spent).
const RATE_LIMIT_COOLDOWN: Duration = Duration::from_secs(2);

/// Options of `wxmedia batch`.
#[derive(Debug, Args)]
pub(crate) struct BatchArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Files, or directories whose files of the upload's kind are taken (recursively, in name order): images, or videos for --kind video.
    #[arg(required = true, value_name = "DIR|FILE")]
    paths: Vec<PathBuf>,
    /// Append-only JSON-lines ledger: one line per finished file; a rerun skips what succeeded.
    #[arg(long, value_name = "FILE.jsonl")]
    ledger: PathBuf,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
}

/// One ledger line.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    file: String,
    mch_id: String,
    /// Which upload (`v2`, `v3-image`, `v3-video`, `v3-marketing-image`):
    /// part of the key, since each gives its own result for the same file.
    /// Lines written before v3 have none and were v2 uploads.
    #[serde(default = "v2_name")]
    api: String,
    media_hash: Option<String>,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    media_id: Option<String>,
    /// v3 marketing images: the result is a URL.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    media_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    sign_type: Option<String>,
    /// v3: the reply's `Request-ID`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    error: Option<LedgerError>,
}

fn v2_name() -> String {
    Target::V2.name().to_owned()
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Status {
    Uploaded,
    Failed,
}

#[derive(Debug, Serialize, Deserialize)]
struct LedgerError {
    kind: String,
    code: Option<String>,
    message: String,
}

/// The ledger file: read once at start, then appended to, one synced line
/// per finished file, so a crash or Ctrl-C loses at most the uploads in
/// flight (which a rerun sends again).
struct Ledger {
    file: Mutex<File>,
    /// `(mch_id, api, media_hash)` of every upload that succeeded.
    done: HashSet<(String, String, String)>,
}

impl Ledger {
    fn open(path: &Path) -> anyhow::Result<Ledger> {
        let mut done = HashSet::new();
        if path.exists() {
            let reader = BufReader::new(
                File::open(path)
                    .with_context(|| format!("cannot read the ledger {}", path.display()))?,
            );
            for (n, line) in reader.lines().enumerate() {
                let line =
                    line.with_context(|| format!("cannot read the ledger {}", path.display()))?;
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Entry>(&line) {
                    Ok(e) if e.status == Status::Uploaded => {
                        if let Some(hash) = e.media_hash {
                            done.insert((e.mch_id, e.api, hash));
                        }
                    }
                    Ok(_) => {}
                    // A line cut short by a crash: that file is simply not done.
                    Err(_) => eprintln!(
                        "wxmedia: {}:{}: ignoring an unreadable ledger line",
                        path.display(),
                        n + 1
                    ),
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the ledger {} for appending", path.display()))?;
        Ok(Ledger {
            file: Mutex::new(file),
            done,
        })
    }

    fn is_done(&self, mch_id: &str, target: Target, hash: &str) -> bool {
        self.done
            .contains(&(mch_id.to_owned(), target.name().to_owned(), hash.to_owned()))
    }

    fn append(&self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).expect("serializable");
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        // One write per line keeps lines whole under O_APPEND; syncing makes
        // the line survive a crash of the machine, not only of the process.
        file.write_all(&line)?;
        file.flush()?;
        file.sync_data()
    }
}

fn collect(paths: &[PathBuf], target: Target) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, target: Target, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the directory {}", dir.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot read the directory {}", dir.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            if path.is_dir() {
                walk(&path, target, out)?;
            } else if path
                .extension()
                .and_then(|x| x.to_str())
                .and_then(wxmedia_proto::MediaKind::from_extension)
                // Only what this upload takes: images, or videos for v3's
                // video upload.
                .is_some_and(|kind| target.takes(kind))
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, target, &mut files)?;
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

pub(crate) async fn run(args: BatchArgs) -> ExitCode {
    let usage = |e: anyhow::Error| {
        eprintln!("wxmedia: {e:#}");
        ExitCode::from(EXIT_USAGE)
    };
    let uploader = match args.conn.uploader() {
        Ok(u) => u,
        Err(e) => return usage(e),
    };
    let mch_id = args.conn.mch_id.clone().unwrap_or_default();
    let target = uploader.target();
    let files = match collect(&args.paths, target) {
        Ok(f) => f,
        Err(e) => return usage(e),
    };
    let ledger = match Ledger::open(&args.ledger) {
        Ok(l) => Arc::new(l),
        Err(e) => return usage(e),
    };
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} {elapsed_precise} eta {eta} {msg}",
            )
            .expect("a valid template"),
        );
        Some(bar)
    } else {
        None
    };
    let cooldown: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let json = args.conn.json;
    let results = futures_util::stream::iter(files)
        .map(|file| {
            let (uploader, ledger, cooldown, mch_id) = (
                uploader.clone(),
                ledger.clone(),
                cooldown.clone(),
                mch_id.clone(),
            );
            async move { process(&uploader, &ledger, &cooldown, &mch_id, file).await }
        })
        .buffer_unordered(usize::from(args.concurrency));
    futures_util::pin_mut!(results);
    let mut counts = Counts::default();
    while let Some((file, outcome)) = results.next().await {
        match &outcome {
            Outcome::Skipped => counts.skipped += 1,
            Outcome::Done(result) => {
                match result {
                    Ok(_) => counts.uploaded += 1,
                    Err(f) => {
                        counts.failed += 1;
                        counts.status = report::combine([counts.status, f.exit_code()]);
                    }
                }
                let line = |text: String| match &progress {
                    Some(bar) => bar.println(text),
                    None => eprintln!("{text}"),
                };
                match result {
                    Ok(done) => {
                        if json {
                            report::print_outcome(&file, result, target, true);
                        } else {
                            println!("{}", done.id());
                        }
                        line(format!("uploaded {} {}", file.display(), done.id()));
                    }
                    Err(_) => report::print_outcome(&file, result, target, json),
                }
            }
            Outcome::LedgerFailed(e) => {
                // The upload may have happened but is not recorded: stop
                // rather than go on losing track of what was sent.
                eprintln!(
                    "wxmedia: cannot write the ledger {}: {e}",
                    args.ledger.display()
                );
                return ExitCode::from(report::EXIT_FAILED);
            }
        }
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    eprintln!(
        "uploaded {}, skipped {}, failed {}",
        counts.uploaded, counts.skipped, counts.failed
    );
    ExitCode::from(if counts.failed == 0 {
        EXIT_OK
    } else {
        counts.status
    })
}

enum Outcome {
    Skipped,
    Done(Result<Done, Failure>),
    LedgerFailed(std::io::Error),
}

async fn process(
    uploader: &Uploader,
    ledger: &Ledger,
    cooldown: &Mutex<Option<Instant>>,
    mch_id: &str,
    file: PathBuf,
) -> (PathBuf, Outcome) {
    let name = file.display().to_string();
    let target = uploader.target();
    let media = match crate::upload::load(&file, target).await {
        Ok(m) => m,
        Err(f) => {
            let entry = failed_entry(&name, mch_id, target, None, &f);
            return match ledger.append(&entry) {
                Ok(()) => (file, Outcome::Done(Err(f))),
                Err(e) => (file, Outcome::LedgerFailed(e)),
            };
        }
    };
    let hash = media.hash().to_string();
    if ledger.is_done(mch_id, target, &hash) {
        return (file, Outcome::Skipped);
    }
    let wait = cooldown
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .map(|until| until.saturating_duration_since(Instant::now()));
    if let Some(wait) = wait.filter(|w| !w.is_zero()) {
        tokio::time::sleep(wait).await;
    }
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
            };
            match done {
                Done::V2(done) => {
                    entry.media_id = Some(done.media_id.clone());
                    entry.sign_type = Some(done.sign_type.as_str().to_owned());
                }
                Done::V3(done) => {
                    if done.api == wxmedia_proto::v3::Api::MarketingImage {
                        entry.media_url = Some(done.id.clone());
                    } else {
                        entry.media_id = Some(done.id.clone());
                    }
                    entry.request_id = done.request_id.clone();
                }
            }
            entry
        }
        Err(f) => {
            if f.is_rate_limited() {
                *cooldown.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(Instant::now() + RATE_LIMIT_COOLDOWN);
            }
            failed_entry(&name, mch_id, target, Some(hash), f)
        }
    };
    match ledger.append(&entry) {
        Ok(()) => (file, Outcome::Done(result)),
        Err(e) => (file, Outcome::LedgerFailed(e)),
    }
}

fn failed_entry(
    file: &str,
    mch_id: &str,
    target: Target,
    hash: Option<String>,
    f: &Failure,
) -> Entry {
    Entry {
        file: file.to_owned(),
        mch_id: mch_id.to_owned(),
        api: target.name().to_owned(),
        media_hash: hash,
        status: Status::Failed,
        media_id: None,
        media_url: None,
        sign_type: None,
        request_id: f.request_id.clone(),
        error: Some(LedgerError {
            kind: f.kind.to_owned(),
            code: f.code.clone(),
            message: f.message.clone(),
        }),
    }
}
