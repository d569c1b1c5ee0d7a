//! Photos: `wxmedia fit` against ImageMagick's `convert -auto-orient -strip -define jpeg:extent=…` on generated 12, 24, 50 and 200 MP phone photos (the large ones with ImageMagick's reduced-size decode) and a 48 MP iPhone HEIC (against heif-convert then ImageMagick): wall time, peak memory, bytes, PSNR and SSIM against the upright source.

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
    /// The output's size.
    dims: (u32, u32),
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
         the output against the upright source pixels. The 50 and 200 MP photos \
         must shrink: ImageMagick gets its own reduced-size decode (`-define \
         jpeg:size=`) and `-resize` to the size `wxmedia fit` chose, and both are \
         compared with the upright source resized (Lanczos3) to it. The 48 MP HEIC \
         is an iPhone's layout (512-pixel tiles coded by heif-enc, a grid turned by \
         `irot`, GPS in EXIF), against `heif-convert IN OUT.png` then `convert \
         OUT.png -strip -resize … -define jpeg:extent=…` (their times added).\n\n"
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
            let (wall_ms, peak) = measure(runs, || vec![cmd.clone()], gnu_time, &dir);
            let row = row(tool, output, wall_ms, peak, &upright);
            assert_eq!(
                row.dims,
                (upright.width, upright.height),
                "{tool}: a 2 MiB budget needs no downscaling of these photos"
            );
            rows.push(row);
        }
        // The pure function alone, without process start and file I/O.
        let t = Instant::now();
        let fitted = fit(&source, &Target::with_limit(LIMIT)).expect("fits");
        let in_process_ms = t.elapsed().as_secs_f64() * 1e3;
        push_rows(
            md,
            &format!("{mp} MP, {:.1} MB", source.len() as f64 / 1e6),
            &rows,
        );
        let mut v = summary_of(source.len(), &rows);
        v["fit_in_process_ms"] = json!(in_process_ms);
        v["fit_report"] = json!(fitted.report.to_string());
        out.insert(format!("{mp}mp"), v);
    }
    large(opts, &convert, &dir, runs, gnu_time, md, &mut out);
    md.push('\n');
    for (mp, v) in &out {
        let speedup = v["speedup"].as_f64().unwrap_or(0.0);
        match v["fit_in_process_ms"].as_f64() {
            Some(ms) => md.push_str(&format!(
                "- {mp}: `wxmedia fit` {speedup:.1}x as fast as ImageMagick; `fit()` in process {ms:.0} ms ({}).\n",
                v["fit_report"].as_str().unwrap_or("")
            )),
            None => md.push_str(&format!(
                "- {mp}: `wxmedia fit` {speedup:.1}x as fast as {}, with {:.2}x its peak memory.\n",
                v["tools"][1]["tool"].as_str().unwrap_or("the other tool"),
                v["memory_ratio"].as_f64().unwrap_or(0.0)
            )),
        }
    }
    summary["fit"] = Value::Object(out);
}

/// `runs` runs of the commands `commands` gives (a chain: their times add
/// up, the peak is the largest of theirs): the median wall time in ms and,
/// under GNU time, the peak resident set in KiB.
fn measure(
    runs: usize,
    commands: impl Fn() -> Vec<Vec<String>>,
    gnu_time: bool,
    dir: &Path,
) -> (f64, Option<u64>) {
    let (mut walls, mut peak) = (Vec::new(), None);
    for _ in 0..runs {
        let mut wall = 0.0;
        for cmd in commands() {
            let (w, rss) = timed(&cmd, gnu_time, dir);
            wall += w;
            peak = peak.max(rss);
        }
        walls.push(wall);
    }
    (median(walls), peak)
}

/// A tool's row: its output at `output` read, sized, and compared with
/// `reference` (the upright source at the output's size).
fn row(
    tool: &'static str,
    output: &Path,
    wall_ms: f64,
    peak_kib: Option<u64>,
    reference: &synth::Image,
) -> Row {
    // bounded: the tool's output, at most the 2 MiB budget.
    let bytes = std::fs::read(output).expect("the tool wrote its output");
    let decoded = synth::decode(&bytes).expect("the output decodes");
    let same = (decoded.width, decoded.height) == (reference.width, reference.height);
    Row {
        tool,
        bytes: bytes.len(),
        quality: probe(&bytes).ok().and_then(|p| p.jpeg_quality),
        wall_ms,
        peak_mib: peak_kib.map(|kib| kib as f64 / 1024.0),
        dims: (decoded.width, decoded.height),
        psnr: if same {
            synth::psnr(reference, &decoded)
        } else {
            0.0
        },
        ssim: if same {
            synth::ssim(reference, &decoded)
        } else {
            0.0
        },
    }
}

/// The table's rows of one photo.
fn push_rows(md: &mut String, label: &str, rows: &[Row]) {
    for r in rows {
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
}

/// The summary of one photo: ours (the first row) against the other.
fn summary_of(source_bytes: usize, rows: &[Row]) -> Value {
    let (ours, theirs) = (&rows[0], &rows[1]);
    json!({
        "source_bytes": source_bytes,
        "speedup": theirs.wall_ms / ours.wall_ms,
        "memory_ratio": ours.peak_mib.zip(theirs.peak_mib).map(|(a, b)| a / b),
        "tools": rows.iter().map(|r| json!({
            "tool": r.tool, "bytes": r.bytes, "quality": r.quality,
            "wall_ms": r.wall_ms, "peak_mib": r.peak_mib,
            "psnr_db": r.psnr, "ssim": r.ssim,
        })).collect::<Vec<_>>(),
    })
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

/// How the other tool turns the input into a JPEG of the given output
/// dimensions (width, height) at the output path: one or more commands.
type Commands = Box<dyn Fn(&Path, (u32, u32), &Path) -> Vec<Vec<String>>>;

/// One large photo: its label, file name, bytes, the upright source
/// pixels, and the other tool's commands.
struct Large {
    label: String,
    name: &'static str,
    bytes: Vec<u8>,
    upright: synth::Image,
    other: &'static str,
    commands: Commands,
}

/// The rows the fit must shrink: 50 and 200 MP JPEGs, which `wxmedia fit`
/// decodes at reduced size and ImageMagick is given its own reduced-size
/// decode for (`-define jpeg:size=` the output's size), and a 48 MP HEIC
/// as an iPhone stores it (a grid of 512-pixel tiles coded by heif-enc,
/// turned by `irot`, GPS in its EXIF), against `heif-convert` to PNG then
/// ImageMagick. ImageMagick is asked for the same output size as ours
/// (`-resize W×H!`), so both are compared with one reference: the upright
/// source resized to that size.
fn large(
    opts: &Opts,
    convert: &Path,
    dir: &Path,
    runs: usize,
    gnu_time: bool,
    md: &mut String,
    out: &mut serde_json::Map<String, Value>,
) {
    let s = |p: &Path| p.display().to_string();
    let mut photos = Vec::new();
    for (mp, w, h) in [(50u32, 8160u32, 6120u32), (200, 16_320, 12_240)] {
        let pixels = synth::photo(w, h, u64::from(mp));
        let bytes = synth::with_exif(&synth::phone_jpeg(&pixels, 95), 6, true);
        let upright = synth::orient(&pixels, 6);
        drop(pixels);
        let convert = convert.to_path_buf();
        photos.push(Large {
            label: format!("{mp} MP, {:.1} MB", bytes.len() as f64 / 1e6),
            name: if mp == 50 {
                "photo-50mp.jpg"
            } else {
                "photo-200mp.jpg"
            },
            bytes,
            upright,
            other: "ImageMagick convert, jpeg:size",
            commands: Box::new(move |input, (ow, oh), output| {
                // The hint is in stored orientation (the photo is turned
                // after decoding): the output's sides exchanged.
                vec![
                    vec![
                        convert.display().to_string(),
                        "-define".into(),
                        format!("jpeg:size={oh}x{ow}"),
                        input.display().to_string(),
                        "-auto-orient".into(),
                    ]
                    .into_iter()
                    .chain(shrink_to((ow, oh), output))
                    .collect(),
                ]
            }),
        });
    }
    if wxmedia_fit::synth::heif::encoder_available() {
        let (heic, upright) = iphone_heic(8064, 6048);
        let convert = convert.to_path_buf();
        let png = dir.join("photo-48mp.heic.png");
        photos.push(Large {
            label: format!("48 MP HEIC, {:.1} MB", heic.len() as f64 / 1e6),
            name: "photo-48mp.heic",
            bytes: heic,
            upright,
            other: "heif-convert + ImageMagick",
            commands: Box::new(move |input, (ow, oh), output| {
                vec![
                    vec![
                        "heif-convert".into(),
                        input.display().to_string(),
                        png.display().to_string(),
                    ],
                    [convert.display().to_string(), png.display().to_string()]
                        .into_iter()
                        .chain(shrink_to((ow, oh), output))
                        .collect(),
                ]
            }),
        });
    } else {
        md.push_str("\n(heif-enc was not found, install `libheif-examples`: the 48 MP HEIC row is skipped.)\n\n");
    }
    for photo in photos {
        let input = dir.join(photo.name);
        std::fs::write(&input, &photo.bytes).expect("write the photo");
        let ours = dir.join(format!("{}.fit.jpg", photo.name));
        let theirs = dir.join(format!("{}.other.jpg", photo.name));
        let fit_cmd = vec![
            s(&opts.wxmedia),
            "fit".into(),
            s(&input),
            "-o".into(),
            s(&ours),
            "--limit".into(),
            LIMIT.to_string(),
        ];
        let mut rows: Vec<Row> = Vec::new();
        for (tool, output) in [("wxmedia fit", &ours), (photo.other, &theirs)] {
            // Ours first: the other tool is asked for the size ours chose.
            let dims = rows.first().map_or((0, 0), |r| r.dims);
            let (wall_ms, peak) = measure(
                runs,
                || {
                    if rows.is_empty() {
                        vec![fit_cmd.clone()]
                    } else {
                        (photo.commands)(&input, dims, &theirs)
                    }
                },
                gnu_time,
                dir,
            );
            // Compared with the upright source resized to what ours chose.
            let size = rows.first().map_or_else(
                || {
                    // bounded: our output, at most the 2 MiB budget.
                    let ours = synth::decode(&std::fs::read(output).expect("our output"));
                    ours.map_or((0, 0), |i| (i.width, i.height))
                },
                |r| r.dims,
            );
            let reference = synth::resize(&photo.upright, size.0, size.1);
            let row = row(tool, output, wall_ms, peak, &reference);
            assert_eq!(row.dims, size, "{tool}: the same size");
            rows.push(row);
        }
        let dims = rows[0].dims;
        push_rows(
            md,
            &format!("{} → {}×{}", photo.label, dims.0, dims.1),
            &rows,
        );
        let mut v = summary_of(photo.bytes.len(), &rows);
        v["output"] = json!([dims.0, dims.1]);
        out.insert(photo.name.replace('.', "_"), v);
        let _ = std::fs::remove_file(&input);
    }
}

/// The end of an ImageMagick command that strips the photo, resizes it to
/// exactly `(width, height)` and writes it within the budget to `output`.
fn shrink_to((width, height): (u32, u32), output: &Path) -> Vec<String> {
    vec![
        "-strip".into(),
        "-resize".into(),
        format!("{width}x{height}!"),
        "-define".into(),
        format!("jpeg:extent={LIMIT}"),
        output.display().to_string(),
    ]
}

/// A `width`×`height` photo as an iPhone stores it: 512-pixel tiles coded
/// by heif-enc, in a grid turned by `irot` (90° clockwise) with GPS in its
/// EXIF; and the upright pixels.
fn iphone_heic(width: u32, height: u32) -> (Vec<u8>, synth::Image) {
    use wxmedia_fit::synth::heif;
    let photo = synth::photo(width, height, 48);
    let (tiles, columns) = heif::tiles(&photo, 512, &["-q", "85"]);
    let exif = synth::exif(6, true);
    let heic = heif::container(
        &tiles,
        &heif::Layout {
            columns,
            width,
            height,
            irot: Some(3),
            exif: Some(&exif),
            ..Default::default()
        },
    );
    (heic, synth::orient(&photo, 6))
}
