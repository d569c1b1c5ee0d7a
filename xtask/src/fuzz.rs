//! `cargo xtask fuzz`: cargo-fuzz driven with the project's corpora, dictionaries and regressions.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every target, with its dictionary.
const TARGETS: &[(&str, &str)] = &[
    ("decode_reply", "xml.dict"),
    ("reply_roundtrip", "xml.dict"),
    ("canonical_string", "xml.dict"),
    ("multipart_roundtrip", "multipart.dict"),
    ("sim_handle", "multipart.dict"),
    ("v3_reply", "json.dict"),
    ("v3_authorization", "json.dict"),
    ("v3_certificates", "json.dict"),
    ("sim_v3_handle", "v3_sim.dict"),
    ("v3_certificates_plain", "pem.dict"),
    ("v3_keys", "pem.dict"),
    ("video_walk", "video.dict"),
    ("fit_decode", "image.dict"),
    ("fit_heic", "heif.dict"),
];

/// The memory every target runs under, in MB: libFuzzer's
/// `-rss_limit_mb` (the whole process) and `-malloc_limit_mb` (one
/// allocation). A decompression bomb or an allocation sized from the
/// input is then a finding (a crash with its input saved), not a slow
/// input that passes. The process itself (the binary, coverage counters,
/// the corpus) takes about 100 MB; the libraries promise that no input
/// costs more than 512 MB (wxmedia-fit's budget), and most far less.
const RSS_LIMIT_MB: u32 = 640;
const MALLOC_LIMIT_MB: u32 = 512;

/// Seconds per target in `smoke` (CI).
const SMOKE_SECS: u32 = 12;

pub(crate) fn run(root: &Path, args: &[&str]) -> Result<(), String> {
    match args {
        ["list"] => {
            for (t, _) in TARGETS {
                println!("{t}");
            }
            Ok(())
        }
        ["run", target, rest @ ..] => {
            let secs = match rest {
                [] => 60,
                ["--secs", n] => n
                    .parse()
                    .map_err(|_| format!("--secs {n:?} is not a number"))?,
                other => return Err(format!("unexpected arguments {other:?}")),
            };
            let stats = fuzz(root, target, secs)?;
            println!("{target}: {stats}");
            Ok(())
        }
        ["smoke"] => {
            let mut lines = Vec::new();
            for (target, _) in TARGETS {
                let stats = fuzz(root, target, SMOKE_SECS)?;
                lines.push(format!("{target}: {stats}"));
            }
            for l in lines {
                println!("fuzz smoke: {l}");
            }
            Ok(())
        }
        ["tmin", target, file] => {
            check_target(target)?;
            ensure_cargo_fuzz(root)?;
            crate::run_in(
                &root.join("fuzz"),
                "cargo",
                &["fuzz", "tmin", "--sanitizer", "none", target, file],
                &[("RUSTC_BOOTSTRAP", "1")],
            )?;
            eprintln!(
                "copy the minimized input into fuzz/regressions/{target}/ and fix the bug; the regression tests replay it"
            );
            Ok(())
        }
        _ => Err(
            "usage: cargo xtask fuzz list | run <target> [--secs N] | smoke | tmin <target> <file>"
                .into(),
        ),
    }
}

fn check_target(target: &str) -> Result<&'static str, String> {
    TARGETS
        .iter()
        .find(|(t, _)| *t == target)
        .map(|(_, d)| *d)
        .ok_or_else(|| {
            format!("unknown fuzz target {target:?}; `cargo xtask fuzz list` shows them")
        })
}

/// cargo-fuzz is installed on first use: CI machines start without it.
fn ensure_cargo_fuzz(root: &Path) -> Result<(), String> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        eprintln!("xtask: cargo-fuzz is missing; installing it");
        crate::run_in(root, "cargo", &["install", "--locked", "cargo-fuzz"], &[])?;
    }
    Ok(())
}

/// Run one target for `secs` seconds. New inputs go to an ignored
/// directory; the committed corpus and the regressions are read as seeds.
/// Returns libFuzzer's final statistics line.
fn fuzz(root: &Path, target: &str, secs: u32) -> Result<String, String> {
    let dict = check_target(target)?;
    ensure_cargo_fuzz(root)?;
    let fuzz_dir = root.join("fuzz");
    let fresh: PathBuf = fuzz_dir.join("corpus-new").join(target);
    std::fs::create_dir_all(&fresh).map_err(|e| format!("{}: {e}", fresh.display()))?;
    let seeds = fuzz_dir.join("corpus").join(target);
    let regressions = fuzz_dir.join("regressions").join(target);
    let dict_arg = format!("-dict={}", fuzz_dir.join("dict").join(dict).display());
    let time_arg = format!("-max_total_time={secs}");
    let rss_arg = format!("-rss_limit_mb={RSS_LIMIT_MB}");
    let malloc_arg = format!("-malloc_limit_mb={MALLOC_LIMIT_MB}");
    // The sanitizer is off on purpose: our crates forbid unsafe code, so
    // what the fuzzer can find is a panic or a broken invariant, which
    // libFuzzer catches without ASan, and the build is much faster.
    let args = [
        "fuzz",
        "run",
        "--sanitizer",
        "none",
        target,
        fresh.to_str().ok_or("non-UTF-8 path")?,
        seeds.to_str().ok_or("non-UTF-8 path")?,
        regressions.to_str().ok_or("non-UTF-8 path")?,
        "--",
        &dict_arg,
        &time_arg,
        "-timeout=10",
        &rss_arg,
        &malloc_arg,
        "-print_final_stats=1",
    ];
    eprintln!("$ (cd fuzz && RUSTC_BOOTSTRAP=1 cargo {})", args.join(" "));
    let out = Command::new("cargo")
        .args(args)
        .env("RUSTC_BOOTSTRAP", "1")
        .current_dir(&fuzz_dir)
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        eprintln!("{log}");
        return Err(format!("fuzz target {target} failed: {}", out.status));
    }
    let done = log
        .lines()
        .rev()
        .find(|l| l.contains("DONE") || l.contains("cov:"))
        .unwrap_or("no statistics printed")
        .trim()
        .to_owned();
    let execs = log
        .lines()
        .find(|l| l.starts_with("stat::number_of_executed_units:"))
        .and_then(|l| l.rsplit(':').next())
        .map(|n| n.trim().to_owned())
        .unwrap_or_else(|| "?".into());
    if execs == "?" || execs == "0" {
        eprintln!("{log}");
        return Err(format!("fuzz target {target} ran no inputs"));
    }
    Ok(format!("{execs} executions in {secs}s; {done}"))
}
