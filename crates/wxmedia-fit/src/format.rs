//! Image formats, told apart by their first bytes.

use std::fmt;

use wxmedia_proto::MediaKind;
use wxmedia_proto::media::StillImage;

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
    /// HEIC/HEIF (an ISO-BMFF `ftyp` box with a HEIF brand), as iPhones
    /// save photos: decoded (HEVC pictures, grids, rotation, EXIF, ICC).
    Heic,
    /// AVIF (an `ftyp` box with an AVIF brand): recognised, not decoded.
    Avif,
    /// TIFF (`II*\0` / `MM\0*`): recognised, not decoded.
    Tiff,
}

impl Format {
    /// The formats `fit` can decode.
    pub const DECODABLE: &'static [Format] = &[
        Format::Jpeg,
        Format::Png,
        Format::Bmp,
        Format::WebP,
        Format::Heic,
    ];

    /// The decoders this build has: the formats, then the crate and the
    /// version (as `wxmedia --version` lists them).
    pub const DECODERS: &'static [(&'static str, &'static str)] = &[
        ("JPEG", "zune-jpeg 0.5"),
        ("JPEG at 1/2, 1/4, 1/8", "jpeg-decoder 0.3.2"),
        ("PNG, BMP, WebP", "image 0.25"),
        ("HEIC, HEIF", "heic-rs 0.1.4"),
    ];

    /// Detects the format from the first bytes, or `None` when no known
    /// signature matches.
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        // The upload formats and the HEIF/AVIF brands are the core's
        // rules (one detection, one brand table); the rest only `fit`
        // needs to name.
        match MediaKind::sniff(bytes) {
            Some(MediaKind::Jpeg) => return Some(Format::Jpeg),
            Some(MediaKind::Png) => return Some(Format::Png),
            // Shorter than a BMP's two headers' start: not one to decode.
            Some(MediaKind::Bmp) if bytes.len() >= 18 => return Some(Format::Bmp),
            _ => {}
        }
        if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::WebP)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Format::Gif)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(Format::Tiff)
        } else {
            match StillImage::sniff(bytes)? {
                StillImage::Avif => Some(Format::Avif),
                _ => Some(Format::Heic),
            }
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

    /// The versions `DECODERS` names are those the workspace's lock file
    /// builds (a version is a prefix of the locked one).
    #[test]
    fn decoders_name_the_locked_versions() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
        let lock = std::fs::read_to_string(path).expect("Cargo.lock"); // bounded: our own
        for (_, decoder) in Format::DECODERS {
            let (name, version) = decoder.split_once(' ').unwrap();
            let locked = format!("name = \"{name}\"\nversion = \"{version}");
            assert!(
                lock.contains(&locked),
                "{decoder} is not what Cargo.lock builds"
            );
        }
    }
}
