//! `wxmedia sim`: start the simulator, print one JSON line, serve until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use wxmedia_sim::{SimConfig, SimServer, Times, V3Signer};

use crate::report::{CmdError, CmdResult};

/// Options of `wxmedia sim`.
#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// Directory for the dev CA, server and merchant certificates (created or reused).
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
    /// Address to listen on; port 0 picks a free port. Loopback only
    /// unless --allow-non-loopback is given.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Accept an --addr that is not loopback (e.g. 0.0.0.0 in a
    /// container). The dev CA still vouches for 127.0.0.1, ::1 and
    /// localhost only, and the keys are published test keys.
    #[arg(long)]
    allow_non_loopback: bool,
    /// Simulated merchant id (the client certificate's CN).
    #[arg(long, default_value = "1900000109")]
    mch_id: String,
    /// Simulated API key (a test key for the simulator only). Random when absent.
    #[arg(long)]
    api_key: Option<String>,
    /// Simulated APIv3 key, 32 characters (a test key for the simulator
    /// only). The one kept in the state directory when absent.
    #[arg(long)]
    api_v3_key: Option<String>,
    /// Which key signs API v3 replies: the WeChat Pay public key, or the
    /// platform certificate (then `GET /v3/certificates` serves it).
    #[arg(long, value_name = "public-key|platform-cert", default_value = "public-key", value_parser = parse_signer)]
    v3_signer: V3Signer,
    /// The size limit of v3 image uploads, in bytes (default 5 MiB, at
    /// most 64 MiB).
    #[arg(
        long,
        value_name = "BYTES",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=V3_MAX_IMAGE_SIZE_FLAG)
    )]
    v3_max_image_size: Option<usize>,
    /// Do not keep WeChat Pay's documented rate limits (10 image uploads a second per endpoint, 100 marketing images a minute, ...), which the simulator keeps by default: for benchmarks.
    #[arg(long)]
    no_rate_limits: bool,
    /// Answer FREQUENCY_LIMITED beyond this many authenticated requests per second in all, on top of the documented limits.
    #[arg(long, value_name = "N")]
    rate_limit: Option<u32>,
    /// Answer SYSTEMERROR: N times, or `always`.
    #[arg(long, value_name = "N|always", value_parser = parse_times)]
    system_error: Option<Times>,
    /// Answer SYSTEMERROR with this probability (0 to 1).
    #[arg(long, value_name = "P", value_parser = parse_probability)]
    system_error_probability: Option<f64>,
    /// Wait this many milliseconds before each reply.
    #[arg(long, value_name = "MS")]
    reply_delay_ms: Option<u64>,
    /// Close the connection without a reply: N times, or `always`.
    #[arg(long, value_name = "N|always", value_parser = parse_times)]
    drop_connection: Option<Times>,
    /// Send half of the reply, then close: N times, or `always`.
    #[arg(long, value_name = "N|always", value_parser = parse_times)]
    truncate_reply: Option<Times>,
    /// Sign replies wrongly: N times, or `always`.
    #[arg(long, value_name = "N|always", value_parser = parse_times)]
    wrong_sign: Option<Times>,
    /// v3: stamp replies ten minutes in the past: N times, or `always`.
    #[arg(long, value_name = "N|always", value_parser = parse_times)]
    stale_reply_timestamp: Option<Times>,
    /// v3: name an unknown key in `Wechatpay-Serial`: N times, or `always`.
    #[arg(long, value_name = "N|always", value_parser = parse_times)]
    unknown_reply_serial: Option<Times>,
    /// v3: send replies without any `Wechatpay-*` header: N times, or `always`.
    #[arg(long, value_name = "N|always", value_parser = parse_times)]
    unsigned_reply: Option<Times>,
    /// Answer HTTP 502 with an HTML page: N times, or `always`.
    #[arg(long, value_name = "N|always", value_parser = parse_times)]
    bad_gateway: Option<Times>,
    /// Run the simulator's clock SECS seconds ahead of the system's (negative: behind): its Date header, v3's ±300 s request window and Wechatpay-Timestamp (e.g. 600 to test `wxmedia doctor`'s clock check).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(-MAX_CLOCK_SKEW..=MAX_CLOCK_SKEW))]
    clock_skew: Option<i64>,
    /// Print the ready line but refuse every connection (for failover tests).
    #[arg(long)]
    unreachable: bool,
    /// Close a connection whose request body has not fully arrived this
    /// many milliseconds after its head (default 30000).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    body_read_timeout_ms: Option<u64>,
    /// Serve at most this many connections at once; further ones wait
    /// (default 256).
    #[arg(long, value_name = "N", value_parser = parse_max_connections)]
    max_connections: Option<usize>,
    /// Keep this many recent requests in the simulator's log (default
    /// 1024); the request counters count them all.
    #[arg(long, value_name = "N")]
    log_capacity: Option<usize>,
}

/// The largest `--clock-skew`, either way: ten years, far beyond any
/// window a client checks, and far from overflowing a timestamp.
const MAX_CLOCK_SKEW: i64 = 10 * 366 * 86_400;

/// The largest `--v3-max-image-size`: 64 MiB. The real limit is 5 MiB (2 MB
/// until 2024); the request body limit is the image limit plus 1 MiB, and
/// each connection holds its whole body, so without a cap `u64::MAX` made
/// the body limit `usize::MAX`. 64 MiB leaves room to test a raised limit.
const V3_MAX_IMAGE_SIZE_FLAG: u64 = 64 * 1024 * 1024;

fn parse_max_connections(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a connection count from 1 to 1000000")),
    }
}

fn parse_times(s: &str) -> Result<Times, String> {
    match s {
        "always" => Ok(Times::Always),
        "never" | "0" => Ok(Times::Never),
        n => n
            .parse::<u32>()
            .map(Times::Next)
            .map_err(|_| format!("{n:?} is neither a count nor `always`")),
    }
}

fn parse_signer(s: &str) -> Result<V3Signer, String> {
    s.parse()
}

fn parse_probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?} is not a probability between 0 and 1")),
    }
}

pub(crate) fn run(args: SimArgs) -> CmdResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime");
    // The simulator's failures (a port in use, a state directory it cannot
    // write) exit 1: the command line was fine.
    runtime
        .and_then(|runtime| runtime.block_on(serve(args)))
        .map_err(|e| CmdError::failed(format!("{e:#}")))
}

async fn serve(args: SimArgs) -> anyhow::Result<ExitCode> {
    let mut config = SimConfig::new(&args.state);
    config.addr = args.addr;
    config.allow_non_loopback = args.allow_non_loopback;
    config.mch_id = args.mch_id;
    if let Some(key) = args.api_key {
        config.api_key = key;
    }
    config.api_v3_key = args.api_v3_key;
    config.v3_signer = args.v3_signer;
    if let Some(size) = args.v3_max_image_size {
        config.v3_max_image_size = size;
    }
    if let Some(ms) = args.body_read_timeout_ms {
        config.body_read_timeout = Duration::from_millis(ms);
    }
    if let Some(n) = args.max_connections {
        config.max_connections = n;
    }
    if let Some(n) = args.log_capacity {
        config.log_capacity = n;
    }
    config.rate_limits = !args.no_rate_limits;
    let f = &mut config.faults;
    f.rate_limit_per_sec = args.rate_limit;
    f.system_error = args.system_error.unwrap_or_default();
    f.system_error_probability = args.system_error_probability.unwrap_or(0.0);
    f.reply_delay = Duration::from_millis(args.reply_delay_ms.unwrap_or(0));
    f.drop_connection = args.drop_connection.unwrap_or_default();
    f.truncate_reply = args.truncate_reply.unwrap_or_default();
    f.wrong_sign = args.wrong_sign.unwrap_or_default();
    f.bad_gateway = args.bad_gateway.unwrap_or_default();
    f.stale_reply_timestamp = args.stale_reply_timestamp.unwrap_or_default();
    f.unknown_reply_serial = args.unknown_reply_serial.unwrap_or_default();
    f.unsigned_reply = args.unsigned_reply.unwrap_or_default();
    f.unreachable = args.unreachable;
    f.clock_skew_secs = args.clock_skew.unwrap_or(0);

    // Watch the signals before saying we are ready: a signal sent right
    // after the ready line must stop us cleanly, not kill us.
    let signals = Signals::new()?;
    let server = SimServer::start(config)
        .await
        .context("cannot start the simulator")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", server.ready_line()).context("cannot write to stdout")?;
        out.flush().context("cannot write to stdout")?;
    }
    signals.wait().await?;
    let counts = server.sim().counts();
    tracing::info!(
        requests = counts.requests,
        uploads = counts.uploads,
        rate_limited = counts.rate_limited,
        "simulator stopping"
    );
    // The second and last line of stdout: what was served, for scripts
    // and benchmarks that stop the simulator and then judge a run.
    {
        let line = serde_json::json!({
            "stopped": {
                "requests": counts.requests,
                "uploads": counts.uploads,
                "refused": counts.refused,
                "rate_limited": counts.rate_limited,
            }
        });
        let mut out = std::io::stdout().lock();
        // A closed stdout at exit is not worth failing the stop for.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// SIGINT and SIGTERM, registered up front.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
        })
    }

    #[cfg(unix)]
    async fn wait(mut self) -> anyhow::Result<()> {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn new() -> anyhow::Result<Signals> {
        Ok(Signals {})
    }

    #[cfg(not(unix))]
    async fn wait(self) -> anyhow::Result<()> {
        tokio::signal::ctrl_c().await.context("cannot watch Ctrl-C")
    }
}
