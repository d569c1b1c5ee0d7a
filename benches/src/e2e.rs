//! End to end against a `wxmedia sim` process: v2 and v3 uploads per client, the hand-written reqwest baselines, and scaling by concurrency.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use ring::rand::SecureRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};
use sha2::Sha256;
use wxmedia_bench::charts::SCALING_LEVELS;
use wxmedia_bench::{pem_to_der, sample_media, v3_image};
use wxmedia_proto::Media;
use wxmedia_proto::v2::{SignType, StringToSign};
use wxmedia_tls::Identity;

use crate::{KEY, KIB, MCH, MIB, Opts, cpu_seconds, median};

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
    /// A field of the ready line, as text.
    pub(crate) fn field(&self, name: &str) -> String {
        field(&self.ready, name)
    }
}

fn field(ready: &Value, name: &str) -> String {
    ready[name]
        .as_str()
        .unwrap_or_else(|| panic!("the simulator's ready line has no {name}"))
        .to_owned()
}

pub(crate) fn start_sim(opts: &Opts) -> SimProcess {
    let state = tempfile::TempDir::new().expect("temp dir");
    let mut child = Command::new(&opts.wxmedia)
        .args(["sim", "--mch-id", MCH, "--api-key", KEY, "--state"])
        .arg(state.path())
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

/// One client under test.
enum Client {
    Hyper(wxmedia_hyper::Client),
    Surf(wxmedia_surf::Client),
    Blocking(wxmedia_blocking::Client),
    /// A hand-written baseline on reqwest, v2 or v3 by the entry's `v3`.
    Reqwest(reqwest::Client),
    /// The seed's curl command, one process per upload (v2).
    Curl,
}

struct Entry {
    name: &'static str,
    /// v3 image uploads (`upload_image`), or v2 `upload`.
    v3: bool,
    client: Client,
}

/// What every upload needs besides its client: the simulator's files and
/// the v3 baseline's key.
struct Ctx {
    ready: Value,
    endpoint: String,
    dir: tempfile::TempDir,
    baseline_v3: BaselineV3,
}

/// The v3 baseline's signing material, loaded once as a user would.
struct BaselineV3 {
    key: RsaKeyPair,
    serial_no: String,
    rng: ring::rand::SystemRandom,
}

fn ctx(ready: &Value) -> Ctx {
    let key_pem = std::fs::read_to_string(field(ready, "client_key")).expect("merchant key");
    Ctx {
        ready: ready.clone(),
        endpoint: field(ready, "endpoint"),
        dir: tempfile::TempDir::new().expect("temp dir"),
        baseline_v3: BaselineV3 {
            key: RsaKeyPair::from_pkcs8(&pem_to_der(&key_pem)).expect("PKCS#8 RSA key"),
            serial_no: field(ready, "mch_serial_no"),
            rng: ring::rand::SystemRandom::new(),
        },
    }
}

/// Which client to build.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Hyper,
    Surf,
    Blocking,
}

/// The TLS crypto provider of a wxmedia client: the default build's
/// (`ring`), or aws-lc-rs given at run time, so that both are measured in
/// the same run by the same binary.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Provider {
    Ring,
    AwsLcRs,
}

impl Kind {
    fn name(self, provider: Provider) -> &'static str {
        match (self, provider) {
            (Kind::Hyper, Provider::Ring) => "hyper",
            (Kind::Surf, Provider::Ring) => "surf",
            (Kind::Blocking, Provider::Ring) => "blocking",
            (Kind::Hyper, Provider::AwsLcRs) => "hyper_aws_lc_rs",
            (Kind::Surf, Provider::AwsLcRs) => "surf_aws_lc_rs",
            (Kind::Blocking, Provider::AwsLcRs) => "blocking_aws_lc_rs",
        }
    }
}

/// A wxmedia client of `kind`: v2 with the simulator's client certificate,
/// or v3 as crates/wxmedia-hyper/examples/v3_hyper.rs builds one (private
/// key, merchant certificate, WeChat Pay public key and its id; no client
/// certificate).
fn build(ready: &Value, kind: Kind, v3: bool, provider: Provider) -> Entry {
    let s = |k: &str| field(ready, k);
    let crypto = match provider {
        Provider::Ring => wxmedia_tls::provider(),
        Provider::AwsLcRs => std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
    };
    macro_rules! build {
        ($c:ty) => {{
            let b = <$c>::builder()
                .crypto_provider(crypto.clone())
                .mch_id(MCH)
                .endpoint(s("endpoint"))
                .webpki_roots(false)
                .add_root_ca_file(s("ca_cert"));
            let b = if v3 {
                b.private_key_file(s("client_key"))
                    .merchant_certificate_file(s("client_cert"))
                    .wechatpay_public_key_file(
                        s("wechatpay_public_key_id"),
                        s("wechatpay_public_key"),
                    )
            } else {
                b.api_key(KEY).identity(
                    Identity::from_pem_files(s("client_cert"), s("client_key")).expect("identity"),
                )
            };
            b.build().expect("client")
        }};
    }
    let client = match kind {
        Kind::Hyper => Client::Hyper(build!(wxmedia_hyper::Client)),
        Kind::Surf => Client::Surf(build!(wxmedia_surf::Client)),
        Kind::Blocking => Client::Blocking(build!(wxmedia_blocking::Client)),
    };
    Entry {
        name: kind.name(provider),
        v3,
        client,
    }
}

/// hyper, surf and blocking on ring (the default build), then on aws-lc-rs.
fn ours(ready: &Value, v3: bool) -> Vec<Entry> {
    [Provider::Ring, Provider::AwsLcRs]
        .into_iter()
        .flat_map(|p| [Kind::Hyper, Kind::Surf, Kind::Blocking].map(|k| (k, p)))
        .map(|(kind, provider)| build(ready, kind, v3, provider))
        .collect()
}

/// The v2 clients: ours, the reqwest baseline on its own TLS (aws-lc-rs)
/// and on ours (ring), and curl.
fn v2_entries(ready: &Value) -> Vec<Entry> {
    let s = |k: &str| field(ready, k);
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
    let identity = Identity::from_pem_files(s("client_cert"), s("client_key")).expect("identity");
    let settings = wxmedia_hyper::ClientBuilder::<wxmedia_hyper::Client>::new()
        .mch_id(MCH)
        .api_key(KEY)
        .identity(identity)
        .endpoint(s("endpoint"))
        .webpki_roots(false)
        .add_root_ca_file(s("ca_cert"))
        .settings()
        .expect("settings");
    let reqwest_ring = reqwest::Client::builder()
        .tls_backend_preconfigured((*settings.tls).clone())
        .build()
        .expect("reqwest client on ring");
    let mut entries = ours(ready, false);
    entries.extend([
        Entry {
            name: "reqwest_baseline",
            v3: false,
            client: Client::Reqwest(reqwest),
        },
        Entry {
            name: "reqwest_baseline_ring",
            v3: false,
            client: Client::Reqwest(reqwest_ring),
        },
        Entry {
            name: "curl",
            v3: false,
            client: Client::Curl,
        },
    ]);
    entries
}

/// The v3 clients: ours, and the reqwest baseline with the settings of the
/// v2 one (reqwest's default TLS, aws-lc-rs) less the client certificate,
/// which v3 does not use.
fn v3_entries(ready: &Value) -> Vec<Entry> {
    let reqwest = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(field(ready, "ca_cert")).expect("ca"))
                .expect("ca"),
        )
        .build()
        .expect("reqwest client");
    let mut entries = ours(ready, true);
    entries.extend([Entry {
        name: "reqwest_baseline",
        v3: true,
        client: Client::Reqwest(reqwest),
    }]);
    entries
}

/// The v2 baseline a Rust developer writes by hand today: md-5, a sign
/// string built with format!, reqwest's multipart form, and a substring
/// check of the reply (no signature verification: that is what such code
/// does).
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

/// The v3 baseline a Rust developer writes by hand today: sha2 for the
/// file's digest, serde_json for the meta, the five-line message signed
/// with ring (RSA PKCS#1 v1.5 SHA-256) and base64, the `Authorization`
/// header, a reqwest form with `meta` and `file`, and a substring check of
/// the reply: no verification of the reply's signature.
async fn reqwest_v3_upload(
    client: &reqwest::Client,
    endpoint: &str,
    key: &BaselineV3,
    data: &Bytes,
) {
    const PATH: &str = "/v3/merchant/media/upload";
    let sha256: String = Sha256::digest(&data[..])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let meta = serde_json::to_string(&json!({ "filename": "a.jpg", "sha256": sha256 }))
        .expect("meta JSON");
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let mut random = [0u8; 16];
    key.rng.fill(&mut random).expect("random nonce");
    let nonce: String = random.iter().map(|b| format!("{b:02X}")).collect();
    let message = format!("POST\n{PATH}\n{timestamp}\n{nonce}\n{meta}\n");
    let mut signature = vec![0; key.key.public().modulus_len()];
    key.key
        .sign(
            &RSA_PKCS1_SHA256,
            &key.rng,
            message.as_bytes(),
            &mut signature,
        )
        .expect("RSA signature");
    let authorization = format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{MCH}\",nonce_str=\"{nonce}\",signature=\"{}\",timestamp=\"{timestamp}\",serial_no=\"{}\"",
        STANDARD.encode(&signature),
        key.serial_no
    );
    let form = reqwest::multipart::Form::new()
        .part(
            "meta",
            reqwest::multipart::Part::text(meta)
                .mime_str("application/json")
                .expect("mime"),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(data.to_vec())
                .file_name("a.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let reply = client
        .post(format!("{endpoint}{PATH}"))
        .header("Authorization", authorization)
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .await
        .expect("sent");
    let status = reply.status();
    let text = reply.text().await.expect("reply");
    assert!(
        status.is_success() && text.contains("\"media_id\""),
        "v3 baseline upload failed: {status} {text}"
    );
}

fn curl_upload(ready: &Value, file: &Path, hash: &str, sign: &str) {
    let s = |k: &str| field(ready, k);
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

/// The media of one upload: v3 images may be up to 5 MiB, v2 up to 2 MiB.
fn media(v3: bool, data: &Bytes) -> Media {
    if v3 {
        v3_image(data)
    } else {
        Media::new("a.jpg", Bytes::clone(data)).expect("media")
    }
}

/// `n` uploads of `data` by `concurrency` workers: uploads per second and
/// client CPU milliseconds per upload. Any failed upload panics: a number
/// that counted failures would mean nothing.
fn run_e2e(
    rt: &tokio::runtime::Runtime,
    c: &Ctx,
    e: &Entry,
    data: &Bytes,
    concurrency: usize,
    n: usize,
) -> (f64, f64) {
    let file = c.dir.path().join(format!("m{}.jpg", data.len()));
    if matches!(e.client, Client::Curl) && !file.exists() {
        std::fs::write(&file, data).expect("media file");
    }
    let hash = wxmedia_proto::MediaHash::of(data).to_string();
    let sign = StringToSign::new([("mch_id", MCH), ("media_hash", hash.as_str())])
        .sign(
            &wxmedia_proto::v2::ApiKey::new(KEY).expect("key"),
            SignType::Md5,
        )
        .to_string();
    let (cpu0, child0) = cpu_seconds();
    let mut started = Instant::now();
    match &e.client {
        // surf on async-std, as its users run it: its I/O is async-std's
        // reactor, and awaiting it from tokio would add a wake-up across
        // runtimes to every read and write.
        Client::Surf(_) => async_std::task::block_on(async {
            let mut s = futures_util::stream::iter(0..n)
                .map(|_| async {
                    match &e.client {
                        Client::Surf(s) if e.v3 => {
                            s.upload_image(media(true, data)).await.expect("upload");
                        }
                        Client::Surf(s) => {
                            s.upload(media(false, data)).await.expect("upload");
                        }
                        _ => unreachable!("surf only"),
                    }
                })
                .buffer_unordered(concurrency);
            while s.next().await.is_some() {}
        }),
        Client::Hyper(_) | Client::Reqwest(_) => rt.block_on(async {
            let mut s = futures_util::stream::iter(0..n)
                .map(|_| async {
                    match &e.client {
                        Client::Hyper(h) if e.v3 => {
                            h.upload_image(media(true, data)).await.expect("upload");
                        }
                        Client::Hyper(h) => {
                            h.upload(media(false, data)).await.expect("upload");
                        }
                        Client::Reqwest(r) if e.v3 => {
                            reqwest_v3_upload(r, &c.endpoint, &c.baseline_v3, data).await;
                        }
                        Client::Reqwest(r) => reqwest_upload(r, &c.endpoint, data).await,
                        Client::Surf(_) | Client::Blocking(_) | Client::Curl => {
                            unreachable!("run above and below")
                        }
                    }
                })
                .buffer_unordered(concurrency);
            while s.next().await.is_some() {}
        }),
        // Threads as a user's worker pool would run them: started before
        // the clock (a barrier), each taking the next upload from a shared
        // counter until n are done. A fixed share per thread made the run
        // as long as its unluckiest thread: at c=64 each had 8 uploads, and
        // 64 threads on 2 cores do not get equal turns. The clock starts
        // when the first worker leaves the barrier, as that worker reads
        // it: read by this thread, it started late whenever this thread
        // waited for a core behind the workers (up to 2x too fast at c=256).
        Client::Blocking(_) | Client::Curl => {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let ready = std::sync::Barrier::new(concurrency);
            let first = std::sync::Mutex::new(None::<Instant>);
            std::thread::scope(|scope| {
                for _ in 0..concurrency {
                    let (file, hash, sign) = (&file, &hash, &sign);
                    let (next, ready, first) = (&next, &ready, &first);
                    scope.spawn(move || {
                        ready.wait();
                        let now = Instant::now();
                        let mut first = first.lock().expect("no panic while held");
                        if first.is_none_or(|t| now < t) {
                            *first = Some(now);
                        }
                        drop(first);
                        while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                            match &e.client {
                                Client::Blocking(b) if e.v3 => {
                                    b.upload_image(media(true, data)).expect("upload");
                                }
                                Client::Blocking(b) => {
                                    b.upload(media(false, data)).expect("upload");
                                }
                                _ => curl_upload(&c.ready, file, hash, sign),
                            }
                        }
                    });
                }
            });
            started = first
                .into_inner()
                .expect("no panic while held")
                .expect("a worker ran");
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let (cpu1, child1) = cpu_seconds();
    let cpu = (cpu1 - cpu0) + (child1 - child0);
    (n as f64 / wall, cpu * 1000.0 / n as f64)
}

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
    // Warm the connection pools and the simulator, with both sizes: the
    // simulator's heap grows on its first 2 MiB bodies, which would
    // otherwise be charged to whichever client goes first. The pools are
    // warmed at c=16, so that the c=16 cells of the first round do not pay
    // 14 TLS handshakes the later rounds do not (curl has no pool).
    for e in all {
        if !matches!(e.client, Client::Curl) {
            run_e2e(rt, c, e, &small, 16, 32);
        }
        run_e2e(rt, c, e, &small, 2, 4);
        run_e2e(rt, c, e, &large, 2, 4);
    }
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

/// Established TCP connections from this machine to `port` on loopback:
/// the client ends of the connections the simulator holds open.
fn connections_to(port: u16) -> usize {
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

/// v2, 10 KiB, by concurrency, per transport. Each level is measured warm:
/// first the same uploads at that level (not timed) so that the pool holds c
/// connections, then n = max(n_small, 8×c) timed. The cold cost is the first
/// c=64 batch of a client built just for it.
fn scaling(
    opts: &Opts,
    rt: &tokio::runtime::Runtime,
    c: &Ctx,
    sim: &SimProcess,
    rounds: usize,
    summary: &mut Value,
    md: &mut String,
) {
    let small = sample_media(10 * KIB);
    let n_small = if opts.quick { 40 } else { 400 };
    let levels: Vec<usize> = if opts.quick {
        vec![1, 16, 64, 256]
    } else {
        SCALING_LEVELS.iter().map(|&l| l as usize).collect()
    };
    let port: u16 = c
        .endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("the endpoint has a port");
    let kinds = [Kind::Hyper, Kind::Surf, Kind::Blocking];
    // [kind][level] = per-round uploads/s; [kind] = per-round cold rates.
    let mut warm: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); levels.len()]; kinds.len()];
    let mut cold: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
    // [kind][level] = connections open after the warm-up, last round.
    let mut open = vec![vec![0usize; levels.len()]; kinds.len()];
    for round in 0..rounds {
        for k in 0..kinds.len() {
            let index = (k + round) % kinds.len();
            let kind = kinds[index];
            {
                let fresh = build(&sim.ready, kind, false, Provider::Ring);
                cold[index].push(run_e2e(rt, c, &fresh, &small, 64, n_small.max(8 * 64)).0);
            }
            // Let the dropped client's connections close before counting.
            std::thread::sleep(std::time::Duration::from_millis(200));
            // A client of its own, so that the connections counted are its.
            let e = build(&sim.ready, kind, false, Provider::Ring);
            let before = connections_to(port);
            for (l, &level) in levels.iter().enumerate() {
                // The same run untimed first: 2×c uploads left the blocking
                // client (threads that start one after another) with a
                // third of c connections, so the timed run paid handshakes.
                run_e2e(rt, c, &e, &small, level, n_small.max(8 * level));
                open[index][l] = connections_to(port).saturating_sub(before);
                warm[index][l].push(run_e2e(rt, c, &e, &small, level, n_small.max(8 * level)).0);
            }
        }
    }
    md.push_str(&format!(
        "\n### Scaling: v2, 10 KiB, by concurrency (warm pools)\n\nEach level runs twice, first untimed so that the client's pool holds the connections that level needs, then timed: max({n_small}, 8×c) uploads. \"cold c=64\" is the first c=64 batch of a client built just for it (every connection a new TLS handshake with an RSA-2048 client certificate). Median of {rounds} round(s).\n\n| transport |"
    ));
    for level in &levels {
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
    for (index, kind) in kinds.iter().enumerate() {
        md.push_str(&format!("| {} |", kind.name(Provider::Ring)));
        let mut per_level = serde_json::Map::new();
        let mut open_level = serde_json::Map::new();
        let mut old_key = serde_json::Map::new();
        for (l, &level) in levels.iter().enumerate() {
            let rate = median(warm[index][l].clone());
            md.push_str(&format!(" {rate:.0}/s |"));
            per_level.insert(format!("c{level}"), json!(rate));
            open_level.insert(format!("c{level}"), json!(open[index][l]));
            old_key.insert(level.to_string(), json!(rate));
        }
        let cold_rate = median(cold[index].clone());
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
    md.push_str("\nConnections the client held open after each warm-up (client ends of established connections to the simulator's port, last round):\n\n| transport |");
    for level in &levels {
        md.push_str(&format!(" c={level} |"));
    }
    md.push_str("\n|---|");
    for _ in 0..levels.len() {
        md.push_str("---|");
    }
    md.push('\n');
    for (index, kind) in kinds.iter().enumerate() {
        md.push_str(&format!("| {} |", kind.name(Provider::Ring)));
        for n in &open[index] {
            md.push_str(&format!(" {n} |"));
        }
        md.push('\n');
    }
    summary["scaling"] = Value::Object(by_kind);
    summary["scaling_cold_c64"] = Value::Object(cold_json);
    summary["scaling_open_connections"] = Value::Object(open_json);
}
