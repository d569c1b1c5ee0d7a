//! Fits one decompression bomb of issue 33 (item 2) under the default limits, to be measured with `/usr/bin/time -v`: `bombs webp|jpeg|png16|bmp [SIDE] [convert]`.

use wxmedia_fit::synth::bombs;
use wxmedia_fit::{Target, fit};

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "webp".into());
    let side: u32 = args.next().map_or(10_954, |s| s.parse().expect("SIDE"));
    let bytes = match kind.as_str() {
        "webp" => bombs::webp_lossless(side, side),
        "jpeg" => bombs::jpeg(side as u16, side as u16, 6),
        "png16" => bombs::png16_rgba(side, side),
        "bmp" => bombs::bmp_rle8(side, side),
        // Not a bomb: the largest photo the default limits take, to
        // measure the model's margin on real work.
        "photo" => {
            let photo = wxmedia_fit::synth::photo(side, side * 3 / 4, 3);
            wxmedia_fit::synth::with_exif(&wxmedia_fit::synth::phone_jpeg(&photo, 92), 6, true)
        }
        other => panic!("unknown bomb {other}: webp, jpeg, png16 or bmp"),
    };
    let start = std::time::Instant::now();
    // `convert` (or any third argument): a target taking only JPEG, so
    // that formats the upload accepts are decoded too.
    let target = match args.next() {
        Some(_) => Target::new(2 << 20, &[wxmedia_fit::Format::Jpeg]),
        None => Target::for_v2(),
    };
    let cost = wxmedia_fit::peak_bytes(&bytes, &target);
    let result = fit(&bytes, &target);
    let elapsed = start.elapsed();
    println!("estimated peak: {cost:?}");
    match result {
        Ok(fitted) => println!(
            "{kind} ({} bytes): {} in {elapsed:.2?}",
            bytes.len(),
            fitted.report
        ),
        Err(e) => println!(
            "{kind} ({} bytes): refused in {elapsed:.2?}: {e}",
            bytes.len()
        ),
    }
}
