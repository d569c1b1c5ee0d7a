//! `probe`: what an image is, from its headers alone, without decoding pixels.

use std::ops::Range;

use crate::error::FitError;
use crate::exif::ExifInfo;
use crate::report::{Dims, Metadata, Orientation};
use crate::{Format, jpeg, png, webp};

/// What the headers of an image say: enough to decide whether it needs
/// fitting, found in time linear in the input and memory independent of
/// the pixel count.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Probe {
    /// The format.
    pub format: Format,
    /// The dimensions as stored (before orientation).
    pub dims: Dims,
    /// The EXIF orientation, when the image has a valid one.
    pub orientation: Option<Orientation>,
    /// The frame count of an animation (`Some(0)` when animated but not counted).
    pub frames: Option<u32>,
    /// The removable metadata found.
    pub metadata: Vec<Metadata>,
    /// Whether an ICC colour profile is embedded.
    pub icc: bool,
    /// For a JPEG, the quality its luma table corresponds to on the IJG scale.
    pub jpeg_quality: Option<u8>,
}

impl Probe {
    /// The dimensions once the orientation is applied.
    #[must_use]
    pub fn upright_dims(&self) -> Dims {
        self.orientation
            .unwrap_or(Orientation::Normal)
            .apply_to(self.dims)
    }

    /// Whether the orientation asks for the pixels to be transformed.
    #[must_use]
    pub fn needs_orienting(&self) -> bool {
        self.orientation.is_some_and(|o| o != Orientation::Normal)
    }
}

/// A probe plus the byte ranges `fit` needs to keep metadata.
pub(crate) struct Parsed {
    pub(crate) probe: Probe,
    pub(crate) exif: Option<ExifInfo>,
    pub(crate) exif_at: Option<Range<usize>>,
    pub(crate) xmp_at: Option<Range<usize>>,
}

/// Reads an image's headers: format, stored dimensions, orientation,
/// animation, metadata. Refuses what is not a decodable image (unknown,
/// HEIC and other unsupported formats, truncated or malformed structure);
/// limits and animation are left to [`fit`](crate::fit) to judge.
pub fn probe(bytes: &[u8]) -> Result<Probe, FitError> {
    parse(bytes).map(|p| p.probe)
}

/// What a walk over one format's headers (JPEG segments, PNG or WebP
/// chunks, the BMP header) found: one shape for every format, each filling
/// in what it has.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderInfo {
    pub(crate) dims: Option<Dims>,
    /// The frame count of an animation (APNG `acTL`; WebP `ANMF`, 0 when
    /// the animation flag is set but no frame was found).
    pub(crate) frames: Option<u32>,
    /// The first EXIF block found, read.
    pub(crate) exif: Option<ExifInfo>,
    /// Where that EXIF block's TIFF data is, for `keep_metadata`.
    pub(crate) exif_at: Option<Range<usize>>,
    /// JPEG: where the first standard XMP packet is (after its identifier).
    pub(crate) xmp_at: Option<Range<usize>>,
    /// Removable metadata found, deduplicated, in the order of [`Metadata`].
    pub(crate) metadata: Vec<Metadata>,
    pub(crate) icc: bool,
    /// JPEG: the quality the luma quantisation table corresponds to on the
    /// IJG scale (an estimate for tables written by other encoders).
    pub(crate) quality: Option<u8>,
}

impl HeaderInfo {
    /// Note removable metadata found, each kind once.
    pub(crate) fn found(&mut self, kinds: impl IntoIterator<Item = Metadata>) {
        for k in kinds {
            if !self.metadata.contains(&k) {
                self.metadata.push(k);
            }
        }
    }
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed, FitError> {
    if bytes.is_empty() {
        return Err(FitError::Empty);
    }
    let format = Format::sniff(bytes).ok_or(FitError::UnknownFormat)?;
    let info = match format {
        Format::Jpeg => jpeg::parse(bytes)?,
        Format::Png => png::parse(bytes)?,
        Format::WebP => webp::parse(bytes)?,
        Format::Bmp => HeaderInfo {
            dims: Some(bmp_dims(bytes)?),
            ..HeaderInfo::default()
        },
        _ => return Err(FitError::Unsupported { format }),
    };
    let mut parsed = Parsed {
        probe: Probe {
            format,
            dims: info.dims.unwrap_or(Dims::new(0, 0)),
            orientation: None,
            frames: info.frames,
            metadata: info.metadata,
            icc: info.icc,
            jpeg_quality: info.quality,
        },
        exif: info.exif,
        exif_at: info.exif_at,
        xmp_at: info.xmp_at,
    };
    parsed.probe.orientation = parsed
        .exif
        .as_ref()
        .and_then(|e| e.orientation)
        .and_then(Orientation::from_exif);
    Ok(parsed)
}

/// A BMP's dimensions from its file and DIB headers; uncompressed pixel
/// data shorter than the header promises is `Truncated`.
fn bmp_dims(bytes: &[u8]) -> Result<Dims, FitError> {
    let truncated = || FitError::Truncated {
        format: Format::Bmp,
    };
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let data_at = u32_at(10).ok_or_else(truncated)? as usize;
    let dib = u32_at(14).ok_or_else(truncated)?;
    let (width, height, bpp, compression) = if dib == 12 {
        let w = u16_at(18).ok_or_else(truncated)?;
        let h = u16_at(20).ok_or_else(truncated)?;
        (
            i64::from(w),
            i64::from(h),
            u16_at(24).ok_or_else(truncated)?,
            0,
        )
    } else if dib >= 40 {
        let w = u32_at(18).ok_or_else(truncated)? as i32;
        // A negative height means rows stored top-down.
        let h = u32_at(22).ok_or_else(truncated)? as i32;
        (
            i64::from(w),
            i64::from(h).abs(),
            u16_at(28).ok_or_else(truncated)?,
            u32_at(30).ok_or_else(truncated)?,
        )
    } else {
        return Err(FitError::corrupt(Format::Bmp, "an unknown DIB header size"));
    };
    if width <= 0 || height <= 0 || width > i64::from(u32::MAX) || height > i64::from(u32::MAX) {
        return Err(FitError::corrupt(
            Format::Bmp,
            "an image of zero or negative width or height",
        ));
    }
    // BI_RGB (0) and BI_BITFIELDS (3) store rows uncompressed, padded to 4 bytes.
    if matches!(compression, 0 | 3) && bpp > 0 {
        let row = (width as u64 * u64::from(bpp)).div_ceil(32) * 4;
        let need = (data_at as u64).saturating_add(row.saturating_mul(height as u64));
        if need > bytes.len() as u64 {
            return Err(truncated());
        }
    }
    Ok(Dims::new(width as u32, height as u32))
}
