//! What a fit costs in memory, from the headers alone: the model behind the decoder memory limit and [`peak_bytes`](crate::peak_bytes).
//!
//! A fit that re-encodes holds, at its peak, the largest of:
//!
//! * the decode: the decoder's own output (at its native depth: 16-bit
//!   PNG is 2 bytes a sample, WebP lossless works in 4 bytes a pixel, a
//!   progressive JPEG keeps 2 bytes a coefficient) plus the conversion to
//!   8-bit grey or RGB, alpha flattened (an RGBA copy, then the RGB one);
//! * the orientation: the stored pixels and the turned copy;
//! * a downscale: the full-size pixels, the resizer's intermediate
//!   (0.85 of them at the first step) and the result (0.72);
//!
//! plus the input, a copy of it (the PNG decoder reads one without its
//! profile) and the encoders' buffers (two encodes at a time, each a
//! few times the output limit). Measured peaks stay below the model: it
//! is an upper bound for budgeting, not a forecast.

use crate::Target;
use crate::probe::Parsed;

/// How a format's decoder lays out pixels, as the header says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Layout {
    /// Peak bytes a pixel while decoding and flattening to 8 bits.
    pub(crate) decode: f64,
    /// Channels after flattening: 1 (grey) or 3 (RGB).
    pub(crate) channels: u8,
    /// Bytes a pixel the JPEG scan check holds (a progressive frame's map
    /// of nonzero coefficients), even when nothing is decoded.
    pub(crate) check: f64,
}

impl Default for Layout {
    /// The worst case of every format, for headers that say less.
    fn default() -> Layout {
        Layout {
            decode: 16.0,
            channels: 3,
            check: 0.5,
        }
    }
}

impl Layout {
    /// A decoder output of `native` bytes a pixel, then `flatten` to
    /// 8-bit grey or RGB (`colour`), through an 8-bit RGBA or grey+alpha
    /// copy when there is `alpha`. `eight_bit` when the output already has
    /// the flattened layout (no copy made).
    pub(crate) fn flattened(native: f64, colour: bool, alpha: bool, eight_bit: bool) -> Layout {
        let channels: u8 = if colour { 3 } else { 1 };
        let c = f64::from(channels);
        let decode = match (alpha, eight_bit) {
            // Converted in place (a move) or copied once.
            (false, true) => native,
            (false, false) => native + c,
            // To RGBA8 (or grey+alpha) while the output lives, then to RGB.
            (true, _) => (native + c + 1.0).max(2.0 * c + 1.0),
        };
        Layout {
            decode,
            channels,
            check: 0.0,
        }
    }
}

/// Pixels per input byte above which an image is refused as a bomb,
/// unless it is small (see [`PLAUSIBLE_PIXELS`]).
pub(crate) const MAX_PIXELS_PER_BYTE: u64 = 1024;
/// Images up to this many pixels are never refused for their compression
/// ratio: a flat 16 MP screenshot compresses very well, and costs at most
/// 16 bytes a pixel.
pub(crate) const PLAUSIBLE_PIXELS: u64 = 16_000_000;

/// The peak heap bytes of a fit that decodes and re-encodes `parsed`
/// (`input` bytes long) for `target`.
pub(crate) fn reencode_peak(parsed: &Parsed, input: usize, target: &Target) -> u64 {
    peak_at(
        parsed,
        input,
        target,
        crate::scale::jpeg_scale(parsed, input, target),
    )
}

/// [`reencode_peak`] with a JPEG decoded `scale` (1, 2, 4, 8) times smaller.
pub(crate) fn peak_at(parsed: &Parsed, input: usize, target: &Target, scale: u32) -> u64 {
    let p = &parsed.probe;
    let c = f64::from(parsed.layout.channels);
    let (pixels, mut per_pixel, coefficients) = match parsed.jpeg_frame {
        // Decoded at reduced size (jpeg-decoder): each component's plane
        // at the reduced size (at most one sample a pixel each) and the
        // output; a progressive frame also keeps every coefficient of the
        // full-size image (2 bytes each) until its last scan.
        Some(frame) if scale > 1 => {
            let full = p.dims.pixels() as f64;
            let components = f64::from(frame.components);
            let kept = if frame.progressive {
                2.0 * components * full
            } else {
                0.0
            };
            let reduced = crate::scale::decoded_dims(p.dims, scale).pixels() as f64;
            (reduced, components + c, kept)
        }
        _ => (p.dims.pixels() as f64, parsed.layout.decode, 0.0),
    };
    if p.needs_orienting() {
        per_pixel = per_pixel.max(2.0 * c);
    }
    // Any image above the minimum long side may be downscaled.
    if p.dims.long_side().div_ceil(scale) > target.min_long_side {
        per_pixel = per_pixel.max((1.0 + 0.85 + 0.72) * c);
    }
    // The input, a copy of it, and two encodes at a time: each holds its
    // output and the Huffman pass's symbols (4 bytes each).
    let encoders = 2.0 * 6.0 * target.max_bytes as f64;
    let fixed = 2.0 * input as f64 + encoders + f64::from(16u32 << 20);
    // The scan check runs beside a JPEG's decode, with its map.
    let check = p.dims.pixels() as f64 * parsed.layout.check;
    (pixels * per_pixel + coefficients + check + fixed).ceil() as u64
}

/// The peak of a fit that does not decode: the input, one copy, and the
/// JPEG scan check's map.
pub(crate) fn lossless_peak(parsed: &Parsed, input: usize) -> u64 {
    let check = parsed.probe.dims.pixels() as f64 * parsed.layout.check;
    2 * input as u64 + check.ceil() as u64 + (1 << 20)
}
