//! `wxmedia upload FILE...`: one line per file, quiet on success, precise on failure.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use wxmedia_proto::{Media, MediaError};

use crate::client::Uploader;
use crate::conn::{ConnArgs, Destination};
use crate::fit::{FitFlags, FitNote, FitOptions, MAX_FIT_INPUT};
use crate::report::{self, CmdResult, Done, EXIT_OK, Failure};

/// Options of `wxmedia upload`.
#[derive(Debug, Args)]
pub(crate) struct UploadArgs {
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
    #[command(flatten)]
    pub(crate) fit: FitFlags,
    #[command(flatten)]
    pub(crate) rate: crate::rate::RateArgs,
    /// Files to upload (v2: jpg, jpeg, png, bmp, at most 2 MiB; v3: see --kind). Regular files only (a symlink to one is fine).
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
}

/// Read and check a file as `target`'s media, fitted first when `fit`
/// says so; nothing is sent when this fails. The read (and the fit) run
/// on tokio's blocking pool: a slow disk or network file system must not
/// stall the other uploads of a batch.
pub(crate) async fn load(
    path: &Path,
    target: Destination,
    fit: Option<&FitOptions>,
) -> Result<(Media, Option<FitNote>), Failure> {
    let bytes = read(path, target, fit.is_some()).await?;
    let name = file_name(path);
    // Only photos are fitted: a PDF (or a text file, a video), where the
    // upload also takes those, is checked whole and sent as it is. Known
    // by its content, or by its extension (text has no magic bytes); a
    // photo format the uploads do not take (HEIC, WebP) is neither.
    let named = name
        .rsplit_once('.')
        .and_then(|(_, ext)| wxmedia_proto::MediaKind::from_extension(ext));
    let photo = ![wxmedia_proto::MediaKind::sniff(&bytes), named]
        .into_iter()
        .flatten()
        .any(|k| !k.is_image());
    match fit.filter(|_| photo) {
        Some(options) => {
            let (bytes, hash) = crate::fit::hashed(bytes).await?;
            let (media, note) = crate::fit::prepare(name, bytes, hash, target, options).await?;
            Ok((media, Some(note)))
        }
        None => Ok((target.media(name, bytes).map_err(Failure::media)?, None)),
    }
}

/// The bytes of the file, read on the blocking pool, at most the upload's
/// limit, or `MAX_FIT_INPUT` when it is to be fitted.
pub(crate) async fn read(
    path: &Path,
    target: Destination,
    fitting: bool,
) -> Result<Vec<u8>, Failure> {
    let owned = path.to_owned();
    let limit = if fitting {
        MAX_FIT_INPUT
    } else {
        target.max_size()
    };
    match tokio::task::spawn_blocking(move || read_limited(&owned, limit)).await {
        Ok(r) => r,
        Err(e) => Err(Failure::internal(format!("file read thread: {e}"))),
    }
}

/// The bare name of the file, as the upload sends it.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What a path that is not a regular file is, in the user's words.
fn not_regular(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// The bytes of the regular file at `path` (a symlink is followed), at most
/// `limit` of them. Anything else is refused before a byte is read: a FIFO
/// would block until a writer comes, `/dev/zero` never ends, and a huge file
/// would sit whole in memory only to be refused by the size check.
pub(crate) fn read_limited(path: &Path, limit: usize) -> Result<Vec<u8>, Failure> {
    let refuse = |what: &str| {
        Failure::refused(
            "unreadable",
            format!("{what}, not a regular file; nothing was sent"),
        )
    };
    let too_large = |size: u64| {
        Failure::media(MediaError::TooLarge {
            size: usize::try_from(size).unwrap_or(usize::MAX),
            limit,
        })
    };
    // `metadata` follows symlinks: a link to a regular file is that file.
    let meta = std::fs::metadata(path).map_err(|e| Failure::unreadable(&e))?;
    if !meta.is_file() {
        return Err(refuse(not_regular(meta.file_type())));
    }
    if meta.len() > limit as u64 {
        return Err(too_large(meta.len()));
    }
    let file = File::open(path).map_err(|e| Failure::unreadable(&e))?;
    // The path may have been replaced between the two looks: check what was
    // actually opened. (Were it swapped for a FIFO in that instant, `open`
    // would wait for a writer, but on this blocking thread only, and the
    // FIFO is refused here all the same.)
    let opened = file.metadata().map_err(|e| Failure::unreadable(&e))?;
    if !opened.is_file() {
        return Err(refuse(not_regular(opened.file_type())));
    }
    if opened.len() > limit as u64 {
        return Err(too_large(opened.len()));
    }
    // At most one byte past the limit: a file that grows while it is read
    // (a log, a download in progress) is refused without reading it all.
    let cap = (limit as u64).saturating_add(1);
    let mut bytes = Vec::with_capacity(usize::try_from(opened.len().min(cap)).unwrap_or(0));
    file.take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::unreadable(&e))?;
    if bytes.len() > limit {
        return Err(Failure::refused(
            "media",
            format!("grew past the limit of {limit} bytes while being read; nothing was sent"),
        ));
    }
    Ok(bytes)
}

/// Load (and fit) then upload one file.
pub(crate) async fn upload_one(
    uploader: &Uploader,
    path: &Path,
    fit: Option<&FitOptions>,
) -> (Result<Done, Failure>, Option<FitNote>) {
    match load(path, uploader.target(), fit).await {
        Ok((media, note)) => (uploader.upload(media).await, note),
        Err(f) => (Err(f), None),
    }
}

pub(crate) async fn run(args: UploadArgs) -> CmdResult {
    let uploader = args.conn.uploader(&args.rate)?;
    let fit = args.fit.options(uploader.target())?;
    let mut status = EXIT_OK;
    // Many files take a while: a bar on a terminal, nothing when piped.
    let bar = crate::progress::bar(args.files.len());
    for file in &args.files {
        if let Some(bar) = &bar {
            bar.set_message(file.display().to_string());
        }
        let (result, note) = upload_one(&uploader, file, fit.as_ref()).await;
        crate::progress::print_above(bar.as_ref(), || {
            report::print_outcome(
                file,
                &result,
                note.as_ref(),
                uploader.target(),
                args.conn.json,
            )
        });
        if let Err(f) = &result {
            status = report::combine([status, f.exit_code()]);
        }
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(ExitCode::from(status))
}
