//! `wxmedia`: the command line. Subcommands live in their own modules.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod sim;

/// Upload media to WeChat Pay, or simulate its endpoint.
#[derive(Debug, Parser)]
#[command(name = "wxmedia", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the WeChat Pay upload simulator (mutual TLS, on loopback).
    Sim(sim::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Sim(args) => sim::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wxmedia: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Logs go to stderr so that stdout stays machine-readable. `WXMEDIA_LOG`
/// takes a tracing filter (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WXMEDIA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
