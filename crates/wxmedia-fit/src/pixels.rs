//! Decoded pixels: decoding under limits, orientation and downscaling.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, Limits};

use crate::error::FitError;
use crate::report::{ByteSize, Dims, Orientation};
use crate::{DecodeLimits, Format};

/// 8-bit pixels, 1 channel (grey) or 3 (RGB), rows packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pixels {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) channels: u8,
    pub(crate) data: Vec<u8>,
}

impl Pixels {
    pub(crate) fn dims(&self) -> Dims {
        Dims::new(self.width, self.height)
    }
}

/// Pixels and the colour profile they are in.
pub(crate) struct Decoded {
    pub(crate) pixels: Pixels,
    pub(crate) icc: Option<Vec<u8>>,
    /// Whether the decoder already turned the pixels upright (HEIF's
    /// `irot`/`imir`), so the orientation is not applied again.
    pub(crate) upright: bool,
}

/// Decodes to 8-bit grey or RGB, alpha flattened onto white (JPEG has no
/// alpha, and documents photographed or scanned on white read best so).
/// The caller checked the dimensions and the memory the whole fit needs
/// ([`cost`](crate::cost)) from the header; the decoders also get the
/// memory limit, as a last guard.
/// A JPEG is decoded `scale` (1, 2, 4 or 8) times smaller than stored.
pub(crate) fn decode(
    bytes: &[u8],
    format: Format,
    limits: &DecodeLimits,
    scale: u32,
) -> Result<Decoded, FitError> {
    match format {
        Format::Jpeg if scale > 1 => crate::scale::decode_jpeg(bytes, limits, scale),
        Format::Jpeg => decode_jpeg(bytes, limits),
        Format::Png | Format::Bmp | Format::WebP => decode_other(bytes, format, limits),
        Format::Heic => crate::heic::decode(bytes, limits),
        _ => Err(FitError::Unsupported { format }),
    }
}

/// Runs `decode` with the JPEG's scans read beside it, on a second
/// thread: a scan cut short (with an EOI appended) decodes without an
/// error, its missing rows grey, and only the Huffman walk finds it. Its
/// refusal wins over whatever the decode returned.
pub(crate) fn with_scan_check<T>(
    bytes: &[u8],
    decode: impl FnOnce() -> Result<T, FitError>,
) -> Result<T, FitError> {
    std::thread::scope(|s| {
        let check = s.spawn(|| crate::jpeg::check_scans(bytes));
        let decoded = decode();
        match check.join() {
            Ok(checked) => checked.and(decoded),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

fn decode_jpeg(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded, FitError> {
    with_scan_check(bytes, || decode_jpeg_whole(bytes, limits))
}

fn decode_jpeg_whole(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded, FitError> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;

    let corrupt = |e: zune_jpeg::errors::DecodeErrors| FitError::Corrupt {
        format: Format::Jpeg,
        source: Box::new(e),
    };
    // Not strict: phone JPEGs have harmless quirks (padding between
    // segments); truncation was already refused by the segment walk.
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(limits.max_width as usize)
        .set_max_height(limits.max_height as usize);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(corrupt)?;
    let grey = matches!(
        decoder.input_colorspace(),
        Some(ColorSpace::Luma | ColorSpace::LumaA)
    );
    let out = if grey {
        ColorSpace::Luma
    } else {
        ColorSpace::RGB
    };
    decoder.set_options(decoder.options().jpeg_set_out_colorspace(out));
    let icc = decoder.icc_profile();
    let data = decoder.decode().map_err(corrupt)?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| FitError::corrupt(Format::Jpeg, "no dimensions"))?;
    let channels = if grey { 1 } else { 3 };
    if data.len() != width * height * usize::from(channels) {
        return Err(FitError::corrupt(
            Format::Jpeg,
            "the decoder returned a buffer of the wrong size",
        ));
    }
    Ok(Decoded {
        pixels: Pixels {
            width: width as u32,
            height: height as u32,
            channels,
            data,
        },
        icc,
        upright: false,
    })
}

fn decode_other(bytes: &[u8], format: Format, limits: &DecodeLimits) -> Result<Decoded, FitError> {
    let mut l = Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_alloc);
    let map = |e: image::ImageError| map_image_error(format, limits, e);
    let cursor = Cursor::new(bytes);
    let (image, icc) = match format {
        Format::Png => {
            // The profile is read under its own bound, and the pixel
            // decoder never sees the chunk.
            let (png, icc) = crate::png::without_iccp(bytes)?;
            let d = image::codecs::png::PngDecoder::with_limits(Cursor::new(png.as_slice()), l)
                .map_err(map)?;
            (DynamicImage::from_decoder(d).map_err(map)?, icc)
        }
        Format::WebP => {
            let mut d = image::codecs::webp::WebPDecoder::new(cursor).map_err(map)?;
            d.set_limits(l).map_err(map)?;
            let icc = d.icc_profile().ok().flatten();
            (DynamicImage::from_decoder(d).map_err(map)?, icc)
        }
        _ => {
            let mut d = image::codecs::bmp::BmpDecoder::new(cursor).map_err(map)?;
            d.set_limits(l).map_err(map)?;
            (DynamicImage::from_decoder(d).map_err(map)?, None)
        }
    };
    Ok(Decoded {
        pixels: flatten(image),
        icc,
        upright: false,
    })
}

fn map_image_error(format: Format, limits: &DecodeLimits, e: image::ImageError) -> FitError {
    match e {
        image::ImageError::Limits(_) => FitError::OverMemoryLimit {
            format,
            needed: ByteSize(limits.max_alloc.saturating_add(1)),
            limit: ByteSize(limits.max_alloc),
        },
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            FitError::Truncated { format }
        }
        e => FitError::Corrupt {
            format,
            source: Box::new(e),
        },
    }
}

/// A colour sample of opacity `a` composited over white.
fn over_white(c: u8, a: u8) -> u8 {
    ((u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a)) + 127) / 255) as u8
}

/// 8-bit RGBA to RGB over white.
pub(crate) fn rgba_over_white(rgba: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
    for p in rgba.chunks_exact(4) {
        rgb.extend_from_slice(&[
            over_white(p[0], p[3]),
            over_white(p[1], p[3]),
            over_white(p[2], p[3]),
        ]);
    }
    rgb
}

/// Any decoded image to 8-bit grey or RGB, alpha composited over white.
fn flatten(image: DynamicImage) -> Pixels {
    let (width, height) = (image.width(), image.height());
    let colour = image.color().has_color();
    let alpha = image.color().has_alpha();
    let (channels, data) = match (colour, alpha) {
        (false, false) => (1, image.into_luma8().into_raw()),
        (false, true) => (
            1,
            image
                .into_luma_alpha8()
                .into_raw()
                .chunks_exact(2)
                .map(|p| over_white(p[0], p[1]))
                .collect(),
        ),
        (true, false) => (3, image.into_rgb8().into_raw()),
        (true, true) => (3, rgba_over_white(&image.into_rgba8().into_raw())),
    };
    Pixels {
        width,
        height,
        channels,
        data,
    }
}

/// Applies an EXIF orientation to the pixels, so they are stored upright.
pub(crate) fn orient(p: Pixels, o: Orientation) -> Pixels {
    if o == Orientation::Normal {
        return p;
    }
    match p.channels {
        1 => orient_n::<1>(&p, o),
        _ => orient_n::<3>(&p, o),
    }
}

/// Output pixel (ox, oy) comes from source pixel `base + ox * dx + oy * dy`
/// (in pixels). Walking the output in 64×64 tiles keeps both the reads and
/// the writes of a 90° turn within cache.
fn orient_n<const C: usize>(p: &Pixels, o: Orientation) -> Pixels {
    let (w, h) = (p.width as isize, p.height as isize);
    let (base, dx, dy) = match o {
        Orientation::Normal => (0, 1, w),
        Orientation::FlipHorizontal => (w - 1, -1, w),
        Orientation::Rotate180 => ((h - 1) * w + w - 1, -1, -w),
        Orientation::FlipVertical => ((h - 1) * w, 1, -w),
        Orientation::Transpose => (0, w, 1),
        Orientation::Rotate90 => ((h - 1) * w, -w, 1),
        Orientation::Transverse => ((h - 1) * w + w - 1, -w, -1),
        Orientation::Rotate270 => (w - 1, w, -1),
    };
    let out_dims = o.apply_to(p.dims());
    let (ow, oh) = (out_dims.width as usize, out_dims.height as usize);
    let mut out = vec![0u8; ow * oh * C];
    const TILE: usize = 64;
    for ty in (0..oh).step_by(TILE) {
        for tx in (0..ow).step_by(TILE) {
            for oy in ty..(ty + TILE).min(oh) {
                let row = &mut out[(oy * ow + tx) * C..(oy * ow + (tx + TILE).min(ow)) * C];
                let mut src = base + tx as isize * dx + oy as isize * dy;
                for px in row.chunks_exact_mut(C) {
                    let s = src as usize * C;
                    px.copy_from_slice(&p.data[s..s + C]);
                    src += dx;
                }
            }
        }
    }
    Pixels {
        width: out_dims.width,
        height: out_dims.height,
        channels: p.channels,
        data: out,
    }
}

/// Downscales with a Lanczos3 filter (sharp, without the ringing of
/// larger kernels), in the image's own (sRGB) space as browsers and
/// ImageMagick's default do.
pub(crate) fn downscale(p: &Pixels, to: Dims) -> Result<Pixels, FitError> {
    use fast_image_resize::images::{Image, ImageRef};
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

    let kind = if p.channels == 1 {
        PixelType::U8
    } else {
        PixelType::U8x3
    };
    fn fail<E: std::error::Error + Send + Sync + 'static>(e: E) -> FitError {
        FitError::Encode {
            source: Box::new(e),
        }
    }
    let src = ImageRef::new(p.width, p.height, &p.data, kind).map_err(fail)?;
    let mut dst = Image::new(to.width, to.height, kind);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(fail)?;
    Ok(Pixels {
        width: to.width,
        height: to.height,
        channels: p.channels,
        data: dst.into_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×2 grey image with distinct values, and the expected result of
    /// each orientation (as rows).
    #[test]
    fn every_orientation_moves_pixels_as_exif_defines() {
        let p = Pixels {
            width: 3,
            height: 2,
            channels: 1,
            data: vec![1, 2, 3, 4, 5, 6],
        };
        // Stored:  1 2 3
        //          4 5 6
        let cases: [(u16, &[u8], u32); 8] = [
            (1, &[1, 2, 3, 4, 5, 6], 3),
            (2, &[3, 2, 1, 6, 5, 4], 3),
            (3, &[6, 5, 4, 3, 2, 1], 3),
            (4, &[4, 5, 6, 1, 2, 3], 3),
            (5, &[1, 4, 2, 5, 3, 6], 2),
            (6, &[4, 1, 5, 2, 6, 3], 2),
            (7, &[6, 3, 5, 2, 4, 1], 2),
            (8, &[3, 6, 2, 5, 1, 4], 2),
        ];
        for (value, want, width) in cases {
            let o = Orientation::from_exif(value).unwrap();
            let got = orient(p.clone(), o);
            assert_eq!(
                (got.data.as_slice(), got.width),
                (want, width),
                "orientation {value}"
            );
        }
    }

    #[test]
    fn rgb_orientation_moves_whole_pixels() {
        let data: Vec<u8> = (0..70 * 65 * 3).map(|i| (i % 251) as u8).collect();
        let p = Pixels {
            width: 70,
            height: 65,
            channels: 3,
            data,
        };
        let r = orient(p.clone(), Orientation::Rotate90);
        // Rotating clockwise four times is the identity.
        let back = orient(
            orient(orient(r, Orientation::Rotate90), Orientation::Rotate90),
            Orientation::Rotate90,
        );
        assert_eq!(back, p);
    }
}
