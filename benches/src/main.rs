//! `cargo xtask bench [--quick]`: every number of docs/BENCHMARKS.md, printed as Markdown, written to target/bench/summary.json, and drawn as SVG charts.

// The binary's parts; the fixtures and the charts are the library's.
mod batch;
mod e2e;
mod fit;
mod micro_v3;
mod micro_video;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use wxmedia_bench::{reply_fixture, sample_media};
use wxmedia_proto::v2::{Credentials, SignType, StringToSign, UploadV2};
use wxmedia_proto::{Boundary, Env, Media, Operation};

/// Counts every byte allocated, so the encode bench can say how much it
/// allocates beyond the media.
struct Counting;

pub(crate) static ALLOCATED: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to the system allocator unchanged; the only
// addition is a relaxed counter, which cannot affect memory safety.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

pub(crate) const KIB: usize = 1024;
pub(crate) const MIB: usize = 1024 * 1024;
pub(crate) const MCH: &str = "1900000109";
pub(crate) const KEY: &str = "0123456789abcdefghijklmnopqrstuv";

pub(crate) struct Opts {
    pub(crate) quick: bool,
    pub(crate) wxmedia: PathBuf,
    out: PathBuf,
    /// Where the SVG charts go: `--charts DIR`, else the output directory
    /// (so that a quick run does not overwrite the committed charts).
    charts: Option<PathBuf>,
}

/// When the run started, for the phase times on stderr and in the summary.
static STARTED: OnceLock<Instant> = OnceLock::new();
static PHASES: std::sync::Mutex<Vec<(String, f64)>> = std::sync::Mutex::new(Vec::new());

/// Note on stderr that a phase ended, and how long it took: the runtime
/// estimate of a full run comes from these.
pub(crate) fn phase(name: &str) {
    let now = STARTED.get_or_init(Instant::now).elapsed().as_secs_f64();
    let mut phases = PHASES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let last = phases.last().map_or(0.0, |p| p.1);
    eprintln!("[{now:7.1} s] {name} done ({:.1} s)", now - last);
    phases.push((name.to_owned(), now));
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut quick = false;
    let mut wxmedia = PathBuf::from("target/release/wxmedia");
    let mut out = PathBuf::from("target/bench");
    let mut charts = None;
    // Only the in-process tables, printed: a quick look at one figure.
    let mut micro_only = false;
    // Only the end-to-end tables and scaling: to compare one transport
    // before and after a change, run by run.
    let mut e2e_only = false;
    // Only the batch under WeChat Pay's limits: the pacing's figure.
    let mut limits_only = false;
    // Only the photo table: `wxmedia fit` against ImageMagick.
    let mut fit_only = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--micro-only" => micro_only = true,
            "--e2e-only" => e2e_only = true,
            "--limits-only" => limits_only = true,
            "--fit-only" => fit_only = true,
            "--wxmedia" => wxmedia = args.next().expect("--wxmedia PATH").into(),
            "--out" => out = args.next().expect("--out DIR").into(),
            "--charts" => charts = Some(args.next().expect("--charts DIR").into()),
            other => panic!("unknown argument {other}"),
        }
    }
    let opts = Opts {
        quick,
        wxmedia,
        out,
        charts,
    };
    STARTED.get_or_init(Instant::now);
    std::fs::create_dir_all(&opts.out).expect("output directory");
    let mut summary = json!({ "quick": quick, "machine": machine() });
    let mut md = String::new();

    if e2e_only {
        e2e::run(&opts, &mut summary, &mut md);
        println!("{md}");
        return;
    }
    if limits_only {
        batch::run_limited(&opts, &mut summary, &mut md);
        println!("{md}");
        return;
    }
    if fit_only {
        fit::run(&opts, &mut summary, &mut md);
        println!("{md}");
        return;
    }
    micro(&opts, &mut summary, &mut md);
    phase("micro v2");
    micro_v3::run(&opts, &mut summary, &mut md);
    phase("micro v3");
    micro_video::run(&opts, &mut summary, &mut md);
    phase("micro video");
    if micro_only {
        println!("{md}");
        return;
    }
    e2e::run(&opts, &mut summary, &mut md);
    memory(&opts, &mut summary, &mut md);
    phase("memory");
    batch::run(&opts, &mut summary, &mut md);
    batch::run_limited(&opts, &mut summary, &mut md);
    phase("batch");
    fit::run(&opts, &mut summary, &mut md);
    phase("fit");

    let charts = opts.charts.clone().unwrap_or_else(|| opts.out.clone());
    let drawn = wxmedia_bench::charts::draw_all(&summary, &charts)
        .unwrap_or_else(|e| panic!("cannot draw the charts: {e}"));
    md.push_str("\n## Charts\n\n");
    for path in &drawn {
        md.push_str(&format!("- {}\n", path.display()));
    }
    summary["phase_seconds"] = PHASES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .scan(0.0, |last, (name, at)| {
            let took = at - *last;
            *last = *at;
            Some((name.clone(), json!(took)))
        })
        .collect::<serde_json::Map<_, _>>()
        .into();
    let path = opts.out.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary).expect("json"))
        .expect("write summary");
    println!("{md}");
    eprintln!("wrote {}", path.display());
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown")
        .trim()
        .to_owned();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    json!({ "cpu": model, "cpus": cpus, "os": std::env::consts::OS })
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// Nanoseconds per call of `f`, timed over `iters` calls.
pub(crate) fn time_ns(iters: u32, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn encode_once(data: &Bytes, creds: &Credentials, env: &Env) {
    let media = Media::new("a.jpg", Bytes::clone(data)).expect("valid media");
    let up = UploadV2::new(creds.clone(), media, SignType::HmacSha256).expect("within the limit");
    std::hint::black_box(up.encode(env).expect("encodes"));
}

fn micro(opts: &Opts, summary: &mut Value, md: &mut String) {
    let runs = if opts.quick { 7 } else { 21 };
    encode_table(runs, summary, md);
    decode_table(runs, summary, md);
}

/// Encode against the MD5 floor at four sizes: the timings, their slope
/// per byte, and the bytes allocated beyond the media.
fn encode_table(runs: usize, summary: &mut Value, md: &mut String) {
    let creds = Credentials::new(MCH, KEY).expect("valid");
    let env = Env::new("https://127.0.0.1:1", Boundary::from_random([7; 16])).expect("valid");
    md.push_str("## Encode against the MD5 floor (in process)\n\n| media | MD5 only | full signed upload | ratio | extra bytes allocated |\n|---|---|---|---|---|\n");
    let mut per_size = serde_json::Map::new();
    let mut slopes = Vec::new();
    for (label, size) in [
        ("10kib", 10 * KIB),
        ("200kib", 200 * KIB),
        ("1mib", MIB),
        ("2mib", 2 * MIB),
    ] {
        let data = sample_media(size);
        let (m, e, r) = time_encode(runs, &data, &creds, &env);
        let before = ALLOCATED.load(Ordering::Relaxed);
        encode_once(&data, &creds, &env);
        let extra = ALLOCATED.load(Ordering::Relaxed) - before;
        slopes.push(json!({ "bytes": size, "md5_ns_per_byte": m / size as f64, "encode_ns_per_byte": e / size as f64 }));
        md.push_str(&format!(
            "| {label} | {:.1} µs | {:.1} µs | {r:.3} | {extra} B |\n",
            m / 1000.0,
            e / 1000.0
        ));
        per_size.insert(
            label.into(),
            json!({ "md5_ns": m, "encode_ns": e, "ratio": r, "extra_alloc_bytes": extra }),
        );
        if label == "2mib" {
            summary["encode_over_md5_2mib"] = json!(r);
            summary["encode_extra_alloc_bytes_2mib"] = json!(extra);
        }
        if label == "10kib" {
            summary["encode_extra_alloc_bytes_10kib"] = json!(extra);
        }
    }
    summary["encode"] = Value::Object(per_size);
    summary["scaling_encode"] = json!(slopes);
}

/// Medians of MD5's time, the encode's, and their ratio, in ns.
fn time_encode(runs: usize, data: &Bytes, creds: &Credentials, env: &Env) -> (f64, f64, f64) {
    let iters = (8 * MIB / data.len()).clamp(4, 2000) as u32;
    let (mut md5s, mut encs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        // Interleaved so that both see the same machine noise.
        let m = time_ns(iters, || {
            std::hint::black_box(Md5::digest(&data[..]));
        });
        let e = time_ns(iters, || encode_once(data, creds, env));
        md5s.push(m);
        encs.push(e);
        ratios.push(e / m);
    }
    (median(md5s), median(encs), median(ratios))
}

/// Decode + verify of a signed reply against signing its canonical string.
fn decode_table(runs: usize, summary: &mut Value, md: &mut String) {
    let (body, key) = reply_fixture();
    let fields = wxmedia_proto::v2::xml::Fields::parse(&body).expect("parses");
    let (mut dec, mut sig, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let d = time_ns(20_000, || {
            std::hint::black_box(
                wxmedia_proto::v2::reply::decode_reply(
                    http::StatusCode::OK,
                    Bytes::clone(&body),
                    &key,
                    SignType::Md5,
                    65536,
                )
                .expect("verifies"),
            );
        });
        let s = time_ns(20_000, || {
            std::hint::black_box(StringToSign::new(fields.iter()).sign(&key, SignType::Md5));
        });
        dec.push(d);
        sig.push(s);
        ratios.push(d / s);
    }
    let (d, s, r) = (median(dec), median(sig), median(ratios));
    summary["decode_verify_ns"] = json!(d);
    summary["sign_only_ns"] = json!(s);
    summary["decode_verify_over_sign"] = json!(r);
    md.push_str(&format!(
        "\n## Decode + verify a signed reply\n\n| decode + verify | sign of its canonical string alone | ratio |\n|---|---|---|\n| {d:.0} ns | {s:.0} ns | {r:.2} |\n"
    ));
}

/// CPU time (user + system) of this process and of its waited-for
/// children, in seconds.
///
/// This process's comes from `CLOCK_PROCESS_CPUTIME_ID`, in nanoseconds and
/// counting threads that have ended (the blocking workers): the clock ticks
/// of `/proc/self/stat` (10 ms) would quantise a 10 KiB upload's ~0.1 ms of
/// CPU to ±25% even over 400 uploads. Children (curl, ~10 ms each) are read
/// from `/proc/self/stat`, where ticks are fine enough.
pub(crate) fn cpu_seconds() -> (f64, f64) {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    let own = t.tv_sec as f64 + t.tv_nsec as f64 / 1e9;
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // cutime and cstime, fields 16-17 of stat(5), counted from the state
    // field (index 0 here = field 3).
    assert!(f.len() > 14, "/proc/self/stat has too few fields: {stat}");
    let tick = 100.0; // USER_HZ on Linux.
    (own, (f[13] + f[14]) / tick)
}

/// Peak RSS of `wxmedia upload` (through /usr/bin/time) for 2 MiB and 10
/// KiB, v2 and v3 image uploads; the difference is what the media costs.
fn memory(opts: &Opts, summary: &mut Value, md: &mut String) {
    if !Path::new("/usr/bin/time").exists() {
        summary["peak_rss_kib"] = Value::Null;
        summary["peak_rss_v3_kib"] = Value::Null;
        md.push_str("\n(peak RSS not measured: /usr/bin/time is missing)\n");
        return;
    }
    let sim = e2e::start_sim(opts);
    let dir = tempfile::TempDir::new().expect("temp dir");
    let key = dir.path().join("key");
    std::fs::write(&key, KEY).expect("key file");
    md.push_str("\n## Memory: peak RSS of `wxmedia upload`\n\n| API | 2 MiB file | 10 KiB file | difference | the media itself |\n|---|---|---|---|---|\n");
    for (api, args, summary_key) in [
        ("v2", v2_upload_args(&sim, &key), "peak_rss_kib"),
        ("v3 image", v3_upload_args(&sim), "peak_rss_v3_kib"),
    ] {
        let run = Upload {
            opts,
            sim: &sim,
            dir: dir.path(),
            api,
            args: &args,
        };
        let (large, small) = (run.peak_rss(2 * MIB), run.peak_rss(10 * KIB));
        let diff = large - small;
        summary[summary_key] =
            json!({ "2mib": large, "10kib": small, "difference": diff, "media_kib": 2048 });
        md.push_str(&format!(
            "| {api} | {large:.0} KiB | {small:.0} KiB | {diff:.0} KiB | 2048 KiB |\n"
        ));
    }
}

/// `wxmedia upload`'s v2 credentials: the API key from `key`, the
/// simulator's client certificate.
fn v2_upload_args(sim: &e2e::SimProcess, key: &Path) -> Vec<String> {
    let s = |k: &str| sim.field(k);
    vec![
        "--mch-id".to_owned(),
        MCH.into(),
        "--api-key-file".into(),
        key.display().to_string(),
        "--cert".into(),
        s("client_cert"),
        "--cert-key".into(),
        s("client_key"),
    ]
}

/// v3 as the README's command line has it: the merchant key signs, the
/// certificate gives the serial, the WeChat Pay public key verifies.
fn v3_upload_args(sim: &e2e::SimProcess) -> Vec<String> {
    let s = |k: &str| sim.field(k);
    vec![
        "--api".to_owned(),
        "v3".into(),
        "--kind".into(),
        "image".into(),
        "--mch-id".into(),
        MCH.into(),
        "--private-key".into(),
        s("client_key"),
        "--cert".into(),
        s("client_cert"),
        "--wechatpay-public-key".into(),
        s("wechatpay_public_key"),
        "--wechatpay-public-key-id".into(),
        s("wechatpay_public_key_id"),
    ]
}

/// One API's `wxmedia upload` command against the simulator.
struct Upload<'a> {
    opts: &'a Opts,
    sim: &'a e2e::SimProcess,
    /// Where the media files are written.
    dir: &'a Path,
    api: &'a str,
    args: &'a [String],
}

impl Upload<'_> {
    /// Median peak RSS in KiB of three uploads of a `size`-byte file.
    fn peak_rss(&self, size: usize) -> f64 {
        let file = self.dir.join(format!("m{size}.jpg"));
        std::fs::write(&file, sample_media(size)).expect("media");
        let runs: Vec<f64> = (0..3).map(|_| self.peak_rss_once(&file)).collect();
        median(runs)
    }

    /// The peak RSS /usr/bin/time reports (`%M`, KiB) for one upload.
    fn peak_rss_once(&self, file: &Path) -> f64 {
        let (api, s) = (self.api, |k: &str| self.sim.field(k));
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(&self.opts.wxmedia)
            .arg("upload")
            .args(self.args)
            .args(["--ca", &s("ca_cert"), "--endpoint", &s("endpoint")])
            .arg(file)
            .output()
            .expect("upload runs");
        assert!(
            out.status.success(),
            "{api} upload failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .expect("%M")
    }
}
