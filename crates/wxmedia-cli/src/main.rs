//! `wxmedia`: upload media to WeChat Pay by hand or in bulk, check signatures, run the simulator or a demo.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod batch;
mod certificates;
mod client;
mod conn;
mod custom;
mod demo;
mod destination;
mod doctor;
mod fit;
mod progress;
mod rate;
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
    /// Upload images (v2) or to any of the v3 uploads --kind names (--api v3); prints one media id or URL (or JSON object) per file.
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

/// The command line, with `--version` listing the image decoders this
/// build has (the crates and versions `fit` reads photos with).
pub(crate) fn command() -> clap::Command {
    let mut long = format!("{}\nimage decoders:", env!("CARGO_PKG_VERSION"));
    for (formats, decoder) in wxmedia_fit::Format::DECODERS {
        long.push_str(&format!("\n  {formats}: {decoder}"));
    }
    <Cli as clap::CommandFactory>::command().long_version(long)
}

fn main() -> ExitCode {
    // Before clap sees the arguments: a PEM given as an argument
    // (`--private-key "$(cat apiclient_key.pem)"`) starts with dashes, and
    // clap's "unexpected argument '-----BEGIN…'" would print the key.
    if let Some(message) = pem_in_arguments(std::env::args_os().skip(1)) {
        eprintln!("wxmedia: {message}");
        return ExitCode::from(2);
    }
    let parsed = command()
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
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

/// Why the command line is refused unparsed when one of its arguments
/// holds a PEM block (`-----BEGIN`), naming the flag it was given to and
/// never the value (nor its length); `None` when none does. No flag of
/// wxmedia takes key material: keys are given as paths.
fn pem_in_arguments(args: impl Iterator<Item = std::ffi::OsString>) -> Option<String> {
    let mut previous: Option<String> = None;
    for arg in args {
        // Lossy is enough: a PEM is ASCII, and a value that is not valid
        // text cannot be one.
        let text = arg.to_string_lossy();
        // `--flag=-----BEGIN…` names its flag itself; otherwise the flag,
        // if any, is the argument before.
        let (inline, value) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") && !flag.contains('\n') => {
                (Some(flag), value)
            }
            _ => (None, &*text),
        };
        // A file that exists is a path, whatever its name holds.
        if value.contains("-----BEGIN")
            && wxmedia_tls::looks_like_secret(std::path::Path::new(value))
        {
            let flag = inline
                .map(str::to_owned)
                .or(previous.filter(|p| p.starts_with('-')));
            let after = flag.map_or_else(String::new, |f| format!(" given to {}", text::safe(&f)));
            return Some(format!(
                "the argument{after} looks like the key itself, not a path to it: \
                 put the key in a file and give that file's path (the value is not shown)"
            ));
        }
        previous = arg.to_str().map(str::to_owned);
    }
    None
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
