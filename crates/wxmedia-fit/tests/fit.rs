//! Behaviour of `fit` on generated images: phone photos, screenshots, WebP, hostile input.

use std::borrow::Cow;

use wxmedia_fit::synth::png_chunk;
use wxmedia_fit::{
    DecodeLimits, Dims, FitError, Format, Metadata, Orientation, Target, fit, probe, synth,
};

const MIB: usize = 1024 * 1024;

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The JPEG's APPn/COM segments before the first scan, as (marker, payload).
fn jpeg_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF {
        let marker = jpeg[pos + 1];
        if marker == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        out.push((marker, jpeg[pos + 4..pos + 2 + len].to_vec()));
        pos += 2 + len;
    }
    out
}

#[test]
fn phone_photo_is_rotated_stripped_and_fitted_under_2_mib() {
    let photo = synth::photo(4000, 3000, 12);
    let source = synth::with_exif(&synth::jpeg(&photo, 95), 6, true);
    assert!(
        source.len() > 4 * MIB,
        "the source should be a realistic 4-6 MB, is {}",
        source.len()
    );

    let fitted = fit(&source, &Target::with_limit(2 * MIB)).unwrap();
    let out = &fitted.bytes;
    let report = &fitted.report;
    assert!(out.len() <= 2 * MIB, "{} bytes", out.len());
    assert_eq!(
        report.dims_after,
        Dims::new(3000, 4000),
        "portrait, full resolution"
    );
    assert_eq!(report.oriented, Some(Orientation::Rotate90));
    assert_eq!(
        (report.format_after, report.unchanged),
        (Format::Jpeg, false)
    );
    assert!(
        report.quality.is_some_and(|q| (60..=95).contains(&q)),
        "{report}"
    );
    assert_eq!(
        report.metadata_removed,
        [Metadata::Exif, Metadata::Gps, Metadata::SerialNumber]
    );

    // Nothing of the EXIF block survives: no APP1, no GPS tag text, no
    // coordinates, no serial number.
    assert!(
        jpeg_segments(out).iter().all(|(m, _)| *m != 0xE1),
        "an APP1 segment is left"
    );
    for needle in [&b"Exif"[..], b"GPS", &synth::GPS_LATITUDE, synth::SERIAL] {
        assert!(
            !contains(out, needle),
            "{:?} found in the output",
            String::from_utf8_lossy(needle)
        );
    }
    let check = probe(out).unwrap();
    assert_eq!((check.orientation, check.metadata.len()), (None, 0));

    let upright = synth::orient(&synth::decode(&source).unwrap(), 6);
    let got = synth::decode(out).unwrap();
    let psnr = synth::psnr(&upright, &got);
    assert!(psnr >= 35.0, "PSNR {psnr:.2} dB");
}

#[test]
fn large_png_screenshot_becomes_a_jpeg_under_the_limit() {
    let shot = synth::screenshot(1600, 3600, 5);
    let png = synth::png(&shot);
    assert!(
        png.len() > 2 * MIB,
        "the screenshot PNG should be over 2 MiB, is {}",
        png.len()
    );

    let fitted = fit(&png, &Target::with_limit(2 * MIB)).unwrap();
    assert!(fitted.bytes.len() <= 2 * MIB);
    assert_eq!(fitted.report.format_after, Format::Jpeg);
    assert_eq!(fitted.report.dims_after, Dims::new(1600, 3600));
    let psnr = synth::psnr(&shot, &synth::decode(&fitted.bytes).unwrap());
    assert!(psnr >= 30.0, "PSNR {psnr:.2} dB");
}

#[test]
fn webp_photo_becomes_a_jpeg_even_when_small_enough() {
    let photo = synth::photo(1200, 900, 8);
    let webp = synth::webp(&photo);
    // WebP is never accepted as it is, whatever its size.
    let fitted = fit(&webp, &Target::with_limit(webp.len() * 2)).unwrap();
    assert_eq!(
        (fitted.report.format_before, fitted.report.format_after),
        (Format::WebP, Format::Jpeg)
    );
    assert!(fitted.bytes.len() <= webp.len() * 2);
    // And under a tight limit too.
    let fitted = fit(&webp, &Target::with_limit(300 * 1024)).unwrap();
    assert!(fitted.bytes.len() <= 300 * 1024);
    assert_eq!(fitted.report.dims_after, Dims::new(1200, 900));
    let psnr = synth::psnr(&photo, &synth::decode(&fitted.bytes).unwrap());
    assert!(psnr >= 33.0, "PSNR {psnr:.2} dB");
}

/// The README's "fit, then upload" step as a library user takes it: the
/// fitted WebP comes back as a `Media` named `.jpg`, where the original
/// name would be refused for its extension.
#[test]
fn a_fitted_photo_becomes_media_named_for_its_format() {
    let webp = synth::webp(&synth::photo(640, 480, 3));
    let fitted = fit(&webp, &Target::for_v2()).unwrap();
    assert_eq!(fitted.file_name("IMG_7.webp"), "IMG_7.jpg");
    let bytes = fitted.bytes.clone().into_owned();
    assert!(matches!(
        wxmedia_proto::Media::new("IMG_7.webp", bytes),
        Err(wxmedia_proto::MediaError::UnsupportedExtension { .. })
    ));
    let media = fitted.into_media("IMG_7.webp").unwrap();
    assert_eq!(media.filename(), "IMG_7.jpg");
    assert_eq!(media.kind(), wxmedia_proto::MediaKind::Jpeg);
    for (name, format, want) in [
        ("IMG_1.webp", Format::Jpeg, "IMG_1.jpg"),
        ("shot.PNG", Format::Jpeg, "shot.jpg"),
        ("a.jpeg", Format::Jpeg, "a.jpeg"),
        ("a.JPG", Format::Jpeg, "a.JPG"),
        ("noext", Format::Jpeg, "noext.jpg"),
        ("a.png", Format::Png, "a.png"),
        ("scan.jpg", Format::Bmp, "scan.bmp"),
    ] {
        assert_eq!(wxmedia_fit::name_for(name, format), want);
    }
}

#[test]
fn small_clean_jpeg_comes_back_byte_identical() {
    let jpeg = synth::jpeg(&synth::photo(800, 600, 3), 85);
    let fitted = fit(&jpeg, &Target::with_limit(2 * MIB)).unwrap();
    assert!(
        matches!(fitted.bytes, Cow::Borrowed(b) if b.as_ptr() == jpeg.as_ptr() && b.len() == jpeg.len())
    );
    assert!(fitted.is_unchanged());
    assert_eq!(
        fitted.report.to_string(),
        format!(
            "JPEG 800×600 {}, unchanged (already fits)",
            wxmedia_fit::ByteSize(jpeg.len() as u64)
        )
    );
}

#[test]
fn upright_jpeg_with_metadata_is_stripped_without_re_encoding() {
    let plain = synth::jpeg(&synth::photo(800, 600, 4), 85);
    let tagged = synth::with_exif(&plain, 1, true);
    let fitted = fit(&tagged, &Target::with_limit(2 * MIB)).unwrap();
    // Exactly the image data, tables and JFIF: the JPEG before tagging.
    assert_eq!(fitted.bytes.as_ref(), plain.as_slice());
    assert_eq!(fitted.report.quality, None);
    assert_eq!(
        fitted.report.metadata_removed,
        [Metadata::Exif, Metadata::Gps, Metadata::SerialNumber]
    );
    assert!(
        fitted.report.to_string().contains("(not re-encoded)"),
        "{}",
        fitted.report
    );

    // With metadata kept, the same input is already acceptable.
    let kept = fit(
        &tagged,
        &Target::with_limit(2 * MIB).with_keep_metadata(true),
    )
    .unwrap();
    assert!(kept.is_unchanged());
}

#[test]
fn keep_metadata_keeps_exif_with_the_orientation_reset() {
    let tagged = synth::with_exif(&synth::jpeg(&synth::photo(640, 480, 6), 90), 8, true);
    let fitted = fit(
        &tagged,
        &Target::with_limit(2 * MIB).with_keep_metadata(true),
    )
    .unwrap();
    assert_eq!(fitted.report.oriented, Some(Orientation::Rotate270));
    assert_eq!(fitted.report.dims_after, Dims::new(480, 640));
    assert!(fitted.report.metadata_removed.is_empty());
    let check = probe(&fitted.bytes).unwrap();
    assert_eq!(check.orientation, Some(Orientation::Normal));
    assert!(check.metadata.contains(&Metadata::Gps));
}

#[test]
fn report_line_says_what_changed() {
    let tagged = synth::with_exif(&synth::jpeg(&synth::photo(1600, 1200, 9), 95), 6, true);
    let fitted = fit(&tagged, &Target::with_limit(300 * 1024)).unwrap();
    let line = fitted.report.to_string();
    assert!(line.starts_with("JPEG 1600×1200 "), "{line}");
    assert!(line.contains(" → JPEG 1200×1600 q="), "{line}");
    assert!(
        line.ends_with(", rotated 90° clockwise, removed EXIF (GPS, serial number)"),
        "{line}"
    );
}

#[test]
fn downscales_only_when_the_floor_does_not_fit_and_keeps_the_aspect() {
    let jpeg = synth::jpeg(&synth::photo(3000, 2000, 10), 92);
    let limit = 300_000;
    let fitted = fit(&jpeg, &Target::with_limit(limit)).unwrap();
    let dims = fitted.report.dims_after;
    assert!(fitted.bytes.len() <= limit);
    assert!(dims.width < 3000 && dims.width >= 1600, "{dims}");
    assert!(
        (f64::from(dims.width) / f64::from(dims.height) - 1.5).abs() < 0.01,
        "{dims}"
    );
    assert!(fitted.report.quality.is_some_and(|q| q >= 60));
    assert!(fitted.report.to_string().contains("downscaled"));
}

#[test]
fn cannot_fit_names_the_smallest_size_at_the_minimum_long_side() {
    let jpeg = synth::jpeg(&synth::photo(2400, 1800, 11), 90);
    let err = fit(&jpeg, &Target::with_limit(60_000)).unwrap_err();
    let FitError::CannotFit {
        max_bytes,
        smallest,
        dims,
        quality,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(
        (max_bytes.0, dims.long_side(), *quality),
        (60_000, 1600, 60)
    );
    assert!(smallest.0 > 60_000);
    assert!(
        err.to_string()
            .starts_with("cannot fit under 59 KiB: the smallest reached was"),
        "{err}"
    );
}

#[test]
fn never_upscales_a_small_image() {
    let jpeg = synth::jpeg(&synth::photo(400, 300, 13), 98);
    let err = fit(&jpeg, &Target::with_limit(2_000)).unwrap_err();
    assert!(
        matches!(err, FitError::CannotFit { dims, .. } if dims == Dims::new(400, 300)),
        "{err}"
    );
    // A minimum long side larger than the image does not enlarge it either.
    let webp = synth::webp(&synth::photo(400, 300, 13));
    let fitted = fit(&webp, &Target::with_limit(MIB).with_min_long_side(4000)).unwrap();
    assert_eq!(fitted.report.dims_after, Dims::new(400, 300));
}

#[test]
fn transparent_png_is_flattened_onto_white_when_converted() {
    let mut rgba = Vec::new();
    image::codecs::png::PngEncoder::new(&mut rgba)
        .write_image_rgba_transparent(64, 48)
        .unwrap();
    let fitted = fit(&rgba, &Target::new(MIB, &[Format::Jpeg])).unwrap();
    let out = synth::decode(&fitted.bytes).unwrap();
    assert!(out.rgb.iter().all(|&v| v >= 250), "not white");
}

trait TransparentPng {
    fn write_image_rgba_transparent(self, w: u32, h: u32) -> image::ImageResult<()>;
}

impl<W: std::io::Write> TransparentPng for image::codecs::png::PngEncoder<W> {
    fn write_image_rgba_transparent(self, w: u32, h: u32) -> image::ImageResult<()> {
        use image::ImageEncoder;
        let data: Vec<u8> = (0..w * h)
            .flat_map(|i| [(i % 255) as u8, 0, 200, 0])
            .collect();
        self.write_image(&data, w, h, image::ExtendedColorType::Rgba8)
    }
}

// ---- Hostile input ---------------------------------------------------------

/// A PNG whose header claims `w`×`h` RGB pixels, with a few bytes of
/// (valid zlib, far too short) image data.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    let ihdr = [&w.to_be_bytes()[..], &h.to_be_bytes(), &[8, 2, 0, 0, 0]].concat();
    v.extend(png_chunk(b"IHDR", &ihdr));
    v.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    ));
    v.extend(png_chunk(b"IEND", b""));
    v
}

#[test]
fn decompression_bomb_is_refused_from_the_header() {
    let err = fit(&png_bomb(100_000, 100_000), &Target::with_limit(2 * MIB)).unwrap_err();
    assert!(
        matches!(err, FitError::TooManyPixels { format: Format::Png, dims, max_pixels: 120_000_000 } if dims == Dims::new(100_000, 100_000)),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "the PNG header claims 100000×100000 (10000000000.0 MP), over the limit of 120.0 MP; refused without decoding"
            .replace("10000000000.0", "10000.0")
    );

    // A JPEG can claim 65,535 × 65,535: 4.3 gigapixels from a 200-byte file.
    let mut jpeg = synth::jpeg(&synth::photo(16, 16, 1), 80);
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    assert!(matches!(
        fit(&jpeg, &Target::with_limit(MIB)),
        Err(FitError::TooManyPixels { .. })
    ));

    // With the pixel limit lifted, its pixels per byte still refuse it...
    // (The target takes only JPEG, so the PNG must be decoded to be converted.)
    let lax = Target::new(MIB, &[Format::Jpeg])
        .with_decode_limits(DecodeLimits::new(u64::MAX, 256 * 1024 * 1024));
    let err = fit(&png_bomb(60_000, 60_000), &lax).unwrap_err();
    assert!(matches!(err, FitError::Implausible { .. }), "{err}");
    // ... and with that lifted too, the memory limit, before anything is
    // allocated.
    let lax = lax.with_decode_limits(
        DecodeLimits::new(u64::MAX, 256 * 1024 * 1024).with_max_pixels_per_byte(u64::MAX),
    );
    let err = fit(&png_bomb(60_000, 60_000), &lax).unwrap_err();
    assert!(matches!(err, FitError::OverMemoryLimit { .. }), "{err}");
}

/// Runs the bomb in a fresh process (this test binary, filtered to
/// `bomb_child`) and reads its peak resident memory, which nothing else
/// in that process inflates.
#[cfg(target_os = "linux")]
#[test]
fn decompression_bomb_is_refused_within_bounded_memory() {
    let numbers = synth::measure_in_child("bomb_child", "WXMEDIA_FIT_BOMB_CHILD", "1");
    let peak_kib = synth::measured(&numbers, "peak-kib");
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn bomb_child() {
    if std::env::var_os("WXMEDIA_FIT_BOMB_CHILD").is_none() {
        return;
    }
    let lax = Target::new(MIB, &[Format::Jpeg]).with_decode_limits(
        DecodeLimits::new(u64::MAX, u64::MAX / 4).with_max_pixels_per_byte(u64::MAX),
    );
    for bomb in [png_bomb(100_000, 100_000), png_bomb(65_535, 65_535)] {
        assert!(fit(&bomb, &Target::with_limit(MIB)).is_err());
        // Even with no pixel limit, the data runs out long before the
        // pixels do: the error comes from the decoder, not from memory.
        let _ = fit(&bomb, &lax);
    }
    synth::print_peak();
}

#[test]
fn truncated_jpeg_png_and_webp_are_refused() {
    let photo = synth::photo(320, 240, 2);
    for (format, bytes) in [
        (Format::Jpeg, synth::jpeg(&photo, 90)),
        (Format::Png, synth::png(&photo)),
        (Format::WebP, synth::webp(&photo)),
    ] {
        for cut in [bytes.len() / 2, bytes.len() - 3] {
            let err = fit(&bytes[..cut], &Target::with_limit(MIB)).unwrap_err();
            assert!(
                matches!(err, FitError::Truncated { format: f } if f == format),
                "{format} cut at {cut}: {err}"
            );
        }
    }
}

#[test]
fn animated_webp_and_apng_are_refused() {
    // An APNG: a PNG with an animation control chunk naming 3 frames.
    let png = synth::png(&synth::photo(32, 32, 3));
    let ihdr_end = 8 + 25;
    let apng = [
        &png[..ihdr_end],
        &png_chunk(b"acTL", &[0, 0, 0, 3, 0, 0, 0, 0]),
        &png[ihdr_end..],
    ]
    .concat();
    let err = fit(&apng, &Target::with_limit(MIB)).unwrap_err();
    assert!(
        matches!(
            err,
            FitError::Animated {
                format: Format::Png,
                frames: Some(3)
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("animated (3 frames)"));

    // An animated WebP: VP8X with the animation flag, ANIM, two frames.
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        [&kind[..], &(data.len() as u32).to_le_bytes(), data].concat()
    };
    let body = [
        chunk(b"VP8X", &[0x02, 0, 0, 0, 31, 0, 0, 31, 0, 0]),
        chunk(b"ANIM", &[0; 6]),
        chunk(b"ANMF", &[0; 24]),
        chunk(b"ANMF", &[0; 24]),
    ]
    .concat();
    let webp = [
        &b"RIFF"[..],
        &((body.len() + 4) as u32).to_le_bytes(),
        b"WEBP",
        &body,
    ]
    .concat();
    let err = fit(&webp, &Target::with_limit(MIB)).unwrap_err();
    assert!(
        matches!(
            err,
            FitError::Animated {
                format: Format::WebP,
                frames: Some(2)
            }
        ),
        "{err}"
    );
}

#[test]
fn unsupported_formats_get_a_clear_refusal() {
    // A HEIC is read now; one that is only its `ftyp` box has no image.
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0";
    let err = fit(heic, &Target::with_limit(MIB)).unwrap_err();
    assert!(
        matches!(
            err,
            FitError::Corrupt {
                format: Format::Heic,
                ..
            } | FitError::Truncated {
                format: Format::Heic
            }
        ),
        "{err}"
    );
    let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf";
    let err = fit(avif, &Target::with_limit(MIB)).unwrap_err();
    assert!(
        matches!(
            err,
            FitError::Unsupported {
                format: Format::Avif
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("avifdec in.avif out.jpg"), "{err}");
    assert!(matches!(
        fit(b"GIF89a....", &Target::with_limit(MIB)),
        Err(FitError::Unsupported {
            format: Format::Gif
        })
    ));
    assert!(matches!(
        fit(b"hello", &Target::with_limit(MIB)),
        Err(FitError::UnknownFormat)
    ));
    assert!(matches!(
        fit(b"", &Target::with_limit(MIB)),
        Err(FitError::Empty)
    ));
}

#[test]
fn huge_metadata_is_stripped_in_bounded_time() {
    // 200 APP segments of 60 KiB each in front of a small photo: 12 MB of
    // metadata. The walk is linear; the stripped photo is what remains.
    let plain = synth::jpeg(&synth::photo(320, 240, 7), 85);
    let mut bloated = plain[..2].to_vec();
    let filler = vec![0xA5u8; 60 * 1024];
    for i in 0..200u32 {
        bloated.extend([0xFF, 0xE3 + (i % 10) as u8]);
        bloated.extend(((filler.len() + 2) as u16).to_be_bytes());
        bloated.extend(&filler);
    }
    bloated.extend(&plain[2..]);
    let fitted = fit(&bloated, &Target::with_limit(2 * MIB)).unwrap();
    assert_eq!(fitted.bytes.as_ref(), plain.as_slice());
    assert_eq!(fitted.report.metadata_removed, [Metadata::Vendor]);
}

#[test]
fn a_target_without_jpeg_cannot_convert() {
    let webp = synth::webp(&synth::photo(64, 48, 1));
    let err = fit(&webp, &Target::new(MIB, &[Format::Png])).unwrap_err();
    assert!(
        matches!(
            err,
            FitError::NoOutputFormat {
                format: Format::WebP
            }
        ),
        "{err}"
    );
}

#[test]
fn huffman_recoding_keeps_every_pixel_and_saves_bytes() {
    // Odd sizes leave partial MCUs at the right and bottom edges.
    for (w, h, q) in [(333, 217, 84), (640, 480, 95), (17, 9, 60)] {
        let standard = synth::jpeg(&synth::photo(w, h, u64::from(w)), q);
        let optimised = synth::optimize_huffman(&standard);
        assert!(
            optimised.len() < standard.len(),
            "{w}×{h} q{q}: {} >= {}",
            optimised.len(),
            standard.len()
        );
        assert_eq!(
            synth::decode(&optimised),
            synth::decode(&standard),
            "{w}×{h} q{q}"
        );
    }
}

#[test]
fn grey_png_becomes_a_grey_jpeg() {
    use image::ImageEncoder;
    let grey: Vec<u8> = synth::photo(300, 200, 4)
        .rgb
        .chunks_exact(3)
        .map(|p| p[1])
        .collect();
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&grey, 300, 200, image::ExtendedColorType::L8)
        .unwrap();
    let fitted = fit(&png, &Target::new(MIB, &[Format::Jpeg])).unwrap();
    // One component in the frame header: three times fewer samples to code.
    let sof = fitted
        .bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .unwrap();
    assert_eq!(fitted.bytes[sof + 9], 1);
    let out = synth::decode(&fitted.bytes).unwrap();
    let psnr = synth::psnr(
        &synth::Image {
            width: 300,
            height: 200,
            rgb: grey.iter().flat_map(|&v| [v, v, v]).collect(),
        },
        &out,
    );
    assert!(psnr > 35.0, "{psnr}");
}

/// A shopping receipt takes 200 KiB of JPG or PNG: the receipt endpoint's
/// target fits a 12 MP phone photo of a receipt under it, upright and
/// stripped, never below the minimum long side.
#[test]
fn a_photo_is_fitted_to_the_shopping_receipts_200_kib() {
    let receipt =
        wxmedia_proto::v3::ShoppingReceipt::new("4200", "2026-12-07T15:39:35+08:00").unwrap();
    let target = Target::for_endpoint(&receipt).expect("the receipt takes JPEG");
    assert_eq!(target.max_bytes, 200 * 1024);
    let photo = synth::photo(4000, 3000, 12);
    let source = synth::with_exif(&synth::jpeg(&photo, 95), 6, true);
    let fitted = fit(&source, &target).unwrap();
    assert!(fitted.bytes.len() <= 200 * 1024, "{}", fitted.bytes.len());
    let report = &fitted.report;
    assert_eq!(report.format_after, Format::Jpeg);
    assert_eq!(report.oriented, Some(Orientation::Rotate90));
    assert!(
        report.dims_after.height > report.dims_after.width,
        "{report}"
    );
    wxmedia_proto::Media::new("receipt.jpg", fitted.bytes.into_owned())
        .expect("whole media the receipt endpoint takes");
}
