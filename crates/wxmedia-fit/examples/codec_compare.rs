//! Measures the codec candidates on a 12 MP photo-like image: JPEG encoders at equal bytes, decoders, resizers.
use std::time::Instant;

use wxmedia_fit::synth;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// The best of three timings of `f`, and its last result.
fn time<T>(mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..3 {
        let t = Instant::now();
        out = Some(f());
        best = best.min(ms(t));
    }
    (best, out.unwrap())
}

fn image_crate_jpeg(img: &synth::Image, q: u8) -> Vec<u8> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
        .write_image(
            &img.rgb,
            img.width,
            img.height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn main() {
    let img = synth::photo(4000, 3000, 12);
    let budget = 2 * 1024 * 1024;
    println!("12 MP synthetic photo, highest quality within {budget} bytes:");
    type Enc = fn(&synth::Image, u8) -> Vec<u8>;
    let encoders: [(&str, Enc); 3] = [
        (
            "jpeg-encoder 0.7 (Annex K, 4:2:0, standard Huffman)",
            |i, q| synth::phone_jpeg(i, q),
        ),
        (
            "jpeg-encoder 0.7 + wxmedia-fit Huffman re-coding",
            |i, q| synth::optimize_huffman(&synth::phone_jpeg(i, q)),
        ),
        ("image 0.25 JpegEncoder", image_crate_jpeg),
    ];
    for (name, enc) in encoders {
        let mut q = 100;
        let mut out = enc(&img, q);
        while out.len() > budget && q > 1 {
            q -= 1;
            out = enc(&img, q);
        }
        let (t, out) = time(|| enc(&img, q));
        let d = synth::decode(&out).unwrap();
        println!(
            "  {name}: q={q} {} bytes, {t:.0} ms/encode, PSNR {:.2} dB, SSIM {:.4}",
            out.len(),
            synth::psnr(&img, &d),
            synth::ssim(&img, &d)
        );
    }
    let jpeg = synth::phone_jpeg(&img, 95);
    let (t, _) = time(|| synth::decode(&jpeg).unwrap());
    println!("decode 12 MP q95 JPEG with zune-jpeg 0.5 (direct): {t:.0} ms");
    let (t, _) =
        time(|| image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap());
    println!("decode 12 MP q95 JPEG with image 0.25 (zune-jpeg inside, plus a copy): {t:.0} ms");
    let (w, h) = (3400, 2550);
    let (t, _) = time(|| synth::resize(&img, w, h));
    println!("resize 4000×3000 → {w}×{h} Lanczos3, fast_image_resize 6: {t:.0} ms");
    let buf = image::RgbImage::from_raw(img.width, img.height, img.rgb.clone()).unwrap();
    let (t, _) =
        time(|| image::imageops::resize(&buf, w, h, image::imageops::FilterType::Lanczos3));
    println!("resize 4000×3000 → {w}×{h} Lanczos3, image 0.25 imageops: {t:.0} ms");
}
