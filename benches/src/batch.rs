//! `wxmedia batch` throughput: N distinct 200 KiB JPEGs through the command line against a separate simulator, unpaced at its default concurrency and a sweep, and paced under WeChat Pay's limits.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};
use wxmedia_bench::distinct_media;

use crate::e2e::{SimProcess, start_sim};
use crate::{KEY, KIB, MCH, Opts, median};

const FILE_KIB: usize = 200;

/// The default of `--concurrency` with `--rate off`, as `wxmedia batch
/// --help` states it ("16 with --rate off"): the throughput sweep runs
/// unpaced, against a simulator without limits, to measure the client.
fn default_concurrency(opts: &Opts) -> u16 {
    let out = Command::new(&opts.wxmedia)
        .args(["batch", "--help"])
        .output()
        .expect("wxmedia batch --help runs");
    let help = String::from_utf8_lossy(&out.stdout);
    help.split(" with --rate off)")
        .next()
        .and_then(|before| before.rsplit(['(', ' ']).next())
        .and_then(|n| n.trim().parse().ok())
        .expect("batch --help gives --concurrency's default with --rate off, as \"(N with --rate off)\"")
}

/// The file system type of the mount holding `path` (the ledger is synced
/// once per file, so its file system decides part of the rate).
fn fs_type(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && path.starts_with(f[1])).then(|| (f[1].len(), f[2].to_owned()))
        })
        .max()
        .map_or_else(|| "unknown".to_owned(), |(_, t)| t)
}

/// One batch run with a fresh ledger: wall seconds and CPU seconds of the
/// process (user + system, from /usr/bin/time), or None for CPU when
/// /usr/bin/time is missing.
fn run_once(
    opts: &Opts,
    sim_args: &[String],
    media: &Path,
    ledger: &Path,
    concurrency: Option<u16>,
    n: usize,
) -> (f64, Option<f64>) {
    let dir = ledger.parent().expect("ledger in a directory");
    let times = dir.join("time.txt");
    let timed = Path::new("/usr/bin/time").exists();
    let mut cmd = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-o").arg(&times).args(["-f", "%e %U %S"]);
        c.arg(&opts.wxmedia);
        c
    } else {
        Command::new(&opts.wxmedia)
    };
    cmd.arg("batch").args(sim_args).arg("--ledger").arg(ledger);
    if let Some(c) = concurrency {
        cmd.args(["--concurrency", &c.to_string()]);
    }
    cmd.arg(media);
    let started = Instant::now();
    let out = cmd.output().expect("wxmedia batch runs");
    let wall = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "wxmedia batch failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = std::fs::read_to_string(ledger).expect("the ledger");
    let uploaded = lines
        .lines()
        .filter(|l| l.contains("\"status\":\"uploaded\""))
        .count();
    assert_eq!(
        (lines.lines().count(), uploaded),
        (n, n),
        "the ledger must have one uploaded line per file"
    );
    let cpu = timed.then(|| {
        let t = std::fs::read_to_string(&times).expect("/usr/bin/time's output");
        let f: Vec<f64> = t
            .split_whitespace()
            .map(|x| x.parse().expect("a number of seconds"))
            .collect();
        assert_eq!(f.len(), 3, "%e %U %S: {t}");
        f[1] + f[2]
    });
    (wall, cpu)
}

/// One row of the table: concurrency, median uploads/s, median CPU ms
/// per upload (None without /usr/bin/time).
type Row = (u16, f64, Option<f64>);

/// What a batch bench measured, for the summary and the table.
struct Report {
    n: usize,
    rounds: usize,
    ledger_fs: String,
    default: u16,
    /// The default's figures, as run without `--concurrency`.
    default_rate: f64,
    default_cpu: Option<f64>,
    /// Every level, by concurrency.
    rows: Vec<Row>,
}

/// `wxmedia batch` at its default concurrency and over a sweep, as the
/// summary's `batch_uploads_per_s` and a table.
pub(crate) fn run(opts: &Opts, summary: &mut Value, md: &mut String) {
    let n: usize = if opts.quick { 200 } else { 1000 };
    let dir = tempfile::TempDir::new().expect("temp dir");
    let media = write_media(dir.path(), n);
    let sim = start_sim(opts);
    // Unpaced, against a simulator without limits: this table measures the
    // client; `run_limited` measures the pacing.
    let mut sim_args = sim_args(&sim, dir.path());
    sim_args.extend(["--rate".to_owned(), "off".to_owned()]);
    let default = default_concurrency(opts);
    let ledger_fs = fs_type(dir.path());
    let levels = levels(opts, default);
    let rounds = if opts.quick { 1 } else { 3 };
    let results = measure(opts, &sim_args, dir.path(), &media, &levels, n, rounds);
    let mut rows = medians(&levels, &results);
    let (default_rate, default_cpu) = (rows[0].1, rows[0].2);
    rows.sort_by_key(|r| r.0);
    let report = Report {
        n,
        rounds,
        ledger_fs,
        default,
        default_rate,
        default_cpu,
        rows,
    };
    summary["batch_uploads_per_s"] = report.json();
    report.markdown(md);
}

/// `n` distinct JPEGs in `dir/media`: distinct, as `wxmedia batch` skips
/// a content it has seen in the run.
fn write_media(dir: &Path, n: usize) -> PathBuf {
    let media = dir.join("media");
    std::fs::create_dir(&media).expect("media dir");
    for i in 0..n {
        std::fs::write(
            media.join(format!("f{i:05}.jpg")),
            distinct_media(FILE_KIB * KIB, i as u64),
        )
        .expect("media file");
    }
    media
}

/// The command line's v2 credentials and the simulator's endpoint; the
/// API key goes in a file in `dir`, as a user keeps it.
fn sim_args(sim: &SimProcess, dir: &Path) -> Vec<String> {
    let key = dir.join("apiv2.key");
    std::fs::write(&key, KEY).expect("key file");
    vec![
        "--mch-id".into(),
        MCH.into(),
        "--api-key-file".into(),
        key.display().to_string(),
        "--cert".into(),
        sim.field("client_cert"),
        "--cert-key".into(),
        sim.field("client_key"),
        "--ca".into(),
        sim.field("ca_cert"),
        "--endpoint".into(),
        sim.field("endpoint"),
    ]
}

/// Files of the batch under the simulator's real limits: 100, as the
/// issue that asked for it measures.
const LIMITED_FILES: usize = 100;

/// `wxmedia batch` as a user runs it (default rate and concurrency)
/// against a simulator keeping WeChat Pay's 10 image uploads a second:
/// uploads a second against the limit, and how many the simulator
/// refused as FREQUENCY_LIMITED (the goal: at least 95 % and none).
pub(crate) fn run_limited(opts: &Opts, summary: &mut Value, md: &mut String) {
    let n = LIMITED_FILES;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let media = write_media(dir.path(), n);
    let sim = crate::e2e::start_sim_with(opts, true);
    let args = sim_args(&sim, dir.path());
    let ledger = dir.path().join("ledger-limited.jsonl");
    let (wall, _) = run_once(opts, &args, &media, &ledger, None, n);
    let served = sim.stop();
    let limited = served["rate_limited"].as_u64().expect("rate_limited");
    let requests = served["requests"].as_u64().expect("requests");
    let rate = n as f64 / wall;
    let limit = 10.0;
    summary["batch_under_limits"] = json!({
        "files": n,
        "limit_per_s": limit,
        "uploads_per_s": rate,
        "share_of_limit": rate / limit,
        "frequency_limited": limited,
        "requests": requests,
    });
    md.push_str(&format!(
        "\n## Batch under WeChat Pay's limits\n\n`wxmedia batch` over {n} distinct {FILE_KIB} KiB JPEGs with its defaults (v2, hyper, paced at the documented 10/s), against `wxmedia sim` keeping the same limit (a token bucket of 10 per merchant and endpoint). Wall time includes the process's start.\n\n| uploads/s | of the 10/s limit | FREQUENCY_LIMITED | requests |\n|---|---|---|---|\n| {rate:.2} | {:.1} % | {limited} | {requests} |\n",
        rate / limit * 100.0
    ));
}

/// The concurrencies measured, each with the `--concurrency` it is run
/// with: the default (run as a user runs it, without --concurrency) first,
/// then the sweep, which reuses the default's run for its value.
fn levels(opts: &Opts, default: u16) -> Vec<(u16, Option<u16>)> {
    let sweep: &[u16] = if opts.quick {
        &[1, 4, 16, 64]
    } else {
        &[1, 2, 4, 8, 16, 32, 64]
    };
    let mut levels: Vec<(u16, Option<u16>)> = vec![(default, None)];
    levels.extend(
        sweep
            .iter()
            .filter(|&&c| c != default)
            .map(|&c| (c, Some(c))),
    );
    levels
}

/// [level] = per-round (uploads/s, CPU ms per upload), every level once
/// per round.
fn measure(
    opts: &Opts,
    sim_args: &[String],
    dir: &Path,
    media: &Path,
    levels: &[(u16, Option<u16>)],
    n: usize,
    rounds: usize,
) -> Vec<Vec<(f64, Option<f64>)>> {
    let run = |label: &str, concurrency: Option<u16>| {
        let ledger = dir.join(format!("ledger-{label}.jsonl"));
        let (wall, cpu) = run_once(opts, sim_args, media, &ledger, concurrency, n);
        std::fs::remove_file(&ledger).expect("remove the ledger");
        (n as f64 / wall, cpu.map(|c| c * 1000.0 / n as f64))
    };
    let mut results: Vec<Vec<(f64, Option<f64>)>> = vec![Vec::new(); levels.len()];
    for _ in 0..rounds {
        for (i, &(c, flag)) in levels.iter().enumerate() {
            results[i].push(run(&c.to_string(), flag));
        }
    }
    results
}

/// The median of each level's rounds, in the order of `levels`; CPU only
/// when every round measured it.
fn medians(levels: &[(u16, Option<u16>)], results: &[Vec<(f64, Option<f64>)>]) -> Vec<Row> {
    levels
        .iter()
        .zip(results)
        .map(|(&(c, _), r)| {
            let rate = median(r.iter().map(|x| x.0).collect());
            let cpu = r
                .iter()
                .map(|x| x.1)
                .collect::<Option<Vec<f64>>>()
                .map(median);
            (c, rate, cpu)
        })
        .collect()
}

impl Report {
    fn json(&self) -> Value {
        let rows = &self.rows;
        let by: serde_json::Map<String, Value> = rows
            .iter()
            .map(|&(c, rate, _)| (c.to_string(), json!(rate)))
            .collect();
        let (best_c, best) = rows
            .iter()
            .map(|&(c, rate, _)| (c, rate))
            .max_by(|a, b| a.1.partial_cmp(&b.1).expect("no NaN"))
            .expect("at least one run");
        json!({
            "default_concurrency": self.default,
            "default": self.default_rate,
            "best": best,
            "best_concurrency": best_c,
            "by_concurrency": by,
            "cpu_ms_per_upload_default": self.default_cpu,
            "cpu_ms_per_upload_by_concurrency": rows.iter().map(|&(c, _, cpu)| (c.to_string(), json!(cpu))).collect::<serde_json::Map<_, _>>(),
            "files": self.n,
            "file_kib": FILE_KIB,
            "rounds": self.rounds,
            "ledger_fs": self.ledger_fs,
        })
    }

    fn markdown(&self, md: &mut String) {
        let (n, rounds, ledger_fs, default) = (self.n, self.rounds, &self.ledger_fs, self.default);
        md.push_str(&format!(
            "\n## Batch: `wxmedia batch` over {n} distinct {FILE_KIB} KiB JPEGs (v2, hyper)\n\nOne process per run, a fresh ledger each time (synced once per file, on {ledger_fs}), unpaced (`--rate off`) against a separate `wxmedia sim --no-rate-limits`; median of {rounds} round(s). Wall time includes the process's start; CPU is the batch process's user + system time.\n\n| --concurrency | uploads/s | CPU/upload |\n|---|---|---|\n"
        ));
        for &(c, rate, cpu) in &self.rows {
            let mark = if c == default { " (default)" } else { "" };
            let cpu = cpu.map_or_else(|| "n/a".to_owned(), |c| format!("{c:.2} ms"));
            md.push_str(&format!("| {c}{mark} | {rate:.0}/s | {cpu} |\n"));
        }
    }
}
