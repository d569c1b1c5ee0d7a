//! PNG structure on the core's chunk walk: dimensions, animation, metadata and the end of the image, and a lossless metadata stripper built on it.

use wxmedia_proto::media::{PNG_SIGNATURE, PngChunk, PngChunks};

use crate::Format;
use crate::cost::Layout;
use crate::error::{FitError, walk_error};
use crate::exif;
use crate::probe::HeaderInfo;
use crate::report::{Dims, Metadata};

const SIGNATURE: &[u8; 8] = &PNG_SIGNATURE;

/// What stripping does with a chunk of `len` data bytes.
fn removable(kind: &[u8; 4], len: usize) -> Option<Metadata> {
    match kind {
        b"tEXt" | b"zTXt" | b"tIME" => Some(Metadata::Text),
        b"iTXt" => Some(Metadata::Text),
        b"eXIf" => Some(Metadata::Exif),
        // Critical chunks, and the ancillary chunks that change how the
        // pixels look (transparency, colour space, gamma, density,
        // background, HDR), are kept, when their size is the one the
        // specification gives: bytes past it would be read by no decoder
        // and could carry anything.
        // (`iCCP` is judged by its content: see `iccp_profile`.)
        b"IHDR" | b"IDAT" | b"IEND" | b"iCCP" | b"fdAT" => None,
        b"PLTE" if len <= 768 && len.is_multiple_of(3) => None,
        b"tRNS" if len <= 256 => None,
        b"gAMA" | b"cICP" if len == 4 => None,
        b"cHRM" if len == 32 => None,
        b"sRGB" if len == 1 => None,
        b"sBIT" if len <= 4 => None,
        b"pHYs" if len == 9 => None,
        b"bKGD" if len <= 6 => None,
        b"mDCV" if len == 24 => None,
        b"cLLI" | b"acTL" if len == 8 => None,
        b"fcTL" if len == 26 => None,
        // Any other chunk is dropped. An ancillary one (lowercase first
        // letter) is safe to drop by the PNG specification: private data
        // such as Apple's `iDOT` or provenance manifests. An unknown
        // critical one makes standard decoders refuse the file, so no
        // image needs it; kept, it could carry anything.
        _ => Some(Metadata::Vendor),
    }
}

/// How the `image` crate's PNG decoder lays out the pixels: palettes
/// expanded to RGB, `tRNS` to an alpha channel, 16-bit samples kept as
/// 2 bytes; then flattened to 8-bit grey or RGB.
fn layout(depth: u8, colour_type: u8, transparency: bool) -> Layout {
    let t = u8::from(transparency);
    let (channels, colour, alpha) = match colour_type {
        0 => (1 + t, false, transparency),
        2 | 3 => (3 + t, true, transparency),
        4 => (2, false, true),
        _ => (4, true, true),
    };
    let sample = if depth == 16 { 2.0 } else { 1.0 };
    Layout::flattened(
        f64::from(channels) * sample,
        colour,
        alpha,
        depth != 16 && !alpha,
    )
}

/// The largest ICC profile kept, inflated. Real profiles are under 1 MiB;
/// a bigger one is dropped (and reported as removed), never inflated past
/// this bound.
pub(crate) const MAX_ICC: usize = 4 << 20;

/// The profile of an `iCCP` chunk (`raw`: length, type, data, CRC), when
/// it inflates to at most [`MAX_ICC`] bytes, its CRC holds, and it is a
/// real profile (`acsp`); `None` otherwise. The inflation stops at the
/// bound, so a 1 GB "profile" costs 4 MiB and milliseconds.
///
/// The chunk is read by the png decoder inside a one-pixel PNG with a
/// memory limit just above the bound, which is the limit the decoder
/// inflates `iCCP` under.
pub(crate) fn iccp_profile(raw: &[u8]) -> Option<Vec<u8>> {
    let mut png = SIGNATURE.to_vec();
    png.extend(chunk_bytes(
        b"IHDR",
        &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0],
    ));
    png.extend_from_slice(raw);
    // zlib of one grey row: filter 0, pixel 0.
    png.extend(chunk_bytes(
        b"IDAT",
        &[0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
    ));
    png.extend(chunk_bytes(b"IEND", &[]));
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_ICC as u64 + (64 << 10));
    let mut decoder =
        image::codecs::png::PngDecoder::with_limits(std::io::Cursor::new(png), limits).ok()?;
    let profile = image::ImageDecoder::icc_profile(&mut decoder)
        .ok()
        .flatten()?;
    (profile.len() <= MAX_ICC && crate::probe::icc_is_profile(&profile)).then_some(profile)
}

/// A whole chunk: length, type, data and CRC (over type and data).
pub(crate) fn chunk_bytes(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = (data.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    v.extend(crc.finalize().to_be_bytes());
    v
}

/// Whether a chunk is kept by a strip: not removable, and an `iCCP` only
/// when it is the first and holds a real profile within [`MAX_ICC`].
fn kept(chunk: &Chunk<'_>, seen_iccp: &mut bool) -> bool {
    if &chunk.kind == b"iCCP" {
        // PNG allows one profile; later ones are never inflated.
        return !std::mem::replace(seen_iccp, true) && iccp_profile(chunk.raw).is_some();
    }
    removable(&chunk.kind, chunk.data.len()).is_none()
}

/// The PNG without its `iCCP` chunk, for the pixel decoder: it would
/// inflate the profile up to its whole memory limit (1 GB from a 1 MB
/// chunk), and the profile is read under a tight bound instead.
pub(crate) fn without_iccp(bytes: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), FitError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(SIGNATURE);
    let mut profile = None;
    let mut seen = false;
    walk(bytes, |chunk| {
        if &chunk.kind == b"iCCP" {
            if !std::mem::replace(&mut seen, true) {
                profile = iccp_profile(chunk.raw);
            }
        } else {
            out.extend_from_slice(chunk.raw);
        }
        Ok(())
    })?;
    Ok((out, profile))
}

/// One chunk, as the core's walk finds it.
type Chunk<'a> = PngChunk<'a>;

/// Walks the chunks up to IEND with the core's walk (the same rules as
/// the upload's completeness check); returns the offset after it. Chunks
/// are not checked against their CRC here (the decoder does that); a
/// chunk longer than the data is `Truncated`, one over 2^31 `Corrupt`.
fn walk<'a>(
    bytes: &'a [u8],
    mut visit: impl FnMut(&Chunk<'a>) -> Result<(), FitError>,
) -> Result<usize, FitError> {
    for chunk in PngChunks::new(bytes) {
        let chunk = chunk.map_err(|e| walk_error(Format::Png, e))?;
        visit(&chunk)?;
        if &chunk.kind == b"IEND" {
            return Ok(chunk.end);
        }
    }
    Err(FitError::Truncated {
        format: Format::Png,
    })
}

/// Walks the whole PNG: dimensions, animation, metadata, ICC.
pub(crate) fn parse(bytes: &[u8]) -> Result<HeaderInfo, FitError> {
    let mut info = HeaderInfo::default();
    let mut first = true;
    let mut seen_iccp = false;
    // (bit depth, colour type) and whether `tRNS` adds an alpha channel.
    let mut ihdr = (8, 6);
    let mut transparency = false;
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
                ihdr = (d[8], d[9]);
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
            b"iCCP" => {
                if kept(chunk, &mut seen_iccp) {
                    info.icc = true;
                } else {
                    info.found([Metadata::Icc]);
                }
            }
            b"eXIf" if info.exif.is_none() => {
                let tiff = exif::tiff_block(chunk.data);
                let parsed = exif::parse(tiff).unwrap_or_default();
                info.found(parsed.kinds());
                info.exif = Some(parsed);
                let at = tiff.as_ptr() as usize - bytes.as_ptr() as usize;
                info.exif_at = Some(at..at + tiff.len());
            }
            b"iTXt" if chunk.data.starts_with(b"XML:com.adobe.xmp\0") => {
                info.found([Metadata::Xmp]);
                return Ok(());
            }
            b"tRNS" => transparency = true,
            _ => {}
        }
        // What a strip drops, reported; the profile was judged above.
        if &chunk.kind != b"iCCP"
            && let Some(m) = removable(&chunk.kind, chunk.data.len())
        {
            info.found([m]);
        }
        Ok(())
    })?;
    if bytes[end..].iter().any(|&b| b != 0) {
        info.found([Metadata::Trailer]);
    }
    info.layout = layout(ihdr.0, ihdr.1, transparency);
    info.metadata.sort();
    Ok(info)
}

/// The input with every removable chunk and any trailer dropped; the rest
/// copied byte for byte (so their CRCs stay valid).
pub(crate) fn strip(bytes: &[u8]) -> Result<Vec<u8>, FitError> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(SIGNATURE);
    let mut seen_iccp = false;
    walk(bytes, |chunk| {
        if kept(chunk, &mut seen_iccp) {
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

    /// An `iCCP` chunk (with its CRC) holding the smallest profile the
    /// check accepts, zlib-stored.
    fn iccp() -> Vec<u8> {
        let mut profile = vec![0u8; 128];
        profile[..4].copy_from_slice(&128u32.to_be_bytes());
        profile[36..40].copy_from_slice(b"acsp");
        let adler = {
            let (mut a, mut b) = (1u32, 0u32);
            for &x in &profile {
                a = (a + u32::from(x)) % 65521;
                b = (b + a) % 65521;
            }
            b << 16 | a
        };
        let data = [
            &b"p\0\0\x78\x01\x01\x80\0\x7f\xff"[..],
            &profile,
            &adler.to_be_bytes(),
        ]
        .concat();
        chunk_bytes(b"iCCP", &data)
    }

    #[test]
    fn finds_text_exif_and_animation_and_strips_text() {
        let p = png(&[
            chunk(b"tEXt", b"Comment\0hi"),
            chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x/>"),
            iccp(),
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
            png(&[iccp(), chunk(b"acTL", &[0, 0, 0, 3, 0, 0, 0, 0])])
        );
    }

    #[test]
    fn a_fake_or_second_profile_is_dropped() {
        let p = png(&[chunk(b"iCCP", b"p\0\0z")]);
        assert_eq!(parse(&p).unwrap().metadata, [Metadata::Icc]);
        assert_eq!(strip(&p).unwrap(), png(&[]));
        let p = png(&[iccp(), iccp()]);
        assert_eq!(parse(&p).unwrap().metadata, [Metadata::Icc]);
        assert_eq!(strip(&p).unwrap(), png(&[iccp()]));
    }

    #[test]
    fn every_truncation_is_refused() {
        let p = png(&[]);
        for n in 0..p.len() {
            assert!(parse(&p[..n]).is_err(), "accepted {n} bytes");
        }
    }
}
