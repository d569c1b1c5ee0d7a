//! The PNG chunk walk (rules on [`Media`](super::Media)): by the chunks' own lengths, up to a whole `IEND`.

use super::walk::{Truncated, Walk, be32};

/// Walk the chunks after the signature up to a whole `IEND`; `c`
/// starts with the signature.
pub(super) fn check(c: &[u8]) -> Walk {
    let mut dims = None;
    let mut at = 8;
    loop {
        let len = be32(c, at).ok_or(Truncated)?;
        let kind = c.get(at + 4..at + 8).ok_or(Truncated)?;
        // Length, type, data, CRC; u64 so that a huge length cannot
        // wrap on 32-bit targets.
        let end = at as u64 + 12 + u64::from(len);
        if end > c.len() as u64 {
            return Err(Truncated);
        }
        if at == 8 && kind == b"IHDR" && len >= 8 {
            let (w, h) = (be32(c, at + 8), be32(c, at + 12));
            if let (Some(w), Some(h)) = (w, h) {
                dims = (w > 0 && h > 0).then_some((w, h));
            }
        }
        if kind == b"IEND" {
            return Ok(dims);
        }
        // `end` fits in usize: it is at most `c.len()`.
        at = end as usize;
    }
}
