//! Scaling by concurrency: v2, 10 KiB, per transport, warm pools and one cold batch, with the connections each client held open.

use bytes::Bytes;
use serde_json::{Value, json};
use wxmedia_bench::charts::SCALING_LEVELS;
use wxmedia_bench::sample_media;

use super::clients::{KINDS, Kind, Provider, build};
use super::measure::{Ctx, run_e2e};
use super::sim::{SimProcess, connections_to, port_of};
use crate::{KIB, Opts, median};

/// What a scaling run uploads, at which levels, how many times.
struct Plan {
    small: Bytes,
    n_small: usize,
    levels: Vec<usize>,
    rounds: usize,
}

impl Plan {
    fn new(opts: &Opts, rounds: usize) -> Plan {
        let levels = if opts.quick {
            vec![1, 16, 64, 256]
        } else {
            SCALING_LEVELS.iter().map(|&l| l as usize).collect()
        };
        Plan {
            small: sample_media(10 * KIB),
            n_small: if opts.quick { 40 } else { 400 },
            levels,
            rounds,
        }
    }

    /// Uploads of one batch at `level`: enough that every worker has
    /// several, so the batch is not the time of one handshake.
    fn uploads(&self, level: usize) -> usize {
        self.n_small.max(8 * level)
    }
}

/// Every round's figures, indexed by [`KINDS`].
struct Figures {
    /// [kind][level] = per-round uploads/s.
    warm: Vec<Vec<Vec<f64>>>,
    /// [kind] = per-round cold rates.
    cold: Vec<Vec<f64>>,
    /// [kind][level] = connections open after the warm-up, last round.
    open: Vec<Vec<usize>>,
}

/// v2, 10 KiB, by concurrency, per transport. Each level is measured warm:
/// first the same uploads at that level (not timed) so that the pool holds c
/// connections, then n = max(n_small, 8×c) timed. The cold cost is the first
/// c=64 batch of a client built just for it.
pub(super) fn scaling(
    opts: &Opts,
    rt: &tokio::runtime::Runtime,
    c: &Ctx,
    sim: &SimProcess,
    rounds: usize,
    summary: &mut Value,
    md: &mut String,
) {
    let plan = Plan::new(opts, rounds);
    let port = port_of(&c.endpoint);
    let figures = measure(rt, c, sim, &plan, port);
    rates_table(&plan, &figures, summary, md);
    open_table(&plan, &figures, md);
}

/// Every transport in every round, the order rotating from round to round.
fn measure(
    rt: &tokio::runtime::Runtime,
    c: &Ctx,
    sim: &SimProcess,
    plan: &Plan,
    port: u16,
) -> Figures {
    let mut figures = Figures {
        warm: vec![vec![Vec::new(); plan.levels.len()]; KINDS.len()],
        cold: vec![Vec::new(); KINDS.len()],
        open: vec![vec![0usize; plan.levels.len()]; KINDS.len()],
    };
    for round in 0..plan.rounds {
        for k in 0..KINDS.len() {
            let index = (k + round) % KINDS.len();
            let kind = KINDS[index];
            figures.cold[index].push(cold_rate(rt, c, sim, plan, kind));
            // Let the dropped client's connections close before counting.
            std::thread::sleep(std::time::Duration::from_millis(200));
            // A client of its own, so that the connections counted are its.
            let e = build(&sim.ready, kind, false, Provider::Ring);
            let before = connections_to(port);
            for (l, &level) in plan.levels.iter().enumerate() {
                // The same run untimed first: 2×c uploads left the blocking
                // client (threads that start one after another) with a
                // third of c connections, so the timed run paid handshakes.
                run_e2e(rt, c, &e, &plan.small, level, plan.uploads(level));
                figures.open[index][l] = connections_to(port).saturating_sub(before);
                let rate = run_e2e(rt, c, &e, &plan.small, level, plan.uploads(level)).0;
                figures.warm[index][l].push(rate);
            }
        }
    }
    figures
}

/// The first c=64 batch of a client built for it: every connection a new
/// TLS handshake. The client is dropped on return, before the warm runs.
fn cold_rate(
    rt: &tokio::runtime::Runtime,
    c: &Ctx,
    sim: &SimProcess,
    plan: &Plan,
    kind: Kind,
) -> f64 {
    let fresh = build(&sim.ready, kind, false, Provider::Ring);
    run_e2e(rt, c, &fresh, &plan.small, 64, plan.uploads(64)).0
}

/// The uploads/s table, and its figures in the summary.
fn rates_table(plan: &Plan, figures: &Figures, summary: &mut Value, md: &mut String) {
    let (n_small, rounds, levels) = (plan.n_small, plan.rounds, &plan.levels);
    md.push_str(&format!(
        "\n### Scaling: v2, 10 KiB, by concurrency (warm pools)\n\nEach level runs twice, first untimed so that the client's pool holds the connections that level needs, then timed: max({n_small}, 8×c) uploads. \"cold c=64\" is the first c=64 batch of a client built just for it (every connection a new TLS handshake with an RSA-2048 client certificate). Median of {rounds} round(s).\n\n| transport |"
    ));
    for level in levels {
        md.push_str(&format!(" c={level} |"));
    }
    md.push_str(" cold c=64 |\n|---|");
    for _ in 0..=levels.len() {
        md.push_str("---|");
    }
    md.push('\n');
    let (mut by_kind, mut cold_json, mut open_json) = (
        serde_json::Map::new(),
        serde_json::Map::new(),
        serde_json::Map::new(),
    );
    for (index, kind) in KINDS.iter().enumerate() {
        md.push_str(&format!("| {} |", kind.name(Provider::Ring)));
        let mut per_level = serde_json::Map::new();
        let mut open_level = serde_json::Map::new();
        let mut old_key = serde_json::Map::new();
        for (l, &level) in levels.iter().enumerate() {
            let rate = median(figures.warm[index][l].clone());
            md.push_str(&format!(" {rate:.0}/s |"));
            per_level.insert(format!("c{level}"), json!(rate));
            open_level.insert(format!("c{level}"), json!(figures.open[index][l]));
            old_key.insert(level.to_string(), json!(rate));
        }
        let cold_rate = median(figures.cold[index].clone());
        md.push_str(&format!(" {cold_rate:.0}/s |\n"));
        if *kind == Kind::Hyper {
            // The old key, kept: hyper's uploads/s by concurrency (now
            // measured warm, as above).
            summary["scaling_e2e_hyper_10kib"] = Value::Object(old_key);
        }
        by_kind.insert(kind.name(Provider::Ring).into(), Value::Object(per_level));
        cold_json.insert(kind.name(Provider::Ring).into(), json!(cold_rate));
        open_json.insert(kind.name(Provider::Ring).into(), Value::Object(open_level));
    }
    summary["scaling"] = Value::Object(by_kind);
    summary["scaling_cold_c64"] = Value::Object(cold_json);
    summary["scaling_open_connections"] = Value::Object(open_json);
}

/// The connections each client held after each warm-up: a client that
/// pooled fewer than c paid handshakes in the timed run.
fn open_table(plan: &Plan, figures: &Figures, md: &mut String) {
    md.push_str("\nConnections the client held open after each warm-up (client ends of established connections to the simulator's port, last round):\n\n| transport |");
    for level in &plan.levels {
        md.push_str(&format!(" c={level} |"));
    }
    md.push_str("\n|---|");
    for _ in 0..plan.levels.len() {
        md.push_str("---|");
    }
    md.push('\n');
    for (index, kind) in KINDS.iter().enumerate() {
        md.push_str(&format!("| {} |", kind.name(Provider::Ring)));
        for n in &figures.open[index] {
            md.push_str(&format!(" {n} |"));
        }
        md.push('\n');
    }
}
