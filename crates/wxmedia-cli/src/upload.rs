//! `wxmedia upload FILE...`: one line per file, quiet on success, precise on failure.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use wxmedia_proto::Media;

use crate::conn::{ConnArgs, Target, Uploader};
use crate::report::{self, Done, EXIT_OK, Failure};

/// Options of `wxmedia upload`.
#[derive(Debug, Args)]
pub(crate) struct UploadArgs {
    #[command(flatten)]
    pub(crate) conn: ConnArgs,
    /// Files to upload (v2: jpg, jpeg, png, bmp, at most 2 MiB; v3: see --kind).
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
}

/// Read and check a file as `target`'s media; nothing is sent when this fails.
pub(crate) fn load(path: &Path, target: Target) -> Result<Media, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure::unreadable(&e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.media(name, bytes).map_err(Failure::media)
}

/// Load then upload one file.
pub(crate) async fn upload_one(uploader: &Uploader, path: &Path) -> Result<Done, Failure> {
    let media = load(path, uploader.target())?;
    uploader.upload(media).await
}

pub(crate) async fn run(args: UploadArgs) -> ExitCode {
    let uploader = match args.conn.uploader() {
        Ok(u) => u,
        Err(e) => {
            eprintln!("wxmedia: {e:#}");
            return ExitCode::from(report::EXIT_USAGE);
        }
    };
    let mut status = EXIT_OK;
    for file in &args.files {
        let result = upload_one(&uploader, file).await;
        report::print_outcome(file, &result, uploader.target(), args.conn.json);
        if let Err(f) = &result {
            status = report::combine([status, f.exit_code()]);
        }
    }
    ExitCode::from(status)
}
