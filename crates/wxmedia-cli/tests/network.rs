//! The real network at the level users meet it: WeChat Pay's rate limits kept by `upload` and `batch` against a simulator that enforces them.

use std::path::Path;
use std::process::Command;

mod common;

use common::{Fx, distinct_jpegs, free_port, fx, run, stderr, wait_listening};

/// The statuses of a ledger's lines.
fn statuses(ledger: &Path) -> Vec<String> {
    std::fs::read_to_string(ledger)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|e| e["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn batch(fx: &Fx, images: &Path, ledger: &Path, extra: &[&str]) -> std::process::Output {
    let mut c: Command = fx.cmd("batch");
    c.args(extra).arg("--ledger").arg(ledger).arg(images);
    run(&mut c)
}

/// 30 images in one batch, with the default rate and concurrency, against
/// a simulator keeping WeChat Pay's 10 a second: all uploaded, none
/// refused. The same batch unpaced (`--rate off`) is refused by the same
/// simulator, so the first result is the pacing's and not a lenient server's.
#[test]
fn a_paced_batch_stays_within_the_limit_and_an_unpaced_one_does_not() {
    let fx = fx();
    fx.server.sim().set_rate_limits(true);
    let images = distinct_jpegs(fx.dir.path(), 30);
    let ledger = fx.dir.path().join("paced.jsonl");
    let out = batch(&fx, &images, &ledger, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let counts = fx.server.sim().counts();
    assert_eq!(counts.rate_limited, 0, "{counts:?}");
    assert_eq!(counts.uploads, 30, "{counts:?}");
    assert_eq!(statuses(&ledger), vec!["uploaded"; 30]);
    assert!(
        !stderr(&out).contains("FREQUENCY_LIMITED"),
        "{}",
        stderr(&out)
    );

    // Let the simulator's bucket fill again, then the same files unpaced:
    // 16 at once, far past 10 a second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let unpaced = fx.dir.path().join("unpaced.jsonl");
    let out = batch(&fx, &images, &unpaced, &["--rate", "off"]);
    let limited = fx.server.sim().counts().rate_limited;
    assert!(limited > 0, "unpaced, the limit is met: {}", stderr(&out));
    // Said once, with the count the client saw (each refusal it was sent).
    let said = format!("answered FREQUENCY_LIMITED {limited} time(s)");
    assert!(stderr(&out).contains(&said), "{said}: {}", stderr(&out));
}

/// `--rate` is checked before anything is read or sent.
#[test]
fn an_absurd_rate_is_a_usage_error() {
    let fx = fx();
    let images = distinct_jpegs(fx.dir.path(), 1);
    for bad in ["0/s", "fast", "10", "1/fortnight", "99999999999/s"] {
        let out = batch(
            &fx,
            &images,
            &fx.dir.path().join("l.jsonl"),
            &["--rate", bad],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("--rate"), "{bad}: {}", stderr(&out));
    }
    assert_eq!(fx.server.sim().counts().requests, 0);
}

/// A merchant granted less (or sharing the limit with another program)
/// sets `--rate`: 3 uploads at 2/s take at least a second, 3 at the
/// default 10/s do not need to; the simulator sees no refusal either way.
/// (Only the lower bound is asserted: it holds on any machine.)
#[test]
fn a_lower_rate_spaces_the_uploads_further() {
    let fx = fx();
    fx.server.sim().set_rate_limits(true);
    let images = distinct_jpegs(fx.dir.path(), 3);
    let started = std::time::Instant::now();
    let out = batch(
        &fx,
        &images,
        &fx.dir.path().join("l.jsonl"),
        &["--rate", "2/s"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1000),
        "3 uploads at 2/s took {:?}",
        started.elapsed()
    );
    assert_eq!(fx.server.sim().counts().rate_limited, 0);
}

/// The ledger records when each upload ended, and a rerun reuses a result
/// only within `--reuse-for` (default 3 days): a line from an hour ago is
/// reused, one from four days ago and one without a time (an older
/// wxmedia's) are uploaded again, with a note; `forever` reuses them all.
#[test]
fn a_rerun_reuses_results_only_within_the_reuse_window() {
    let fx = fx();
    let images = distinct_jpegs(fx.dir.path(), 3);
    let ledger = fx.dir.path().join("ledger.jsonl");
    let out = batch(&fx, &images, &ledger, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&ledger)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for line in &lines {
        let at = line["uploaded_at"]
            .as_u64()
            .expect("every upload has its time");
        assert!(now.abs_diff(at) < 120, "{line}");
    }
    // Rewrite the ledger: an hour old, four days old, no time at all.
    let ages = [Some(now - 3600), Some(now - 4 * 86_400), None];
    let rewritten: String = lines
        .iter()
        .zip(ages)
        .map(|(line, age)| {
            let mut line = line.clone();
            match age {
                Some(at) => line["uploaded_at"] = at.into(),
                None => {
                    line.as_object_mut().unwrap().remove("uploaded_at");
                }
            }
            format!("{line}\n")
        })
        .collect();
    std::fs::write(&ledger, &rewritten).unwrap();

    let before = fx.server.sim().counts().uploads;
    let out = batch(&fx, &images, &ledger, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("uploaded 2, skipped 1"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("2 result(s) are older than --reuse-for"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fx.server.sim().counts().uploads, before + 2);

    // The same old ledger with `forever`: nothing is uploaded.
    std::fs::write(&ledger, &rewritten).unwrap();
    let out = batch(&fx, &images, &ledger, &["--reuse-for", "forever"]);
    assert!(
        stderr(&out).contains("uploaded 0, skipped 3"),
        "{}",
        stderr(&out)
    );
    // And a window too short for even the hour-old line.
    std::fs::write(&ledger, &rewritten).unwrap();
    let out = batch(&fx, &images, &ledger, &["--reuse-for", "30m"]);
    assert!(
        stderr(&out).contains("uploaded 3, skipped 0"),
        "{}",
        stderr(&out)
    );
    for bad in ["3", "3w", "forever-ish", "99999999999d"] {
        let out = batch(&fx, &images, &ledger, &["--reuse-for", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
}

/// A redis-server on 127.0.0.1 with nothing saved, stopped on drop.
struct Redis {
    child: std::process::Child,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server ({e}): .ci/run installs it"));
        wait_listening(port, "redis-server", String::new);
        Redis { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three `batch` processes of one merchant at once, 10 images each,
/// against a simulator keeping WeChat Pay's 10 a second: sharing the
/// limit through a real Redis (`--rate-store`), they stay within it
/// together (no FREQUENCY_LIMITED); each pacing alone, they send three
/// times the limit and are refused.
#[test]
fn three_batches_share_one_merchants_limit_through_redis() {
    let fx = fx();
    fx.server.sim().set_rate_limits(true);
    let redis = Redis::start();
    let dirs: Vec<_> = (0..3)
        .map(|n| {
            let dir = fx.dir.path().join(format!("worker{n}"));
            std::fs::create_dir_all(&dir).unwrap();
            distinct_jpegs(&dir, 10)
        })
        .collect();
    let three = |extra: &[&str], round: &str| {
        let children: Vec<_> = dirs
            .iter()
            .enumerate()
            .map(|(n, images)| {
                let ledger = fx.dir.path().join(format!("{round}-{n}.jsonl"));
                fx.cmd("batch")
                    .args(extra)
                    .arg("--ledger")
                    .arg(ledger)
                    .arg(images)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    };
    for out in three(&["--rate-store", &redis.url()], "shared") {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let counts = fx.server.sim().counts();
    assert_eq!((counts.uploads, counts.rate_limited), (30, 0), "{counts:?}");

    std::thread::sleep(std::time::Duration::from_millis(1100));
    three(&[], "alone");
    let limited = fx.server.sim().counts().rate_limited;
    assert!(limited > 0, "three processes pacing alone exceed the limit");
}

/// A rate store that cannot be reached: said at once, naming it, and
/// nothing is sent (never unpaced).
#[test]
fn an_unreachable_rate_store_stops_the_run_before_anything_is_sent() {
    let fx = fx();
    let images = distinct_jpegs(fx.dir.path(), 2);
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("redis://:sekret@{gone}");
    let out = batch(
        &fx,
        &images,
        &fx.dir.path().join("l.jsonl"),
        &["--rate-store", &url],
    );
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(err.contains(&format!("redis://{gone}")), "{err}");
    assert!(err.contains("cannot be reached"), "{err}");
    assert!(!err.contains("sekret"), "{err}");
    assert_eq!(fx.server.sim().counts().requests, 0);
    let out = batch(
        &fx,
        &images,
        &fx.dir.path().join("l.jsonl"),
        &["--rate-store", "http://not-redis", "--rate", "5/s"],
    );
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("not a Redis URL"), "{}", stderr(&out));
}
