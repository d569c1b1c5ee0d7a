//! `probe`: what an image is, from its headers alone, without decoding pixels.

use std::ops::Range;

use crate::cost::Layout;
use crate::error::FitError;
use crate::exif::ExifInfo;
use crate::report::{Dims, Metadata, Orientation};
use crate::{Format, bmp, heic, jpeg, png, webp};

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
    /// Whether an ICC colour profile is embedded (one that is a profile:
    /// anything else under its name is listed in `metadata` as
    /// [`Metadata::Icc`], to be removed).
    pub icc: bool,
    /// For a JPEG, the quality its luma table corresponds to on the IJG scale.
    pub jpeg_quality: Option<u8>,
    /// Whether this crate can decode the pixels. `false` for a variant it
    /// cannot read (12-bit, lossless, arithmetic-coded or hierarchical
    /// JPEG; a BMP holding JPEG or PNG data, or of 0 bits a pixel):
    /// such a file cannot be checked or converted, and [`fit`](crate::fit)
    /// refuses it with [`FitError::Undecodable`].
    pub decodable: bool,
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
    /// Why the pixels cannot be decoded, if they cannot.
    pub(crate) undecodable: Option<&'static str>,
    /// How the decoder lays out the pixels.
    pub(crate) layout: Layout,
    /// JPEG: the frame's components and whether it is progressive.
    pub(crate) jpeg_frame: Option<JpegFrame>,
}

/// What a JPEG's frame header says that decoding at reduced size needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct JpegFrame {
    pub(crate) components: u8,
    pub(crate) progressive: bool,
}

/// Reads an image's headers: format, stored dimensions, orientation,
/// animation, metadata. Refuses what is not a decodable image (unknown,
/// AVIF and other unsupported formats, truncated or malformed structure);
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
    /// Why the pixels cannot be decoded, for a variant of the format the
    /// decoder does not read (a 12-bit JPEG, a BMP holding a JPEG).
    pub(crate) undecodable: Option<&'static str>,
    /// How the decoder lays out the pixels: the memory model's input.
    pub(crate) layout: Layout,
    /// JPEG: the frame's components and whether it is progressive.
    pub(crate) jpeg_frame: Option<JpegFrame>,
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
    // HEIF's orientation is in its boxes, not its EXIF (which the
    // format's rules say to ignore).
    let mut boxes_orientation = None;
    let info = match format {
        Format::Jpeg => jpeg::parse(bytes)?,
        Format::Png => png::parse(bytes)?,
        Format::WebP => webp::parse(bytes)?,
        Format::Bmp => bmp::parse(bytes)?.info,
        Format::Heic => {
            let heic = heic::parse(bytes)?;
            boxes_orientation = Some(heic.orientation);
            heic.info
        }
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
            decodable: info.undecodable.is_none(),
        },
        undecodable: info.undecodable,
        layout: info.layout,
        jpeg_frame: info.jpeg_frame,
        exif: info.exif,
        exif_at: info.exif_at,
        xmp_at: info.xmp_at,
    };
    parsed.probe.orientation = match boxes_orientation {
        Some(o) => Some(o),
        None => parsed
            .exif
            .as_ref()
            .and_then(|e| e.orientation)
            .and_then(Orientation::from_exif),
    };
    Ok(parsed)
}

/// Whether `profile` is an ICC profile rather than bytes under its name:
/// the `acsp` signature at offset 36 of a 128-byte header, and the size
/// the header declares matching the data (up to 3 bytes of padding).
/// What fails is dropped as metadata, since anything could hide in it.
pub(crate) fn icc_is_profile(profile: &[u8]) -> bool {
    let Some(header) = profile.get(..128) else {
        return false;
    };
    let declared = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    &header[36..40] == b"acsp" && declared <= profile.len() && profile.len() - declared <= 3
}
