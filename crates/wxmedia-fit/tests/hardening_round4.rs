//! Regression tests for issue 33 ("Hardening, round 4"), one or more per item, each building its hostile input itself.

use std::panic::catch_unwind;

use wxmedia_fit::synth::{bombs, png_chunk};
use wxmedia_fit::{FitError, Format, Metadata, Target, fit, probe, synth};

const MIB: usize = 1024 * 1024;

/// A string planted in every hidden carrier: it must not survive a strip.
const PLANTED: &[u8] = b"GPS 22.5431N 114.0579E planted";

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// `png` with `chunk` inserted right after IHDR.
fn png_with(png: &[u8], chunk: &[u8]) -> Vec<u8> {
    [&png[..33], chunk, &png[33..]].concat()
}

fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF, marker];
    v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// `jpeg` with `segments` inserted right after SOI.
fn jpeg_with(jpeg: &[u8], segments: &[Vec<u8>]) -> Vec<u8> {
    [&jpeg[..2], &segments.concat(), &jpeg[2..]].concat()
}

fn bmp(width: u32, height: u32) -> Vec<u8> {
    let photo = synth::photo(width, height, 5);
    let mut v = Vec::new();
    image::codecs::bmp::BmpEncoder::new(&mut v)
        .encode(&photo.rgb, width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    v
}

// ---- Item 1: a 22-byte WebP panicked the crate -------------------------------

/// `RIFF` <size> `WEBPVP8L` and a lossless header: 22 bytes, as reported.
fn webp_riff_size(size: u32) -> Vec<u8> {
    let mut v = b"RIFF".to_vec();
    v.extend(size.to_le_bytes());
    v.extend(b"WEBPVP8L");
    v.extend(5u32.to_le_bytes());
    v.extend([0x2F, 0]);
    v
}

#[test]
fn item1_webp_riff_size_below_four_is_refused() {
    for size in [0, 1, 2, 3] {
        let bytes = webp_riff_size(size);
        assert_eq!(bytes.len(), 22);
        let run = catch_unwind(|| (probe(&bytes), fit(&bytes, &Target::with_limit(MIB))));
        let (probed, fitted) = run.unwrap_or_else(|_| panic!("RIFF size {size} panicked"));
        for err in [probed.unwrap_err(), fitted.unwrap_err()] {
            assert!(
                matches!(
                    err,
                    FitError::Truncated {
                        format: Format::WebP
                    } | FitError::Corrupt {
                        format: Format::WebP,
                        ..
                    }
                ),
                "RIFF size {size}: {err}"
            );
        }
    }
}

/// Every length field of every container, set to the values that break
/// hand-written walkers (0..4, around the real value, the type's limits):
/// no panic, and the fuzz harness's invariants hold.
#[test]
fn item1_no_walker_panics_on_any_length_field() {
    let photo = synth::photo(24, 16, 9);
    let jpeg = synth::with_exif(&synth::jpeg(&photo, 80), 6, true);
    let png = synth::png(&photo);
    let webp = synth::webp(&photo);
    let bmp = bmp(24, 16);
    let values = |real: u64, max: u64| {
        let mut v = vec![0, 1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 16, 40, max, max - 1];
        v.extend([real.saturating_sub(1), real + 1, real * 2, max / 2 + 1]);
        v.retain(|&x| x <= max);
        v
    };
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    // RIFF size, then each chunk's size.
    let mut at = 4;
    while at + 4 <= webp.len() {
        let real = u64::from(u32::from_le_bytes(webp[at..at + 4].try_into().unwrap()));
        for x in values(real, u64::from(u32::MAX)) {
            let mut b = webp.clone();
            b[at..at + 4].copy_from_slice(&(x as u32).to_le_bytes());
            cases.push((format!("webp size at {at} = {x}"), b));
        }
        at = if at == 4 {
            16
        } else {
            at + 8 + real as usize + (real as usize & 1)
        };
    }
    // PNG chunk lengths.
    let mut at = 8;
    while at + 8 <= png.len() {
        let real = u64::from(u32::from_be_bytes(png[at..at + 4].try_into().unwrap()));
        for x in values(real, u64::from(u32::MAX)) {
            let mut b = png.clone();
            b[at..at + 4].copy_from_slice(&(x as u32).to_be_bytes());
            cases.push((format!("png chunk length at {at} = {x}"), b));
        }
        at += 12 + real as usize;
    }
    // JPEG segment lengths, up to the scan.
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at + 1] != 0xDA {
        let real = u64::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        for x in values(real, u64::from(u16::MAX)) {
            let mut b = jpeg.clone();
            b[at + 2..at + 4].copy_from_slice(&(x as u16).to_be_bytes());
            cases.push((format!("jpeg segment length at {at} = {x}"), b));
        }
        at += 2 + real as usize;
    }
    // BMP: the pixel offset, the DIB header size, the sides, bpp, compression.
    for (at, width) in [(10, 4), (14, 4), (18, 4), (22, 4), (28, 2), (30, 4)] {
        let max = if width == 2 {
            u64::from(u16::MAX)
        } else {
            u64::from(u32::MAX)
        };
        let mut field = [0u8; 4];
        field[..width].copy_from_slice(&bmp[at..at + width]);
        let real = u64::from(u32::from_le_bytes(field));
        for x in values(real, max) {
            let mut b = bmp.clone();
            b[at..at + width].copy_from_slice(&(x as u32).to_le_bytes()[..width]);
            cases.push((format!("bmp field at {at} = {x}"), b));
        }
    }
    assert!(cases.len() > 300, "{} cases", cases.len());
    for (name, bytes) in &cases {
        catch_unwind(|| wxmedia_fit::fuzzing::fit_decode(bytes))
            .unwrap_or_else(|_| panic!("{name}: panicked"));
    }
}

/// Found by a mutation run over the new seeds: the scan check (item 8)
/// reads the input's own Huffman tables, and a DHT whose counts ask for
/// more codes of a length than it has (three 1-bit codes) indexed past
/// the lookup table.
#[test]
fn item1_oversubscribed_huffman_table_is_not_a_panic() {
    let jpeg = synth::jpeg(&synth::photo(32, 16, 11), 80);
    let dht = jpeg.windows(2).position(|w| w == [0xFF, 0xC4]).unwrap();
    // Counts by length start after marker, length and class/id.
    let counts = dht + 5;
    let mut bad = jpeg.clone();
    let donor = (1..16).find(|&i| bad[counts + i] >= 3).unwrap();
    bad[counts + donor] -= 3;
    bad[counts] += 3;
    for (name, bytes) in [
        ("upright", bad.clone()),
        ("oriented", synth::with_exif(&bad, 6, false)),
    ] {
        let run = catch_unwind(|| fit(&bytes, &Target::with_limit(MIB)).map(|f| f.report));
        match run.unwrap_or_else(|_| panic!("{name}: panicked")) {
            Err(FitError::Corrupt {
                format: Format::Jpeg,
                ..
            }) => {}
            Err(e) => panic!("{name}: {e}"),
            Ok(report) => panic!("{name}: a broken table passed: {report}"),
        }
    }
}

// ---- Item 3: an iCCP bomb in a tiny PNG --------------------------------------

fn zlib(deflate: Vec<u8>) -> Vec<u8> {
    // The Adler-32 is left wrong: inflaters check it only at the end,
    // and the bound must stop them long before.
    [&[0x78, 0x01][..], &deflate, &[0, 0, 0, 0]].concat()
}

#[test]
fn item3_iccp_bomb_is_dropped_before_it_is_inflated() {
    // 256 MiB of profile from about 1.6 MB: enough to show the bound
    // without the test itself costing a gigabyte when it fails.
    let bomb = zlib(bombs::deflate_zeros(256 * MIB as u64));
    let iccp = png_chunk(b"iCCP", &[&b"bomb\0\0"[..], &bomb].concat());
    let photo = synth::png(&synth::photo(64, 48, 4));
    let png = png_with(&photo, &iccp);
    assert!(png.len() < 2 * MIB);

    // PNG is accepted and small, but must be converted for this target,
    // so the decoder runs.
    let target = Target::new(4 * MIB, &[Format::Jpeg]);
    let start = std::time::Instant::now();
    let fitted = fit(&png, &target).unwrap();
    assert!(
        start.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(
        fitted.report.metadata_removed.contains(&Metadata::Icc),
        "{}",
        fitted.report
    );
    assert!(fitted.bytes.len() < 64 * 1024);

    // Accepted as it is, the profile must not travel either: the lossless
    // strip drops it.
    let fitted = fit(&png, &Target::with_limit(4 * MIB)).unwrap();
    assert!(
        fitted.report.metadata_removed.contains(&Metadata::Icc),
        "{}",
        fitted.report
    );
    assert!(!contains(&fitted.bytes, b"iCCP"));
}

#[cfg(target_os = "linux")]
#[test]
fn item3_iccp_bomb_costs_bounded_memory() {
    let numbers = synth::measure_in_child("item3_iccp_bomb_child", "WXMEDIA_FIT_ICCP_CHILD", "1");
    let peak_kib = synth::measured(&numbers, "peak-kib");
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn item3_iccp_bomb_child() {
    if std::env::var_os("WXMEDIA_FIT_ICCP_CHILD").is_none() {
        return;
    }
    let bomb = zlib(bombs::deflate_zeros(256 * MIB as u64));
    let iccp = png_chunk(b"iCCP", &[&b"bomb\0\0"[..], &bomb].concat());
    let png = png_with(&synth::png(&synth::photo(64, 48, 4)), &iccp);
    let _ = fit(&png, &Target::new(4 * MIB, &[Format::Jpeg]));
    synth::print_peak();
}

// ---- Item 7: the strip kept some metadata carriers ---------------------------

/// A JPEG carrying the planted string in every hidden carrier the review
/// found, plus EXIF (so there is something to strip), stored with `orientation`.
fn jpeg_with_carriers(orientation: u16) -> Vec<u8> {
    let jpeg = synth::with_exif(
        &synth::jpeg(&synth::photo(96, 64, 6), 85),
        orientation,
        true,
    );
    // JFIF with a 1×1 thumbnail and trailing bytes.
    let jfif = [
        &b"JFIF\0\x01\x02\0\0\x01\0\x01\x01\x01"[..],
        &[9, 9, 9],
        PLANTED,
    ]
    .concat();
    let adobe = [&b"Adobe\0\x64\0\0\0\0\x01"[..], PLANTED].concat();
    let fake_icc = [&b"ICC_PROFILE\0\x01\x01"[..], PLANTED].concat();
    jpeg_with(
        &jpeg,
        &[
            jpeg_segment(0xE0, &jfif),
            jpeg_segment(0xEE, &adobe),
            jpeg_segment(0xE2, &fake_icc),
            jpeg_segment(0xF0, PLANTED),
            jpeg_segment(0xFD, PLANTED),
        ],
    )
}

#[test]
fn item7_jpeg_lossless_strip_drops_every_hidden_carrier() {
    let jpeg = jpeg_with_carriers(1);
    assert!(synth::decode(&jpeg).is_some());
    let fitted = fit(&jpeg, &Target::with_limit(MIB)).unwrap();
    assert!(
        fitted.report.quality.is_none(),
        "lossless: {}",
        fitted.report
    );
    assert!(!contains(&fitted.bytes, PLANTED), "{}", fitted.report);
    // What is kept is what is needed: the JFIF header without its
    // thumbnail, and Adobe's 12 bytes.
    assert!(contains(&fitted.bytes, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"));
    assert!(contains(&fitted.bytes, b"Adobe\0\x64\0\0\0\0\x01\xFF"));
    assert!(synth::decode(&fitted.bytes).is_some());
    assert!(probe(&fitted.bytes).unwrap().metadata.is_empty());
}

#[test]
fn item7_jpeg_reencode_drops_every_hidden_carrier() {
    let jpeg = jpeg_with_carriers(6);
    let fitted = fit(&jpeg, &Target::with_limit(MIB)).unwrap();
    assert!(fitted.report.quality.is_some(), "{}", fitted.report);
    assert!(!contains(&fitted.bytes, PLANTED));
    assert!(
        !contains(&fitted.bytes, b"ICC_PROFILE"),
        "a profile without `acsp`"
    );
}

#[test]
fn item7_png_unknown_critical_chunk_is_dropped() {
    let photo = synth::png(&synth::photo(40, 30, 7));
    let png = png_with(&photo, &png_chunk(b"GPSx", PLANTED));
    let fitted = fit(&png, &Target::with_limit(MIB)).unwrap();
    assert!(!contains(&fitted.bytes, PLANTED), "{}", fitted.report);
    assert!(fitted.report.metadata_removed.contains(&Metadata::Vendor));
    assert!(synth::decode(&fitted.bytes).is_some());

    // Converted, the profile check applies too: a fake iCCP does not travel.
    let fake = png_chunk(b"iCCP", &[&b"p\0\0"[..], &zlib_stored(PLANTED)].concat());
    let png = png_with(&photo, &fake);
    let fitted = fit(&png, &Target::new(MIB, &[Format::Jpeg])).unwrap();
    assert!(!contains(&fitted.bytes, PLANTED));
    assert!(!contains(&fitted.bytes, b"ICC_PROFILE"));
}

/// A zlib stream of one stored block.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u16;
    let adler = {
        let (mut a, mut b) = (1u32, 0u32);
        for &x in data {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        b << 16 | a
    };
    [
        &[0x78, 0x01, 1][..],
        &len.to_le_bytes(),
        &(!len).to_le_bytes(),
        data,
        &adler.to_be_bytes(),
    ]
    .concat()
}

#[test]
fn item7_bmp_bytes_after_the_pixels_are_dropped() {
    let clean = bmp(20, 10);
    let mut planted = clean.clone();
    planted.extend_from_slice(PLANTED);
    let fitted = fit(&planted, &Target::with_limit(MIB)).unwrap();
    assert!(!contains(&fitted.bytes, PLANTED), "{}", fitted.report);
    assert_eq!(fitted.report.metadata_removed, [Metadata::Trailer]);
    // The file size field is corrected, so the result is the clean file.
    assert_eq!(fitted.bytes.as_ref(), clean.as_slice());
}

// ---- Item 8: a JPEG cut mid-scan with EOI appended ---------------------------

#[test]
fn item8_jpeg_cut_mid_scan_with_eoi_appended_is_refused_as_truncated() {
    let jpeg = synth::jpeg(&synth::photo(320, 240, 8), 90);
    let sos = jpeg.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap();
    let cut = sos + (jpeg.len() - sos) / 2;
    let mut cut_short = jpeg[..cut].to_vec();
    // A byte 0xFF at the cut would read as a marker prefix: end on data.
    while cut_short.last() == Some(&0xFF) {
        cut_short.pop();
    }
    cut_short.extend_from_slice(&[0xFF, 0xD9]);
    for (name, bytes) in [
        ("upright", cut_short.clone()),
        ("oriented", synth::with_exif(&cut_short, 6, false)),
    ] {
        match fit(&bytes, &Target::with_limit(MIB)) {
            Err(FitError::Truncated {
                format: Format::Jpeg,
            }) => {}
            Err(e) => panic!("{name}: {e}"),
            Ok(fitted) => panic!("{name}: accepted: {}", fitted.report),
        }
    }
}

/// The scan check must not refuse whole files: 4:2:0 and 4:4:4, grey,
/// with and without restart intervals; and it finds the cut in each.
#[test]
fn item8_scan_check_accepts_whole_files_and_finds_every_cut() {
    let photo = synth::photo(203, 97, 10);
    let grey = {
        let mut v = Vec::new();
        let luma: Vec<u8> = photo.rgb.chunks_exact(3).map(|p| p[1]).collect();
        jpeg_encoder::Encoder::new(&mut v, 80)
            .encode(&luma, 203, 97, jpeg_encoder::ColorType::Luma)
            .unwrap();
        v
    };
    let encode = |quality, sampling, restart, progressive| {
        let mut v = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut v, quality);
        enc.set_sampling_factor(sampling);
        enc.set_restart_interval(restart);
        enc.set_progressive(progressive);
        enc.encode(&photo.rgb, 203, 97, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        v
    };
    let restarts = |quality, sampling| encode(quality, sampling, 3, false);
    let progressive = |sampling, restart| encode(85, sampling, restart, true);
    for (name, jpeg) in [
        ("4:2:0", synth::phone_jpeg(&photo, 80)),
        ("4:4:4", synth::jpeg(&photo, 95)),
        ("grey", grey),
        (
            "4:2:0 restarts",
            restarts(80, jpeg_encoder::SamplingFactor::F_2_2),
        ),
        (
            "4:4:4 restarts",
            restarts(95, jpeg_encoder::SamplingFactor::F_1_1),
        ),
        (
            "progressive 4:2:0",
            progressive(jpeg_encoder::SamplingFactor::F_2_2, 0),
        ),
        (
            "progressive 4:4:4",
            progressive(jpeg_encoder::SamplingFactor::F_1_1, 0),
        ),
        (
            "progressive restarts",
            progressive(jpeg_encoder::SamplingFactor::F_2_2, 2),
        ),
    ] {
        let whole = fit(&jpeg, &Target::with_limit(MIB)).unwrap();
        assert!(whole.is_unchanged(), "{name}: {}", whole.report);
        let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        for cut in [sos + 40, sos + (jpeg.len() - sos) / 2, jpeg.len() - 40] {
            let mut cut_short = jpeg[..cut].to_vec();
            while cut_short.last() == Some(&0xFF) {
                cut_short.pop();
            }
            cut_short.extend_from_slice(&[0xFF, 0xD9]);
            assert!(
                matches!(
                    fit(&cut_short, &Target::with_limit(MIB)),
                    Err(FitError::Truncated { .. })
                ),
                "{name} cut at {cut}"
            );
        }
    }
}

// ---- Item 9: files that cannot be decoded passed as "already fits" -----------

#[test]
fn item9_undecodable_files_are_refused_not_passed() {
    let jpeg = synth::jpeg(&synth::photo(64, 48, 9), 85);
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let mut twelve_bit = jpeg.clone();
    twelve_bit[sof + 4] = 12;
    let mut lossless = jpeg.clone();
    lossless[sof + 1] = 0xC3;
    let clean_bmp = bmp(16, 8);
    let mut bpp0 = clean_bmp.clone();
    bpp0[28..30].copy_from_slice(&0u16.to_le_bytes());
    let mut bi_jpeg = clean_bmp[..54].to_vec();
    bi_jpeg[28..30].copy_from_slice(&0u16.to_le_bytes());
    bi_jpeg[30..34].copy_from_slice(&4u32.to_le_bytes());
    bi_jpeg[34..38].copy_from_slice(&(jpeg.len() as u32).to_le_bytes());
    bi_jpeg.extend_from_slice(&jpeg);
    let total = bi_jpeg.len() as u32;
    bi_jpeg[2..6].copy_from_slice(&total.to_le_bytes());
    for (name, bytes, format) in [
        ("12-bit JPEG", twelve_bit, Format::Jpeg),
        ("lossless SOF3 JPEG", lossless, Format::Jpeg),
        ("BMP with 0 bits a pixel", bpp0, Format::Bmp),
        ("BMP holding a JPEG (BI_JPEG)", bi_jpeg, Format::Bmp),
    ] {
        let probed = probe(&bytes).unwrap();
        assert!(!probed.decodable, "{name}: probe says decodable");
        let err = fit(&bytes, &Target::with_limit(MIB)).unwrap_err();
        assert!(
            matches!(err, FitError::Undecodable { format: f, .. } if f == format),
            "{name}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("cannot be checked or converted"),
            "{name}: {msg}"
        );
    }
}

// ---- Item 2: decompression bombs inside the default limits -------------------

const SIDE: u32 = 10_954;

/// Fits `bomb` under the default limits (with a target taking only JPEG,
/// so that even an accepted format is decoded), expecting a refusal from
/// the header in well under a second, and the same refusal from
/// `peak_bytes`.
fn refused_from_the_header(name: &str, bomb: &[u8]) -> FitError {
    let target = Target::new(2 * MIB, &[Format::Jpeg]);
    let start = std::time::Instant::now();
    let err = match fit(bomb, &target) {
        Err(e) => e,
        Ok(fitted) => panic!("{name}: fitted: {}", fitted.report),
    };
    assert!(
        start.elapsed() < std::time::Duration::from_secs(1),
        "{name}: {:?}",
        start.elapsed()
    );
    let again = wxmedia_fit::peak_bytes(bomb, &target).unwrap_err();
    assert_eq!(again.to_string(), err.to_string(), "{name}");
    err
}

#[test]
fn item2_tiny_lossless_webp_bomb_is_refused_by_its_pixels_per_byte() {
    let bomb = synth::bombs::webp_lossless(SIDE, SIDE);
    assert!(bomb.len() < 40);
    let err = refused_from_the_header("webp", &bomb);
    assert!(
        matches!(
            err,
            FitError::Implausible {
                format: Format::WebP,
                ratio: 1024,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("decompression bomb"), "{err}");
}

#[test]
fn item2_rle8_bmp_bomb_is_refused_by_its_pixels_per_byte() {
    let bomb = synth::bombs::bmp_rle8(SIDE, SIDE);
    assert!(bomb.len() < 2048);
    let err = refused_from_the_header("bmp", &bomb);
    assert!(
        matches!(
            err,
            FitError::Implausible {
                format: Format::Bmp,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn item2_16bit_rgba_png_bomb_is_counted_at_its_depth() {
    let bomb = synth::bombs::png16_rgba(SIDE, SIDE);
    let err = refused_from_the_header("png16", &bomb);
    // 8 bytes a pixel decoded, then an 8-bit RGBA copy: over 1.3 GiB.
    match err {
        FitError::OverMemoryLimit {
            format: Format::Png,
            needed,
            limit,
        } => {
            assert!(needed.0 > 1_300 << 20, "{needed}");
            assert_eq!(limit.0, 512 << 20);
        }
        e => panic!("{e}"),
    }
}

#[test]
fn item2_whole_jpeg_bomb_with_orientation_is_refused_by_its_memory() {
    // A whole, valid 120 MP JPEG of 1.9 MB (every block flat): only the
    // memory it needs (decode, turn, downscale) gives it away.
    let bomb = synth::bombs::jpeg(SIDE as u16, SIDE as u16, 6);
    let err = refused_from_the_header("jpeg", &bomb);
    assert!(
        matches!(
            err,
            FitError::OverMemoryLimit {
                format: Format::Jpeg,
                ..
            }
        ),
        "{err}"
    );
}

/// The estimate is an upper bound of the real peak: the largest inputs a
/// 160 MiB limit takes, fitted in a child process, stay under their
/// estimate.
#[cfg(target_os = "linux")]
#[test]
fn item2_peak_bytes_bounds_the_measured_peak() {
    for kind in ["png16", "jpeg", "webp"] {
        let numbers = synth::measure_in_child("item2_peak_child", "WXMEDIA_FIT_PEAK_CHILD", kind);
        let estimate = synth::measured(&numbers, "estimate");
        let peak = synth::measured(&numbers, "peak-kib") * 1024;
        assert!(estimate <= 160 << 20, "{kind}: {estimate}");
        assert!(
            peak < estimate,
            "{kind}: measured {peak} over the estimate {estimate}"
        );
    }
}

#[test]
fn item2_peak_child() {
    let Some(kind) = std::env::var_os("WXMEDIA_FIT_PEAK_CHILD") else {
        return;
    };
    let limits = wxmedia_fit::DecodeLimits::new(120_000_000, 160 << 20);
    let target = Target::new(2 * MIB, &[Format::Jpeg]).with_decode_limits(limits);
    // Just under the limit: 12 bytes a pixel for 16-bit RGBA, 7.7 for a
    // JPEG that is turned and may be downscaled, 11.5 for WebP lossless.
    let bomb = match kind.to_str().unwrap() {
        "png16" => synth::bombs::png16_rgba(3200, 3200),
        "jpeg" => synth::bombs::jpeg(3900, 3900, 6),
        _ => synth::bombs::webp_lossless(3500, 3500),
    };
    let estimate = wxmedia_fit::peak_bytes(&bomb, &target).unwrap();
    let fitted = fit(&bomb, &target).unwrap();
    assert!(fitted.bytes.len() <= 2 * MIB);
    println!("estimate {estimate}");
    synth::print_peak();
}

/// A chunk the decoder reads, made longer than its specified size, could
/// carry anything after the bytes the decoder reads: dropped.
#[test]
fn item7_png_known_chunk_with_extra_bytes_is_dropped() {
    let photo = synth::png(&synth::photo(40, 30, 7));
    let gama = [&100_000u32.to_be_bytes()[..], PLANTED].concat();
    let png = png_with(&photo, &png_chunk(b"gAMA", &gama));
    let fitted = fit(&png, &Target::with_limit(MIB)).unwrap();
    assert!(!contains(&fitted.bytes, PLANTED), "{}", fitted.report);
    assert_eq!(fitted.report.metadata_removed, [Metadata::Vendor]);
    // The right size is kept.
    let png = png_with(&photo, &png_chunk(b"gAMA", &100_000u32.to_be_bytes()));
    assert!(fit(&png, &Target::with_limit(MIB)).unwrap().is_unchanged());
}
