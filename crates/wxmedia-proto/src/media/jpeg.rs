//! The JPEG walk (rules on [`Media`](super::Media)): segment by segment from SOI, then a search for EOI after the first scan.

use super::walk::{Truncated, Walk, be16};

const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;

/// Start-of-frame markers, whose segment holds the dimensions: `C0`–`CF`
/// except DHT (`C4`), JPG (`C8`) and DAC (`CC`).
fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Markers that stand alone, without a length field: TEM, RST0–7, SOI.
/// `00` is not a marker; outside a scan it is a stray byte.
fn is_standalone(marker: u8) -> bool {
    matches!(marker, 0x00 | 0x01 | 0xD0..=0xD8)
}

/// Walk from just after SOI to EOI; `c` starts with `FF D8`.
pub(super) fn check(c: &[u8]) -> Walk {
    let mut dims = None;
    let mut at = 2;
    loop {
        // The next marker: its FF (stray bytes before it are skipped),
        // then any FF fill bytes, then the marker code.
        at += memchr::memchr(0xFF, &c[at..]).ok_or(Truncated)?;
        while c.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let marker = *c.get(at + 1).ok_or(Truncated)?;
        at += 2;
        if marker == EOI {
            return Ok(dims);
        }
        if is_standalone(marker) {
            continue;
        }
        // The length counts itself but not the marker; a bogus length
        // under 2 is stepped over as if it were 2, so the walk always
        // moves forward.
        let len = usize::from(be16(c, at).ok_or(Truncated)?).max(2);
        let end = at
            .checked_add(len)
            .filter(|&e| e <= c.len())
            .ok_or(Truncated)?;
        if is_sof(marker) && dims.is_none() {
            // Precision (1 byte), height, width; a height of 0 is
            // given later by DNL, so the header does not say.
            let height = be16(c, at + 3).filter(|_| len >= 7);
            let width = be16(c, at + 5).filter(|_| len >= 7);
            if let (Some(h), Some(w)) = (height, width) {
                dims = (h > 0 && w > 0).then(|| (u32::from(w), u32::from(h)));
            }
        }
        at = end;
        if marker == SOS {
            return if has_eoi(&c[at..]) {
                Ok(dims)
            } else {
                Err(Truncated)
            };
        }
    }
}

/// Whether `FF D9` occurs in what follows the first scan header.
///
/// Entropy-coded data cannot contain it (an `FF` there is followed by
/// `00` or a restart code, or is a fill byte before a marker), and the
/// table and scan headers between progressive scans do not in practice
/// (only a comment or application segment placed there could, and
/// encoders write none), so a pair found there is the EOI or lies
/// after it. Searching from the end finds a whole file's EOI in
/// its last bytes: the data of a scan, nearly all of a photo, is not
/// read, which keeps the check out of the encode-versus-MD5 budget of
/// `docs/BENCHMARKS.md` (a forward pass over a 2 MiB scan costs ~3 %
/// of its MD5).
fn has_eoi(rest: &[u8]) -> bool {
    let mut end = rest.len();
    while let Some(i) = memchr::memrchr(EOI, &rest[..end]) {
        if i > 0 && rest[i - 1] == 0xFF {
            return true;
        }
        end = i;
    }
    false
}
