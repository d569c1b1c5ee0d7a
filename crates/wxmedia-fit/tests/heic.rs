//! HEIC in `fit`, on files whose pictures a real encoder coded (`heif-enc`, Debian's libheif-examples, which `.ci/run` installs), checked against libheif's own decoder (`heif-convert`): plain, 10-bit, alpha, grids as iPhones write them, every rotation and mirror, EXIF with GPS, cuts and bombs.

use wxmedia_fit::synth::{self, Image, heif};
use wxmedia_fit::{FitError, Format, Metadata, Orientation, Target, fit, peak_bytes, probe};

const MIB: usize = 1024 * 1024;

/// libheif's decoding of `heic` (upright, as `heif-convert` writes it).
fn libheif(heic: &[u8]) -> Image {
    heif::libheif_decode(heic)
}

/// A HEIC of a photo, coded by heif-enc from a PNG.
fn heic_photo(width: u32, height: u32, seed: u64) -> Vec<u8> {
    heif::heif_enc(
        &synth::png(&synth::photo(width, height, seed)),
        "png",
        &["-q", "90"],
    )
}

/// Fits with a budget that needs no downscale, and decodes the result.
fn fitted(heic: &[u8]) -> (wxmedia_fit::FitReport, Image) {
    let out = fit(heic, &Target::with_limit(4 * MIB)).expect("the HEIC fits");
    let image = synth::decode(&out.bytes).expect("the output decodes");
    assert_eq!(probe(&out.bytes).unwrap().format, Format::Jpeg);
    (out.report, image)
}

#[test]
fn a_photo_coded_by_heif_enc_becomes_the_jpeg_libheif_sees() {
    let source = synth::photo(640, 480, 3);
    let heic = heif::heif_enc(&synth::png(&source), "png", &["-q", "90"]);
    let p = probe(&heic).unwrap();
    assert_eq!(
        (p.format, p.dims.width, p.dims.height),
        (Format::Heic, 640, 480)
    );
    let (report, image) = fitted(&heic);
    assert_eq!(
        (report.format_before, report.format_after),
        (Format::Heic, Format::Jpeg)
    );
    let reference = libheif(&heic);
    let psnr = synth::psnr(&image, &reference);
    assert!(psnr > 38.0, "against libheif: {psnr:.1} dB");
    assert!(synth::psnr(&image, &source) > 30.0);
}

#[test]
fn a_ten_bit_heic_is_read() {
    // A 16-bit PNG makes heif-enc write Main 10 (`-b 10`).
    let source = synth::photo(320, 240, 9);
    let mut png16 = Vec::new();
    let wide: Vec<u16> = source.rgb.iter().map(|&v| u16::from(v) * 257).collect();
    image::ImageBuffer::<image::Rgb<u16>, _>::from_raw(320, 240, wide)
        .unwrap()
        .write_to(
            &mut std::io::Cursor::new(&mut png16),
            image::ImageFormat::Png,
        )
        .unwrap();
    let heic = heif::heif_enc(&png16, "png", &["-q", "90", "-b", "10"]);
    let hvcc = heif::picture(&heic).hvcc;
    // hvcC: bitDepthLumaMinus8 in the low 3 bits of byte 17 of the record
    // (after the 8-byte box header).
    assert_eq!(hvcc[8 + 17] & 7, 2, "heif-enc wrote a 10-bit picture");
    let (_, image) = fitted(&heic);
    // (libheif writes a 16-bit PNG, rounded to 8 bits here.)
    let psnr = synth::psnr(&image, &libheif(&heic));
    assert!(psnr > 35.0, "against libheif: {psnr:.1} dB");
}

#[test]
fn alpha_is_flattened_onto_white() {
    // A photo whose left half is transparent.
    let source = synth::photo(128, 96, 5);
    let mut rgba = Vec::new();
    for (i, px) in source.rgb.chunks_exact(3).enumerate() {
        let alpha = if i as u32 % 128 < 64 { 0 } else { 255 };
        rgba.extend_from_slice(&[px[0], px[1], px[2], alpha]);
    }
    let mut png = Vec::new();
    image::RgbaImage::from_raw(128, 96, rgba)
        .unwrap()
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let heic = heif::heif_enc(&png, "png", &["-q", "90"]);
    let (_, image) = fitted(&heic);
    let at = |x: usize, y: usize| &image.rgb[(y * 128 + x) * 3..][..3];
    assert!(
        at(10, 50).iter().all(|&v| v > 245),
        "transparent is white: {:?}",
        at(10, 50)
    );
    let right = &source.rgb[(50 * 128 + 110) * 3..][..3];
    assert!(
        at(110, 50)
            .iter()
            .zip(right)
            .all(|(a, b)| a.abs_diff(*b) < 24)
    );
}

/// Tiles of `side`×`side` coded by heif-enc from one photo, in raster
/// order, and the photo.
fn tiles(columns: u32, rows: u32, side: u32) -> (Vec<heif::Picture>, Image) {
    let photo = synth::photo(columns * side, rows * side, 11);
    (heif::tiles(&photo, side, &["-q", "90"]).0, photo)
}

#[test]
fn an_iphone_grid_turned_by_irot_with_gps_in_its_exif() {
    // As an iPhone stores a portrait photo: a grid of tiles cropped to the
    // output size, `irot` turning it upright, EXIF with GPS whose own
    // orientation (6) the format says to ignore.
    let (pictures, _) = tiles(3, 2, 256);
    let exif = synth::exif(6, true);
    let heic = heif::container(
        &pictures,
        &heif::Layout {
            columns: 3,
            width: 700,
            height: 500,
            irot: Some(3),
            exif: Some(&exif),
            ..Default::default()
        },
    );
    let p = probe(&heic).unwrap();
    assert_eq!((p.dims.width, p.dims.height), (700, 500));
    assert_eq!(p.orientation, Some(Orientation::Rotate90));
    assert!(p.metadata.contains(&Metadata::Gps), "{:?}", p.metadata);
    let out = fit(&heic, &Target::with_limit(4 * MIB)).unwrap();
    assert_eq!(out.report.oriented, Some(Orientation::Rotate90));
    assert!(out.report.metadata_removed.contains(&Metadata::Gps));
    let after = probe(&out.bytes).unwrap();
    assert!(after.metadata.is_empty(), "{:?}", after.metadata);
    assert_eq!(after.orientation, None);
    let image = synth::decode(&out.bytes).unwrap();
    assert_eq!((image.width, image.height), (500, 700));
    let psnr = synth::psnr(&image, &libheif(&heic));
    assert!(psnr > 38.0, "against libheif: {psnr:.1} dB");
    // The planted GPS and serial number are nowhere in the output.
    let serial = &synth::SERIAL[..synth::SERIAL.len() - 1];
    assert!(!out.bytes.windows(serial.len()).any(|w| w == serial));
}

#[test]
fn every_rotation_and_mirror_turns_as_libheif_turns() {
    let picture = || heif::picture(&heic_photo(96, 64, 2));
    for irot in [None, Some(1), Some(2), Some(3)] {
        for imir in [None, Some(0), Some(1)] {
            let heic = heif::container(
                &[picture()],
                &heif::Layout {
                    irot,
                    imir,
                    ..Default::default()
                },
            );
            let (_, image) = fitted(&heic);
            let reference = libheif(&heic);
            assert_eq!(
                (image.width, image.height),
                (reference.width, reference.height),
                "irot {irot:?} imir {imir:?}"
            );
            // A small, detailed photo re-encoded as JPEG: about 34 dB when
            // turned as libheif turns it, under 20 when turned otherwise.
            let psnr = synth::psnr(&image, &reference);
            assert!(psnr > 30.0, "irot {irot:?} imir {imir:?}: {psnr:.1} dB");
        }
    }
}

#[test]
fn exif_orientation_without_irot_is_not_applied() {
    // heif-enc 1.15 copies a JPEG's EXIF (orientation 6, GPS) and writes
    // no `irot`: libheif shows it as stored, and so do we.
    let jpeg = synth::with_exif(&synth::jpeg(&synth::photo(320, 240, 8), 92), 6, true);
    let heic = heif::heif_enc(&jpeg, "jpg", &["-q", "90"]);
    let p = probe(&heic).unwrap();
    assert_eq!(p.orientation, Some(Orientation::Normal));
    assert!(p.metadata.contains(&Metadata::Gps), "{:?}", p.metadata);
    let (report, image) = fitted(&heic);
    assert!(report.metadata_removed.contains(&Metadata::Gps));
    let reference = libheif(&heic);
    assert_eq!(
        (image.width, image.height),
        (reference.width, reference.height)
    );
    assert_eq!((image.width, image.height), (320, 240));
}

#[test]
fn a_cut_heic_is_refused() {
    let heic = heic_photo(256, 192, 4);
    // Cut inside the coded picture, the container, the `ftyp` box.
    for cut in [
        heic.len() - 1,
        heic.len() - 200,
        heic.len() / 2,
        400,
        40,
        20,
    ] {
        let err = fit(&heic[..cut], &Target::with_limit(4 * MIB)).unwrap_err();
        assert!(
            matches!(err, FitError::Truncated { .. } | FitError::Corrupt { .. }),
            "{cut} bytes: {err}"
        );
    }
}

#[test]
fn a_grid_claiming_a_huge_image_is_refused_from_its_header() {
    let (pictures, _) = tiles(2, 1, 64);
    let heic = heif::container(
        &pictures,
        &heif::Layout {
            columns: 2,
            width: 60_000,
            height: 60_000,
            ..Default::default()
        },
    );
    let err = fit(&heic, &Target::with_limit(2 * MIB)).unwrap_err();
    assert!(
        matches!(
            err,
            FitError::TooManyPixels {
                format: Format::Heic,
                ..
            }
        ),
        "{err}"
    );
    assert!(peak_bytes(&heic, &Target::with_limit(2 * MIB)).is_err());
}

/// The estimate bounds the measured peak of a 4 MP grid fit turned by
/// `irot` and downscaled to a small budget.
#[cfg(target_os = "linux")]
#[test]
fn the_estimate_bounds_a_grid_fits_peak() {
    let numbers = synth::measure_in_child("grid_peak_child", "WXMEDIA_FIT_HEIC_CHILD", "1");
    let estimate = synth::measured(&numbers, "estimate");
    let peak = synth::measured(&numbers, "peak-kib") * 1024;
    println!(
        "4 MP grid: peak {} MiB, estimate {} MiB",
        peak >> 20,
        estimate >> 20
    );
    assert!(
        peak < estimate,
        "measured {peak} over the estimate {estimate}"
    );
}

#[test]
fn grid_peak_child() {
    if std::env::var_os("WXMEDIA_FIT_HEIC_CHILD").is_none() {
        return;
    }
    let (pictures, _) = tiles(4, 4, 512);
    let heic = heif::container(
        &pictures,
        &heif::Layout {
            columns: 4,
            width: 2048,
            height: 2000,
            irot: Some(1),
            ..Default::default()
        },
    );
    let target = Target::with_limit(300 * 1024);
    let estimate = peak_bytes(&heic, &target).unwrap();
    let out = fit(&heic, &target).unwrap();
    assert!(out.bytes.len() <= 300 * 1024);
    println!("estimate {estimate}");
    synth::print_peak();
}
