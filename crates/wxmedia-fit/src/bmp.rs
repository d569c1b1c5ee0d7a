//! BMP structure: the file and DIB headers (dimensions, depth, compression), where the pixel data ends, and a strip of what follows it.

use crate::Format;
use crate::cost::Layout;
use crate::error::FitError;
use crate::probe::HeaderInfo;
use crate::report::{Dims, Metadata};

/// What the headers say, beyond the [`HeaderInfo`] every format fills.
pub(crate) struct BmpInfo {
    pub(crate) info: HeaderInfo,
    /// Where the image (pixels, and an embedded V5 colour profile) ends,
    /// when that can be told: everything after it is not the image.
    pub(crate) end: Option<usize>,
}

/// Reads the headers. Uncompressed pixel data shorter than the header
/// promises is `Truncated`; a variant the decoder cannot read (0 bits a
/// pixel, JPEG or PNG inside) is marked undecodable, not refused here.
pub(crate) fn parse(bytes: &[u8]) -> Result<BmpInfo, FitError> {
    let truncated = || FitError::Truncated {
        format: Format::Bmp,
    };
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let data_at = u32_at(10).ok_or_else(truncated)? as usize;
    let dib = u32_at(14).ok_or_else(truncated)?;
    let (width, height, bpp, compression) = if dib == 12 {
        let w = u16_at(18).ok_or_else(truncated)?;
        let h = u16_at(20).ok_or_else(truncated)?;
        (
            i64::from(w),
            i64::from(h),
            u16_at(24).ok_or_else(truncated)?,
            0,
        )
    } else if dib >= 40 {
        let w = u32_at(18).ok_or_else(truncated)? as i32;
        // A negative height means rows stored top-down.
        let h = u32_at(22).ok_or_else(truncated)? as i32;
        (
            i64::from(w),
            i64::from(h).abs(),
            u16_at(28).ok_or_else(truncated)?,
            u32_at(30).ok_or_else(truncated)?,
        )
    } else {
        return Err(FitError::corrupt(Format::Bmp, "an unknown DIB header size"));
    };
    if width <= 0 || height <= 0 || width > i64::from(u32::MAX) || height > i64::from(u32::MAX) {
        return Err(FitError::corrupt(
            Format::Bmp,
            "an image of zero or negative width or height",
        ));
    }
    let mut info = HeaderInfo {
        dims: Some(Dims::new(width as u32, height as u32)),
        ..HeaderInfo::default()
    };
    // What the decoder reads: these depths, stored raw, as bit fields or
    // run-length coded. Anything else would pass unchecked.
    info.undecodable = match (compression, bpp) {
        (4, _) => Some("JPEG data inside a BMP (BI_JPEG)"),
        (5, _) => Some("PNG data inside a BMP (BI_PNG)"),
        (_, 0) => Some("a BMP of 0 bits a pixel"),
        (0 | 3, 1 | 4 | 8 | 16 | 24 | 32) | (1, 8) | (2, 4) => None,
        (0..=3, _) => Some("a BMP of an unusual depth"),
        _ => Some("a BMP of an unknown compression"),
    };
    // The decoder writes RGB, or RGBA for 32-bit and bit-field pixels.
    let alpha = bpp == 32 || (compression == 3 && bpp == 16);
    info.layout = Layout::flattened(if alpha { 4.0 } else { 3.0 }, true, alpha, true);
    let mut end = None;
    if info.undecodable.is_none() {
        if matches!(compression, 0 | 3) {
            // Rows uncompressed, padded to 4 bytes.
            let row = (width as u64 * u64::from(bpp)).div_ceil(32) * 4;
            let need = (data_at as u64).saturating_add(row.saturating_mul(height as u64));
            if need > bytes.len() as u64 {
                return Err(truncated());
            }
            end = Some(need as usize);
        } else {
            end = rle_end(bytes, data_at, compression == 2);
        }
    }
    // A V5 header may embed a colour profile, usually after the pixels.
    if dib >= 124
        && let Some(e) = end.as_mut()
        && u32_at(14 + 56) == Some(u32::from_be_bytes(*b"MBED"))
        && let (Some(at), Some(len)) = (u32_at(14 + 112), u32_at(14 + 116))
    {
        let profile_end = 14 + u64::from(at) + u64::from(len);
        if profile_end <= bytes.len() as u64 {
            *e = (*e).max(profile_end as usize);
            info.icc = true;
        }
    }
    if let Some(e) = end
        && bytes[e..].iter().any(|&b| b != 0)
    {
        info.found([Metadata::Trailer]);
    }
    Ok(BmpInfo { info, end })
}

/// Where run-length coded pixels end: just after the end-of-bitmap code
/// (`00 01`). `None` when the codes run past the data (the decoder then
/// judges). Each step moves forward, so the walk is linear in the input.
fn rle_end(bytes: &[u8], from: usize, four_bit: bool) -> Option<usize> {
    let mut i = from;
    loop {
        let (count, code) = (*bytes.get(i)?, *bytes.get(i + 1)?);
        i += 2;
        match (count, code) {
            // An encoded run, or the end of a line.
            (1.., _) | (0, 0) => {}
            (0, 1) => return Some(i),
            // A delta: two more bytes.
            (0, 2) => i += 2,
            // An absolute run of `code` pixels, padded to a 16-bit boundary.
            (0, n) => {
                let len = if four_bit {
                    usize::from(n).div_ceil(2)
                } else {
                    usize::from(n)
                };
                i += len + (len & 1);
            }
        }
    }
}

/// The BMP without what follows its image, the file size field corrected.
pub(crate) fn strip(bytes: &[u8]) -> Result<Vec<u8>, FitError> {
    let parsed = parse(bytes)?;
    let end = parsed.end.unwrap_or(bytes.len()).min(bytes.len());
    let mut out = bytes[..end].to_vec();
    if let Some(size) = out.get_mut(2..6) {
        size.copy_from_slice(&(end as u32).to_le_bytes());
    }
    Ok(out)
}
