//! Large photos at the cost of small ones: a JPEG the fit shrinks far is decoded at 1/2, 1/4 or 1/8 of its size by jpeg-decoder's scaled inverse DCT; the pixel limit counts what is decoded, so a 200 MP phone photo is taken while bombs are still refused.

use wxmedia_fit::synth;
use wxmedia_fit::{DecodeLimits, FitError, Format, Orientation, Target, fit, peak_bytes};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF, marker];
    v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// The headers of a 4:2:0 JPEG of `width`×`height` (`sof` 0xC0 baseline,
/// 0xC2 progressive), padded to `bytes` as a phone's file of that size
/// would be (with quantisation tables, which a strip keeps, where the
/// entropy-coded data would be), and one empty scan: enough for every
/// decision made before decoding.
fn header_of(width: u16, height: u16, sof: u8, bytes: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    let mut frame = vec![8];
    frame.extend_from_slice(&height.to_be_bytes());
    frame.extend_from_slice(&width.to_be_bytes());
    frame.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    v.extend(segment(sof, &frame));
    let tables: Vec<u8> = [&[0u8][..], &[1u8; 64]].concat().repeat(1008);
    while v.len() + tables.len() + 32 < bytes {
        v.extend(segment(0xDB, &tables));
    }
    v.extend(segment(0xDA, &[3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]));
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

#[test]
fn a_200_mp_photo_is_within_the_limits_when_it_will_be_shrunk() {
    // 16320×12240 (a 200 MP phone) in 60 MB, to 2 MiB: decoded at 1/4
    // (4080×3060, 12.5 MP), under the 120 MP limit, estimated well under
    // the 512 MiB budget.
    let photo = header_of(16_320, 12_240, 0xC0, 60 * MIB);
    let target = Target::with_limit(2 * MIB);
    let peak = peak_bytes(&photo, &target).expect("a 200 MP photo to 2 MiB is accepted");
    assert!(peak < 300 * MIB as u64, "{}", peak / MIB as u64);
    // The same photo within a budget it already fits would be decoded
    // whole (200 MP), which the limit refuses.
    let whole = Target::with_limit(64 * MIB);
    assert!(matches!(
        peak_bytes(&photo, &whole),
        Err(FitError::TooManyPixels { .. })
    ));
    // A progressive 200 MP frame keeps every coefficient (2 bytes each,
    // 1.2 GB) until its last scan: over the memory limit, refused unread.
    let progressive = header_of(16_320, 12_240, 0xC2, 60 * MIB);
    assert!(matches!(
        peak_bytes(&progressive, &target),
        Err(FitError::OverMemoryLimit { .. })
    ));
}

#[test]
fn a_bomb_is_still_refused_whatever_it_would_shrink_to() {
    // 65,535² from 1 MiB: 4 GP is far over any photo's pixels per byte,
    // even though what it would be decoded to for 4 KiB (1/8, 67 MP) is
    // within the pixel limit.
    let bomb = header_of(65_535, 65_535, 0xC0, MIB);
    let target = Target::with_limit(4 * KIB);
    assert!(matches!(
        peak_bytes(&bomb, &target),
        Err(FitError::Implausible { .. })
    ));
}

#[test]
fn a_photo_decoded_at_half_size_fits_well() {
    // 12 MP at quality 92 (3 MB), sideways, to 100 KiB with a minimum long
    // side of 500: re-encoded at the floor it would keep about 1350 px at
    // most, so it is decoded at 1/2 (2000×1500) and downscaled from there.
    let source = synth::photo(4000, 3000, 5);
    let jpeg = synth::with_exif(&synth::phone_jpeg(&source, 92), 6, true);
    assert!(jpeg.len() > 2 * MIB, "{}", jpeg.len());
    let target = Target::with_limit(100 * KIB).with_min_long_side(500);
    let fitted = fit(&jpeg, &target).unwrap();
    let r = &fitted.report;
    assert!(fitted.bytes.len() <= 100 * KIB);
    assert_eq!(r.decode_scale, 2, "{r}");
    assert!(r.to_string().contains("(decoded at 1/2)"), "{r}");
    assert_eq!(r.oriented, Some(Orientation::Rotate90));
    assert!(
        r.dims_after.height <= 2000 && r.dims_after.height >= 500,
        "{r}"
    );
    assert!(r.dims_after.height > r.dims_after.width, "portrait: {r}");
    let out = synth::decode(&fitted.bytes).unwrap();
    let upright = synth::orient(&source, 6);
    let reference = synth::resize(&upright, out.width, out.height);
    let psnr = synth::psnr(&reference, &out);
    assert!(psnr > 28.0, "{psnr:.1} dB at {r}");
    assert!(synth::ssim(&reference, &out) > 0.8);
}

#[test]
fn a_photo_whose_floor_fits_whole_is_decoded_whole() {
    // The same photo to 1 MiB: at the floor it keeps about 3500 px, more
    // than half: decoded at full size, as before.
    let jpeg = synth::phone_jpeg(&synth::photo(4000, 3000, 5), 92);
    let fitted = fit(&jpeg, &Target::with_limit(MIB)).unwrap();
    assert_eq!(fitted.report.decode_scale, 1, "{}", fitted.report);
}

/// The measured peak of fitting a 48 MP photo to 512 KiB, in a fresh
/// process: decoded at 1/2, the input plus less than the 137 MiB its
/// full-size RGB pixels alone would take.
#[cfg(target_os = "linux")]
#[test]
fn a_48_mp_photo_is_fitted_in_the_memory_of_a_12_mp_one() {
    let dir = tempfile_dir();
    let path = dir.join("48mp.jpg");
    let photo = synth::phone_jpeg(&synth::photo(8000, 6000, 3), 92);
    std::fs::write(&path, &photo).unwrap();
    drop(photo);
    let numbers = synth::measure_in_child(
        "large_child",
        "WXMEDIA_FIT_LARGE_CHILD",
        path.to_str().unwrap(),
    );
    let peak = synth::measured(&numbers, "peak-kib") * 1024;
    let input = synth::measured(&numbers, "input");
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "48 MP to 512 KiB: input {} MiB, peak {} MiB",
        input >> 20,
        peak >> 20
    );
    assert!(
        peak < input + 8000 * 6000 * 3,
        "peak {} MiB for a {} MiB input",
        peak >> 20,
        input >> 20
    );
}

#[test]
fn large_child() {
    let Some(path) = std::env::var_os("WXMEDIA_FIT_LARGE_CHILD") else {
        return;
    };
    // bounded: the photo the parent test just wrote.
    let photo = std::fs::read(path).unwrap();
    let target = Target::with_limit(512 * KIB);
    let fitted = fit(&photo, &target).unwrap();
    assert!(fitted.bytes.len() <= 512 * KIB);
    assert_eq!(fitted.report.decode_scale, 2, "{}", fitted.report);
    println!("input {}", photo.len());
    synth::print_peak();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wxmedia-fit-large-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_pixel_limit_counts_the_decoded_pixels() {
    // A 6000×4000 header (24 MP) far over a small budget decodes at 1/4
    // (1500×1000): a limit of 2 MP refuses the whole image, not that.
    let photo = header_of(6000, 4000, 0xC0, 12 * MIB);
    let tight = DecodeLimits::new(2_000_000, 512 << 20).with_max_pixels_per_byte(1024);
    let target = Target::with_limit(200 * KIB)
        .with_min_long_side(1200)
        .with_decode_limits(tight);
    assert!(peak_bytes(&photo, &target).is_ok());
    let whole = Target::with_limit(64 * MIB).with_decode_limits(tight);
    assert!(matches!(
        peak_bytes(&photo, &whole),
        Err(FitError::TooManyPixels {
            format: Format::Jpeg,
            ..
        })
    ));
}
