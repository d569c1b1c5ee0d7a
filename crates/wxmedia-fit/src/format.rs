//! Image formats, told apart by their first bytes.

use std::fmt;

/// An image format, as detected from the content (never from a file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (the eight-byte PNG signature).
    Png,
    /// Windows bitmap (`BM`).
    Bmp,
    /// WebP (`RIFF` .... `WEBP`).
    WebP,
    /// GIF (`GIF87a` / `GIF89a`): recognised so the error can name it, not decoded.
    Gif,
    /// HEIC/HEIF (an ISO-BMFF `ftyp` box with a HEIF brand): recognised so
    /// that the error can say how to convert it, not decoded.
    Heic,
    /// AVIF (an `ftyp` box with an AVIF brand): recognised, not decoded.
    Avif,
    /// TIFF (`II*\0` / `MM\0*`): recognised, not decoded.
    Tiff,
}

impl Format {
    /// The formats `fit` can decode.
    pub const DECODABLE: &'static [Format] =
        &[Format::Jpeg, Format::Png, Format::Bmp, Format::WebP];

    /// Detects the format from the first bytes, or `None` when no known
    /// signature matches.
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.starts_with(b"BM") && bytes.len() >= 18 {
            Some(Format::Bmp)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::WebP)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Format::Gif)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(Format::Tiff)
        } else {
            sniff_isobmff(bytes)
        }
    }

    /// The conventional name, as a user would write it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Bmp => "BMP",
            Format::WebP => "WebP",
            Format::Gif => "GIF",
            Format::Heic => "HEIC",
            Format::Avif => "AVIF",
            Format::Tiff => "TIFF",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// HEIF and AVIF share the ISO-BMFF container: an `ftyp` box whose major or
/// compatible brands say which codec is inside. AVIF wins when both appear,
/// because an AVIF file commonly lists the generic `mif1` brand too.
fn sniff_isobmff(bytes: &[u8]) -> Option<Format> {
    if bytes.len() < 16 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = size.clamp(16, 4096).min(bytes.len());
    let major = &bytes[8..12];
    // Major brand, then (after the 4-byte minor version) the compatible brands.
    let brands = std::iter::once(major).chain(bytes[16..end].chunks_exact(4));
    let mut heif = false;
    for brand in brands {
        match brand {
            b"avif" | b"avis" => return Some(Format::Avif),
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                heif = true;
            }
            _ => {}
        }
    }
    heif.then_some(Format::Heic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_signature() {
        assert_eq!(Format::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Format::Jpeg));
        assert_eq!(Format::sniff(b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
        assert_eq!(
            Format::sniff(b"BM\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
            Some(Format::Bmp)
        );
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::WebP));
        assert_eq!(Format::sniff(b"GIF89a"), Some(Format::Gif));
        assert_eq!(
            Format::sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            Some(Format::Heic)
        );
        assert_eq!(
            Format::sniff(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"),
            Some(Format::Avif)
        );
        assert_eq!(
            Format::sniff(b"\0\0\0\x18ftypmif1\0\0\0\0mif1avif"),
            Some(Format::Avif)
        );
        assert_eq!(Format::sniff(b"\0\0\0\x18ftypisom\0\0\0\0isomiso2"), None);
        assert_eq!(Format::sniff(b"hello"), None);
    }
}
