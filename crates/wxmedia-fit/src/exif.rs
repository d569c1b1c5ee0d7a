//! A small, bounded reader for the EXIF (TIFF) block: orientation, and
//! whether GPS, maker notes, serial numbers or a thumbnail are inside.

use crate::report::Metadata;

/// What the EXIF block says, as far as fitting cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExifInfo {
    /// The orientation value (tag 0x0112), when present.
    pub(crate) orientation: Option<u16>,
    /// Where the orientation's value sits in the TIFF block, so a kept copy
    /// can be reset to 1 in place.
    pub(crate) orientation_at: Option<usize>,
    pub(crate) gps: bool,
    pub(crate) maker_note: bool,
    pub(crate) serial: bool,
    pub(crate) thumbnail: bool,
}

impl ExifInfo {
    /// The metadata kinds this block holds, `Exif` first.
    pub(crate) fn kinds(&self) -> Vec<Metadata> {
        let mut kinds = vec![Metadata::Exif];
        for (present, kind) in [
            (self.gps, Metadata::Gps),
            (self.maker_note, Metadata::MakerNote),
            (self.serial, Metadata::SerialNumber),
            (self.thumbnail, Metadata::Thumbnail),
        ] {
            if present {
                kinds.push(kind);
            }
        }
        kinds
    }
}

/// Removes the `Exif\0\0` prefix that JPEG APP1 segments (and some WebP
/// writers) put before the TIFF header.
pub(crate) fn tiff_block(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"Exif\0\0").unwrap_or(data)
}

const TAG_ORIENTATION: u16 = 0x0112;
const TAG_EXIF_IFD: u16 = 0x8769;
const TAG_GPS_IFD: u16 = 0x8825;
const TAG_MAKER_NOTE: u16 = 0x927C;
const TAG_IMAGE_UNIQUE_ID: u16 = 0xA420;
const TAG_BODY_SERIAL: u16 = 0xA431;
const TAG_LENS_SERIAL: u16 = 0xA435;
/// A camera's private serial-number tag in IFD0, written by some makers.
const TAG_CAMERA_SERIAL: u16 = 0xC62F;
const TYPE_SHORT: u16 = 3;

/// Reads a TIFF block. Returns `None` when it has no valid TIFF header;
/// damaged IFDs further in are skipped, never followed out of bounds.
/// Only IFD0, its next IFD (the thumbnail's), the EXIF IFD and the GPS IFD
/// are visited, each once, so the work is bounded by the block's length.
pub(crate) fn parse(tiff: &[u8]) -> Option<ExifInfo> {
    let little = match tiff.get(..4)? {
        [b'I', b'I', 42, 0] => true,
        [b'M', b'M', 0, 42] => false,
        _ => return None,
    };
    let r = Reader { data: tiff, little };
    let mut info = ExifInfo::default();
    let ifd0 = r.u32(4)? as usize;
    let Some(entries) = r.entries(ifd0) else {
        return Some(info);
    };
    let mut exif_ifd = None;
    for e in entries {
        match e.tag {
            TAG_ORIENTATION if e.kind == TYPE_SHORT && e.count >= 1 => {
                info.orientation = r.u16(e.value_at);
                info.orientation_at = Some(e.value_at);
            }
            TAG_GPS_IFD => {
                // A GPS IFD with no entries carries no position.
                let at = r.u32(e.value_at).unwrap_or(0) as usize;
                info.gps = at != 0 && r.u16(at).is_none_or(|n| n > 0);
            }
            TAG_EXIF_IFD => exif_ifd = r.u32(e.value_at).map(|v| v as usize),
            TAG_CAMERA_SERIAL => info.serial = true,
            _ => {}
        }
    }
    if let Some(at) = exif_ifd
        && let Some(entries) = r.entries(at)
    {
        for e in entries {
            match e.tag {
                TAG_MAKER_NOTE => info.maker_note = true,
                TAG_BODY_SERIAL | TAG_LENS_SERIAL | TAG_IMAGE_UNIQUE_ID => info.serial = true,
                _ => {}
            }
        }
    }
    // IFD1, when present, describes the embedded thumbnail.
    if let Some(next) = r.next_ifd(ifd0) {
        info.thumbnail = next != 0 && r.u16(next).is_some_and(|n| n > 0);
    }
    Some(info)
}

/// Sets the orientation in a TIFF block to 1 (upright), in place, for a
/// kept EXIF copy whose pixels were rotated.
pub(crate) fn set_orientation_normal(tiff: &mut [u8], info: &ExifInfo) {
    let Some(at) = info.orientation_at else {
        return;
    };
    let little = tiff.first() == Some(&b'I');
    if let Some(slot) = tiff.get_mut(at..at + 2) {
        slot.copy_from_slice(&if little {
            1u16.to_le_bytes()
        } else {
            1u16.to_be_bytes()
        });
    }
}

struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    /// Offset of the 4-byte value (or value offset) field.
    value_at: usize,
}

struct Reader<'a> {
    data: &'a [u8],
    little: bool,
}

impl Reader<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    /// The entries of the IFD at `at`, cut to those inside the block.
    fn entries(&self, at: usize) -> Option<impl Iterator<Item = Entry> + '_> {
        let count = usize::from(self.u16(at)?);
        let first = at + 2;
        let fit = self.data.len().saturating_sub(first) / 12;
        Some((0..count.min(fit)).filter_map(move |i| {
            let e = first + 12 * i;
            Some(Entry {
                tag: self.u16(e)?,
                kind: self.u16(e + 2)?,
                count: self.u32(e + 4)?,
                value_at: e + 8,
            })
        }))
    }

    /// The offset of the IFD after the one at `at`.
    fn next_ifd(&self, at: usize) -> Option<usize> {
        let count = usize::from(self.u16(at)?);
        self.u32(at + 2 + 12 * count).map(|v| v as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian TIFF block: IFD0 with orientation 6 and a GPS
    /// pointer, a GPS IFD with one entry.
    fn sample(little: bool) -> Vec<u8> {
        let mut t = Vec::new();
        let w16 = |t: &mut Vec<u8>, v: u16| {
            t.extend(if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            })
        };
        let w32 = |t: &mut Vec<u8>, v: u32| {
            t.extend(if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            })
        };
        t.extend(if little { *b"II*\0" } else { *b"MM\0*" });
        w32(&mut t, 8);
        w16(&mut t, 2);
        w16(&mut t, TAG_ORIENTATION);
        w16(&mut t, TYPE_SHORT);
        w32(&mut t, 1);
        w16(&mut t, 6);
        w16(&mut t, 0);
        w16(&mut t, TAG_GPS_IFD);
        w16(&mut t, 4);
        w32(&mut t, 1);
        w32(&mut t, 38);
        w32(&mut t, 0);
        assert_eq!(t.len(), 38);
        w16(&mut t, 1);
        w16(&mut t, 0);
        w16(&mut t, 1);
        w32(&mut t, 2);
        t.extend(*b"N\0\0\0");
        w32(&mut t, 0);
        t
    }

    #[test]
    fn reads_orientation_and_gps_in_both_byte_orders() {
        for little in [true, false] {
            let mut t = sample(little);
            let info = parse(&t).unwrap();
            assert_eq!(info.orientation, Some(6));
            assert!(info.gps && !info.maker_note && !info.thumbnail);
            set_orientation_normal(&mut t, &info);
            assert_eq!(parse(&t).unwrap().orientation, Some(1));
        }
    }

    #[test]
    fn survives_every_truncation_and_garbage() {
        let t = sample(true);
        for n in 0..t.len() {
            let _ = parse(&t[..n]);
        }
        assert!(parse(b"not tiff").is_none());
        let mut bad = t.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&bad), Some(ExifInfo::default()));
    }
}
