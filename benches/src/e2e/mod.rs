//! End to end against a `wxmedia sim` process: v2 and v3 uploads per client, the hand-written reqwest baselines, and scaling by concurrency.

// This file runs the whole and writes the two end-to-end tables; each part
// it runs is a module of its own, so that a timed run reads apart from how
// its clients and its server are made.
mod baselines;
mod clients;
mod measure;
mod scaling;
mod sim;

use bytes::Bytes;
use serde_json::{Value, json};
use wxmedia_bench::sample_media;

use clients::{Client, Entry, v2_entries, v3_entries};
use measure::{Ctx, ctx, run_e2e};
use scaling::scaling;
use sim::SIM_MAX_CONNECTIONS;

use crate::{KIB, MIB, Opts, median};

// The simulator is the memory and batch benches' server too.
pub(crate) use sim::{SimProcess, start_sim, start_sim_with};

/// Both end-to-end tables (v2, then v3) and scaling, against one simulator.
pub(crate) fn run(opts: &Opts, summary: &mut Value, md: &mut String) {
    let sim = start_sim(opts);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let c = ctx(&sim.ready);
    // Five rounds: this 2-core machine is shared, and a median of five
    // shrugs off two disturbed rounds; the whole of it still takes about a
    // minute and a half.
    let rounds = if opts.quick { 1 } else { 5 };
    md.push_str(&format!(
        "\n## End to end over loopback (simulator in a separate process)\n\nThe simulator runs with `--max-connections {SIM_MAX_CONNECTIONS}`: its default cap of 256 concurrent connections guards the test fixture and is no property of a client, and the idle pooled connections of every client built in the run count against it, so c=256 below would stall on the fixture's cap. Each cell is the median of {rounds} round(s); the order of the clients rotates from round to round.\n"
    ));
    let v2 = v2_entries(&sim.ready);
    summary["e2e"] = table(
        opts,
        &rt,
        &c,
        &v2,
        rounds,
        md,
        "### v2: mutual TLS, MD5 signs",
    );
    drop(v2);
    crate::phase("e2e v2");
    let v3 = v3_entries(&sim.ready);
    summary["e2e_v3"] = table(
        opts,
        &rt,
        &c,
        &v3,
        rounds,
        md,
        "### v3: image upload, RSA-signed requests, replies verified (except by the baseline)",
    );
    drop(v3);
    crate::phase("e2e v3");
    scaling(opts, &rt, &c, &sim, rounds, summary, md);
    crate::phase("scaling");
}

/// One end-to-end table: every entry in the four cells, rounds rotating.
fn table(
    opts: &Opts,
    rt: &tokio::runtime::Runtime,
    c: &Ctx,
    all: &[Entry],
    rounds: usize,
    md: &mut String,
    title: &str,
) -> Value {
    let small = sample_media(10 * KIB);
    let large = sample_media(2 * MIB);
    let (n_small, n_large) = if opts.quick { (40, 10) } else { (400, 60) };
    warm_up(rt, c, all, &small, &large);
    md.push_str(&format!("\n{title}\n\n| client | 10 KiB c=1 | 10 KiB c=16 | 2 MiB c=1 | 2 MiB c=16 | CPU/upload 10 KiB c=1 | CPU/upload 2 MiB c=1 |\n|---|---|---|---|---|---|---|\n"));
    // results[client][cell] = per-round (uploads/s, cpu ms) pairs.
    let mut results: Vec<Vec<Vec<(f64, f64)>>> = vec![vec![Vec::new(); 4]; all.len()];
    for round in 0..rounds {
        for k in 0..all.len() {
            let index = (k + round) % all.len();
            let e = &all[index];
            // curl starts a process per upload: fewer of them keep the run short.
            let scale = if matches!(e.client, Client::Curl) {
                4
            } else {
                1
            };
            let cells = [
                (&small, 1, n_small / scale),
                (&small, 16, n_small / scale),
                (&large, 1, (n_large / scale).max(4)),
                (&large, 16, (n_large / scale).max(16)),
            ];
            for (slot, (data, conc, n)) in cells.into_iter().enumerate() {
                results[index][slot].push(run_e2e(rt, c, e, data, conc, n));
            }
        }
    }
    let mut out = serde_json::Map::new();
    for (index, e) in all.iter().enumerate() {
        let rate = |slot: usize| median(results[index][slot].iter().map(|r| r.0).collect());
        let cpu = |slot: usize| median(results[index][slot].iter().map(|r| r.1).collect());
        let (s1, s16, l1, l16) = (rate(0), rate(1), rate(2), rate(3));
        let (cs1, cl1) = (cpu(0), cpu(2));
        md.push_str(&format!(
            "| {} | {s1:.0}/s | {s16:.0}/s | {l1:.1}/s | {l16:.1}/s | {cs1:.2} ms | {cl1:.2} ms |\n",
            e.name
        ));
        out.insert(
            e.name.into(),
            json!({
                "uploads_per_s_10kib": s1, "uploads_per_s_2mib": l1,
                "uploads_per_s_10kib_c16": s16, "uploads_per_s_2mib_c16": l16,
                "cpu_ms_per_upload_10kib": cs1, "cpu_ms_per_upload_2mib": cl1,
                "rounds": rounds,
            }),
        );
    }
    Value::Object(out)
}

/// Warm the connection pools and the simulator, with both sizes: the
/// simulator's heap grows on its first 2 MiB bodies, which would otherwise
/// be charged to whichever client goes first. The pools are warmed at c=16,
/// so that the c=16 cells of the first round do not pay 14 TLS handshakes
/// the later rounds do not (curl has no pool).
fn warm_up(rt: &tokio::runtime::Runtime, c: &Ctx, all: &[Entry], small: &Bytes, large: &Bytes) {
    for e in all {
        if !matches!(e.client, Client::Curl) {
            run_e2e(rt, c, e, small, 16, 32);
        }
        run_e2e(rt, c, e, small, 2, 4);
        run_e2e(rt, c, e, large, 2, 4);
    }
}
