//! Fit a photo to an upload: decode, orient, strip metadata, re-encode under a byte limit.
//!
//! Phone photos fail uploads for reasons that have nothing to do with the
//! protocol: they are too large (3-8 MB against a 2 MiB or 5 MiB limit),
//! in a format the server refuses (WebP, HEIC), stored sideways with an
//! EXIF orientation the reviewers never apply, and full of metadata (GPS
//! positions, serial numbers) nobody means to send. [`fit`] turns such
//! bytes into bytes the upload takes, and says what it changed.
//!
//! ```
//! use wxmedia_fit::{fit, synth, Target};
//!
//! // A 1600×1200 photo stored sideways with GPS tags, as a phone writes it.
//! let photo = synth::photo(1600, 1200, 7);
//! let jpeg = synth::with_exif(&synth::jpeg(&photo, 95), 6, true);
//!
//! let fitted = fit(&jpeg, &Target::with_limit(400 * 1024))?;
//! assert!(fitted.bytes.len() <= 400 * 1024);
//! assert_eq!(fitted.report.dims_after.width, 1200); // upright: portrait
//! println!("photo.jpg: {}", fitted.report);
//! # Ok::<(), wxmedia_fit::FitError>(())
//! ```
//!
//! # In scope
//!
//! * Reading JPEG, PNG, BMP, WebP and HEIC/HEIF (as iPhones save photos:
//!   grids of HEVC tiles, `irot`/`imir` applied, 8 or 10 bits), under [decoder limits](DecodeLimits)
//!   checked against the header before any pixel is decoded: pixels,
//!   pixels per input byte, and the memory of the whole fit, estimated per
//!   format and bit depth ([`peak_bytes`] gives the estimate, for callers
//!   that share one memory budget between parallel fits). Never a panic
//!   on input.
//! * Applying the EXIF orientation (1-8) to the pixels (for HEIF, its
//!   `irot` and `imir` boxes, which the format puts above its EXIF).
//! * Removing EXIF (GPS, maker notes, serial numbers, thumbnails), XMP,
//!   IPTC, comments, PNG text, vendor segments and chunks, JFIF thumbnails
//!   and trailing data; keeping the ICC colour profile when it is one (its
//!   `acsp` signature) and under 4 MiB. Losslessly (by dropping segments)
//!   when the image needs nothing else.
//! * Refusing what cannot be checked: truncated images (a JPEG scan cut
//!   short is found even with an end marker appended) and variants the
//!   decoders do not read ([`FitError::Undecodable`]).
//! * Re-encoding as JPEG at the highest quality that fits, then
//!   downscaling in steps if it must, within the [`Target`]'s floor and
//!   minimum size. A JPEG far over the budget (a 50-200 MP phone photo)
//!   is decoded at 1/2, 1/4 or 1/8 of its size by its inverse DCT, never
//!   smaller than what the fit would keep unless the pixel or memory limit
//!   requires it, so a 200 MP photo costs about what a 12 MP one does.
//!
//! # Out of scope
//!
//! * Files, clocks, threads beyond short-lived ones of its own, two at a
//!   time (a JPEG's scan check beside its decode, two encodes): the
//!   caller reads the bytes and writes the result. The input is never
//!   modified.
//! * AVIF decoding (recognised and refused with a conversion hint), GIF,
//!   TIFF and animations (refused); of a HEIF file, only its primary
//!   still image is read.
//! * Colour conversion: the colour profile travels with the pixels.

#![forbid(unsafe_code)]

mod api;
mod bmp;
mod cost;
mod encode;
mod error;
mod exif;
mod fit;
mod format;
// The fuzz target's entry point (the `fuzzing` feature) and the photo
// generator of the tests, benches and examples (`synth`): compiled only
// for them, never into a user's build.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod heic;
mod huffman;
mod jpeg;
mod pixels;
mod png;
mod probe;
mod report;
mod scale;
#[cfg(any(test, feature = "synth"))]
#[doc(hidden)]
pub mod synth;
mod target;
mod webp;

pub use error::FitError;
pub use fit::{fit, peak_bytes};
pub use format::Format;
pub use probe::{Probe, probe};
pub use report::{ByteSize, Dims, FitReport, Fitted, Metadata, Orientation, name_for};
pub use target::{DecodeLimits, Target};
