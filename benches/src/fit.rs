//! Photos: `wxmedia fit` against ImageMagick's `convert -auto-orient -strip -define jpeg:extent=…` on generated 12 MP and 24 MP phone photos: wall time, peak memory, bytes, PSNR and SSIM against the upright source.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};
use wxmedia_fit::{Target, fit, probe, synth};

use crate::{Opts, median};

/// The v2 upload's limit, the budget of every tool.
const LIMIT: usize = 2 * 1024 * 1024;

/// One tool's result on one photo.
struct Row {
    tool: &'static str,
    bytes: usize,
    quality: Option<u8>,
    wall_ms: f64,
    peak_mib: Option<f64>,
    psnr: f64,
    ssim: f64,
}

/// ImageMagick's `convert`: `WXMEDIA_CONVERT`, else Debian's own (some
/// machines put a wrapper script first on the PATH, whose start-up would be
/// charged to ImageMagick), else `convert` from the PATH.
fn convert() -> PathBuf {
    if let Some(p) = std::env::var_os("WXMEDIA_CONVERT") {
        return p.into();
    }
    if Path::new("/usr/bin/convert").exists() {
        return "/usr/bin/convert".into();
    }
    "convert".into()
}

pub(crate) fn run(opts: &Opts, summary: &mut Value, md: &mut String) {
    let convert = convert();
    let version = Command::new(&convert)
        .arg("-version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.lines()
                .next()
                .map(|l| l.trim_start_matches("Version: ").to_owned())
        });
    md.push_str("\n## Photos: `wxmedia fit` against ImageMagick\n\n");
    let Some(version) = version else {
        md.push_str("ImageMagick's `convert` was not found (install `imagemagick`): skipped.\n");
        summary["fit"] = json!({ "skipped": "no convert" });
        return;
    };
    let dir = opts.out.join("fit");
    std::fs::create_dir_all(&dir).expect("bench directory");
    let runs = if opts.quick { 1 } else { 3 };
    let gnu_time = Path::new("/usr/bin/time").exists();
    md.push_str(&format!(
        "Each photo is a generated quality-95 4:2:0 JPEG (smooth gradients, shapes \
         and sensor-like noise, so JPEG cannot shrink it trivially), stored sideways \
         (EXIF orientation 6) with GPS tags, as a phone writes it. Each tool runs as \
         its own process (read, fit, write) to a budget of {LIMIT} bytes (2 MiB; \
         ImageMagick's `2MB` means 2,000,000, so it gets the exact number): \
         `wxmedia fit IN -o OUT --limit {LIMIT}` and `convert IN -auto-orient -strip \
         -define jpeg:extent={LIMIT} OUT` ({version}). Median wall time of {runs} \
         run(s); peak resident memory from GNU time; PSNR (RGB) and SSIM (luma) of \
         the output against the upright source pixels.\n\n"
    ));
    md.push_str("| photo | tool | bytes | quality | wall ms | peak MiB | PSNR dB | SSIM |\n");
    md.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    let mut out = serde_json::Map::new();
    for (mp, w, h) in [(12, 4000, 3000), (24, 6000, 4000)] {
        let source = synth::with_exif(&synth::phone_jpeg(&synth::photo(w, h, mp), 95), 6, true);
        let input = dir.join(format!("photo-{mp}mp.jpg"));
        std::fs::write(&input, &source).expect("write the photo");
        let upright = synth::orient(&synth::decode(&source).expect("the source decodes"), 6);
        let fit_out = dir.join(format!("photo-{mp}mp.fit.jpg"));
        let im_out = dir.join(format!("photo-{mp}mp.im.jpg"));
        let s = |p: &Path| p.display().to_string();
        let tools: [(&'static str, Vec<String>, &Path); 2] = [
            (
                "wxmedia fit",
                vec![
                    s(&opts.wxmedia),
                    "fit".into(),
                    s(&input),
                    "-o".into(),
                    s(&fit_out),
                    "--limit".into(),
                    LIMIT.to_string(),
                ],
                &fit_out,
            ),
            (
                "ImageMagick convert",
                vec![
                    s(&convert),
                    s(&input),
                    "-auto-orient".into(),
                    "-strip".into(),
                    "-define".into(),
                    format!("jpeg:extent={LIMIT}"),
                    s(&im_out),
                ],
                &im_out,
            ),
        ];
        let mut rows = Vec::new();
        for (tool, cmd, output) in tools {
            let mut walls = Vec::new();
            let mut peak = None;
            for _ in 0..runs {
                let (wall, rss) = timed(&cmd, gnu_time, &dir);
                walls.push(wall);
                peak = peak.max(rss);
            }
            let bytes = std::fs::read(output).expect("the tool wrote its output");
            let decoded = synth::decode(&bytes).expect("the output decodes");
            assert_eq!(
                (decoded.width, decoded.height),
                (upright.width, upright.height),
                "{tool}: a 2 MiB budget needs no downscaling of these photos"
            );
            rows.push(Row {
                tool,
                bytes: bytes.len(),
                quality: probe(&bytes).ok().and_then(|p| p.jpeg_quality),
                wall_ms: median(walls),
                peak_mib: peak.map(|kib| kib as f64 / 1024.0),
                psnr: synth::psnr(&upright, &decoded),
                ssim: synth::ssim(&upright, &decoded),
            });
        }
        // The pure function alone, without process start and file I/O.
        let t = Instant::now();
        let fitted = fit(&source, &Target::with_limit(LIMIT)).expect("fits");
        let in_process_ms = t.elapsed().as_secs_f64() * 1e3;
        let label = format!("{mp} MP, {:.1} MB", source.len() as f64 / 1e6);
        for r in &rows {
            md.push_str(&format!(
                "| {label} | {} | {} | {} | {:.0} | {} | {:.2} | {:.4} |\n",
                r.tool,
                r.bytes,
                r.quality.map_or("-".into(), |q| q.to_string()),
                r.wall_ms,
                r.peak_mib.map_or("-".into(), |m| format!("{m:.0}")),
                r.psnr,
                r.ssim
            ));
        }
        let (ours, theirs) = (&rows[0], &rows[1]);
        out.insert(
            format!("{mp}mp"),
            json!({
                "source_bytes": source.len(),
                "fit_in_process_ms": in_process_ms,
                "fit_report": fitted.report.to_string(),
                "speedup": theirs.wall_ms / ours.wall_ms,
                "memory_ratio": ours.peak_mib.zip(theirs.peak_mib).map(|(a, b)| a / b),
                "tools": rows.iter().map(|r| json!({
                    "tool": r.tool, "bytes": r.bytes, "quality": r.quality,
                    "wall_ms": r.wall_ms, "peak_mib": r.peak_mib,
                    "psnr_db": r.psnr, "ssim": r.ssim,
                })).collect::<Vec<_>>(),
            }),
        );
    }
    md.push('\n');
    for (mp, v) in &out {
        md.push_str(&format!(
            "- {mp}: `wxmedia fit` {:.1}x as fast as ImageMagick; `fit()` in process {:.0} ms ({}).\n",
            v["speedup"].as_f64().unwrap_or(0.0),
            v["fit_in_process_ms"].as_f64().unwrap_or(0.0),
            v["fit_report"].as_str().unwrap_or("")
        ));
    }
    summary["fit"] = Value::Object(out);
}

/// Run `cmd`, returning the wall time in ms and, under GNU time, the peak
/// resident set in KiB.
fn timed(cmd: &[String], gnu_time: bool, dir: &Path) -> (f64, Option<u64>) {
    let report = dir.join("time.txt");
    let mut c = if gnu_time {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "%M", "-o"]).arg(&report).args(cmd);
        c
    } else {
        let mut c = Command::new(&cmd[0]);
        c.args(&cmd[1..]);
        c
    };
    let t = Instant::now();
    let out = c.output().unwrap_or_else(|e| panic!("{}: {e}", cmd[0]));
    let wall = t.elapsed().as_secs_f64() * 1e3;
    assert!(
        out.status.success(),
        "{} failed: {}",
        cmd.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let rss = gnu_time
        .then(|| {
            std::fs::read_to_string(&report)
                .ok()?
                .lines()
                .last()?
                .trim()
                .parse()
                .ok()
        })
        .flatten();
    (wall, rss)
}
