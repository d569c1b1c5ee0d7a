//! `FitError`: why a photo could not be fitted, each in one sentence.

use std::fmt;

use crate::Format;
use crate::report::{ByteSize, Dims};

/// Why [`fit`](crate::fit) or [`probe`](crate::probe) refused an input.
///
/// Every message is one sentence a person can act on; the decoder's own
/// error, when there is one, is kept as the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FitError {
    /// The input has no bytes.
    #[error("the input is empty")]
    Empty,
    /// The first bytes match no image format this crate knows.
    #[error("the input is not a JPEG, PNG, BMP, WebP or HEIC image")]
    UnknownFormat,
    /// A recognised format this build cannot decode (AVIF, GIF, TIFF).
    #[error("{format} is not supported: {hint}", hint = conversion_hint(*format))]
    Unsupported {
        /// The format found.
        format: Format,
    },
    /// The input needs converting but the target accepts no JPEG to convert it to.
    #[error("the upload accepts neither {format} nor JPEG, so there is nothing to convert it to")]
    NoOutputFormat {
        /// The input's format.
        format: Format,
    },
    /// The header claims more pixels than the decoder limits allow: refused
    /// from the header alone, before any pixel memory is allocated.
    #[error(
        "the {format} header claims {dims} ({mp:.1} MP), over the limit of {limit_mp:.1} MP; refused without decoding",
        mp = dims.megapixels(),
        limit_mp = *max_pixels as f64 / 1e6
    )]
    TooManyPixels {
        /// The input's format.
        format: Format,
        /// The dimensions the header claims.
        dims: Dims,
        /// [`DecodeLimits::max_pixels`](crate::DecodeLimits::max_pixels).
        max_pixels: u64,
    },
    /// Fitting would need more memory than [`DecodeLimits::max_alloc`](crate::DecodeLimits::max_alloc),
    /// as estimated from the header (per format and bit depth) before decoding.
    #[error(
        "fitting this {format} image would need about {needed} of memory, over the limit of {limit}; refused without decoding"
    )]
    OverMemoryLimit {
        /// The input's format.
        format: Format,
        /// What the fit would need at its peak (an upper estimate).
        needed: ByteSize,
        /// The limit.
        limit: ByteSize,
    },
    /// The header claims far more pixels than so few bytes can hold for a
    /// photo: a decompression bomb, refused before decoding (see
    /// [`DecodeLimits::max_pixels_per_byte`](crate::DecodeLimits::max_pixels_per_byte)).
    #[error(
        "the {format} header claims {dims} ({mp:.1} MP) from only {bytes}, over {ratio} pixels a byte: a decompression bomb, not a photo; refused without decoding",
        mp = dims.megapixels()
    )]
    Implausible {
        /// The input's format.
        format: Format,
        /// The dimensions the header claims.
        dims: Dims,
        /// The input's size.
        bytes: ByteSize,
        /// [`DecodeLimits::max_pixels_per_byte`](crate::DecodeLimits::max_pixels_per_byte).
        ratio: u64,
    },
    /// The data stops before the image does.
    #[error("the {format} data ends early: the file is truncated")]
    Truncated {
        /// The input's format.
        format: Format,
    },
    /// The data is not a valid image of its format (the decoder's error is the source).
    #[error("the {format} data is corrupt and cannot be decoded")]
    Corrupt {
        /// The input's format.
        format: Format,
        /// What the parser or decoder found.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A variant of the format this crate cannot decode (12-bit or lossless
    /// JPEG, a BMP holding JPEG or PNG data, a BMP of 0 bits a pixel): its
    /// pixels cannot be checked, so `fit` cannot guarantee that the upload
    /// takes it, and refuses it rather than passing it on unchanged.
    #[error(
        "the {format} image cannot be decoded ({what}), so it cannot be checked or converted; re-save it as an ordinary 8-bit JPEG or PNG"
    )]
    Undecodable {
        /// The input's format.
        format: Format,
        /// What kind of file it is, e.g. "a 12-bit JPEG".
        what: &'static str,
    },
    /// An animation: refused rather than silently keeping one frame.
    #[error(
        "the {format} image is animated{frames}; upload a still image (export one frame as JPEG or PNG)",
        frames = FrameCount(*frames)
    )]
    Animated {
        /// The input's format.
        format: Format,
        /// The number of frames, when the header says.
        frames: Option<u32>,
    },
    /// Even the smallest allowed size and the lowest allowed quality do not fit.
    #[error(
        "cannot fit under {max_bytes}: the smallest reached was {smallest} at {dims}, JPEG quality {quality} (lower the minimum long side or the quality floor, or raise the limit)"
    )]
    CannotFit {
        /// The target's limit.
        max_bytes: ByteSize,
        /// The smallest output produced.
        smallest: ByteSize,
        /// Its dimensions.
        dims: Dims,
        /// Its JPEG quality.
        quality: u8,
    },
    /// The JPEG encoder refused the image (for example a side over 65,535 pixels).
    #[error("the JPEG encoder failed")]
    Encode {
        /// The encoder's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl FitError {
    pub(crate) fn corrupt(format: Format, why: &'static str) -> FitError {
        FitError::Corrupt {
            format,
            source: Box::new(ParseError(why)),
        }
    }
}

/// The core's walk stopped: a cut is `Truncated`, a broken structure
/// `Corrupt` with the core's reason.
pub(crate) fn walk_error(format: Format, e: wxmedia_proto::media::WalkError) -> FitError {
    match e {
        wxmedia_proto::media::WalkError::Malformed(why) => FitError::corrupt(format, why),
        _ => FitError::Truncated { format },
    }
}

/// How to turn an unsupported format into one that fits: the advice the
/// error message gives.
fn conversion_hint(format: Format) -> &'static str {
    match format {
        Format::Avif => "convert it to JPEG first (for example `avifdec in.avif out.jpg`)",
        Format::Gif => {
            "convert it to PNG or JPEG first (for example `convert 'in.gif[0]' out.png`)"
        }
        Format::Tiff => "convert it to JPEG first (for example `convert in.tif out.jpg`)",
        _ => "this build cannot decode it",
    }
}

struct FrameCount(Option<u32>);

impl fmt::Display for FrameCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, " ({n} frames)"),
            None => Ok(()),
        }
    }
}

/// A structural problem found by this crate's own header parsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParseError(pub(crate) &'static str);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ParseError {}
