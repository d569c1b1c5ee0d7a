//! The BMP header checks (rules on [`Media`](super::Media)): the declared size, the pixel offset and the pixel rows against the length.

use super::walk::{Truncated, Walk, WalkError, le16, le32};

/// The file header: `BM`, file size, two reserved words, pixel offset.
const FILE_HEADER: usize = 14;

/// Check the headers against the length; `c` starts with `BM`.
pub(super) fn check(c: &[u8]) -> Walk {
    let len = c.len() as u64;
    let declared = le32(c, 2).ok_or(Truncated)?;
    let offset = le32(c, 10).ok_or(Truncated)?;
    let dib = le32(c, FILE_HEADER).ok_or(Truncated)?;
    if u64::from(declared) > len || FILE_HEADER as u64 + u64::from(dib) > len {
        return Err(WalkError::Truncated);
    }
    // (width, height, bits per pixel, uncompressed rows?) by header
    // size: BITMAPCOREHEADER has 16-bit fields; the others 32-bit, a
    // negative height meaning top-down rows.
    let header = match dib {
        12 => {
            let w = le16(c, 18).ok_or(Truncated)?;
            let h = le16(c, 20).ok_or(Truncated)?;
            let bpp = le16(c, 24).ok_or(Truncated)?;
            Some((i64::from(w), i64::from(h), bpp, true))
        }
        16.. => {
            let w = le32(c, 18).ok_or(Truncated)? as i32;
            let h = le32(c, 22).ok_or(Truncated)? as i32;
            let bpp = le16(c, 28).ok_or(Truncated)?;
            // OS/2's 16-byte header has no compression field.
            let compression = if dib >= 20 {
                le32(c, 30).ok_or(Truncated)?
            } else {
                0
            };
            Some((
                i64::from(w),
                i64::from(h),
                bpp,
                matches!(compression, 0 | 3 | 6),
            ))
        }
        _ => None,
    };
    let Some((width, height, bpp, uncompressed)) = header else {
        // An unknown header: only the offset can be checked.
        return if u64::from(offset) < len {
            Ok(None)
        } else {
            Err(WalkError::Truncated)
        };
    };
    let rows = height.unsigned_abs();
    let fits = if uncompressed && width >= 0 {
        // Rows are padded to 4 bytes; a size too large to compute is
        // certainly not in the file.
        let stride = (width.unsigned_abs() * u64::from(bpp)).div_ceil(32) * 4;
        stride
            .checked_mul(rows)
            .and_then(|size| size.checked_add(u64::from(offset)))
            .is_some_and(|end| end <= len)
    } else {
        // Compressed data has no size to compute: it must at least
        // start within the file.
        u64::from(offset) < len
    };
    if !fits {
        return Err(WalkError::Truncated);
    }
    let dims = u32::try_from(width)
        .ok()
        .zip(u32::try_from(rows).ok())
        .filter(|&(w, h)| w > 0 && h > 0);
    Ok(dims)
}
