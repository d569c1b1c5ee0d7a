//! `wxmedia`: upload media to WeChat Pay by hand or in bulk, check signatures, run the simulator or a demo.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod batch;
mod certificates;
mod client;
mod conn;
mod demo;
mod doctor;
mod fit;
mod progress;
mod report;
mod shell;
mod sign;
mod sim;
mod text;
mod upload;

/// Upload media to WeChat Pay (微信支付), check signatures, or simulate the endpoint.
#[derive(Debug, Parser)]
#[command(name = "wxmedia", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Upload images (v2) or images, videos, marketing images (--api v3); prints one media id or URL (or JSON object) per file.
    Upload(upload::UploadArgs),
    /// Upload many files with a crash-safe ledger; reruns skip what succeeded.
    Batch(batch::BatchArgs),
    /// Fit a photo to an upload (orientation, size, format, metadata) and write it to a new file; prints what changed.
    Fit(fit::FitArgs),
    /// v3: download, verify and save the platform certificates with the APIv3 key.
    Certificates(certificates::CertificatesArgs),
    /// Print the v2 sign of NAME=VALUE parameters, or the v3 message and signature of a request (the key is never printed).
    Sign(sign::SignArgs),
    /// Verify the signature of a saved reply (v2 XML, or v3 body and Wechatpay-* headers); exit 0 when it holds.
    Verify(sign::VerifyArgs),
    /// Run the WeChat Pay upload simulator (mutual TLS, on loopback).
    Sim(sim::SimArgs),
    /// Upload samples through every transport and API to an in-process simulator.
    Demo(demo::DemoArgs),
    /// Check the credentials of `upload` (same flags) offline and against the endpoint: one ok/warn/FAIL line per check; exit 1 when one fails.
    Doctor(doctor::DoctorArgs),
    /// Print a completion script for bash, zsh, fish or PowerShell (e.g. `wxmedia completions bash > ~/.local/share/bash-completion/completions/wxmedia`).
    Completions(shell::CompletionsArgs),
    /// Write the man pages into a directory (run by `cargo xtask man`).
    #[command(hide = true)]
    GenerateMan(shell::ManArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on usage errors, which is also our usage status.
            e.exit();
        }
    };
    // The simulator reports what it does; other commands stay quiet unless
    // something goes wrong.
    init_logging(if matches!(cli.command, Command::Sim(_)) {
        "info"
    } else {
        "error"
    });
    // Every command returns the same result: its exit status, or an error
    // to print once, here.
    let result = match cli.command {
        Command::Sign(args) => sign::sign(args),
        Command::Verify(args) => sign::verify(args),
        Command::Sim(args) => sim::run(args),
        Command::Upload(args) => runtime().block_on(upload::run(args)),
        Command::Batch(args) => runtime().block_on(batch::run(args)),
        Command::Certificates(args) => runtime().block_on(certificates::run(args)),
        Command::Demo(args) => runtime().block_on(demo::run(args)),
        Command::Fit(args) => fit::run(args),
        Command::Doctor(args) => runtime().block_on(doctor::run(args)),
        Command::Completions(args) => shell::completions(args),
        Command::GenerateMan(args) => shell::man(args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("wxmedia: {}", text::safe(&e.message));
        ExitCode::from(e.status)
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts")
}

/// Logs go to stderr so that stdout stays machine-readable. `WXMEDIA_LOG`
/// takes a tracing filter (default `error`; `info` for `wxmedia sim`).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WXMEDIA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
