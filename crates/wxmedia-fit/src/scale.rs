//! Decoding a JPEG at reduced size: when a fit will shrink a photo far, the inverse DCT yields 1/2, 1/4 or 1/8 of the pixels directly, so a 200 MP photo costs about what a 12 MP one does.

use crate::error::FitError;
use crate::pixels::{Decoded, Pixels};
use crate::probe::Parsed;
use crate::report::Dims;
use crate::{DecodeLimits, Format, Target};

/// Bytes of a photo at a JPEG quality, relative to quality 60: measured
/// with this crate's encoder on noisy generated photos (screenshots fall
/// less steeply). Ratios of the steepest curve make a re-encode at the
/// floor look as small as it can be, so the sizes derived from them err
/// towards keeping pixels.
const BYTES_AT: [(u8, f64); 15] = [
    (1, 0.18),
    (10, 0.29),
    (20, 0.47),
    (30, 0.61),
    (40, 0.73),
    (50, 0.86),
    (60, 1.0),
    (70, 1.23),
    (80, 1.59),
    (85, 1.94),
    (90, 2.68),
    (92, 3.09),
    (95, 4.28),
    (98, 6.02),
    (100, 8.33),
];

/// [`BYTES_AT`] at `q`, linearly between the measured qualities.
fn bytes_at(q: u8) -> f64 {
    let q = q.clamp(1, 100);
    let i = BYTES_AT.iter().position(|&(at, _)| at >= q).unwrap_or(0);
    if i == 0 {
        return BYTES_AT[0].1;
    }
    let ((q0, b0), (q1, b1)) = (BYTES_AT[i - 1], BYTES_AT[i]);
    b0 + (b1 - b0) * f64::from(q - q0) / f64::from(q1 - q0)
}

/// The factor (1, 2, 4 or 8) by which `parsed` (`input` bytes) is decoded
/// smaller than stored for `target`.
///
/// First, the nearest scale above the fit's result: the result is never
/// larger than where the photo re-encoded at the floor quality meets the
/// budget, its bytes shrinking with its area (they shrink more slowly, so
/// this overestimates the result), and never below the minimum long side.
/// The floor's bytes are estimated from the input's size and quality by
/// [`BYTES_AT`], less 10 %. Then, only if that decode would be over the
/// pixel or memory limit, the next smaller scale, down to 1/8 and never
/// below the minimum long side: a fit of fewer pixels rather than a
/// refusal.
///
/// 1 for anything but an 8-bit grey or YCbCr JPEG, and for a photo within
/// the budget (it may pass unchanged).
pub(crate) fn jpeg_scale(parsed: &Parsed, input: usize, target: &Target) -> u32 {
    let p = &parsed.probe;
    let scalable = p.format == Format::Jpeg
        && parsed.undecodable.is_none()
        && parsed
            .jpeg_frame
            .is_some_and(|f| matches!(f.components, 1 | 3));
    if !scalable || input <= target.max_bytes || input == 0 {
        return 1;
    }
    let (floor, _) = target.quality_range();
    let source = p.jpeg_quality.unwrap_or(100).max(floor);
    let at_floor = 0.9 * input as f64 * bytes_at(floor) / bytes_at(source);
    let long = p.dims.long_side();
    let ratio = (target.max_bytes as f64 / at_floor).min(1.0);
    let result = (f64::from(long) * ratio.sqrt()).max(f64::from(target.min_long_side));
    let mut scale = [8, 4, 2]
        .into_iter()
        .find(|&s| f64::from(long.div_ceil(s)) >= result)
        .unwrap_or(1);
    let limits = &target.limits;
    while scale < 8
        && long.div_ceil(scale * 2) >= target.min_long_side
        && (decoded_dims(p.dims, scale).pixels() > limits.max_pixels
            || crate::cost::peak_at(parsed, input, target, scale) > limits.max_alloc)
    {
        scale *= 2;
    }
    scale
}

/// The dimensions a JPEG of `dims` decodes to at `scale` (each side
/// rounded up, as the decoder does).
pub(crate) fn decoded_dims(dims: Dims, scale: u32) -> Dims {
    Dims::new(dims.width.div_ceil(scale), dims.height.div_ceil(scale))
}

/// Decodes a grey or YCbCr JPEG `scale` times smaller than stored, to
/// 8-bit grey or RGB, with jpeg-decoder (whose inverse DCT scales; zune-jpeg
/// decodes the full size only). As for the full decode, the scans are read
/// beside it, so one cut short with an EOI appended is refused, not painted
/// grey.
pub(crate) fn decode_jpeg(
    bytes: &[u8],
    limits: &DecodeLimits,
    scale: u32,
) -> Result<Decoded, FitError> {
    crate::pixels::with_scan_check(bytes, || decode_scaled(bytes, limits, scale))
}

fn decode_scaled(bytes: &[u8], limits: &DecodeLimits, scale: u32) -> Result<Decoded, FitError> {
    use jpeg_decoder::{Decoder, Error, PixelFormat};

    let fail = |e: Error| match e {
        Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => FitError::Truncated {
            format: Format::Jpeg,
        },
        e => FitError::Corrupt {
            format: Format::Jpeg,
            source: Box::new(e),
        },
    };
    let mut decoder = Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(usize::try_from(limits.max_alloc).unwrap_or(usize::MAX));
    decoder.read_info().map_err(fail)?;
    let info = decoder
        .info()
        .ok_or_else(|| FitError::corrupt(Format::Jpeg, "no frame header"))?;
    let want = decoded_dims(Dims::new(info.width.into(), info.height.into()), scale);
    // The decoder picks the smallest factor whose result reaches this size.
    let (width, height) = decoder
        .scale(want.width as u16, want.height as u16)
        .map_err(fail)?;
    let data = decoder.decode().map_err(fail)?;
    let channels = match info.pixel_format {
        PixelFormat::L8 => 1,
        PixelFormat::RGB24 => 3,
        _ => {
            return Err(FitError::corrupt(
                Format::Jpeg,
                "the reduced-size decoder returned neither grey nor RGB",
            ));
        }
    };
    let (width, height) = (u32::from(width), u32::from(height));
    if data.len() != width as usize * height as usize * usize::from(channels) {
        return Err(FitError::corrupt(
            Format::Jpeg,
            "the decoder returned a buffer of the wrong size",
        ));
    }
    Ok(Decoded {
        pixels: Pixels {
            width,
            height,
            channels,
            data,
        },
        icc: decoder.icc_profile(),
        upright: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::parse;
    use crate::synth;

    fn scale_of(jpeg: &[u8], bytes_claimed: usize, target: &Target) -> u32 {
        let parsed = parse(jpeg).unwrap();
        jpeg_scale(&parsed, bytes_claimed, target)
    }

    #[test]
    fn the_scale_stays_above_what_the_floor_would_keep() {
        // The header is what counts: a small photo stands for a large one
        // by claiming its byte count. Quality 95: the floor (60) takes
        // about 1/4.28 of its bytes.
        let jpeg = synth::jpeg(&synth::photo(800, 600, 1), 95);
        assert_eq!(parse(&jpeg).unwrap().probe.jpeg_quality, Some(95));
        let two = Target::with_limit(2 << 20).with_min_long_side(50);
        // Within the budget: never scaled.
        assert_eq!(scale_of(&jpeg, jpeg.len(), &two), 1);
        // 4 times over: the floor fits whole (4 / 4.28 / 0.9 < 1).
        assert_eq!(scale_of(&jpeg, 4 * (2 << 20), &two), 1);
        // 20 times over: the floor keeps 800 * sqrt(4.28 * 0.9... / 20)
        // ≈ 390 px at most, so 1/2 (400) holds it, 1/4 (200) would not.
        assert_eq!(scale_of(&jpeg, 20 * (2 << 20), &two), 2);
        // 1000 times over: about 55 px, under 1/8 (100).
        assert_eq!(scale_of(&jpeg, 1000 * (2 << 20), &two), 8);
        // The minimum long side is kept: 1/2 (400) is the most it allows.
        let keep = two.clone().with_min_long_side(380);
        assert_eq!(scale_of(&jpeg, 1000 * (2 << 20), &keep), 2);
    }

    #[test]
    fn the_byte_curve_interpolates() {
        assert!((bytes_at(60) - 1.0).abs() < 1e-9);
        assert!((bytes_at(65) - 1.115).abs() < 1e-9);
        assert!((bytes_at(0) - 0.18).abs() < 1e-9);
        assert!((bytes_at(100) - 8.33).abs() < 1e-9);
    }

    #[test]
    fn other_formats_are_never_scaled() {
        let png = synth::png(&synth::photo(800, 600, 1));
        let parsed = parse(&png).unwrap();
        assert_eq!(
            jpeg_scale(&parsed, 1 << 30, &Target::with_limit(1 << 20)),
            1
        );
    }

    #[test]
    fn sides_round_up() {
        assert_eq!(
            decoded_dims(Dims::new(8161, 6120), 4),
            Dims::new(2041, 1530)
        );
    }
}
