//! `Target`: what the upload accepts, and how far `fit` may go to get there.

use crate::Format;

/// Decoder limits, checked against the header before any pixel memory is
/// allocated, so a hostile header (a "decompression bomb") costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeLimits {
    /// Widest image accepted, in pixels.
    pub max_width: u32,
    /// Tallest image accepted, in pixels.
    pub max_height: u32,
    /// Most pixels decoded (width × height). A JPEG the fit will shrink
    /// far is decoded at 1/2, 1/4 or 1/8 of its size, and that size counts:
    /// a 200 MP photo for a 2 MiB upload decodes to 12.5 MP.
    pub max_pixels: u64,
    /// Most memory one fit may use at its peak, in bytes, as estimated
    /// from the header before decoding (per format and bit depth: decoder
    /// output, conversion, orientation, downscaling and encoder buffers;
    /// [`peak_bytes`](crate::peak_bytes) gives the figure).
    pub max_alloc: u64,
    /// Most pixels per input byte, for images over 16 MP: a header
    /// claiming 10954×10954 from 38 bytes is a bomb, not a photo. Real
    /// photos have tens at most; a flat screenshot a few hundred.
    pub max_pixels_per_byte: u64,
}

impl DecodeLimits {
    /// The default limits: 120 MP decoded, 65,535 pixels a side (JPEG's
    /// own limit), 1,024 pixels per input byte above 16 MP, and 512 MiB at
    /// the peak of the whole fit (a baseline JPEG of 50-200 MP shrunk to an
    /// upload's few MiB costs 100-300 MiB; one that is kept near its size
    /// is limited to about 60 MP, and a progressive one, whose every
    /// coefficient is kept, to about 50 MP).
    pub const DEFAULT: DecodeLimits = DecodeLimits {
        max_width: 65_535,
        max_height: 65_535,
        max_pixels: 120_000_000,
        max_alloc: 512 << 20,
        max_pixels_per_byte: crate::cost::MAX_PIXELS_PER_BYTE,
    };

    /// Limits with a pixel cap and a memory cap; sides up to 65,535.
    #[must_use]
    pub const fn new(max_pixels: u64, max_alloc: u64) -> DecodeLimits {
        DecodeLimits {
            max_pixels,
            max_alloc,
            ..DecodeLimits::DEFAULT
        }
    }

    /// Sets [`max_pixels_per_byte`](DecodeLimits::max_pixels_per_byte).
    #[must_use]
    pub const fn with_max_pixels_per_byte(mut self, ratio: u64) -> DecodeLimits {
        self.max_pixels_per_byte = ratio;
        self
    }
}

impl Default for DecodeLimits {
    fn default() -> DecodeLimits {
        DecodeLimits::DEFAULT
    }
}

/// What an upload accepts and how `fit` may change a photo to match.
///
/// ```
/// use wxmedia_fit::{Format, Target};
///
/// // The v2 upload: 2 MiB of JPEG, PNG or BMP.
/// let target = Target::new(2 * 1024 * 1024, &[Format::Jpeg, Format::Png, Format::Bmp])
///     .with_min_long_side(1200)
///     .with_keep_metadata(false);
/// assert_eq!(target.quality_floor, 60);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// The largest output accepted, in bytes.
    pub max_bytes: usize,
    /// The formats the upload accepts as they are. Anything else is
    /// converted to JPEG (which must then be among them).
    pub accepted: Vec<Format>,
    /// Downscaling never goes below this long side, in pixels (default 1,600).
    pub min_long_side: u32,
    /// The lowest JPEG quality used (default 60).
    pub quality_floor: u8,
    /// The highest JPEG quality used (default 95: above it JPEG grows fast
    /// for no visible gain). A JPEG input is also never re-encoded at a
    /// quality much above its own.
    pub quality_ceiling: u8,
    /// Keep EXIF and XMP (with the orientation reset to 1 when the pixels
    /// are rotated) instead of removing them. Off by default: photos of
    /// documents carry GPS positions and serial numbers.
    pub keep_metadata: bool,
    /// Decoder limits against hostile input.
    pub limits: DecodeLimits,
}

impl Target {
    /// The formats WeChat Pay's image uploads take.
    pub const UPLOAD_FORMATS: &'static [Format] = &[Format::Jpeg, Format::Png, Format::Bmp];

    /// A target of `max_bytes` accepting `accepted`, with the default
    /// floor, ceiling, minimum long side and limits, metadata removed.
    #[must_use]
    pub fn new(max_bytes: usize, accepted: &[Format]) -> Target {
        Target {
            max_bytes,
            accepted: accepted.to_vec(),
            min_long_side: 1600,
            quality_floor: 60,
            quality_ceiling: 95,
            keep_metadata: false,
            limits: DecodeLimits::DEFAULT,
        }
    }

    /// A target of `max_bytes` accepting JPEG, PNG and BMP, as the uploads do.
    #[must_use]
    pub fn with_limit(max_bytes: usize) -> Target {
        Target::new(max_bytes, Target::UPLOAD_FORMATS)
    }

    /// Sets [`min_long_side`](Target::min_long_side).
    #[must_use]
    pub fn with_min_long_side(mut self, pixels: u32) -> Target {
        self.min_long_side = pixels;
        self
    }

    /// Sets [`quality_floor`](Target::quality_floor) (clamped to 1..=100).
    #[must_use]
    pub fn with_quality_floor(mut self, quality: u8) -> Target {
        self.quality_floor = quality.clamp(1, 100);
        self
    }

    /// Sets [`quality_ceiling`](Target::quality_ceiling) (clamped to 1..=100).
    #[must_use]
    pub fn with_quality_ceiling(mut self, quality: u8) -> Target {
        self.quality_ceiling = quality.clamp(1, 100);
        self
    }

    /// Sets [`keep_metadata`](Target::keep_metadata).
    #[must_use]
    pub fn with_keep_metadata(mut self, keep: bool) -> Target {
        self.keep_metadata = keep;
        self
    }

    /// Sets the decoder [`limits`](Target::limits).
    #[must_use]
    pub fn with_decode_limits(mut self, limits: DecodeLimits) -> Target {
        self.limits = limits;
        self
    }

    /// Whether the upload takes `format` as it is.
    #[must_use]
    pub fn accepts(&self, format: Format) -> bool {
        self.accepted.contains(&format)
    }

    /// The quality range searched: the floor, and a ceiling never below it.
    pub(crate) fn quality_range(&self) -> (u8, u8) {
        let floor = self.quality_floor.clamp(1, 100);
        (floor, self.quality_ceiling.clamp(floor, 100))
    }
}
