//! PNG structure: a chunk walker for dimensions, animation, metadata and
//! the end of the image, and a lossless metadata stripper built on it.

use crate::Format;
use crate::error::FitError;
use crate::exif;
use crate::probe::HeaderInfo;
use crate::report::{Dims, Metadata};

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// What stripping does with a chunk.
fn removable(kind: &[u8; 4]) -> Option<Metadata> {
    match kind {
        b"tEXt" | b"zTXt" | b"tIME" => Some(Metadata::Text),
        b"iTXt" => Some(Metadata::Text),
        b"eXIf" => Some(Metadata::Exif),
        // Critical chunks, and the ancillary chunks that change how the
        // pixels look (transparency, colour space, gamma, density,
        // background, HDR), are kept.
        b"IHDR" | b"PLTE" | b"IDAT" | b"IEND" | b"tRNS" | b"gAMA" | b"cHRM" | b"sRGB" | b"iCCP"
        | b"sBIT" | b"pHYs" | b"bKGD" | b"cICP" | b"mDCV" | b"cLLI" | b"acTL" | b"fcTL"
        | b"fdAT" => None,
        // Any other ancillary chunk (lowercase first letter) is safe to drop
        // by the PNG specification: private data such as Apple's `iDOT` or
        // provenance manifests.
        k if k[0].is_ascii_lowercase() => Some(Metadata::Vendor),
        _ => None,
    }
}

struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
    /// The whole chunk: length, type, data and CRC.
    raw: &'a [u8],
}

/// Walks the chunks up to IEND; returns the offset after it. Chunks are not
/// checked against their CRC here (the decoder does that); a chunk longer
/// than the data is `Truncated`.
fn walk<'a>(
    bytes: &'a [u8],
    mut visit: impl FnMut(&Chunk<'a>) -> Result<(), FitError>,
) -> Result<usize, FitError> {
    let truncated = || FitError::Truncated {
        format: Format::Png,
    };
    if !bytes.starts_with(SIGNATURE) {
        return Err(truncated());
    }
    let mut pos = SIGNATURE.len();
    loop {
        let head = bytes.get(pos..pos + 8).ok_or_else(truncated)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if len > 0x7FFF_FFFF {
            return Err(FitError::corrupt(Format::Png, "a chunk length over 2^31"));
        }
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        let end = (pos + 12).checked_add(len).ok_or_else(truncated)?;
        let raw = bytes.get(pos..end).ok_or_else(truncated)?;
        visit(&Chunk {
            kind,
            data: &raw[8..8 + len],
            raw,
        })?;
        pos = end;
        if &kind == b"IEND" {
            return Ok(pos);
        }
    }
}

/// Walks the whole PNG: dimensions, animation, metadata, ICC.
pub(crate) fn parse(bytes: &[u8]) -> Result<HeaderInfo, FitError> {
    let mut info = HeaderInfo::default();
    let mut first = true;
    let end = walk(bytes, |chunk| {
        if std::mem::take(&mut first) && &chunk.kind != b"IHDR" {
            return Err(FitError::corrupt(
                Format::Png,
                "the first chunk is not IHDR",
            ));
        }
        match &chunk.kind {
            b"IHDR" => {
                let d = chunk.data;
                if d.len() != 13 {
                    return Err(FitError::corrupt(
                        Format::Png,
                        "an IHDR chunk that is not 13 bytes",
                    ));
                }
                let width = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
                let height = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
                if width == 0 || height == 0 {
                    return Err(FitError::corrupt(
                        Format::Png,
                        "an image of zero width or height",
                    ));
                }
                info.dims = Some(Dims::new(width, height));
            }
            // An APNG: `acTL` names the frame count. One frame is a still image.
            b"acTL" if chunk.data.len() >= 4 => {
                let frames = u32::from_be_bytes([
                    chunk.data[0],
                    chunk.data[1],
                    chunk.data[2],
                    chunk.data[3],
                ]);
                if frames > 1 {
                    info.frames = Some(frames);
                }
            }
            b"iCCP" => info.icc = true,
            b"eXIf" if info.exif.is_none() => {
                let tiff = exif::tiff_block(chunk.data);
                let parsed = exif::parse(tiff).unwrap_or_default();
                info.found(parsed.kinds());
                info.exif = Some(parsed);
                let at = tiff.as_ptr() as usize - bytes.as_ptr() as usize;
                info.exif_at = Some(at..at + tiff.len());
            }
            b"iTXt" if chunk.data.starts_with(b"XML:com.adobe.xmp\0") => {
                info.found([Metadata::Xmp])
            }
            kind => {
                if let Some(m) = removable(kind) {
                    info.found([m]);
                }
            }
        }
        Ok(())
    })?;
    if bytes[end..].iter().any(|&b| b != 0) {
        info.found([Metadata::Trailer]);
    }
    info.metadata.sort();
    Ok(info)
}

/// The input with every removable chunk and any trailer dropped; the rest
/// copied byte for byte (so their CRCs stay valid).
pub(crate) fn strip(bytes: &[u8]) -> Result<Vec<u8>, FitError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(SIGNATURE);
    walk(bytes, |chunk| {
        if removable(&chunk.kind).is_none() {
            out.extend_from_slice(chunk.raw);
        }
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut v = (data.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(data);
        v.extend_from_slice(&[0, 0, 0, 0]);
        v
    }

    fn png(extra: &[Vec<u8>]) -> Vec<u8> {
        let mut v = SIGNATURE.to_vec();
        v.extend(chunk(b"IHDR", &[0, 0, 0, 7, 0, 0, 0, 5, 8, 2, 0, 0, 0]));
        for e in extra {
            v.extend_from_slice(e);
        }
        v.extend(chunk(b"IDAT", b"data"));
        v.extend(chunk(b"IEND", b""));
        v
    }

    #[test]
    fn finds_text_exif_and_animation_and_strips_text() {
        let p = png(&[
            chunk(b"tEXt", b"Comment\0hi"),
            chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x/>"),
            chunk(b"iCCP", b"p\0\0z"),
            chunk(b"acTL", &[0, 0, 0, 3, 0, 0, 0, 0]),
        ]);
        let info = parse(&p).unwrap();
        assert_eq!(info.dims, Some(Dims::new(7, 5)));
        assert_eq!(info.frames, Some(3));
        assert!(info.icc);
        assert_eq!(info.metadata, [Metadata::Xmp, Metadata::Text]);
        let stripped = strip(&p).unwrap();
        assert_eq!(
            stripped,
            png(&[
                chunk(b"iCCP", b"p\0\0z"),
                chunk(b"acTL", &[0, 0, 0, 3, 0, 0, 0, 0])
            ])
        );
    }

    #[test]
    fn every_truncation_is_refused() {
        let p = png(&[]);
        for n in 0..p.len() {
            assert!(parse(&p[..n]).is_err(), "accepted {n} bytes");
        }
    }
}
