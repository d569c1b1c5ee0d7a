//! The JPEG walk, one for every crate (rules on [`Media`](super::Media)): segment by segment from SOI ([`JpegSegments`]); the completeness check stops at the first scan and looks for EOI after it.

use std::ops::Range;

use super::walk::{Truncated, Walk, WalkError, be16, next_step};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;

/// Start-of-frame markers, whose segment holds the dimensions: `C0`–`CF`
/// except DHT (`C4`), JPG (`C8`) and DAC (`CC`).
fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Markers that stand alone, without a length field: TEM, RST0–7. `00`
/// is not a marker; outside a scan it is a stray byte. (SOI stands alone
/// too, but only at the start: a second one is malformed.)
fn is_standalone(marker: u8) -> bool {
    matches!(marker, 0x00 | 0x01 | 0xD0..=0xD7)
}

/// One marker segment of a JPEG, as [`JpegSegments`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JpegSegment {
    /// The marker code (`0xE1` for APP1, `0xDA` for SOS, `0xD9` for EOI).
    pub marker: u8,
    /// Where the segment starts: its first `FF` (fill bytes included).
    pub start: usize,
    /// The payload, after the two length bytes (empty for EOI).
    pub payload: Range<usize>,
    /// Where the segment ends: after its payload; for SOS, after the
    /// entropy-coded data up to the next marker (when walking through the
    /// scans); for EOI, after the marker.
    pub end: usize,
}

/// The segments of a JPEG from just after SOI up to and including EOI.
///
/// The rules, the same for the upload's completeness check and for
/// `wxmedia-fit`: stray bytes before a marker, fill bytes and the
/// stand-alone markers (TEM, RST0–7) outside a scan are skipped, as
/// libjpeg does; a second SOI or a length under 2 is
/// [`WalkError::Malformed`]; data that stops before EOI is
/// [`WalkError::Truncated`]. After the first error the iterator ends.
#[derive(Debug, Clone)]
pub struct JpegSegments<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Walk the entropy-coded data of each scan to find the next marker,
    /// or stop after the first scan header (the completeness check, which
    /// then looks for EOI from the end instead of reading the scan).
    through_scans: bool,
    done: bool,
}

impl<'a> JpegSegments<'a> {
    /// Every segment of `bytes`, through the scans up to EOI. A file that
    /// does not start with SOI yields [`WalkError::Truncated`] at once.
    pub fn new(bytes: &'a [u8]) -> JpegSegments<'a> {
        JpegSegments {
            bytes,
            pos: 2,
            through_scans: true,
            done: false,
        }
    }

    /// The header segments only: up to and including the first SOS,
    /// whose `end` is then the end of its header.
    fn headers(bytes: &'a [u8]) -> JpegSegments<'a> {
        JpegSegments {
            through_scans: false,
            ..JpegSegments::new(bytes)
        }
    }

    fn step(&mut self) -> Result<JpegSegment, WalkError> {
        let c = self.bytes;
        loop {
            // The next marker: its FF (stray bytes before it are skipped),
            // then any FF fill bytes, then the marker code.
            let start = self.pos
                + memchr::memchr(0xFF, c.get(self.pos..).ok_or(Truncated)?).ok_or(Truncated)?;
            let mut at = start + 1;
            while c.get(at) == Some(&0xFF) {
                at += 1;
            }
            let marker = *c.get(at).ok_or(Truncated)?;
            at += 1;
            if marker == EOI {
                self.done = true;
                return Ok(JpegSegment {
                    marker,
                    start,
                    payload: at..at,
                    end: at,
                });
            }
            if marker == SOI {
                return Err(WalkError::Malformed("a second start-of-image marker"));
            }
            if is_standalone(marker) {
                self.pos = at;
                continue;
            }
            // The length counts itself but not the marker.
            let len = usize::from(be16(c, at).ok_or(Truncated)?);
            if len < 2 {
                return Err(WalkError::Malformed("a segment length below 2"));
            }
            let payload = at + 2..at + len;
            if payload.end > c.len() {
                return Err(WalkError::Truncated);
            }
            let end = match (marker, self.through_scans) {
                (SOS, true) => scan_end(c, payload.end).ok_or(Truncated)?,
                (SOS, false) => {
                    self.done = true;
                    payload.end
                }
                _ => payload.end,
            };
            self.pos = end;
            return Ok(JpegSegment {
                marker,
                start,
                payload,
                end,
            });
        }
    }
}

impl Iterator for JpegSegments<'_> {
    type Item = Result<JpegSegment, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        let signed = self.bytes.starts_with(&[0xFF, SOI]);
        let mut done = self.done;
        let next = next_step(&mut done, signed, || self.step());
        self.done |= done;
        next
    }
}

/// The offset of the first marker after entropy-coded data starting at
/// `from`: an 0xFF followed by neither a stuffed 0x00, a restart marker
/// nor a fill byte.
fn scan_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        i += memchr::memchr(0xFF, bytes.get(i..)?)?;
        match *bytes.get(i + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => i += 1,
            _ => return Some(i),
        }
    }
}

/// Walk the headers from just after SOI to EOI, or to the first scan
/// header and then look for EOI after it; `c` starts with `FF D8`.
pub(super) fn check(c: &[u8]) -> Walk {
    let mut dims = None;
    for segment in JpegSegments::headers(c) {
        let JpegSegment {
            marker,
            payload: p,
            end,
            ..
        } = segment?;
        match marker {
            EOI => return Ok(dims),
            SOS => {
                return if has_eoi(&c[end..]) {
                    Ok(dims)
                } else {
                    Err(WalkError::Truncated)
                };
            }
            m if is_sof(m) && dims.is_none() => {
                // Precision (1 byte), height, width; a height of 0 is
                // given later by DNL, so the header does not say.
                let len = p.len();
                let height = be16(c, p.start + 1).filter(|_| len >= 5);
                let width = be16(c, p.start + 3).filter(|_| len >= 5);
                if let (Some(h), Some(w)) = (height, width) {
                    dims = (h > 0 && w > 0).then(|| (u32::from(w), u32::from(h)));
                }
            }
            _ => {}
        }
    }
    Err(WalkError::Truncated)
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
