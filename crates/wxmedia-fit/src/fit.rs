//! `fit`: the numbered contract from bytes and a target to the bytes to send.

use std::borrow::Cow;

use crate::encode::{self, Estimator, Extras, Search};
use crate::error::FitError;
use crate::probe::{self, Parsed};
use crate::report::{ByteSize, Dims, FitReport, Fitted, Metadata, Orientation};
use crate::{Format, Target, bmp, cost, exif, jpeg, pixels, png, scale};

/// Each downscaling step multiplies the long side by this.
const STEP: f64 = 0.85;

/// Fits `bytes` to `target`.
///
/// 1. Read the headers ([`probe`](crate::probe())); refuse unknown,
///    unsupported, truncated and animated images, variants that cannot be
///    decoded ([`FitError::Undecodable`]), and images over the
///    [decoder limits](crate::DecodeLimits) (pixels, pixels per input
///    byte), before decoding anything.
/// 2. If the upload accepts the format, it fits, its orientation is upright
///    and there is no metadata to remove (or metadata is kept), return the
///    input untouched (a JPEG's scans are read first: one cut short is
///    [`FitError::Truncated`]).
/// 3. If only metadata is in the way (a JPEG, PNG or BMP, upright), remove
///    its segments losslessly; return that if it fits.
/// 4. Otherwise, if the memory the rest needs ([`peak_bytes`]) is within
///    the limit, decode (a JPEG far over the budget at 1/2, 1/4 or 1/8 of
///    its size, by its inverse DCT: never below what step 5 would keep at
///    the floor, unless the pixel or memory limit requires it, and never
///    below the minimum long side), apply the EXIF orientation, and
///    re-encode as JPEG (removing the metadata, keeping the colour
///    profile) at the highest quality between the floor and the ceiling
///    that fits.
/// 5. Only if even the floor does not fit, downscale in steps of 0.85,
///    never below the minimum long side, never up, and search again.
/// 6. If the minimum long side at the floor quality does not fit either,
///    fail with [`FitError::CannotFit`] and the smallest size reached.
pub fn fit<'a>(bytes: &'a [u8], target: &Target) -> Result<Fitted<'a>, FitError> {
    let parsed = probe::parse(bytes)?;
    check_headers(&parsed, bytes, target)?;
    let p = &parsed.probe;
    let report = FitReport {
        format_before: p.format,
        format_after: p.format,
        bytes_before: bytes.len(),
        bytes_after: bytes.len(),
        dims_before: p.dims,
        dims_after: p.dims,
        quality: None,
        oriented: None,
        metadata_removed: Vec::new(),
        unchanged: true,
        decode_scale: 1,
    };
    let accepted = target.accepts(p.format);
    let upright = !p.needs_orienting();
    let nothing_to_strip = target.keep_metadata || p.metadata.is_empty();
    // A JPEG passed on without re-encoding has its scans read (Huffman
    // codes only, no pixels): a file cut mid-scan with an EOI appended
    // walks like a whole one.
    let verify = || match p.format {
        Format::Jpeg => jpeg::check_scans(bytes),
        _ => Ok(()),
    };
    if accepted && upright && bytes.len() <= target.max_bytes && nothing_to_strip {
        verify()?;
        return Ok(Fitted {
            bytes: Cow::Borrowed(bytes),
            report,
        });
    }
    if accepted && upright && !nothing_to_strip {
        let stripped = match p.format {
            Format::Jpeg => Some(jpeg::strip(bytes)?),
            Format::Png => Some(png::strip(bytes)?),
            Format::Bmp => Some(bmp::strip(bytes)?),
            _ => None,
        };
        if let Some(stripped) = stripped
            && stripped.len() <= target.max_bytes
        {
            verify()?;
            let report = FitReport {
                bytes_after: stripped.len(),
                metadata_removed: p.metadata.clone(),
                unchanged: false,
                ..report
            };
            return Ok(Fitted {
                bytes: Cow::Owned(stripped),
                report,
            });
        }
    }
    if !target.accepts(Format::Jpeg) {
        return Err(FitError::NoOutputFormat { format: p.format });
    }
    check_memory(&parsed, bytes, target)?;
    reencode(bytes, &parsed, target, report)
}

/// The refusals the headers alone decide: animations, undecodable
/// variants, the pixel limits, and a bomb's pixels-per-byte ratio.
fn check_headers(parsed: &Parsed, bytes: &[u8], target: &Target) -> Result<(), FitError> {
    let p = &parsed.probe;
    if let Some(frames) = p.frames {
        return Err(FitError::Animated {
            format: p.format,
            frames: (frames > 0).then_some(frames),
        });
    }
    // A file whose pixels cannot be decoded cannot be checked: passing it
    // on "unchanged" would promise an upload nobody verified.
    if let Some(what) = parsed.undecodable {
        return Err(FitError::Undecodable {
            format: p.format,
            what,
        });
    }
    let limits = &target.limits;
    // The limits bound what is decoded: a JPEG the fit will shrink far is
    // decoded at reduced size, and that size counts.
    let decoded = scale::decoded_dims(p.dims, scale::jpeg_scale(parsed, bytes.len(), target));
    if decoded.width > limits.max_width
        || decoded.height > limits.max_height
        || decoded.pixels() > limits.max_pixels
    {
        let max_pixels = limits
            .max_pixels
            .min(u64::from(limits.max_width) * u64::from(limits.max_height));
        return Err(FitError::TooManyPixels {
            format: p.format,
            dims: p.dims,
            max_pixels,
        });
    }
    // 10954×10954 from 38 bytes is no photo. Small images are spared: a
    // flat screenshot compresses far, and costs little anyway.
    let pixels = p.dims.pixels();
    if pixels > cost::PLAUSIBLE_PIXELS
        && pixels / limits.max_pixels_per_byte.max(1) > bytes.len() as u64
    {
        return Err(FitError::Implausible {
            format: p.format,
            dims: p.dims,
            bytes: ByteSize(bytes.len() as u64),
            ratio: limits.max_pixels_per_byte,
        });
    }
    Ok(())
}

/// Refuses a re-encode whose estimated peak is over the memory limit,
/// before anything is decoded.
fn check_memory(parsed: &Parsed, bytes: &[u8], target: &Target) -> Result<(), FitError> {
    let needed = cost::reencode_peak(parsed, bytes.len(), target);
    if needed > target.limits.max_alloc {
        return Err(FitError::OverMemoryLimit {
            format: parsed.probe.format,
            needed: ByteSize(needed),
            limit: ByteSize(target.limits.max_alloc),
        });
    }
    Ok(())
}

/// The most memory [`fit`] may use on `bytes` for `target`, in bytes,
/// estimated from the headers alone (microseconds, no pixel decoded): an
/// upper bound of its peak heap use, for a caller that runs several fits
/// at once under one memory budget (a semaphore on bytes). It counts the
/// input, its copies, the decoded pixels at the decoder's own depth, the
/// orientation, downscaling and encoder buffers; a fit that returns the
/// input or strips it losslessly costs about twice the input.
///
/// Fails exactly as [`fit`] would from the headers: unknown, truncated,
/// animated or undecodable images, images over the pixel limits or the
/// pixels-per-byte ratio, and ([`FitError::OverMemoryLimit`]) those whose
/// estimate is over [`DecodeLimits::max_alloc`](crate::DecodeLimits::max_alloc).
/// A figure it returns is never over that limit.
///
/// ```
/// use wxmedia_fit::{peak_bytes, synth, Target};
///
/// let photo = synth::with_exif(&synth::jpeg(&synth::photo(1600, 1200, 7), 95), 6, true);
/// let peak = peak_bytes(&photo, &Target::for_v2())?;
/// assert!(peak < 64 << 20, "{peak}");
/// # Ok::<(), wxmedia_fit::FitError>(())
/// ```
pub fn peak_bytes(bytes: &[u8], target: &Target) -> Result<u64, FitError> {
    let parsed = probe::parse(bytes)?;
    check_headers(&parsed, bytes, target)?;
    let p = &parsed.probe;
    // As `fit` decides: an accepted, upright image that fits is returned
    // or stripped without decoding; anything else may be re-encoded.
    if target.accepts(p.format) && !p.needs_orienting() {
        if bytes.len() <= target.max_bytes {
            return Ok(cost::lossless_peak(&parsed, bytes.len()));
        }
        let stripped = match p.format {
            _ if target.keep_metadata || p.metadata.is_empty() => None,
            Format::Jpeg => Some(jpeg::strip(bytes)?),
            Format::Png => Some(png::strip(bytes)?),
            Format::Bmp => Some(bmp::strip(bytes)?),
            _ => None,
        };
        if stripped.is_some_and(|s| s.len() <= target.max_bytes) {
            return Ok(cost::lossless_peak(&parsed, bytes.len()));
        }
    }
    if !target.accepts(Format::Jpeg) {
        return Err(FitError::NoOutputFormat { format: p.format });
    }
    check_memory(&parsed, bytes, target)?;
    Ok(cost::reencode_peak(&parsed, bytes.len(), target))
}

/// Steps 4 to 6: decode, orient, search quality, then size.
fn reencode<'a>(
    bytes: &'a [u8],
    parsed: &Parsed,
    target: &Target,
    report: FitReport,
) -> Result<Fitted<'a>, FitError> {
    let p = &parsed.probe;
    let reduced = scale::jpeg_scale(parsed, bytes.len(), target);
    let decoded = pixels::decode(bytes, p.format, &target.limits, reduced)?;
    let orientation = p.orientation.unwrap_or(Orientation::Normal);
    let full = if decoded.upright {
        decoded.pixels
    } else {
        pixels::orient(decoded.pixels, orientation)
    };
    let (extras, removed) = extras(bytes, parsed, target, decoded.icc);

    let (floor, mut ceiling) = target.quality_range();
    if let Some(source) = p.jpeg_quality {
        // Re-encoding above the source's own quality adds bytes, not detail;
        // a little headroom offsets the loss of a second encode.
        ceiling = ceiling.min(source.saturating_add(2).max(floor));
    }
    let budget = target.max_bytes;
    let done = |jpeg: Vec<u8>, quality: u8, dims: Dims| Fitted {
        report: FitReport {
            format_after: Format::Jpeg,
            bytes_after: jpeg.len(),
            dims_after: dims,
            quality: Some(quality),
            oriented: (orientation != Orientation::Normal).then_some(orientation),
            metadata_removed: removed.clone(),
            unchanged: false,
            decode_scale: reduced,
            ..report.clone()
        },
        bytes: Cow::Owned(jpeg),
    };

    let full_dims = full.dims();
    let long0 = full_dims.long_side();
    let min_long = target.min_long_side.max(1);
    let mut est = Estimator::new(&full, &extras);
    // When the sample says the floor is far over and a smaller size may be
    // tried, the full-size encodes would only confirm it: skip them.
    let predicted = est.predict(floor)?;
    let mut smallest = if long0 > min_long && predicted > budget as f64 * 1.10 {
        (predicted as usize, full_dims)
    } else {
        match encode::search(&mut est, floor, ceiling, budget)? {
            Search::Fits { quality, jpeg } => return Ok(done(jpeg, quality, full_dims)),
            Search::TooBig { floor_bytes } => (floor_bytes, full_dims),
        }
    };
    let mut correction = est.correction;
    let mut factor = 1.0;
    // Never upscale: an image already at or below the minimum long side
    // is not resized at all.
    // The long sides to try: ×0.85 a step, ending exactly at the minimum;
    // none when the image is already at or below it (never upscale).
    let mut steps = Vec::new();
    while long0 > min_long && steps.last() != Some(&min_long) {
        factor *= STEP;
        steps.push(((f64::from(long0) * factor).round() as u32).max(min_long));
    }
    for long in steps {
        let last = long == min_long;
        let dims = scaled(full_dims, long);
        // Bytes shrink more slowly than the area (the detail per pixel
        // rises), so an area-proportional guess is optimistic: a step it
        // says cannot fit surely cannot, and is skipped without resizing.
        let ratio = dims.pixels() as f64 / full_dims.pixels() as f64;
        // (With 5 % to spare: the full-size figure may be a prediction.)
        if !last && smallest.1 == full_dims && smallest.0 as f64 * ratio > budget as f64 * 1.05 {
            continue;
        }
        let small = pixels::downscale(&full, dims)?;
        let mut est = Estimator::new(&small, &extras);
        est.correction = correction;
        if !last && est.predict(floor)? > budget as f64 * 1.10 {
            correction = est.correction;
            continue;
        }
        match encode::search(&mut est, floor, ceiling, budget)? {
            Search::Fits { quality, jpeg } => return Ok(done(jpeg, quality, dims)),
            Search::TooBig { floor_bytes } => smallest = (floor_bytes, dims),
        }
        correction = est.correction;
    }
    Err(FitError::CannotFit {
        max_bytes: ByteSize(budget as u64),
        smallest: ByteSize(smallest.0 as u64),
        dims: smallest.1,
        quality: floor,
    })
}

/// `dims` scaled so its long side is `long`, keeping the aspect ratio.
fn scaled(dims: Dims, long: u32) -> Dims {
    let f = f64::from(long) / f64::from(dims.long_side());
    let side = |v: u32| ((f64::from(v) * f).round() as u32).clamp(1, v);
    Dims::new(side(dims.width), side(dims.height))
}

/// What goes into the new JPEG besides pixels (the ICC profile; EXIF and
/// XMP when kept, with their orientation reset to upright) and what the
/// report lists as removed.
fn extras(
    bytes: &[u8],
    parsed: &Parsed,
    target: &Target,
    icc: Option<Vec<u8>>,
) -> (Extras, Vec<Metadata>) {
    let mut extras = Extras::default();
    let mut removed = parsed.probe.metadata.clone();
    if let Some(icc) = icc {
        // A profile bigger than a quarter of the budget is hostile or
        // absurd (real ones are 0.5-4 KiB); dropping it keeps the upload
        // possible and the report says so.
        // Nor is anything without a profile's signature kept: it could
        // be any data under the profile's name.
        if icc.len() <= target.max_bytes / 4 && probe::icc_is_profile(&icc) {
            extras.icc = Some(icc);
        } else {
            removed.push(Metadata::Icc);
        }
    }
    if target.keep_metadata {
        // An APPn segment holds at most 65,533 bytes; the identifiers take
        // some of that.
        if let (Some(at), Some(info)) = (&parsed.exif_at, &parsed.exif)
            && at.len() <= 65_527
        {
            let mut tiff = bytes[at.clone()].to_vec();
            exif::set_orientation_normal(&mut tiff, info);
            extras
                .segments
                .push((1, [&b"Exif\0\0"[..], &tiff].concat()));
            removed.retain(|m| {
                !matches!(
                    m,
                    Metadata::Exif
                        | Metadata::Gps
                        | Metadata::MakerNote
                        | Metadata::SerialNumber
                        | Metadata::Thumbnail
                )
            });
        }
        if let Some(at) = &parsed.xmp_at
            && at.len() <= 65_502
        {
            let mut xmp = bytes[at.clone()].to_vec();
            jpeg::xmp_set_orientation_normal(&mut xmp);
            extras
                .segments
                .push((1, [&b"http://ns.adobe.com/xap/1.0/\0"[..], &xmp].concat()));
            removed.retain(|m| *m != Metadata::Xmp);
        }
    }
    removed.sort();
    removed.dedup();
    (extras, removed)
}
