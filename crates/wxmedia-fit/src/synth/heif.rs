//! HEIC files for the tests and benches: pictures coded by a real encoder (`heif-enc`, libheif's example, with x265), and a container of our own around them where the encoder cannot write one (grids, `irot`, `imir`), laid out as an iPhone lays out a photo.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether `heif-enc` is on the PATH (Debian's `libheif-examples`).
#[must_use]
pub fn encoder_available() -> bool {
    Command::new("heif-enc")
        .arg("--version")
        .output()
        .is_ok_and(|o| !o.stdout.is_empty() || !o.stderr.is_empty())
}

/// Runs libheif's `tool` as `tool ARGS in.{ext} [-o] out.{out_ext}` in a
/// scratch directory (`in` holding `input`), and returns the file written.
///
/// # Panics
///
/// When the tool cannot be run or fails: the test needs it.
fn run(
    tool: &str,
    args: &[&str],
    flag_out: bool,
    input: &[u8],
    ext: &str,
    out_ext: &str,
) -> Vec<u8> {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "wxmedia-heif-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let (src, out) = (
        dir.join(format!("in.{ext}")),
        dir.join(format!("out.{out_ext}")),
    );
    std::fs::write(&src, input).expect("the tool's input");
    let done = Command::new(tool)
        .args(args)
        .arg(&src)
        .args(flag_out.then_some("-o"))
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs (install libheif-examples): {e}"));
    assert!(
        done.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    // A file the tool just wrote from a test's own image.
    let written = std::fs::read(&out).expect("the tool's output"); // bounded
    let _ = std::fs::remove_dir_all(&dir);
    written
}

/// `input` (a file's bytes, named `*.{ext}` for the encoder: `png`, `jpg`)
/// coded by `heif-enc` with `args` (a quality, `-b 10`, …).
///
/// # Panics
///
/// When `heif-enc` cannot be run or fails: the test needs it.
#[must_use]
pub fn heif_enc(input: &[u8], ext: &str, args: &[&str]) -> Vec<u8> {
    run("heif-enc", args, true, input, ext, "heic")
}

/// libheif's own decoding of `heic` (upright, as `heif-convert` writes
/// it to a PNG), as RGB: the reference the HEIC tests compare with.
///
/// # Panics
///
/// When `heif-convert` cannot be run or fails.
#[must_use]
pub fn libheif_decode(heic: &[u8]) -> super::Image {
    super::decode(&run("heif-convert", &[], false, heic, "heic", "png"))
        .expect("libheif's PNG decodes")
}

/// `photo` cut into `side`×`side` tiles in raster order (those past the
/// edge repeat its last row and column), each coded by `heif-enc` with
/// `args`, as an iPhone stores a photo; and how many tiles across.
#[must_use]
pub fn tiles(photo: &super::Image, side: u32, args: &[&str]) -> (Vec<Picture>, u32) {
    let (width, height) = (photo.width, photo.height);
    let (columns, rows) = (width.div_ceil(side), height.div_ceil(side));
    let mut tiles = Vec::new();
    for r in 0..rows {
        for c in 0..columns {
            let mut rgb = Vec::with_capacity((side * side * 3) as usize);
            for y in 0..side {
                let sy = (r * side + y).min(height - 1);
                for x in 0..side {
                    let sx = (c * side + x).min(width - 1);
                    let at = ((sy * width + sx) * 3) as usize;
                    rgb.extend_from_slice(&photo.rgb[at..at + 3]);
                }
            }
            let tile = super::Image {
                width: side,
                height: side,
                rgb,
            };
            tiles.push(picture(&heif_enc(&super::png(&tile), "png", args)));
        }
    }
    (tiles, columns)
}

/// A coded picture taken out of a single-image HEIC: its `hvcC` box
/// (whole) and its data (length-prefixed NAL units).
pub struct Picture {
    /// The `hvcC` box, header included.
    pub hvcc: Vec<u8>,
    /// The coded picture.
    pub data: Vec<u8>,
    /// The coded size (`ispe`).
    pub width: u32,
    /// The coded height.
    pub height: u32,
}

/// The picture of a single-image HEIC (one `hvcC` box, one coded item, as
/// `heif-enc` writes without a thumbnail).
///
/// # Panics
///
/// When the file is not such a HEIC.
#[must_use]
pub fn picture(heic: &[u8]) -> Picture {
    let at = heic
        .windows(4)
        .position(|w| w == b"hvcC")
        .expect("an hvcC box")
        - 4;
    let size = u32::from_be_bytes(heic[at..at + 4].try_into().unwrap()) as usize;
    let info = heic_rs::probe(heic).expect("a HEIC");
    let ctx = heic_rs::context::Context::open(heic).expect("a HEIC");
    let data = ctx
        .item_data(info.primary_item)
        .expect("the coded picture")
        .into_owned();
    Picture {
        hvcc: heic[at..at + size].to_vec(),
        data,
        width: info.coded_width,
        height: info.coded_height,
    }
}

/// What to put around the pictures.
#[derive(Default)]
pub struct Layout<'a> {
    /// Tiles across; 0 or 1 with one picture: no grid, the picture is the image.
    pub columns: u32,
    /// The grid's output size (the tiles cropped to it).
    pub width: u32,
    /// The grid's output height.
    pub height: u32,
    /// `irot`: quarter turns anticlockwise.
    pub irot: Option<u8>,
    /// `imir`: the axis (0: left and right exchanged).
    pub imir: Option<u8>,
    /// An `Exif` item describing the image (a TIFF block).
    pub exif: Option<&'a [u8]>,
}

fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

fn full(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
    let mut v = vec![version];
    v.extend_from_slice(&flags.to_be_bytes()[1..]);
    v.extend_from_slice(body);
    boxed(kind, &v)
}

/// A HEIC of `pictures` (tiles in raster order) laid out as `layout` says,
/// written the way ISO/IEC 23008-12 and iPhones do: a `grid` item deriving
/// from hidden `hvc1` tiles, `ispe` on each, `irot`/`imir` on the primary
/// item, an `Exif` item linked by `cdsc`.
#[must_use]
pub fn container(pictures: &[Picture], layout: &Layout<'_>) -> Vec<u8> {
    let grid = pictures.len() > 1;
    let n = pictures.len() as u16;
    // Item ids: the tiles 1..=n, then the grid, then the EXIF.
    let grid_id = n + 1;
    let exif_id = n + 2;
    let primary = if grid { grid_id } else { 1 };
    let mut data: Vec<Vec<u8>> = pictures.iter().map(|p| p.data.clone()).collect();
    let mut ids: Vec<u16> = (1..=n).collect();
    let mut infe = Vec::new();
    for id in 1..=n {
        let hidden = u32::from(grid);
        infe.push(full(
            b"infe",
            2,
            hidden,
            &[&id.to_be_bytes()[..], &[0, 0], b"hvc1", b"\0"].concat(),
        ));
    }
    if grid {
        let rows = pictures.len() as u32 / layout.columns;
        let mut g = vec![0u8, 0, (rows - 1) as u8, (layout.columns - 1) as u8];
        g.extend_from_slice(&(layout.width as u16).to_be_bytes());
        g.extend_from_slice(&(layout.height as u16).to_be_bytes());
        data.push(g);
        ids.push(grid_id);
        infe.push(full(
            b"infe",
            2,
            0,
            &[&grid_id.to_be_bytes()[..], &[0, 0], b"grid", b"\0"].concat(),
        ));
    }
    if let Some(tiff) = layout.exif {
        // The offset to the TIFF header, after the `Exif\0\0` identifier.
        data.push([&6u32.to_be_bytes()[..], b"Exif\0\0", tiff].concat());
        ids.push(exif_id);
        infe.push(full(
            b"infe",
            2,
            0,
            &[&exif_id.to_be_bytes()[..], &[0, 0], b"Exif", b"\0"].concat(),
        ));
    }
    let iinf = full(
        b"iinf",
        0,
        0,
        &[&(infe.len() as u16).to_be_bytes()[..], &infe.concat()].concat(),
    );
    let mut refs = Vec::new();
    if grid {
        let mut r = grid_id.to_be_bytes().to_vec();
        r.extend_from_slice(&n.to_be_bytes());
        for id in 1..=n {
            r.extend_from_slice(&id.to_be_bytes());
        }
        refs.push(boxed(b"dimg", &r));
    }
    if layout.exif.is_some() {
        refs.push(boxed(
            b"cdsc",
            &[
                &exif_id.to_be_bytes()[..],
                &1u16.to_be_bytes(),
                &primary.to_be_bytes(),
            ]
            .concat(),
        ));
    }
    // Properties (equal ones shared): each tile's hvcC and ispe, the
    // grid's ispe, irot, imir; associations with 15-bit indices, the
    // high bit saying "essential".
    let mut props: Vec<Vec<u8>> = Vec::new();
    let mut prop = |b: Vec<u8>| -> u16 {
        let at = props.iter().position(|p| *p == b).unwrap_or_else(|| {
            props.push(b);
            props.len() - 1
        });
        at as u16 + 1
    };
    let ispe = |w: u32, h: u32| full(b"ispe", 0, 0, &[w.to_be_bytes(), h.to_be_bytes()].concat());
    let mut assoc: Vec<(u16, Vec<u16>)> = Vec::new();
    for (i, p) in pictures.iter().enumerate() {
        let hvcc = prop(p.hvcc.clone());
        let size = prop(ispe(p.width, p.height));
        assoc.push((i as u16 + 1, vec![0x8000 | hvcc, size]));
    }
    if grid {
        let size = prop(ispe(layout.width, layout.height));
        assoc.push((grid_id, vec![size]));
    }
    let mut turns = Vec::new();
    if let Some(r) = layout.irot {
        turns.push(0x8000 | prop(boxed(b"irot", &[r & 3])));
    }
    if let Some(a) = layout.imir {
        turns.push(0x8000 | prop(boxed(b"imir", &[a & 1])));
    }
    for (id, a) in &mut assoc {
        if *id == primary {
            a.extend_from_slice(&turns);
        }
    }
    let mut ipma = (assoc.len() as u32).to_be_bytes().to_vec();
    for (id, a) in &assoc {
        ipma.extend_from_slice(&id.to_be_bytes());
        ipma.push(a.len() as u8);
        for index in a {
            ipma.extend_from_slice(&index.to_be_bytes());
        }
    }
    let iprp = boxed(
        b"iprp",
        &[boxed(b"ipco", &props.concat()), full(b"ipma", 0, 1, &ipma)].concat(),
    );
    let ftyp = boxed(b"ftyp", &[&b"heic"[..], &[0; 4], b"mif1heic"].concat());
    let meta = |base: usize| {
        // iloc v0: 4-byte offsets and lengths, no base offset.
        let mut iloc = vec![0x44, 0x00];
        iloc.extend_from_slice(&(ids.len() as u16).to_be_bytes());
        let mut at = base;
        for (id, d) in ids.iter().zip(&data) {
            iloc.extend_from_slice(&id.to_be_bytes());
            iloc.extend_from_slice(&0u16.to_be_bytes());
            iloc.extend_from_slice(&1u16.to_be_bytes());
            iloc.extend_from_slice(&(at as u32).to_be_bytes());
            iloc.extend_from_slice(&(d.len() as u32).to_be_bytes());
            at += d.len();
        }
        let hdlr = full(
            b"hdlr",
            0,
            0,
            &[&[0u8; 4][..], b"pict", &[0; 12], b"\0"].concat(),
        );
        let pitm = full(b"pitm", 0, 0, &primary.to_be_bytes());
        let iref = full(b"iref", 0, 0, &refs.concat());
        full(
            b"meta",
            0,
            0,
            &[
                hdlr,
                pitm,
                iinf.clone(),
                iref,
                iprp.clone(),
                full(b"iloc", 0, 0, &iloc),
            ]
            .concat(),
        )
    };
    // The offsets do not change the meta box's size: measure it once.
    let base = ftyp.len() + meta(0).len() + 8;
    [ftyp, meta(base), boxed(b"mdat", &data.concat())].concat()
}
