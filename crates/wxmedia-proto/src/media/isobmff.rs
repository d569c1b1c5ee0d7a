//! The one table of HEIF and AVIF brands: what an ISO-BMFF file's `ftyp` box says about a still image, for the upload's checks and for `wxmedia-fit` alike.

/// A still image (or image sequence) in the ISO-BMFF container, by its
/// `ftyp` brands: not a video, and not an image the uploads take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StillImage {
    /// HEIF, an iPhone's HEIC included.
    Heif,
    /// AVIF.
    Avif,
}

/// The one table of HEIF and AVIF brands, for every crate: the brand and
/// what it says.
const STILL_IMAGE_BRANDS: [(&[u8; 4], StillImage); 10] = [
    (b"heic", StillImage::Heif),
    (b"heix", StillImage::Heif),
    (b"hevc", StillImage::Heif),
    (b"hevx", StillImage::Heif),
    (b"heim", StillImage::Heif),
    (b"heis", StillImage::Heif),
    (b"mif1", StillImage::Heif),
    (b"msf1", StillImage::Heif),
    (b"avif", StillImage::Avif),
    (b"avis", StillImage::Avif),
];

impl StillImage {
    /// What an ISO-BMFF file's `ftyp` box says it is, by its major brand
    /// and its compatible brands (a HEIC names `mif1` or `heic` there even
    /// when its major brand is another); AVIF wins when both appear, since
    /// an AVIF commonly lists the generic `mif1` too. `None` for a file
    /// without an `ftyp` box first, or with no such brand (an MP4).
    pub fn sniff(content: &[u8]) -> Option<StillImage> {
        if content.len() < 16 || &content[4..8] != b"ftyp" {
            return None;
        }
        let size = u32::from_be_bytes([content[0], content[1], content[2], content[3]]) as usize;
        let end = size.clamp(16, 4096).min(content.len());
        // The major brand, then (after the 4-byte minor version) the
        // compatible brands.
        let brands = std::iter::once(&content[8..12]).chain(content[16..end].chunks_exact(4));
        let mut found = None;
        for brand in brands {
            match STILL_IMAGE_BRANDS.iter().find(|(b, _)| &b[..] == brand) {
                Some((_, StillImage::Avif)) => return Some(StillImage::Avif),
                Some((_, StillImage::Heif)) => found = Some(StillImage::Heif),
                None => {}
            }
        }
        found
    }
}
