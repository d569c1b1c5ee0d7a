//! Small, valid sample media made for the project, for tests and demos that need a real file.

/// A 24×16 baseline JPEG.
pub const JPEG: &[u8] = include_bytes!("../samples/sample.jpg");
/// A 24×16 PNG.
pub const PNG: &[u8] = include_bytes!("../samples/sample.png");
/// A 24×16 24-bit BMP.
pub const BMP: &[u8] = include_bytes!("../samples/sample.bmp");
/// A minimal whole MP4 (an `ftyp` box, a `moov` holding a version-0 `mvhd`, a 16-byte `mdat`; 168 bytes), accepted by v3's video upload.
pub const MP4: &[u8] = include_bytes!("../samples/sample.mp4");
/// A minimal whole PDF: one blank A4 page with a line of text, its
/// cross-reference table and `startxref` exact; accepted by the fapiao
/// file upload.
pub const PDF: &[u8] = include_bytes!("../samples/sample.pdf");
/// A photo as an iPhone stores one: HEIC, a 2×2 grid of HEVC tiles
/// (coded by libheif's `heif-enc`) cropped to 512×384, an `irot` box
/// turning it to portrait, EXIF with GPS. No upload takes HEIC: it is the
/// demo's photo to fit first.
pub const HEIC: &[u8] = include_bytes!("../samples/sample.heic");
