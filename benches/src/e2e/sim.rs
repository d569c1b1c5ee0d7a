//! The `wxmedia sim` process the end-to-end runs upload to: starting it, reading its ready line, and counting the connections it holds.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::{KEY, MCH, Opts};

/// Connections the simulator serves at once, for the whole bench. Its
/// default (256) is a guard of the test fixture, not a property of any
/// client: idle pooled connections of every client built in the run (each
/// pool keeps up to 64) count against it, so c=256 would stall on the
/// fixture's cap, not on the client measured.
pub(crate) const SIM_MAX_CONNECTIONS: &str = "2048";

/// A `wxmedia sim` process: the server's CPU is not counted as the client's.
pub(crate) struct SimProcess {
    child: Child,
    pub(crate) ready: Value,
    _state: tempfile::TempDir,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SimProcess {
    /// Stop the simulator with SIGTERM and read its last line: what it
    /// served (`{"stopped": {"requests", "uploads", "refused",
    /// "rate_limited"}}`).
    pub(crate) fn stop(mut self) -> Value {
        let status = Command::new("kill")
            .args(["-s", "TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM the simulator");
        let mut line = String::new();
        BufReader::new(self.child.stdout.as_mut().expect("piped"))
            .read_line(&mut line)
            .expect("the stop line");
        let stopped: Value = serde_json::from_str(&line).expect("the stop line is JSON");
        stopped["stopped"].clone()
    }

    /// A field of the ready line, as text.
    pub(crate) fn field(&self, name: &str) -> String {
        field(&self.ready, name)
    }
}

/// A field of the simulator's ready line, as text; the line is the
/// contract between the simulator and the bench, so a missing field panics.
pub(super) fn field(ready: &Value, name: &str) -> String {
    ready[name]
        .as_str()
        .unwrap_or_else(|| panic!("the simulator's ready line has no {name}"))
        .to_owned()
}

/// Start a simulator on a fresh state directory and wait for its ready
/// line: the uploads need its endpoint and files, so nothing starts before.
pub(crate) fn start_sim(opts: &Opts) -> SimProcess {
    start_sim_with(opts, false)
}

/// A simulator keeping WeChat Pay's documented rate limits (`limits`, as
/// `wxmedia sim` does by default) or not (every throughput bench: they
/// measure the client, not the merchant's allowance).
pub(crate) fn start_sim_with(opts: &Opts, limits: bool) -> SimProcess {
    let state = tempfile::TempDir::new().expect("temp dir");
    let mut child = Command::new(&opts.wxmedia)
        .args(["sim", "--mch-id", MCH, "--api-key", KEY, "--state"])
        .arg(state.path())
        .args((!limits).then_some("--no-rate-limits"))
        .args(["--max-connections", SIM_MAX_CONNECTIONS])
        .env("WXMEDIA_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", opts.wxmedia.display()));
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("piped"))
        .read_line(&mut line)
        .expect("ready line");
    let ready: Value = serde_json::from_str(&line).expect("ready JSON");
    SimProcess {
        child,
        ready,
        _state: state,
    }
}

/// The port of the simulator's `endpoint` (`https://127.0.0.1:PORT`).
pub(super) fn port_of(endpoint: &str) -> u16 {
    endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("the endpoint has a port")
}

/// Established TCP connections from this machine to `port` on loopback:
/// the client ends of the connections the simulator holds open.
pub(super) fn connections_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let wanted = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // rem_address ends with the port; state 01 is ESTABLISHED.
            f.len() > 3 && f[2].ends_with(&wanted) && f[3] == "01"
        })
        .count()
}
