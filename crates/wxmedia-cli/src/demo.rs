//! `wxmedia demo [FILE]`: the library end to end in one minute, with no credentials and no network.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use wxmedia_proto::Media;
use wxmedia_proto::v2::SignType;
use wxmedia_proto::v3::Api;
use wxmedia_sim::{SimConfig, SimServer, samples};

use crate::client::Uploader;
use crate::conn::{Destination, TransportArg};
use crate::report::{CmdError, CmdResult, EXIT_FAILED, EXIT_USAGE};

/// Samples made for the project, shipped with the simulator.
const SAMPLES: [(&str, &[u8]); 3] = [
    ("sample.jpg", samples::JPEG),
    ("sample.png", samples::PNG),
    ("sample.bmp", samples::BMP),
];

/// The sample video, for v3's video upload.
const VIDEO: (&str, &[u8]) = ("sample.mp4", samples::MP4);

/// A photo as an iPhone saves it, fitted before v2 uploads it.
const HEIC: (&str, &[u8]) = ("iphone.heic", samples::HEIC);

/// The document the demo uploads where a PDF is taken (the fapiao file).
const PDF: (&str, &[u8]) = ("sample.pdf", samples::PDF);

const TRANSPORTS: [TransportArg; 3] = [
    TransportArg::Hyper,
    TransportArg::Surf,
    TransportArg::Blocking,
];

/// Options of `wxmedia demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// An image to upload instead of the sample images (the sample video is still used for v3's video upload).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

pub(crate) async fn run(args: DemoArgs) -> CmdResult {
    demo(args)
        .await
        .map_err(|e| CmdError::failed(format!("{e:#}")))
}

/// The width of the API column: the longest name among the uploads.
fn api_width() -> usize {
    Api::ALL
        .iter()
        .map(|&api| Destination::V3(api).name().len())
        .max()
        .unwrap_or(0)
}

/// One row of the table; whether the upload succeeded.
async fn row(uploader: &Uploader, sign_type: &str, media: &Media) -> bool {
    let started = Instant::now();
    let result = uploader.upload(media.clone()).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let head = format!(
        "{:<9} {:<api$} {:<12} {:<14}",
        uploader.name(),
        uploader.target().name(),
        sign_type,
        media.filename(),
        api = api_width()
    );
    match result {
        Ok(done) => {
            let id = crate::text::safe(done.id());
            println!("{} {id:<46} {ms:>6.1}ms", crate::text::safe(&head));
            true
        }
        Err(f) => {
            let line = format!(
                "{head} FAILED: {} {}",
                f.code.as_deref().unwrap_or(f.kind),
                f.message
            );
            println!("{}", crate::text::safe(&line));
            false
        }
    }
}

/// The user's file, or else the samples, as `target`'s media.
async fn images(file: Option<&Path>, target: Destination) -> Result<Vec<Media>, ExitCode> {
    match file {
        Some(path) => match crate::upload::load(path, target, None).await {
            Ok((m, _)) => Ok(vec![m]),
            Err(f) => {
                let line = format!("wxmedia: {}: {}", path.display(), f.message);
                eprintln!("{}", crate::text::safe(&line));
                Err(ExitCode::from(EXIT_USAGE))
            }
        },
        None => Ok(SAMPLES
            .iter()
            .map(|(name, bytes)| {
                target
                    .media((*name).to_owned(), bytes.to_vec())
                    .expect("the samples are valid")
            })
            .collect()),
    }
}

/// The sample HEIC fitted to v2's upload as `wxmedia fit` would: turned
/// upright, GPS removed, re-encoded as JPEG; what changed is said.
fn fitted_heic() -> anyhow::Result<Media> {
    let (name, bytes) = HEIC;
    let fitted = wxmedia_fit::fit(bytes, &wxmedia_fit::Target::for_v2())
        .context("cannot fit the sample HEIC")?;
    eprintln!("fitted {name}: {}", fitted.report);
    let name = wxmedia_fit::name_for(name, fitted.report.format_after);
    Ok(Destination::V2.media(name, fitted.bytes.into_owned())?)
}

async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // The user's file is checked with each API's own rules, so that a file
    // fit for one upload but not another is reported before anything runs.
    let file = args.file.as_deref();
    let mut media_v3 = Vec::new();
    let mut media_v2 = match images(file, Destination::V2).await {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    if file.is_none() {
        media_v2.push(fitted_heic()?);
    }
    // Every built-in v3 endpoint, each with a sample of what it takes.
    for &api in Api::ALL {
        let media = if api.takes_videos() || api.takes_documents() {
            let (name, bytes) = if api.takes_videos() { VIDEO } else { PDF };
            vec![
                Destination::V3(api)
                    .media(name.to_owned(), bytes.to_vec())
                    .expect("the sample video and PDF are valid"),
            ]
        } else {
            match images(file, Destination::V3(api)).await {
                Ok(m) => m,
                Err(code) => return Ok(code),
            }
        };
        media_v3.push((api, media));
    }
    let state = tempfile::TempDir::new().context("cannot create a temporary directory")?;
    eprintln!("starting the simulator (fresh test CA, merchant certificate and keys)...");
    // WeChat Pay's documented limits, kept by the simulator as by the
    // real host: the demo shows the uploads paced, not refused.
    let mut config = SimConfig::new(state.path());
    config.rate_limits = true;
    let server = SimServer::start(config)
        .await
        .context("cannot start the simulator")?;
    eprintln!(
        "simulator at {} for merchant {}; v2 over mutual TLS, v3 signed with the merchant key and verified with the WeChat Pay public key; WeChat Pay's rate limits kept on both sides (a TIME of about 100 ms is the wait for the next of 10 slots a second)\n",
        server.endpoint(),
        server.sim().mch_id()
    );
    println!(
        "{:<9} {:<api$} {:<12} {:<14} {:<46} {:>8}",
        "TRANSPORT",
        "API",
        "SIGN TYPE",
        "FILE",
        "MEDIA ID / URL",
        "TIME",
        api = api_width()
    );
    let mut failures = 0;
    for transport in TRANSPORTS {
        for sign_type in [SignType::Md5, SignType::HmacSha256] {
            let uploader = Uploader::for_simulator(&server, transport, sign_type)?;
            for m in &media_v2 {
                if !row(&uploader, sign_type.as_str(), m).await {
                    failures += 1;
                }
            }
        }
    }
    for transport in TRANSPORTS {
        for (api, media) in &media_v3 {
            let uploader = Uploader::for_simulator_v3(&server, transport, *api)?;
            // v3 uploads of the same kind are alike whatever the file: one
            // per kind keeps the table short.
            if let Some(m) = media.first()
                && !row(&uploader, "RSA-SHA256", m).await
            {
                failures += 1;
            }
        }
    }
    let counts = server.sim().counts();
    eprintln!(
        "\nthe simulator verified {} uploads ({} requests, {} refused as FREQUENCY_LIMITED).",
        counts.uploads, counts.requests, counts.rate_limited
    );
    server.shutdown().await;
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}
