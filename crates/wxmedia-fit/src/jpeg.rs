//! JPEG structure: a segment walker that finds the frame, the metadata and
//! the end of the image, and a lossless metadata stripper built on it.

use std::ops::Range;

use crate::Format;
use crate::error::FitError;
use crate::exif;
use crate::probe::HeaderInfo;
use crate::report::{Dims, Metadata};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const DQT: u8 = 0xDB;
const COM: u8 = 0xFE;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP13: u8 = 0xED;
const APP14: u8 = 0xEE;
const APP15: u8 = 0xEF;

const XMP_ID: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXT_ID: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";

/// What to do with a segment when metadata is stripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Keep,
    Drop(Metadata),
}

/// One marker segment. For SOS, `end` includes the entropy-coded data that
/// follows, up to the next marker.
struct Segment {
    marker: u8,
    start: usize,
    payload: Range<usize>,
    end: usize,
}

/// Walks the segments from SOI to EOI, calling `visit` for each. Returns the
/// offset just after EOI. Data that stops before EOI is `Truncated`:
/// decoders that paint the missing part grey would otherwise upload half a
/// photo. Garbage bytes between segments, stray stuffing and restart
/// markers outside a scan are skipped, as libjpeg does.
fn walk(
    bytes: &[u8],
    mut visit: impl FnMut(&Segment) -> Result<(), FitError>,
) -> Result<usize, FitError> {
    let truncated = || FitError::Truncated {
        format: Format::Jpeg,
    };
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != SOI {
        return Err(truncated());
    }
    let mut pos = 2;
    loop {
        // Find the next 0xFF, then skip fill bytes.
        let skip = bytes[pos..]
            .iter()
            .position(|&b| b == 0xFF)
            .ok_or_else(truncated)?;
        let start = pos + skip;
        let mut at = start;
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at).ok_or_else(truncated)?;
        match marker {
            EOI => return Ok(at + 1),
            SOI => {
                return Err(FitError::corrupt(
                    Format::Jpeg,
                    "a second start-of-image marker",
                ));
            }
            0x00 | 0x01 | 0xD0..=0xD7 => pos = at + 1,
            _ => {
                let len = bytes.get(at + 1..at + 3).ok_or_else(truncated)?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                if len < 2 {
                    return Err(FitError::corrupt(Format::Jpeg, "a segment length below 2"));
                }
                let payload = at + 3..at + 1 + len;
                if payload.end > bytes.len() {
                    return Err(truncated());
                }
                let end = if marker == SOS {
                    scan_end(bytes, payload.end).ok_or_else(truncated)?
                } else {
                    payload.end
                };
                visit(&Segment {
                    marker,
                    start,
                    payload,
                    end,
                })?;
                pos = end;
            }
        }
    }
}

/// The offset of the first marker after entropy-coded data starting at
/// `from`: an 0xFF followed by neither a stuffed 0x00 nor a restart marker.
fn scan_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        i += bytes.get(i..)?.iter().position(|&b| b == 0xFF)?;
        match *bytes.get(i + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => i += 1,
            _ => return Some(i),
        }
    }
}

/// Classifies a segment: kept (image data, JFIF, ICC, Adobe colour
/// transform) or removable metadata of some kind.
fn fate(marker: u8, payload: &[u8]) -> Fate {
    match marker {
        APP0 if payload.starts_with(b"JFIF\0") => Fate::Keep,
        APP1 if payload.starts_with(b"Exif\0") => Fate::Drop(Metadata::Exif),
        APP1 if payload.starts_with(XMP_ID) || payload.starts_with(XMP_EXT_ID) => {
            Fate::Drop(Metadata::Xmp)
        }
        APP2 if payload.starts_with(b"ICC_PROFILE\0") => Fate::Keep,
        APP13 if payload.starts_with(b"Photoshop 3.0\0") => Fate::Drop(Metadata::Iptc),
        // Adobe's APP14 says whether the channels are YCbCr, RGB or YCCK:
        // without it the colours may decode wrong.
        APP14 if payload.starts_with(b"Adobe") => Fate::Keep,
        APP0..=APP15 => Fate::Drop(Metadata::Vendor),
        COM => Fate::Drop(Metadata::Comment),
        _ => Fate::Keep,
    }
}

/// Whether bytes after EOI are more than padding.
fn is_trailer(rest: &[u8]) -> bool {
    rest.iter().any(|&b| b != 0 && b != 0xFF)
}

/// Walks the whole JPEG: dimensions, metadata, ICC, estimated quality.
pub(crate) fn parse(bytes: &[u8]) -> Result<HeaderInfo, FitError> {
    let mut info = HeaderInfo::default();
    let end = walk(bytes, |seg| {
        let payload = &bytes[seg.payload.clone()];
        match seg.marker {
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF if info.dims.is_none() => {
                if payload.len() < 6 {
                    return Err(FitError::corrupt(
                        Format::Jpeg,
                        "a frame header shorter than 6 bytes",
                    ));
                }
                let height = u32::from(u16::from_be_bytes([payload[1], payload[2]]));
                let width = u32::from(u16::from_be_bytes([payload[3], payload[4]]));
                if width == 0 || height == 0 {
                    return Err(FitError::corrupt(
                        Format::Jpeg,
                        "a frame of zero width or height",
                    ));
                }
                info.dims = Some(Dims::new(width, height));
            }
            DQT if info.quality.is_none() => info.quality = luma_quality(payload),
            SOS if info.dims.is_none() => {
                return Err(FitError::corrupt(
                    Format::Jpeg,
                    "a scan before the frame header",
                ));
            }
            _ => {}
        }
        match fate(seg.marker, payload) {
            Fate::Keep => {
                if seg.marker == APP2 {
                    info.icc = true;
                }
            }
            Fate::Drop(Metadata::Exif) => {
                if info.exif.is_none() {
                    // After the 6-byte `Exif\0\0` identifier.
                    let tiff_at = seg.payload.start + 6..seg.payload.end;
                    let parsed = exif::parse(exif::tiff_block(payload)).unwrap_or_default();
                    info.found(parsed.kinds());
                    info.exif = Some(parsed);
                    info.exif_at = Some(tiff_at);
                } else {
                    info.found([Metadata::Exif]);
                }
            }
            Fate::Drop(Metadata::Xmp) => {
                if info.xmp_at.is_none() && payload.starts_with(XMP_ID) {
                    info.xmp_at = Some(seg.payload.start + XMP_ID.len()..seg.payload.end);
                }
                info.found([Metadata::Xmp]);
            }
            Fate::Drop(kind) => info.found([kind]),
        }
        Ok(())
    })?;
    if info.dims.is_none() {
        return Err(FitError::corrupt(
            Format::Jpeg,
            "no frame header before the end of the image",
        ));
    }
    if is_trailer(&bytes[end..]) {
        info.found([Metadata::Trailer]);
    }
    info.metadata.sort();
    Ok(info)
}

/// The input with every removable segment and any trailer dropped; image
/// data, tables, JFIF, ICC and Adobe segments copied byte for byte.
pub(crate) fn strip(bytes: &[u8]) -> Result<Vec<u8>, FitError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, SOI]);
    walk(bytes, |seg| {
        if fate(seg.marker, &bytes[seg.payload.clone()]) == Fate::Keep {
            out.extend_from_slice(&bytes[seg.start..seg.end]);
        }
        Ok(())
    })?;
    out.extend_from_slice(&[0xFF, EOI]);
    Ok(out)
}

/// The IJG quality (1..=100) whose scaled Annex K luma table has the same
/// sum as the first 8-bit table with id 0 in a DQT payload. Tables from
/// other encoders land near the IJG quality of similar strength.
fn luma_quality(payload: &[u8]) -> Option<u8> {
    // The sum of ITU-T T.81 Annex K's luma table (the order does not matter).
    const ANNEX_K_LUMA_SUM: u32 = 3688;
    let mut rest = payload;
    while let Some((&pq_tq, tail)) = rest.split_first() {
        let wide = pq_tq >> 4 != 0;
        let size = if wide { 128 } else { 64 };
        let table = tail.get(..size)?;
        if pq_tq & 0x0F == 0 {
            let sum: u32 = if wide {
                table
                    .chunks_exact(2)
                    .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                    .sum()
            } else {
                table.iter().map(|&v| u32::from(v)).sum()
            };
            // IJG scales by `scale`% (q < 50: 5000/q, else 200 - 2q).
            let scale = f64::from(sum) * 100.0 / f64::from(ANNEX_K_LUMA_SUM);
            let q = if scale <= 100.0 {
                (200.0 - scale) / 2.0
            } else {
                5000.0 / scale
            };
            return Some(q.round().clamp(1.0, 100.0) as u8);
        }
        rest = &tail[size..];
    }
    None
}

/// Sets `tiff:Orientation` to 1 in an XMP packet, in place (attribute or
/// element form), so a kept XMP copy agrees with the rotated pixels.
pub(crate) fn xmp_set_orientation_normal(xmp: &mut [u8]) {
    for needle in [&b"tiff:Orientation=\""[..], &b"tiff:Orientation>"[..]] {
        let mut from = 0;
        while let Some(i) = find(&xmp[from..], needle) {
            let digit = from + i + needle.len();
            if let Some(d) = xmp.get_mut(digit)
                && d.is_ascii_digit()
            {
                *d = b'1';
            }
            from = digit;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, marker];
        v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    /// A structurally valid JPEG skeleton (not decodable: no tables), with
    /// the given extra segments after SOI.
    fn skeleton(extra: &[Vec<u8>]) -> Vec<u8> {
        let mut v = vec![0xFF, SOI];
        v.extend(seg(APP0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        for e in extra {
            v.extend_from_slice(e);
        }
        v.extend(seg(0xC0, &[8, 0, 16, 0, 32, 1, 1, 0x11, 0]));
        v.extend(seg(SOS, &[1, 1, 0, 0, 63, 0]));
        v.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        v.extend_from_slice(&[0xFF, EOI]);
        v
    }

    #[test]
    fn finds_metadata_and_strips_it_keeping_image_data() {
        let jpeg = skeleton(&[
            seg(APP1, b"Exif\0\0II*\0\x08\0\0\0\0\0\0\0\0\0"),
            seg(APP1, &[XMP_ID, b"<x/>"].concat()),
            seg(APP2, b"ICC_PROFILE\0\x01\x01abc"),
            seg(COM, b"hello"),
            seg(0xE5, b"maker"),
        ]);
        let info = parse(&jpeg).unwrap();
        assert_eq!(info.dims, Some(Dims::new(32, 16)));
        assert!(info.icc);
        assert_eq!(
            info.metadata,
            [
                Metadata::Exif,
                Metadata::Xmp,
                Metadata::Comment,
                Metadata::Vendor
            ]
        );
        let stripped = strip(&jpeg).unwrap();
        assert_eq!(
            stripped,
            skeleton(&[seg(APP2, b"ICC_PROFILE\0\x01\x01abc")])
        );
        assert!(parse(&stripped).unwrap().metadata.is_empty());
    }

    #[test]
    fn every_truncation_is_refused() {
        let jpeg = skeleton(&[]);
        for n in 0..jpeg.len() - 1 {
            assert!(parse(&jpeg[..n]).is_err(), "accepted {n} bytes");
        }
    }

    #[test]
    fn trailing_data_is_metadata_but_padding_is_not() {
        let mut jpeg = skeleton(&[]);
        jpeg.extend_from_slice(&[0, 0, 0xFF]);
        assert!(parse(&jpeg).unwrap().metadata.is_empty());
        jpeg.extend_from_slice(b"\xFF\xD8 a second image");
        assert_eq!(parse(&jpeg).unwrap().metadata, [Metadata::Trailer]);
        assert!(!strip(&jpeg).unwrap().ends_with(b"image"));
    }

    #[test]
    fn estimates_ijg_quality_from_the_luma_table() {
        const LUMA: [u8; 64] = [
            16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57,
            69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55,
            64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100,
            103, 99,
        ];
        assert_eq!(LUMA.iter().map(|&v| u32::from(v)).sum::<u32>(), 3688);
        for q in [50u32, 75, 85, 95] {
            let scale = 200 - 2 * q;
            let table: Vec<u8> = LUMA
                .iter()
                .map(|&v| ((u32::from(v) * scale + 50) / 100).clamp(1, 255) as u8)
                .collect();
            let got = luma_quality(&[&[0u8][..], &table].concat()).unwrap();
            assert!(u32::from(got).abs_diff(q) <= 1, "q={q} estimated {got}");
        }
    }

    #[test]
    fn xmp_orientation_is_reset() {
        let mut x = b"<r tiff:Orientation=\"6\"/><tiff:Orientation>8</tiff:Orientation>".to_vec();
        xmp_set_orientation_normal(&mut x);
        assert_eq!(
            x,
            b"<r tiff:Orientation=\"1\"/><tiff:Orientation>1</tiff:Orientation>"
        );
    }
}
