//! `cargo xtask bench [--quick]`: every number of docs/BENCHMARKS.md, printed as Markdown and written to target/bench/summary.json.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use wxmedia_bench::{reply_fixture, sample_media};
use wxmedia_proto::v2::{Credentials, SignType, StringToSign, UploadV2};
use wxmedia_proto::{Boundary, Env, Media, Operation};
use wxmedia_tls::Identity;

/// Counts every byte allocated, so the encode bench can say how much it
/// allocates beyond the media.
struct Counting;

static ALLOCATED: AtomicU64 = AtomicU64::new(0);

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

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
const MCH: &str = "1900000109";
const KEY: &str = "0123456789abcdefghijklmnopqrstuv";

struct Opts {
    quick: bool,
    wxmedia: PathBuf,
    out: PathBuf,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut quick = false;
    let mut wxmedia = PathBuf::from("target/release/wxmedia");
    let mut out = PathBuf::from("target/bench");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--wxmedia" => wxmedia = args.next().expect("--wxmedia PATH").into(),
            "--out" => out = args.next().expect("--out DIR").into(),
            other => panic!("unknown argument {other}"),
        }
    }
    let opts = Opts {
        quick,
        wxmedia,
        out,
    };
    std::fs::create_dir_all(&opts.out).expect("output directory");
    let mut summary = json!({ "quick": quick, "machine": machine() });
    let mut md = String::new();

    micro(&opts, &mut summary, &mut md);
    e2e(&opts, &mut summary, &mut md);
    memory(&opts, &mut summary, &mut md);

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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// Nanoseconds per call of `f`, timed over `iters` calls.
fn time_ns(iters: u32, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn encode_once(data: &Bytes, creds: &Credentials, env: &Env) {
    let media = Media::new("a.jpg", Bytes::clone(data)).expect("valid media");
    let up = UploadV2::new(creds.clone(), media, SignType::HmacSha256);
    std::hint::black_box(up.encode(env).expect("encodes"));
}

fn micro(opts: &Opts, summary: &mut Value, md: &mut String) {
    let runs = if opts.quick { 7 } else { 21 };
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
        let iters = (8 * MIB / size).clamp(4, 2000) as u32;
        let (mut md5s, mut encs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            // Interleaved so that both see the same machine noise.
            let m = time_ns(iters, || {
                std::hint::black_box(Md5::digest(&data[..]));
            });
            let e = time_ns(iters, || encode_once(&data, &creds, &env));
            md5s.push(m);
            encs.push(e);
            ratios.push(e / m);
        }
        let before = ALLOCATED.load(Ordering::Relaxed);
        encode_once(&data, &creds, &env);
        let extra = ALLOCATED.load(Ordering::Relaxed) - before;
        let (m, e, r) = (median(md5s), median(encs), median(ratios));
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

/// A `wxmedia sim` process: the server's CPU is not counted as the client's.
struct SimProcess {
    child: Child,
    ready: Value,
    _state: tempfile::TempDir,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(opts: &Opts) -> SimProcess {
    let state = tempfile::TempDir::new().expect("temp dir");
    let mut child = Command::new(&opts.wxmedia)
        .args(["sim", "--mch-id", MCH, "--api-key", KEY, "--state"])
        .arg(state.path())
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

/// CPU time of this process and of its waited-for children, in seconds.
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14-17 of stat(5), counted from the state field (index 0 here = field 3).
    let tick = 100.0; // USER_HZ on Linux.
    if f.len() < 15 {
        return (0.0, 0.0);
    }
    ((f[11] + f[12]) / tick, (f[13] + f[14]) / tick)
}

#[derive(Clone, Copy, PartialEq)]
enum ClientKind {
    Hyper,
    Surf,
    Blocking,
    Reqwest,
    ReqwestRing,
    Curl,
}

impl ClientKind {
    fn name(self) -> &'static str {
        match self {
            ClientKind::Hyper => "hyper",
            ClientKind::Surf => "surf",
            ClientKind::Blocking => "blocking",
            ClientKind::Reqwest => "reqwest_baseline",
            ClientKind::ReqwestRing => "reqwest_baseline_ring",
            ClientKind::Curl => "curl",
        }
    }
}

struct Clients {
    hyper: wxmedia_hyper::Client,
    surf: wxmedia_surf::Client,
    blocking: wxmedia_blocking::Client,
    reqwest: reqwest::Client,
    reqwest_ring: reqwest::Client,
    ready: Value,
    dir: tempfile::TempDir,
}

fn clients(ready: &Value) -> Clients {
    let s = |k: &str| ready[k].as_str().expect("ready field").to_owned();
    let identity = Identity::from_pem_files(s("client_cert"), s("client_key")).expect("identity");
    macro_rules! build {
        ($c:ty) => {
            <$c>::builder()
                .mch_id(MCH)
                .api_key(KEY)
                .identity(identity.clone())
                .endpoint(s("endpoint"))
                .webpki_roots(false)
                .add_root_ca_file(s("ca_cert"))
                .build()
                .expect("client")
        };
    }
    let mut pem = std::fs::read(s("client_cert")).expect("cert");
    pem.extend(std::fs::read(s("client_key")).expect("key"));
    let reqwest = reqwest::Client::builder()
        .identity(reqwest::Identity::from_pem(&pem).expect("reqwest identity"))
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(s("ca_cert")).expect("ca")).expect("ca"),
        )
        .build()
        .expect("reqwest client");
    // The same baseline on our TLS configuration (ring, same roots and
    // identity), to separate the HTTP client from the crypto provider.
    let settings = wxmedia_hyper::ClientBuilder::<wxmedia_hyper::Client>::new()
        .mch_id(MCH)
        .api_key(KEY)
        .identity(identity.clone())
        .endpoint(s("endpoint"))
        .webpki_roots(false)
        .add_root_ca_file(s("ca_cert"))
        .settings()
        .expect("settings");
    let reqwest_ring = reqwest::Client::builder()
        .tls_backend_preconfigured((*settings.tls).clone())
        .build()
        .expect("reqwest client on ring");
    Clients {
        reqwest_ring,
        hyper: build!(wxmedia_hyper::Client),
        surf: build!(wxmedia_surf::Client),
        blocking: build!(wxmedia_blocking::Client),
        reqwest,
        ready: ready.clone(),
        dir: tempfile::TempDir::new().expect("temp dir"),
    }
}

/// The baseline a Rust developer writes by hand today: md-5, a sign string
/// built with format!, reqwest's multipart form, and a substring check of
/// the reply (no signature verification: that is what such code does).
async fn reqwest_upload(client: &reqwest::Client, endpoint: &str, data: &Bytes) {
    let hash: String = Md5::digest(&data[..])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let to_sign = format!("mch_id={MCH}&media_hash={hash}&key={KEY}");
    let sign: String = Md5::digest(to_sign.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let form = reqwest::multipart::Form::new()
        .text("mch_id", MCH)
        .text("media_hash", hash)
        .text("sign", sign)
        .part(
            "media",
            reqwest::multipart::Part::bytes(data.to_vec())
                .file_name("a.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let text = client
        .post(format!("{endpoint}/secapi/mch/uploadmedia"))
        .multipart(form)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("reply");
    assert!(
        text.contains("<media_id>"),
        "baseline upload failed: {text}"
    );
}

fn curl_upload(c: &Clients, file: &Path, hash: &str, sign: &str) {
    let s = |k: &str| c.ready[k].as_str().expect("ready field").to_owned();
    let out = Command::new("curl")
        .args([
            "-sS",
            "--cacert",
            &s("ca_cert"),
            "--cert",
            &s("client_cert"),
            "--key",
            &s("client_key"),
        ])
        .args([
            "-F",
            &format!("mch_id={MCH}"),
            "-F",
            &format!("media_hash={hash}"),
            "-F",
            &format!("sign={sign}"),
        ])
        .arg("-F")
        .arg(format!("media=@{}", file.display()))
        .arg(format!("{}/secapi/mch/uploadmedia", s("endpoint")))
        .output()
        .expect("curl runs");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("<media_id>"),
        "curl upload failed"
    );
}

/// Uploads per second and client CPU milliseconds per upload.
fn run_e2e(
    rt: &tokio::runtime::Runtime,
    c: &Clients,
    kind: ClientKind,
    data: &Bytes,
    concurrency: usize,
    n: usize,
) -> (f64, f64) {
    let file = c.dir.path().join(format!("m{}.jpg", data.len()));
    std::fs::write(&file, data).expect("media file");
    let hash = wxmedia_proto::MediaHash::of(data).to_string();
    let sign = StringToSign::new([("mch_id", MCH), ("media_hash", hash.as_str())])
        .sign(
            &wxmedia_proto::v2::ApiKey::new(KEY).expect("key"),
            SignType::Md5,
        )
        .to_string();
    let endpoint = c.ready["endpoint"].as_str().expect("endpoint").to_owned();
    let (cpu0, child0) = cpu_seconds();
    let started = Instant::now();
    match kind {
        ClientKind::Hyper | ClientKind::Surf | ClientKind::Reqwest | ClientKind::ReqwestRing => rt
            .block_on(async {
                let mut s = futures_util::stream::iter(0..n)
                    .map(|_| async {
                        if kind == ClientKind::Hyper {
                            c.hyper
                                .upload(Media::new("a.jpg", Bytes::clone(data)).expect("media"))
                                .await
                                .expect("upload");
                        } else if kind == ClientKind::Surf {
                            // surf's I/O runs on async-std's reactor; awaiting it here is fine.
                            c.surf
                                .upload(Media::new("a.jpg", Bytes::clone(data)).expect("media"))
                                .await
                                .expect("upload");
                        } else if kind == ClientKind::ReqwestRing {
                            reqwest_upload(&c.reqwest_ring, &endpoint, data).await;
                        } else {
                            reqwest_upload(&c.reqwest, &endpoint, data).await;
                        }
                    })
                    .buffer_unordered(concurrency);
                while s.next().await.is_some() {}
            }),
        ClientKind::Blocking | ClientKind::Curl => std::thread::scope(|scope| {
            for w in 0..concurrency {
                let count = n / concurrency + usize::from(w < n % concurrency);
                let (file, hash, sign) = (&file, &hash, &sign);
                scope.spawn(move || {
                    for _ in 0..count {
                        if kind == ClientKind::Blocking {
                            c.blocking
                                .upload(Media::new("a.jpg", Bytes::clone(data)).expect("media"))
                                .expect("upload");
                        } else {
                            curl_upload(c, file, hash, sign);
                        }
                    }
                });
            }
        }),
    }
    let wall = started.elapsed().as_secs_f64();
    let (cpu1, child1) = cpu_seconds();
    let cpu = (cpu1 - cpu0) + (child1 - child0);
    (n as f64 / wall, cpu * 1000.0 / n as f64)
}

fn e2e(opts: &Opts, summary: &mut Value, md: &mut String) {
    let sim = start_sim(opts);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let c = clients(&sim.ready);
    let small = sample_media(10 * KIB);
    let large = sample_media(2 * MIB);
    let (n_small, n_large) = if opts.quick { (40, 10) } else { (400, 60) };
    let all = [
        ClientKind::Hyper,
        ClientKind::Surf,
        ClientKind::Blocking,
        ClientKind::Reqwest,
        ClientKind::ReqwestRing,
        ClientKind::Curl,
    ];
    // Warm the connection pools and the simulator, with both sizes: the
    // simulator's heap grows on its first 2 MiB bodies, which would
    // otherwise be charged to whichever client goes first.
    for kind in all {
        run_e2e(&rt, &c, kind, &small, 2, 4);
        run_e2e(&rt, &c, kind, &large, 2, 4);
    }
    md.push_str("\n## End to end over loopback mutual TLS (simulator in a separate process)\n\nMedian of the rounds; the order of the clients rotates from round to round.\n\n| client | 10 KiB c=1 | 10 KiB c=16 | 2 MiB c=1 | 2 MiB c=16 | CPU/upload 10 KiB c=1 | CPU/upload 2 MiB c=1 |\n|---|---|---|---|---|---|---|\n");
    let rounds = if opts.quick { 1 } else { 3 };
    // results[client][config] = per-round (uploads/s, cpu ms) pairs.
    let mut results: Vec<Vec<Vec<(f64, f64)>>> = vec![vec![Vec::new(); 4]; all.len()];
    for round in 0..rounds {
        for k in 0..all.len() {
            let index = (k + round) % all.len();
            let kind = all[index];
            // curl starts a process per upload: fewer of them keep the run short.
            let scale = if kind == ClientKind::Curl { 4 } else { 1 };
            let configs = [
                (&small, 1, n_small / scale),
                (&small, 16, n_small / scale),
                (&large, 1, (n_large / scale).max(4)),
                (&large, 16, (n_large / scale).max(16)),
            ];
            for (slot, (data, conc, n)) in configs.into_iter().enumerate() {
                results[index][slot].push(run_e2e(&rt, &c, kind, data, conc, n));
            }
        }
    }
    let mut e2e = serde_json::Map::new();
    for (index, kind) in all.iter().enumerate() {
        let rate = |slot: usize| median(results[index][slot].iter().map(|r| r.0).collect());
        let cpu = |slot: usize| median(results[index][slot].iter().map(|r| r.1).collect());
        let (s1, s16, l1, l16) = (rate(0), rate(1), rate(2), rate(3));
        let (cs1, cl1) = (cpu(0), cpu(2));
        md.push_str(&format!(
            "| {} | {s1:.0}/s | {s16:.0}/s | {l1:.1}/s | {l16:.1}/s | {cs1:.2} ms | {cl1:.2} ms |\n",
            kind.name()
        ));
        e2e.insert(
            kind.name().into(),
            json!({
                "uploads_per_s_10kib": s1, "uploads_per_s_2mib": l1,
                "uploads_per_s_10kib_c16": s16, "uploads_per_s_2mib_c16": l16,
                "cpu_ms_per_upload_10kib": cs1, "cpu_ms_per_upload_2mib": cl1,
                "rounds": rounds,
            }),
        );
    }
    summary["e2e"] = Value::Object(e2e);
    md.push_str(
        "\n## Scaling: hyper, 10 KiB, by concurrency\n\n| concurrency | uploads/s |\n|---|---|\n",
    );
    let levels: &[usize] = if opts.quick {
        &[1, 4, 16]
    } else {
        &[1, 4, 16, 64]
    };
    let mut scaling = serde_json::Map::new();
    for &level in levels {
        let (rate, _) = run_e2e(
            &rt,
            &c,
            ClientKind::Hyper,
            &small,
            level,
            n_small.max(level * 4),
        );
        md.push_str(&format!("| {level} | {rate:.0} |\n"));
        scaling.insert(level.to_string(), json!(rate));
    }
    summary["scaling_e2e_hyper_10kib"] = Value::Object(scaling);
    drop(sim);
}

/// Peak RSS of `wxmedia upload` (through /usr/bin/time) for 2 MiB and 10 KiB.
fn memory(opts: &Opts, summary: &mut Value, md: &mut String) {
    if !Path::new("/usr/bin/time").exists() {
        summary["peak_rss_kib"] = Value::Null;
        md.push_str("\n(peak RSS not measured: /usr/bin/time is missing)\n");
        return;
    }
    let sim = start_sim(opts);
    let dir = tempfile::TempDir::new().expect("temp dir");
    let key = dir.path().join("key");
    std::fs::write(&key, KEY).expect("key file");
    let s = |k: &str| sim.ready[k].as_str().expect("ready field").to_owned();
    let peak = |size: usize| {
        let file = dir.path().join(format!("m{size}.jpg"));
        std::fs::write(&file, sample_media(size)).expect("media");
        let runs: Vec<f64> = (0..3)
            .map(|_| {
                let out = Command::new("/usr/bin/time")
                    .args(["-f", "%M"])
                    .arg(&opts.wxmedia)
                    .args(["upload", "--mch-id", MCH, "--api-key-file"])
                    .arg(&key)
                    .args([
                        "--cert",
                        &s("client_cert"),
                        "--cert-key",
                        &s("client_key"),
                        "--ca",
                        &s("ca_cert"),
                    ])
                    .args(["--endpoint", &s("endpoint")])
                    .arg(&file)
                    .output()
                    .expect("upload runs");
                assert!(
                    out.status.success(),
                    "upload failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .and_then(|l| l.trim().parse().ok())
                    .expect("%M")
            })
            .collect();
        median(runs)
    };
    let (large, small) = (peak(2 * MIB), peak(10 * KIB));
    let diff = large - small;
    summary["peak_rss_kib"] =
        json!({ "2mib": large, "10kib": small, "difference": diff, "media_kib": 2048 });
    md.push_str(&format!(
        "\n## Memory: peak RSS of `wxmedia upload`\n\n| 2 MiB file | 10 KiB file | difference | the media itself |\n|---|---|---|---|\n| {large:.0} KiB | {small:.0} KiB | {diff:.0} KiB | 2048 KiB |\n"
    ));
}
