//! HEIC and HEIF: the container read by the pure-Rust `heic-rs` (headers, grid, rotation, EXIF, ICC) and its pixels decoded to 8-bit RGB under the crate's limits.
//!
//! An iPhone stores a photo as a grid of 512×512 HEVC tiles with an `irot`
//! box turning it upright and an EXIF block whose orientation says the
//! same thing again. ISO/IEC 23008-12 makes the boxes the authority (a
//! reader applies `clap`, `irot` and `imir` in the order `ipma` lists
//! them, and ignores the EXIF orientation), so they are applied while
//! decoding and the EXIF orientation is metadata like any other, removed
//! with it.

use std::borrow::Cow;

use heic_rs::context::Context;
use heic_rs::hevc::Frame;
use heic_rs::props::ItemProps;
use heic_rs::{DecodeOptions, Image, MatrixCoefficients, Nclx, PixelLayout, Range, Transform};

use crate::DecodeLimits;
use crate::Format;
use crate::cost::Layout;
use crate::error::FitError;
use crate::exif;
use crate::pixels::{Decoded, Pixels};
use crate::probe::HeaderInfo;
use crate::report::{Dims, Metadata, Orientation};

mod vui;

/// What the container says, beyond [`HeaderInfo`]: the orientation the
/// boxes give (applied by the decoder, so never applied again).
pub(crate) struct HeicInfo {
    pub(crate) info: HeaderInfo,
    pub(crate) orientation: Orientation,
}

/// Reads the container without decoding a pixel: the size after the clean
/// aperture and before rotation (the dimensions "as stored", as for the
/// other formats), the orientation of `irot`/`imir`, EXIF (read for GPS
/// and the rest, like a JPEG's), XMP and the ICC profile.
pub(crate) fn parse(bytes: &[u8]) -> Result<HeicInfo, FitError> {
    let probe = heic_rs::probe(bytes).map_err(error)?;
    let ctx = Context::open(bytes).map_err(error)?;
    let props = ctx.props(probe.primary_item).map_err(error)?;
    let orientation = orientation_of(&turns(&props));
    // `probe` gives the size the caller receives (after every transform):
    // undo the turn to get the size as stored.
    let upright = Dims::new(probe.width, probe.height);
    let dims = if orientation.swaps_sides() {
        Dims::new(upright.height, upright.width)
    } else {
        upright
    };
    let mut info = HeaderInfo {
        dims: Some(dims),
        icc: props.icc.is_some_and(crate::probe::icc_is_profile),
        ..HeaderInfo::default()
    };
    if props.icc.is_some() && !info.icc {
        info.found([Metadata::Icc]);
    }
    if probe.has_exif {
        info.found([Metadata::Exif]);
        // An EXIF item in several extents cannot be borrowed: it is still
        // removed (the output is re-encoded), just not read for details.
        if let Ok(Some(tiff)) = ctx.exif(probe.primary_item) {
            let parsed = exif::parse(tiff).unwrap_or_default();
            info.found(parsed.kinds());
            info.exif_at = offset_in(bytes, tiff);
            info.exif = Some(parsed);
        }
    }
    if let Some(item) = ctx.xmp_item(probe.primary_item) {
        info.found([Metadata::Xmp]);
        if let Ok(Cow::Borrowed(xmp)) = ctx.item_data(item) {
            info.xmp_at = offset_in(bytes, xmp);
        }
    }
    // Thumbnails are items of their own, never copied into the output.
    info.layout = layout(probe.chroma, probe.has_alpha);
    info.metadata.sort();
    Ok(HeicInfo { info, orientation })
}

/// Where `part`, a slice borrowed from `whole`, starts and ends in it.
fn offset_in(whole: &[u8], part: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

/// The memory model of a decode: the coded pictures (each sample as 16
/// bits, chroma at its subsampling, plus about a byte a pixel of
/// per-block state; a grid's tiles composed into one frame first when the
/// stream's colours are used, the tiles freed as the frame fills) live
/// until the RGB or RGBA output is written; the pictures are freed before
/// a rotation or mirror writes a second output, and an RGBA output is
/// flattened into an RGB copy.
fn layout(chroma: heic_rs::ChromaFormat, alpha: bool) -> Layout {
    use heic_rs::ChromaFormat as C;
    let samples = match chroma {
        C::Monochrome => 1.0,
        C::Yuv420 => 1.5,
        C::Yuv422 => 2.0,
        C::Yuv444 => 3.0,
    };
    // The alpha plane is a monochrome picture of its own.
    let coded = 2.0 * samples + 1.0 + if alpha { 2.0 } else { 0.0 };
    let out: f64 = if alpha { 4.0 } else { 3.0 };
    Layout {
        decode: (coded + out).max(2.0 * out),
        // Grey pictures too come out as RGB.
        channels: 3,
        check: 0.0,
    }
}

/// The EXIF orientation that moves pixels as the transformative
/// properties do, in their order: found by applying both to a 3×2 image
/// of distinct pixels (a crop is no turn and is left out).
fn orientation_of(transforms: &[Transform]) -> Orientation {
    let turns: Vec<Transform> = transforms
        .iter()
        .copied()
        .filter(|t| !matches!(t, Transform::Crop(_)))
        .collect();
    if turns.is_empty() {
        return Orientation::Normal;
    }
    let probe = Image {
        data: vec![1, 2, 3, 4, 5, 6],
        width: 3,
        height: 2,
        layout: PixelLayout::Gray8,
    };
    let Ok(turned) = heic_rs::transform::apply_all(probe.clone(), &turns) else {
        return Orientation::Normal;
    };
    (1..=8)
        .filter_map(Orientation::from_exif)
        .find(|&o| {
            let ours = crate::pixels::orient(
                Pixels {
                    width: 3,
                    height: 2,
                    channels: 1,
                    data: probe.data.clone(),
                },
                o,
            );
            ours.data == turned.data && ours.width == turned.width
        })
        .unwrap_or(Orientation::Normal)
}

/// Decodes the primary image upright (`clap`, `irot` and `imir` applied
/// in their order) to 8-bit RGB, alpha over white, under the pixel limit, on
/// this thread (heic-rs's thread pool is not built in).
pub(crate) fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded, FitError> {
    let probe = heic_rs::probe(bytes).map_err(error)?;
    let layout = if probe.has_alpha {
        PixelLayout::Rgba8
    } else {
        PixelLayout::Rgb8
    };
    let ctx = Context::open(bytes).map_err(error)?;
    let props = ctx.props(probe.primary_item).map_err(error)?;
    let icc = props.icc.map(<[u8]>::to_vec);
    let image = match stream_colour(&ctx, probe.primary_item, &props) {
        // The stream says other than heic-rs's fallback: decode with it.
        Some(nclx) if nclx != Nclx::default() => decode_as(
            &ctx,
            probe.primary_item,
            &props,
            nclx,
            layout,
            limits.max_pixels,
        ),
        _ => {
            let options = DecodeOptions::default()
                .with_layout(layout)
                .with_max_pixels(Some(limits.max_pixels))
                .with_transforms(false)
                .with_alpha(probe.has_alpha)
                .with_threads(Some(1));
            heic_rs::decode(bytes, &options)
        }
    }
    .and_then(|image| heic_rs::transform::apply_all(image, &turns(&props)))
    .map_err(error)?;
    let (width, height) = (image.width, image.height);
    let data = match image.layout {
        PixelLayout::Rgba8 => crate::pixels::rgba_over_white(&image.data),
        _ => image.data,
    };
    if data.len() != width as usize * height as usize * 3 {
        return Err(FitError::corrupt(
            Format::Heic,
            "the decoder returned a buffer of the wrong size",
        ));
    }
    Ok(Decoded {
        pixels: Pixels {
            width,
            height,
            channels: 3,
            data,
        },
        icc,
        upright: true,
    })
}

/// The colours the coded stream's VUI gives, for an image with no `nclx`
/// box (for a grid, its first tile's stream): the range, and the matrix
/// when described (else heic-rs's fallback, BT.709).
fn stream_colour(ctx: &Context<'_>, id: u32, props: &ItemProps<'_>) -> Option<Nclx> {
    if props.nclx.is_some() {
        return None;
    }
    let coded = match ctx.grid(id).ok()? {
        Some((_, tiles)) => ctx.props(*tiles.first()?).ok()?,
        None => props.clone(),
    };
    let hvcc = coded.hvcc.as_ref()?;
    let signal = hvcc.parameter_sets().into_iter().find_map(vui::signal)?;
    let mut nclx = Nclx {
        range: if signal.full_range {
            Range::Full
        } else {
            Range::Limited
        },
        ..Nclx::default()
    };
    if let Some((primaries, transfer, matrix)) = signal.description {
        nclx.primaries = primaries.into();
        nclx.transfer = transfer.into();
        nclx.matrix_code = matrix.into();
        nclx.matrix = MatrixCoefficients::from_code(matrix.into());
    }
    Some(nclx)
}

/// heic-rs's decode with the colours given: the same steps through its
/// public parts (a grid composed into one frame first, which costs one
/// more copy of the coded samples than its own tiled colour pass).
fn decode_as(
    ctx: &Context<'_>,
    id: u32,
    props: &ItemProps<'_>,
    nclx: Nclx,
    layout: PixelLayout,
    max_pixels: u64,
) -> heic_rs::Result<Image> {
    let frame = frame_of(ctx, id, props, max_pixels)?;
    let alpha = match ctx.alpha_item(id)? {
        Some(a) if layout.has_alpha() => Some(frame_of(ctx, a, &ctx.props(a)?, max_pixels)?),
        _ => None,
    };
    heic_rs::color::convert(&frame, alpha.as_ref(), nclx, layout, max_pixels, Some(1))
}

/// The transformative properties in their order, with `imir` read as
/// libheif (the reference implementation) reads it: axis 0 exchanges top
/// and bottom, 1 left and right. heic-rs 0.1.4 reads it the other way
/// round; the test against `heif-convert` holds us to libheif.
fn turns(props: &ItemProps<'_>) -> Vec<Transform> {
    use heic_rs::Mirror;
    props
        .transforms
        .iter()
        .map(|t| match t {
            Transform::Mirror(Mirror::LeftRight) => Transform::Mirror(Mirror::TopBottom),
            Transform::Mirror(Mirror::TopBottom) => Transform::Mirror(Mirror::LeftRight),
            t => *t,
        })
        .collect()
}

/// The coded samples of an item: its picture, or its grid's tiles composed.
fn frame_of(
    ctx: &Context<'_>,
    id: u32,
    props: &ItemProps<'_>,
    max_pixels: u64,
) -> heic_rs::Result<Frame> {
    let coded = |id: u32, p: &ItemProps<'_>| -> heic_rs::Result<Frame> {
        let hvcc = p.hvcc.as_ref().ok_or(heic_rs::Error::MissingBox("hvcC"))?;
        let data = ctx.item_data(id)?;
        let frame = heic_rs::hevc::decode_still(&hvcc.parameter_sets(), &hvcc.split_nals(&data)?)?;
        frame.validate()?;
        Ok(frame)
    };
    match ctx.grid(id)? {
        Some((grid, tiles)) => {
            let frames = tiles
                .iter()
                .map(|&t| coded(t, &ctx.props(t)?))
                .collect::<heic_rs::Result<Vec<_>>>()?;
            heic_rs::grid::compose(&grid, &frames, max_pixels)
        }
        None => coded(id, props),
    }
}

/// The decoder's error as ours: a cut file is `Truncated`, what it
/// cannot decode `Undecodable`, anything else `Corrupt` with the
/// decoder's own error as the source.
fn error(e: heic_rs::Error) -> FitError {
    match e {
        heic_rs::Error::Truncated(_) => FitError::Truncated {
            format: Format::Heic,
        },
        heic_rs::Error::Unsupported(what) => FitError::Undecodable {
            format: Format::Heic,
            what,
        },
        e => FitError::Corrupt {
            format: Format::Heic,
            source: Box::new(e),
        },
    }
}
