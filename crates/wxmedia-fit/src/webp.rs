//! WebP structure: the RIFF chunks that give dimensions, animation and
//! metadata. WebP is always converted, so nothing here rewrites it.

use crate::Format;
use crate::cost::Layout;
use crate::error::FitError;
use crate::exif;
use crate::probe::HeaderInfo;
use crate::report::{Dims, Metadata};

fn le24(b: &[u8]) -> u32 {
    u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16
}

/// Walks the RIFF container: the first chunk gives the dimensions (simple
/// lossy `VP8 `, lossless `VP8L`, or extended `VP8X`), later ones the
/// animation frames and metadata.
pub(crate) fn parse(bytes: &[u8]) -> Result<HeaderInfo, FitError> {
    let truncated = || FitError::Truncated {
        format: Format::WebP,
    };
    let corrupt = |why| FitError::corrupt(Format::WebP, why);
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Err(truncated());
    }
    let riff_len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    // The RIFF size counts from the `WEBP` tag on, so it is at least 4;
    // below that the container ends before its own tag (and `12..end`
    // would be a reversed range).
    if riff_len < 4 {
        return Err(corrupt(
            "a RIFF size below 4, smaller than its own WEBP tag",
        ));
    }
    let end = riff_len.checked_add(8).ok_or_else(truncated)?;
    let body = bytes.get(12..end).ok_or_else(truncated)?;
    let mut info = HeaderInfo::default();
    let mut animated = false;
    let mut frames = 0u32;
    let mut pos = 0;
    let mut first = true;
    while pos < body.len() {
        let head = body.get(pos..pos + 8).ok_or_else(truncated)?;
        let kind: [u8; 4] = [head[0], head[1], head[2], head[3]];
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let data = body
            .get(pos + 8..(pos + 8).saturating_add(len))
            .ok_or_else(truncated)?;
        // Chunks are padded to an even length.
        pos = pos + 8 + len + (len & 1);
        if std::mem::take(&mut first) {
            info.dims = Some(match &kind {
                b"VP8 " => {
                    if data.len() < 10 || data[3..6] != [0x9D, 0x01, 0x2A] {
                        return Err(corrupt("a VP8 frame header without its start code"));
                    }
                    // RGB out, YUV planes (1.5 bytes a pixel) inside.
                    info.layout = Layout::flattened(3.0 + 1.5, true, false, true);
                    let w = u32::from(u16::from_le_bytes([data[6], data[7]]) & 0x3FFF);
                    let h = u32::from(u16::from_le_bytes([data[8], data[9]]) & 0x3FFF);
                    Dims::new(w, h)
                }
                b"VP8L" => {
                    if data.len() < 5 || data[0] != 0x2F {
                        return Err(corrupt("a VP8L header without its signature"));
                    }
                    let b = u32::from_le_bytes([data[1], data[2], data[3], data[4]]);
                    // The lossless decoder works in 4 bytes a pixel, then
                    // writes RGB or RGBA.
                    let alpha = b & (1 << 28) != 0;
                    info.layout =
                        Layout::flattened(4.0 + if alpha { 4.0 } else { 3.0 }, true, alpha, true);
                    Dims::new((b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1)
                }
                b"VP8X" => {
                    if data.len() < 10 {
                        return Err(corrupt("a VP8X chunk shorter than 10 bytes"));
                    }
                    animated = data[0] & 0x02 != 0;
                    // The codec is in a later chunk: count the dearer
                    // (lossless, with the lossy planes on top).
                    let alpha = data[0] & 0x10 != 0;
                    info.layout = Layout::flattened(
                        4.0 + 1.5 + if alpha { 4.0 } else { 3.0 },
                        true,
                        alpha,
                        true,
                    );
                    Dims::new(le24(&data[4..7]) + 1, le24(&data[7..10]) + 1)
                }
                _ => return Err(corrupt("the first chunk is not VP8, VP8L or VP8X")),
            });
            continue;
        }
        match &kind {
            b"ANIM" => animated = true,
            b"ANMF" => frames = frames.saturating_add(1),
            b"ICCP" => info.icc = true,
            b"EXIF" if info.exif.is_none() => {
                let tiff = exif::tiff_block(data);
                let parsed = exif::parse(tiff).unwrap_or_default();
                info.found(parsed.kinds());
                info.exif = Some(parsed);
                let at = tiff.as_ptr() as usize - bytes.as_ptr() as usize;
                info.exif_at = Some(at..at + tiff.len());
            }
            b"XMP " => info.found([Metadata::Xmp]),
            b"VP8 " | b"VP8L" | b"ALPH" | b"EXIF" => {}
            _ => info.found([Metadata::Vendor]),
        }
    }
    let Some(dims) = info.dims else {
        return Err(corrupt("no image chunk"));
    };
    if dims.width == 0 || dims.height == 0 {
        return Err(corrupt("an image of zero width or height"));
    }
    if animated || frames > 1 {
        info.frames = Some(frames);
    }
    info.metadata.sort();
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut v = kind.to_vec();
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        if data.len() % 2 == 1 {
            v.push(0);
        }
        v
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut v = b"RIFF".to_vec();
        v.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
        v.extend_from_slice(b"WEBP");
        v.extend(body);
        v
    }

    #[test]
    fn reads_each_header_kind_and_animation() {
        let lossy = riff(&[chunk(b"VP8 ", &[0, 0, 0, 0x9D, 0x01, 0x2A, 100, 0, 50, 0])]);
        assert_eq!(parse(&lossy).unwrap().dims, Some(Dims::new(100, 50)));
        let b: u32 = 99 | (49 << 14);
        let lossless = riff(&[chunk(b"VP8L", &[&[0x2F][..], &b.to_le_bytes()].concat())]);
        assert_eq!(parse(&lossless).unwrap().dims, Some(Dims::new(100, 50)));
        let anim = riff(&[
            chunk(b"VP8X", &[0x02, 0, 0, 0, 99, 0, 0, 49, 0, 0]),
            chunk(b"ANIM", &[0; 6]),
            chunk(b"ANMF", &[0; 16]),
            chunk(b"ANMF", &[0; 16]),
            chunk(b"XMP ", b"<x/>"),
        ]);
        let info = parse(&anim).unwrap();
        assert_eq!(
            (info.dims, info.frames),
            (Some(Dims::new(100, 50)), Some(2))
        );
        assert_eq!(info.metadata, [Metadata::Xmp]);
    }

    #[test]
    fn every_truncation_is_refused() {
        let lossy = riff(&[chunk(b"VP8 ", &[0, 0, 0, 0x9D, 0x01, 0x2A, 100, 0, 50, 0])]);
        for n in 0..lossy.len() {
            assert!(parse(&lossy[..n]).is_err(), "accepted {n} bytes");
        }
    }
}
