//! JPEG structure on the core's segment walk: the frame, the metadata and the end of the image, and a lossless metadata stripper built on it.

use wxmedia_proto::media::{JpegSegment, JpegSegments};

use crate::Format;
use crate::error::{FitError, walk_error};
use crate::exif;
use crate::probe::HeaderInfo;
use crate::report::{Dims, Metadata};

mod scan;

pub(crate) use scan::check_scans;

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
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    Keep,
    Drop(Metadata),
    /// Keep the segment with this shorter payload: what the decoder needs
    /// of it, without the bytes a writer (or anyone) put after that.
    Shorten(Vec<u8>, Metadata),
}

/// One marker segment, as the core's walk finds it. For SOS, `end`
/// includes the entropy-coded data that follows, up to the next marker.
pub(crate) type Segment = JpegSegment;

/// Walks the segments from SOI to EOI with the core's walk (the same
/// rules as the upload's completeness check), calling `visit` for each.
/// Returns the offset just after EOI. Data that stops before EOI is
/// `Truncated`: decoders that paint the missing part grey would otherwise
/// upload half a photo. A second SOI or a length under 2 is `Corrupt`.
fn walk(
    bytes: &[u8],
    mut visit: impl FnMut(&Segment) -> Result<(), FitError>,
) -> Result<usize, FitError> {
    for segment in JpegSegments::new(bytes) {
        let segment = segment.map_err(|e| walk_error(Format::Jpeg, e))?;
        if segment.marker == EOI {
            return Ok(segment.end);
        }
        visit(&segment)?;
    }
    Err(FitError::Truncated {
        format: Format::Jpeg,
    })
}

/// The fixed part of a JFIF APP0 payload: `JFIF\0`, version, units,
/// densities and the thumbnail size (set to 0×0 when kept).
const JFIF_LEN: usize = 14;
/// Adobe's APP14 payload: `Adobe`, version, two flag words, the transform.
const ADOBE_LEN: usize = 12;

/// Classifies a segment: kept (image data, tables, JFIF and Adobe headers,
/// a real ICC profile) or removable metadata of some kind. Anything not
/// needed to decode is dropped, so nothing can hide in it: JFIF
/// thumbnails and trailing bytes, an Adobe segment's tail, an
/// `ICC_PROFILE` that is no profile (`icc_ok` false), JPG0-13 and
/// reserved markers.
fn fate(marker: u8, payload: &[u8], icc_ok: bool) -> Fate {
    match marker {
        APP0 if payload.starts_with(b"JFIF\0") => {
            if payload.len() <= JFIF_LEN && payload.get(12..14).is_none_or(|t| t == [0, 0]) {
                Fate::Keep
            } else {
                let mut header = payload[..JFIF_LEN.min(payload.len())].to_vec();
                header.truncate(12);
                header.extend_from_slice(&[0, 0]);
                Fate::Shorten(header, Metadata::Vendor)
            }
        }
        APP1 if payload.starts_with(b"Exif\0") => Fate::Drop(Metadata::Exif),
        APP1 if payload.starts_with(XMP_ID) || payload.starts_with(XMP_EXT_ID) => {
            Fate::Drop(Metadata::Xmp)
        }
        APP2 if payload.starts_with(ICC_ID) => {
            if icc_ok {
                Fate::Keep
            } else {
                Fate::Drop(Metadata::Icc)
            }
        }
        APP13 if payload.starts_with(b"Photoshop 3.0\0") => Fate::Drop(Metadata::Iptc),
        // Adobe's APP14 says whether the channels are YCbCr, RGB or YCCK:
        // without it the colours may decode wrong.
        APP14 if payload.starts_with(b"Adobe") => {
            if payload.len() <= ADOBE_LEN {
                Fate::Keep
            } else {
                Fate::Shorten(payload[..ADOBE_LEN].to_vec(), Metadata::Vendor)
            }
        }
        APP0..=APP15 => Fate::Drop(Metadata::Vendor),
        COM => Fate::Drop(Metadata::Comment),
        // Frames, tables, scans, restart interval, DNL, and the
        // hierarchical DHP/EXP: what decoding reads.
        0xC0..=0xC7 | 0xC9..=0xCF | SOS | DQT | 0xDC..=0xDF => Fate::Keep,
        // JPG (0xC8), JPG0-13 (0xF0-0xFD) and the reserved markers: no
        // decoder reads them, so they could carry anything.
        _ => Fate::Drop(Metadata::Vendor),
    }
}

const ICC_ID: &[u8] = b"ICC_PROFILE\0";

/// Whether the `ICC_PROFILE` segments, put in sequence order, form one
/// real ICC profile (see [`icc_is_profile`](crate::probe::icc_is_profile)).
/// `true` when there are none.
fn icc_ok(bytes: &[u8]) -> bool {
    let mut chunks: Vec<(u8, &[u8])> = Vec::new();
    let walked = walk(bytes, |seg| {
        let payload = &bytes[seg.payload.clone()];
        if seg.marker == APP2
            && let Some(rest) = payload.strip_prefix(ICC_ID)
        {
            // Sequence number, count, then the profile's bytes.
            let seq = rest.first().copied().unwrap_or(0);
            chunks.push((seq, rest.get(2..).unwrap_or_default()));
        }
        Ok(())
    });
    if walked.is_err() {
        return false;
    }
    if chunks.is_empty() {
        return true;
    }
    chunks.sort_by_key(|c| c.0);
    let profile: Vec<u8> = chunks.iter().flat_map(|c| c.1.iter().copied()).collect();
    crate::probe::icc_is_profile(&profile)
}

/// Whether bytes after EOI are more than padding.
fn is_trailer(rest: &[u8]) -> bool {
    rest.iter().any(|&b| b != 0 && b != 0xFF)
}

/// Walks the whole JPEG: dimensions, metadata, ICC, estimated quality.
pub(crate) fn parse(bytes: &[u8]) -> Result<HeaderInfo, FitError> {
    let mut info = HeaderInfo::default();
    let icc_ok = icc_ok(bytes);
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
                // zune-jpeg writes grey or RGB directly; a progressive
                // frame also keeps every coefficient (2 bytes each) until
                // its last scan.
                let components = payload[5];
                let colour = components >= 3;
                let progressive = matches!(seg.marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                let native = if colour { 3.0 } else { 1.0 }
                    + if progressive {
                        2.0 * f64::from(components)
                    } else {
                        0.0
                    };
                info.layout = crate::cost::Layout::flattened(native, colour, false, true);
                info.jpeg_frame = Some(crate::probe::JpegFrame {
                    components,
                    progressive,
                });
                if progressive {
                    // The scan check's map: 8 bytes a block and component
                    // (blocks rounded up at the edges).
                    info.layout.check = f64::from(components) / 8.0 * 1.25;
                }
                // The decoder reads 8-bit Huffman-coded sequential and
                // progressive frames (SOF0-2); the others would pass
                // unchecked.
                info.undecodable = match seg.marker {
                    0xC3 | 0xC7 | 0xCB | 0xCF => Some("a lossless JPEG"),
                    0xC5 | 0xC6 | 0xCD | 0xCE => Some("a hierarchical JPEG"),
                    0xC9..=0xCB => Some("an arithmetic-coded JPEG"),
                    _ if payload[0] != 8 => Some(match payload[0] {
                        12 => "a 12-bit JPEG",
                        16 => "a 16-bit JPEG",
                        _ => "a JPEG of an unusual sample precision",
                    }),
                    _ if !matches!(payload[5], 1..=4) => {
                        Some("a JPEG of an unusual number of components")
                    }
                    _ => None,
                };
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
        match fate(seg.marker, payload, icc_ok) {
            Fate::Keep => {
                if seg.marker == APP2 {
                    info.icc = true;
                }
            }
            Fate::Shorten(_, kind) => info.found([kind]),
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
/// data, tables and a real ICC profile copied byte for byte, JFIF and
/// Adobe segments cut to their fixed headers.
pub(crate) fn strip(bytes: &[u8]) -> Result<Vec<u8>, FitError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let icc_ok = icc_ok(bytes);
    walk(bytes, |seg| {
        match fate(seg.marker, &bytes[seg.payload.clone()], icc_ok) {
            Fate::Keep => out.extend_from_slice(&bytes[seg.start..seg.end]),
            Fate::Shorten(payload, _) => {
                out.extend_from_slice(&[0xFF, seg.marker]);
                out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
                out.extend_from_slice(&payload);
            }
            Fate::Drop(_) => {}
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

    /// The smallest ICC profile the check accepts: a 128-byte header
    /// declaring its size, with the `acsp` signature.
    fn icc_segment() -> Vec<u8> {
        let mut profile = vec![0u8; 128];
        profile[..4].copy_from_slice(&128u32.to_be_bytes());
        profile[36..40].copy_from_slice(b"acsp");
        seg(APP2, &[&b"ICC_PROFILE\0\x01\x01"[..], &profile].concat())
    }

    #[test]
    fn finds_metadata_and_strips_it_keeping_image_data() {
        let jpeg = skeleton(&[
            seg(APP1, b"Exif\0\0II*\0\x08\0\0\0\0\0\0\0\0\0"),
            seg(APP1, &[XMP_ID, b"<x/>"].concat()),
            icc_segment(),
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
        assert_eq!(stripped, skeleton(&[icc_segment()]));
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
