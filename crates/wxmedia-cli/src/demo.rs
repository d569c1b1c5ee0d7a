//! `wxmedia demo [FILE]`: the library end to end in one minute, with no credentials and no network.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use wxmedia_proto::Media;
use wxmedia_proto::v2::SignType;
use wxmedia_sim::{SimConfig, SimServer};

use crate::conn::{TransportArg, Uploader};
use crate::report::{EXIT_FAILED, EXIT_USAGE};

/// Samples made for the project.
const SAMPLES: [(&str, &[u8]); 3] = [
    ("sample.jpg", include_bytes!("../../../fixtures/sample.jpg")),
    ("sample.png", include_bytes!("../../../fixtures/sample.png")),
    ("sample.bmp", include_bytes!("../../../fixtures/sample.bmp")),
];

/// Options of `wxmedia demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// An image to upload instead of the three samples.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

pub(crate) async fn run(args: DemoArgs) -> ExitCode {
    match demo(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wxmedia: {e:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let media: Vec<Media> = match &args.file {
        Some(path) => match crate::upload::load(path) {
            Ok(m) => vec![m],
            Err(f) => {
                eprintln!("wxmedia: {}: {}", path.display(), f.message);
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        },
        None => SAMPLES
            .iter()
            .map(|(name, bytes)| Media::new(*name, *bytes).expect("the samples are valid"))
            .collect(),
    };
    let state = tempfile::TempDir::new().context("cannot create a temporary directory")?;
    eprintln!("starting the simulator (fresh test CA, merchant certificate and key)...");
    let server = SimServer::start(SimConfig::new(state.path()))
        .await
        .context("cannot start the simulator")?;
    eprintln!(
        "simulator at {} for merchant {}; uploading over mutual TLS\n",
        server.endpoint(),
        server.sim().mch_id()
    );
    println!(
        "{:<9} {:<12} {:<14} {:<46} {:>8}",
        "TRANSPORT", "SIGN TYPE", "FILE", "MEDIA ID", "TIME"
    );
    let mut failures = 0;
    for transport in [
        TransportArg::Hyper,
        TransportArg::Surf,
        TransportArg::Blocking,
    ] {
        for sign_type in [SignType::Md5, SignType::HmacSha256] {
            let uploader = Uploader::for_simulator(&server, transport, sign_type)?;
            for m in &media {
                let started = Instant::now();
                let result = uploader.upload(m.clone()).await;
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                match result {
                    Ok(done) => println!(
                        "{:<9} {:<12} {:<14} {:<46} {:>6.1}ms",
                        uploader.name(),
                        sign_type.as_str(),
                        m.filename(),
                        done.media_id,
                        ms
                    ),
                    Err(f) => {
                        failures += 1;
                        println!(
                            "{:<9} {:<12} {:<14} FAILED: {} {}",
                            uploader.name(),
                            sign_type.as_str(),
                            m.filename(),
                            f.code.as_deref().unwrap_or(f.kind),
                            f.message
                        );
                    }
                }
            }
        }
    }
    let total = server.sim().request_count();
    eprintln!(
        "\nthe simulator verified {} uploads ({total} requests).",
        server.sim().upload_count()
    );
    server.shutdown().await;
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}
