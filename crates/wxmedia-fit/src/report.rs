//! What `fit` returns: the bytes to send and a report of what changed.

use std::borrow::Cow;
use std::fmt;

use crate::Format;

/// Width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dims {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Dims {
    /// Makes a `Dims`.
    #[must_use]
    pub const fn new(width: u32, height: u32) -> Dims {
        Dims { width, height }
    }

    /// The number of pixels.
    #[must_use]
    pub const fn pixels(self) -> u64 {
        self.width as u64 * self.height as u64
    }

    /// The longer side.
    #[must_use]
    pub const fn long_side(self) -> u32 {
        if self.width > self.height {
            self.width
        } else {
            self.height
        }
    }

    pub(crate) fn megapixels(self) -> f64 {
        self.pixels() as f64 / 1e6
    }
}

impl fmt::Display for Dims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.width, self.height)
    }
}

/// A byte count that prints in binary units (`1.9 MiB`), the units the
/// upload limits are stated in (2 MiB, 5 MiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl From<usize> for ByteSize {
    fn from(n: usize) -> ByteSize {
        ByteSize(n as u64)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KIB: f64 = 1024.0;
        let n = self.0 as f64;
        if self.0 < 1024 {
            write!(f, "{} B", self.0)
        } else if n < KIB * KIB {
            write!(f, "{:.0} KiB", n / KIB)
        } else if n < KIB * KIB * KIB {
            // Two decimals near the usual limits, where 1.99 vs 2.00 matters.
            write!(f, "{:.2} MiB", n / (KIB * KIB))
        } else {
            write!(f, "{:.2} GiB", n / (KIB * KIB * KIB))
        }
    }
}

/// An EXIF orientation (tag 0x0112), values 1 to 8: how the stored pixels
/// must be transformed to display upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Orientation {
    /// 1: stored upright.
    Normal,
    /// 2: mirrored left to right.
    FlipHorizontal,
    /// 3: upside down.
    Rotate180,
    /// 4: mirrored top to bottom.
    FlipVertical,
    /// 5: rotate 90° clockwise, then mirror left to right (a transpose).
    Transpose,
    /// 6: rotate 90° clockwise (a phone held upright, home button at the bottom).
    Rotate90,
    /// 7: rotate 90° counter-clockwise, then mirror left to right.
    Transverse,
    /// 8: rotate 90° counter-clockwise.
    Rotate270,
}

impl Orientation {
    /// The orientation for an EXIF value, `None` outside 1..=8.
    #[must_use]
    pub fn from_exif(value: u16) -> Option<Orientation> {
        Some(match value {
            1 => Orientation::Normal,
            2 => Orientation::FlipHorizontal,
            3 => Orientation::Rotate180,
            4 => Orientation::FlipVertical,
            5 => Orientation::Transpose,
            6 => Orientation::Rotate90,
            7 => Orientation::Transverse,
            8 => Orientation::Rotate270,
            _ => return None,
        })
    }

    /// The EXIF value, 1 to 8.
    #[must_use]
    pub fn exif_value(self) -> u16 {
        match self {
            Orientation::Normal => 1,
            Orientation::FlipHorizontal => 2,
            Orientation::Rotate180 => 3,
            Orientation::FlipVertical => 4,
            Orientation::Transpose => 5,
            Orientation::Rotate90 => 6,
            Orientation::Transverse => 7,
            Orientation::Rotate270 => 8,
        }
    }

    /// Whether applying it swaps width and height.
    #[must_use]
    pub fn swaps_sides(self) -> bool {
        matches!(
            self,
            Orientation::Transpose
                | Orientation::Rotate90
                | Orientation::Transverse
                | Orientation::Rotate270
        )
    }

    /// The dimensions after applying it to stored dimensions `dims`.
    #[must_use]
    pub fn apply_to(self, dims: Dims) -> Dims {
        if self.swaps_sides() {
            Dims::new(dims.height, dims.width)
        } else {
            dims
        }
    }
}

impl fmt::Display for Orientation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Orientation::Normal => "upright",
            Orientation::FlipHorizontal => "mirrored",
            Orientation::Rotate180 => "rotated 180°",
            Orientation::FlipVertical => "flipped upside down",
            Orientation::Transpose => "rotated 90° clockwise and mirrored",
            Orientation::Rotate90 => "rotated 90° clockwise",
            Orientation::Transverse => "rotated 90° counter-clockwise and mirrored",
            Orientation::Rotate270 => "rotated 90° counter-clockwise",
        })
    }
}

/// A kind of metadata found in (and possibly removed from) an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Metadata {
    /// An EXIF block (camera settings, dates; JPEG APP1, PNG `eXIf`, WebP `EXIF`).
    Exif,
    /// GPS coordinates inside the EXIF block.
    Gps,
    /// A camera maker note inside the EXIF block (often holds serial numbers).
    MakerNote,
    /// A body or lens serial number, or an image unique id, inside the EXIF block.
    SerialNumber,
    /// A thumbnail inside the EXIF block (an unrotated, unstripped copy of the photo).
    Thumbnail,
    /// XMP (Adobe's XML metadata; edits history, location, people).
    Xmp,
    /// Photoshop / IPTC records (captions, authors, locations).
    Iptc,
    /// A free-text comment (JPEG `COM`).
    Comment,
    /// PNG text chunks (`tEXt`, `zTXt`, `iTXt`) and the `tIME` stamp.
    Text,
    /// An embedded ICC colour profile. Kept unless it is no profile (no
    /// `acsp` signature, or a size that disagrees with its header), too
    /// large (a PNG `iCCP` inflating past 4 MiB, or a quarter of the
    /// output limit), or a second one: then removed, and listed here.
    Icc,
    /// Other vendor segments or private chunks (JPEG APPn such as MPF,
    /// Flashpix or depth maps, JPG0-13 and reserved markers, a JFIF
    /// thumbnail or the bytes after a JFIF or Adobe header; unknown PNG
    /// chunks, critical ones too; unknown WebP chunks).
    Vendor,
    /// Data after the image's end marker (for example extra images of a
    /// multi-picture JPEG, or a phone's trailer).
    Trailer,
}

impl Metadata {
    /// Whether this is a detail of the EXIF block rather than a block of its own.
    fn inside_exif(self) -> bool {
        matches!(
            self,
            Metadata::Gps | Metadata::MakerNote | Metadata::SerialNumber | Metadata::Thumbnail
        )
    }

    fn name(self) -> &'static str {
        match self {
            Metadata::Exif => "EXIF",
            Metadata::Gps => "GPS",
            Metadata::MakerNote => "maker note",
            Metadata::SerialNumber => "serial number",
            Metadata::Thumbnail => "thumbnail",
            Metadata::Xmp => "XMP",
            Metadata::Iptc => "IPTC",
            Metadata::Comment => "comment",
            Metadata::Text => "text chunks",
            Metadata::Icc => "ICC profile",
            Metadata::Vendor => "vendor data",
            Metadata::Trailer => "trailing data",
        }
    }
}

impl fmt::Display for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Prints a metadata list the way a person reads it: `EXIF (GPS, maker
/// note), XMP, comment`.
pub(crate) struct MetadataList<'a>(pub &'a [Metadata]);

impl fmt::Display for MetadataList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let details: Vec<Metadata> = self.0.iter().copied().filter(|m| m.inside_exif()).collect();
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if !std::mem::take(&mut first) {
                f.write_str(", ")?;
            }
            Ok(())
        };
        let has_exif = self.0.contains(&Metadata::Exif);
        for m in self.0.iter().filter(|m| !m.inside_exif()) {
            sep(f)?;
            f.write_str(m.name())?;
            if *m == Metadata::Exif && !details.is_empty() {
                f.write_str(" (")?;
                for (i, d) in details.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(d.name())?;
                }
                f.write_str(")")?;
            }
        }
        // Details without an EXIF block cannot occur from our parsers, but a
        // hand-made list still prints every item.
        if !has_exif {
            for d in &details {
                sep(f)?;
                f.write_str(d.name())?;
            }
        }
        Ok(())
    }
}

/// What [`fit`](crate::fit) did, for a person (its `Display` is one line)
/// and for a program (its fields).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FitReport {
    /// The input's format.
    pub format_before: Format,
    /// The output's format (JPEG whenever the image was re-encoded).
    pub format_after: Format,
    /// The input's length in bytes.
    pub bytes_before: usize,
    /// The output's length in bytes.
    pub bytes_after: usize,
    /// The input's dimensions as stored (before any orientation).
    pub dims_before: Dims,
    /// The output's dimensions (upright, possibly downscaled).
    pub dims_after: Dims,
    /// The JPEG quality chosen, when the image was re-encoded.
    pub quality: Option<u8>,
    /// The EXIF orientation applied to the pixels, when it was not 1.
    pub oriented: Option<Orientation>,
    /// The metadata removed, in a stable order.
    pub metadata_removed: Vec<Metadata>,
    /// Whether the output is the input, byte for byte.
    pub unchanged: bool,
    /// 1 when the pixels were decoded at their full size; 2, 4 or 8 when
    /// a JPEG far over the budget was decoded that many times smaller.
    pub decode_scale: u32,
}

impl fmt::Display for FitReport {
    /// One line, for example `WebP 4032×3024 5.12 MiB → JPEG 3024×4032 q=87
    /// 1.93 MiB, rotated 90° clockwise, removed EXIF (GPS), XMP`. A caller
    /// that knows the file name puts it in front (`IMG_1234.webp: ...`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let before = ByteSize(self.bytes_before as u64);
        if self.unchanged {
            return write!(
                f,
                "{} {} {}, unchanged (already fits)",
                self.format_before, self.dims_before, before
            );
        }
        write!(
            f,
            "{} {} {} → {} {}",
            self.format_before, self.dims_before, before, self.format_after, self.dims_after
        )?;
        match self.quality {
            Some(q) => write!(f, " q={q}")?,
            None => f.write_str(" (not re-encoded)")?,
        }
        write!(f, " {}", ByteSize(self.bytes_after as u64))?;
        if let Some(o) = self.oriented {
            write!(f, ", {o}")?;
        }
        if self.dims_after
            != self
                .oriented
                .unwrap_or(Orientation::Normal)
                .apply_to(self.dims_before)
        {
            f.write_str(", downscaled")?;
            if self.decode_scale > 1 {
                write!(f, " (decoded at 1/{})", self.decode_scale)?;
            }
        }
        if !self.metadata_removed.is_empty() {
            write!(f, ", removed {}", MetadataList(&self.metadata_removed))?;
        }
        Ok(())
    }
}

/// The result of [`fit`](crate::fit): the bytes to upload and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct Fitted<'a> {
    /// The bytes to send: `Cow::Borrowed` is the input itself, untouched;
    /// `Cow::Owned` is new data (a re-encoded JPEG, or the input with its
    /// metadata segments removed).
    pub bytes: Cow<'a, [u8]>,
    /// What changed.
    pub report: FitReport,
}

impl Fitted<'_> {
    /// Whether the output is the input, untouched (then `bytes` borrows it).
    #[must_use]
    pub fn is_unchanged(&self) -> bool {
        self.report.unchanged
    }

    /// The output as an owned vector (copies only when unchanged).
    #[must_use]
    pub fn into_vec(self) -> Vec<u8> {
        self.bytes.into_owned()
    }

    /// The name to upload the output under, for a file named `original`:
    /// its extension follows the output's format (see [`name_for`]).
    #[must_use]
    pub fn file_name(&self, original: &str) -> String {
        name_for(original, self.report.format_after)
    }

    /// The output as the upload's [`Media`](wxmedia_proto::Media), named
    /// for its format: `photo.webp` fitted to a JPEG is `photo.jpg`, so
    /// that [`Media::new`](wxmedia_proto::Media::new)'s extension check
    /// passes. The step between `fit` and an upload.
    pub fn into_media(
        self,
        original: &str,
    ) -> Result<wxmedia_proto::Media, wxmedia_proto::MediaError> {
        let name = self.file_name(original);
        wxmedia_proto::Media::new(name, self.into_vec())
    }
}

/// `photo.webp` becomes `photo.jpg` when the output is a JPEG (PNG and BMP
/// alike); a name already ending in the format's extension (`.jpeg` for a
/// JPEG too, any case) is kept, and a name without one gains it.
#[must_use]
pub fn name_for(original: &str, format: Format) -> String {
    let ext = match format {
        Format::Jpeg => "jpg",
        Format::Png => "png",
        Format::Bmp => "bmp",
        _ => return original.to_owned(),
    };
    let (stem, old) = original.rsplit_once('.').unwrap_or((original, ""));
    let same = old.eq_ignore_ascii_case(ext) || (ext == "jpg" && old.eq_ignore_ascii_case("jpeg"));
    if same {
        original.to_owned()
    } else {
        format!("{stem}.{ext}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_print_in_binary_units() {
        assert_eq!(ByteSize(900).to_string(), "900 B");
        assert_eq!(ByteSize(300 * 1024).to_string(), "300 KiB");
        assert_eq!(ByteSize(2 * 1024 * 1024).to_string(), "2.00 MiB");
    }

    #[test]
    fn metadata_list_groups_exif_details() {
        let list = [
            Metadata::Exif,
            Metadata::Gps,
            Metadata::MakerNote,
            Metadata::Xmp,
            Metadata::Comment,
        ];
        assert_eq!(
            MetadataList(&list).to_string(),
            "EXIF (GPS, maker note), XMP, comment"
        );
        assert_eq!(MetadataList(&[Metadata::Gps]).to_string(), "GPS");
    }

    #[test]
    fn report_reads_as_one_line() {
        let report = FitReport {
            format_before: Format::WebP,
            format_after: Format::Jpeg,
            bytes_before: 5_360_000,
            bytes_after: 2_020_000,
            dims_before: Dims::new(4032, 3024),
            dims_after: Dims::new(3024, 4032),
            quality: Some(87),
            oriented: Some(Orientation::Rotate90),
            metadata_removed: vec![Metadata::Exif, Metadata::Gps, Metadata::Xmp],
            unchanged: false,
            decode_scale: 1,
        };
        assert_eq!(
            report.to_string(),
            "WebP 4032×3024 5.11 MiB → JPEG 3024×4032 q=87 1.93 MiB, rotated 90° clockwise, removed EXIF (GPS), XMP"
        );
        let large = FitReport {
            format_before: Format::Jpeg,
            dims_before: Dims::new(16_320, 12_240),
            dims_after: Dims::new(3060, 4080),
            decode_scale: 4,
            ..report
        };
        assert!(
            large
                .to_string()
                .contains("rotated 90° clockwise, downscaled (decoded at 1/4), removed"),
            "{large}"
        );
    }
}
