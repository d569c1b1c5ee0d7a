//! Deterministic test images and measures, for this crate's tests, the
//! bench and the CLI's tests: photo-like and screenshot-like pixels, EXIF
//! blocks, and PSNR/SSIM. Not part of the stable API.

use crate::report::Orientation;

/// An 8-bit RGB image, rows packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGB bytes, `width * height * 3` of them.
    pub rgb: Vec<u8>,
}

/// A small, fast, deterministic generator (SplitMix64): the same seed gives
/// the same image on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    #[must_use]
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Roughly normal with mean 0 and deviation 1 (a sum of four
    /// uniforms: cheap, and close enough for sensor noise).
    pub fn normal(&mut self) -> f32 {
        let b = self.next_u64();
        let s: u32 = (0..4).map(|i| ((b >> (16 * i)) & 0xFFFF) as u32).sum();
        (s as f32 / 65536.0 - 2.0) * 1.732_050_8
    }
}

/// Value noise: a random lattice every `cell` pixels, interpolated
/// bilinearly: texture of a given grain (foliage, fabric, asphalt).
struct Lattice {
    cell: f32,
    cols: usize,
    values: Vec<f32>,
}

impl Lattice {
    fn new(width: u32, height: u32, cell: f32, rng: &mut Rng) -> Lattice {
        let cols = (width as f32 / cell) as usize + 2;
        let rows = (height as f32 / cell) as usize + 2;
        Lattice {
            cell,
            cols,
            values: (0..cols * rows).map(|_| rng.unit() * 2.0 - 1.0).collect(),
        }
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        let (fx, fy) = (x / self.cell, y / self.cell);
        let (ix, iy) = (fx as usize, fy as usize);
        let (tx, ty) = (fx - ix as f32, fy - iy as f32);
        let v = |c: usize, r: usize| self.values[r * self.cols + c];
        let top = v(ix, iy) * (1.0 - tx) + v(ix + 1, iy) * tx;
        let bottom = v(ix, iy + 1) * (1.0 - tx) + v(ix + 1, iy + 1) * tx;
        top * (1.0 - ty) + bottom * ty
    }
}

const TEXTURE_BIAS: f32 = 0.5;
const FINE: f32 = 30.0;
const GRAIN: f32 = 3.5;

/// A photo-like image: smooth colour gradients, soft-edged shapes, regions
/// of fine texture next to smooth ones, and sensor-like noise, so JPEG
/// cannot shrink it trivially. At 12 MP a quality-95 JPEG of it is about
/// 5-6 MB, like a phone photo.
#[must_use]
pub fn photo(width: u32, height: u32, seed: u64) -> Image {
    let mut rng = Rng::new(seed);
    let (w, h) = (width as f32, height as f32);
    // Three broad waves per channel: the light and colour of a scene.
    let waves: Vec<[f32; 5]> = (0..9)
        .map(|_| {
            [
                rng.unit() * 2.5 + 0.3,
                rng.unit() * 2.5 + 0.3,
                rng.unit() * std::f32::consts::TAU,
                rng.unit() * 40.0 + 10.0,
                0.0,
            ]
        })
        .collect();
    let base: Vec<f32> = (0..3).map(|_| rng.unit() * 120.0 + 60.0).collect();
    let discs: Vec<[f32; 6]> = (0..14)
        .map(|_| {
            let r = (rng.unit() * 0.18 + 0.04) * w.min(h);
            [
                rng.unit() * w,
                rng.unit() * h,
                r,
                rng.unit() * 255.0,
                rng.unit() * 255.0,
                rng.unit() * 255.0,
            ]
        })
        .collect();
    let fine = Lattice::new(width, height, 3.0, &mut rng);
    let medium = Lattice::new(width, height, 11.0, &mut rng);
    let mask = Lattice::new(width, height, w.max(h) / 5.0, &mut rng);
    let mut noise = Rng::new(seed ^ 0x5EED);
    // cos(A(u) + B(v)) = cos A cos B - sin A sin B: the waves are separable,
    // so their trigonometry is computed per column and per row, not per pixel.
    let tables =
        |n: u32, scale: f32, pick: &dyn Fn(&[f32; 5]) -> (f32, f32)| -> Vec<Vec<(f32, f32)>> {
            waves
                .iter()
                .map(|wave| {
                    let (freq, phase) = pick(wave);
                    (0..n)
                        .map(|i| {
                            let a = std::f32::consts::TAU * freq * i as f32 / scale + phase;
                            (a.cos(), a.sin())
                        })
                        .collect()
                })
                .collect()
        };
    let cols = tables(width, w, &|wave| (wave[0], wave[2]));
    let rows = tables(height, h, &|wave| (wave[1], 0.0));
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    let mut near: Vec<&[f32; 6]> = Vec::with_capacity(discs.len());
    for y in 0..height {
        let v = y as f32 / h;
        let yf = y as f32;
        near.clear();
        near.extend(discs.iter().filter(|d| (yf - d[1]).abs() <= d[2] + 2.0));
        for x in 0..width {
            let u = x as f32 / w;
            let xf = x as f32;
            let mut px = [0f32; 3];
            for (c, p) in px.iter_mut().enumerate() {
                *p = base[c] + 30.0 * (u - 0.5) * (c as f32 - 1.0) + 25.0 * (v - 0.5);
                for k in c * 3..c * 3 + 3 {
                    let ((ca, sa), (cb, sb)) = (cols[k][x as usize], rows[k][y as usize]);
                    *p += waves[k][3] * (ca * cb - sa * sb) * 0.5;
                }
            }
            for d in &near {
                if (xf - d[0]).abs() > d[2] + 2.0 {
                    continue;
                }
                let dist = ((xf - d[0]).powi(2) + (yf - d[1]).powi(2)).sqrt();
                let a = ((d[2] - dist) / 1.5 + 0.5).clamp(0.0, 1.0);
                if a > 0.0 {
                    for c in 0..3 {
                        px[c] = px[c] * (1.0 - a) + (d[3 + c] * 0.6 + px[c] * 0.4) * a;
                    }
                }
            }
            // Texture where the mask says so (grass, fabric), smooth
            // elsewhere (sky, walls).
            let texture = (mask.at(xf, yf) * 1.5 + TEXTURE_BIAS).clamp(0.0, 1.0);
            let t = texture * (fine.at(xf, yf) * FINE + medium.at(xf, yf) * 12.0);
            let grain = noise.normal() * GRAIN;
            for (c, p) in px.iter_mut().enumerate() {
                let chroma = if c == 1 { 0.0 } else { noise.normal() };
                rgb.push((*p + t + grain + chroma).clamp(0.0, 255.0) as u8);
            }
        }
    }
    Image { width, height, rgb }
}

/// A screenshot-like image: flat panels, lines of text-like glyphs with
/// hard edges, and one embedded photo, as a phone screenshot of an app.
#[must_use]
pub fn screenshot(width: u32, height: u32, seed: u64) -> Image {
    let mut rng = Rng::new(seed);
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    let fill = |rgb: &mut Vec<u8>, x0: u32, y0: u32, x1: u32, y1: u32, c: [u8; 3]| {
        for y in y0..y1.min(height) {
            for x in x0..x1.min(width) {
                let i = (y as usize * width as usize + x as usize) * 3;
                rgb[i..i + 3].copy_from_slice(&c);
            }
        }
    };
    fill(&mut rgb, 0, 0, width, height, [246, 246, 248]);
    fill(&mut rgb, 0, 0, width, height / 14, [7, 193, 96]);
    // Panels with lines of "text": glyphs are random strokes in a 7×11 cell.
    let mut y = height / 14 + 20;
    while y + 60 < height {
        let panel_h = 40 + (rng.next_u64() % 200) as u32;
        fill(&mut rgb, 16, y, width - 16, y + panel_h, [255, 255, 255]);
        let mut ly = y + 8;
        while ly + 14 < y + panel_h {
            let mut gx = 28;
            let line_end = width - 28 - (rng.next_u64() % (width as u64 / 3)) as u32;
            while gx + 8 < line_end {
                if !rng.next_u64().is_multiple_of(6) {
                    for _ in 0..4 {
                        let (sx, sy) = (
                            gx + (rng.next_u64() % 6) as u32,
                            ly + (rng.next_u64() % 10) as u32,
                        );
                        let (len, vertical) = (
                            2 + (rng.next_u64() % 6) as u32,
                            rng.next_u64().is_multiple_of(2),
                        );
                        let (x1, y1) = if vertical {
                            (sx + 1, sy + len)
                        } else {
                            (sx + len, sy + 1)
                        };
                        fill(
                            &mut rgb,
                            sx,
                            sy,
                            x1.min(gx + 7),
                            y1.min(ly + 11),
                            [34, 34, 38],
                        );
                    }
                }
                gx += 8;
            }
            ly += 16;
        }
        y += panel_h + 16;
    }
    // One photo, a quarter of the screen.
    let (pw, ph) = (width / 2, height / 4);
    let photo = photo(pw, ph, seed ^ 0xF070);
    for row in 0..ph {
        let src = (row * pw * 3) as usize;
        let dst = (((height / 3 + row) * width + width / 4) * 3) as usize;
        rgb[dst..dst + (pw * 3) as usize].copy_from_slice(&photo.rgb[src..src + (pw * 3) as usize]);
    }
    Image { width, height, rgb }
}

/// Encodes a JPEG with `jpeg-encoder` (4:2:0 below quality 90, else 4:4:4).
#[must_use]
pub fn jpeg(image: &Image, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.encode(
        &image.rgb,
        image.width as u16,
        image.height as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .expect("a synthetic image encodes");
    out
}

/// Encodes a JPEG the way phone cameras do: 4:2:0 chroma at any quality.
#[must_use]
pub fn phone_jpeg(image: &Image, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    enc.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    enc.encode(
        &image.rgb,
        image.width as u16,
        image.height as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .expect("a synthetic image encodes");
    out
}

/// Encodes a PNG (the `image` crate's encoder, default settings).
#[must_use]
pub fn png(image: &Image) -> Vec<u8> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            &image.rgb,
            image.width,
            image.height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("a synthetic image encodes");
    out
}

/// Encodes a lossless WebP (the only kind the `image` crate writes).
#[must_use]
pub fn webp(image: &Image) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .encode(
            &image.rgb,
            image.width,
            image.height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("a synthetic image encodes");
    out
}

/// A GPS latitude of 22°32'N as EXIF rationals, the bytes the tests look
/// for in outputs.
pub const GPS_LATITUDE: [u8; 24] = [
    22, 0, 0, 0, 1, 0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0, 0x10, 0x27, 0, 0, 100, 0, 0, 0,
];
/// The body serial number written into synthetic EXIF blocks.
pub const SERIAL: &[u8] = b"SN-0123456789\0";

/// A little-endian TIFF (EXIF) block: IFD0 with the make, the orientation
/// and pointers to an EXIF IFD (a body serial number) and, when `gps`, a
/// GPS IFD (latitude, longitude, and a processing method reading "GPS").
#[must_use]
pub fn exif(orientation: u16, gps: bool) -> Vec<u8> {
    // (tag, type, count, value bytes); values over 4 bytes go to a data area.
    type Entry = (u16, u16, u32, Vec<u8>);
    let make: Entry = (0x010F, 2, 14, b"wxmedia-synth\0".to_vec());
    let orient: Entry = (0x0112, 3, 1, orientation.to_le_bytes().to_vec());
    let exif_ifd: Vec<Entry> = vec![(0xA431, 2, SERIAL.len() as u32, SERIAL.to_vec())];
    let gps_ifd: Vec<Entry> = vec![
        (0x0001, 2, 2, b"N\0".to_vec()),
        (0x0002, 5, 3, GPS_LATITUDE.to_vec()),
        (0x0003, 2, 2, b"E\0".to_vec()),
        (
            0x0004,
            5,
            3,
            [114u32, 1, 3, 1, 0, 1]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        (0x001B, 7, 11, b"ASCII\0\0\0GPS".to_vec()),
    ];
    let ifd_len = |n: usize| 2 + 12 * n + 4;
    let n0 = if gps { 4 } else { 3 };
    let exif_at = 8 + ifd_len(n0);
    let gps_at = exif_at + ifd_len(exif_ifd.len());
    let mut data_at = gps_at + if gps { ifd_len(gps_ifd.len()) } else { 0 };
    let mut ifd0 = vec![
        make,
        orient,
        (0x8769, 4, 1, (exif_at as u32).to_le_bytes().to_vec()),
    ];
    if gps {
        ifd0.push((0x8825, 4, 1, (gps_at as u32).to_le_bytes().to_vec()));
    }
    let mut out = b"II*\0\x08\0\0\0".to_vec();
    let mut data = Vec::new();
    let mut ifds = vec![ifd0, exif_ifd];
    if gps {
        ifds.push(gps_ifd);
    }
    for ifd in ifds {
        out.extend((ifd.len() as u16).to_le_bytes());
        for (tag, kind, count, value) in ifd {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(count.to_le_bytes());
            if value.len() <= 4 {
                let mut v = value.clone();
                v.resize(4, 0);
                out.extend(v);
            } else {
                out.extend((data_at as u32).to_le_bytes());
                data_at += value.len() + value.len() % 2;
                data.extend(&value);
                if value.len() % 2 == 1 {
                    data.push(0);
                }
            }
        }
        out.extend(0u32.to_le_bytes());
    }
    out.extend(data);
    out
}

/// `jpeg` with an EXIF APP1 segment (see [`exif`]) inserted after SOI.
#[must_use]
pub fn with_exif(jpeg: &[u8], orientation: u16, gps: bool) -> Vec<u8> {
    let payload = [&b"Exif\0\0"[..], &exif(orientation, gps)].concat();
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((payload.len() + 2) as u16).to_be_bytes());
    out.extend(payload);
    out.extend(&jpeg[2..]);
    out
}

/// Decodes JPEG, PNG, BMP or WebP to RGB with this crate's decoders (grey
/// expanded to RGB), ignoring any orientation.
#[must_use]
pub fn decode(bytes: &[u8]) -> Option<Image> {
    let probe = crate::probe(bytes).ok()?;
    let d = crate::pixels::decode(bytes, probe.format, &crate::DecodeLimits::DEFAULT, 1).ok()?;
    let p = d.pixels;
    let rgb = if p.channels == 1 {
        p.data.iter().flat_map(|&v| [v, v, v]).collect()
    } else {
        p.data
    };
    Some(Image {
        width: p.width,
        height: p.height,
        rgb,
    })
}

/// `image` with an EXIF orientation (1..=8) applied.
#[must_use]
pub fn orient(image: &Image, orientation: u16) -> Image {
    let o = Orientation::from_exif(orientation).unwrap_or(Orientation::Normal);
    let p = crate::pixels::Pixels {
        width: image.width,
        height: image.height,
        channels: 3,
        data: image.rgb.clone(),
    };
    let p = crate::pixels::orient(p, o);
    Image {
        width: p.width,
        height: p.height,
        rgb: p.data,
    }
}

/// Peak signal-to-noise ratio over all RGB samples, in dB (infinite when
/// identical). Panics if the sizes differ.
#[must_use]
pub fn psnr(a: &Image, b: &Image) -> f64 {
    assert_eq!(
        (a.width, a.height),
        (b.width, b.height),
        "PSNR of images of different sizes"
    );
    let se: u64 = a
        .rgb
        .iter()
        .zip(&b.rgb)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)).pow(2))
        .sum();
    if se == 0 {
        return f64::INFINITY;
    }
    let mse = se as f64 / a.rgb.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// Mean SSIM of the luma (BT.601) over 8×8 windows every 4 pixels, with
/// the usual constants (K1 = 0.01, K2 = 0.03, L = 255). 1.0 is identical.
#[must_use]
pub fn ssim(a: &Image, b: &Image) -> f64 {
    assert_eq!(
        (a.width, a.height),
        (b.width, b.height),
        "SSIM of images of different sizes"
    );
    let luma = |img: &Image| -> Vec<f32> {
        img.rgb
            .chunks_exact(3)
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect()
    };
    let (la, lb) = (luma(a), luma(b));
    let (w, h) = (a.width as usize, a.height as usize);
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut total, mut windows) = (0.0f64, 0usize);
    for y in (0..h.saturating_sub(7)).step_by(4) {
        for x in (0..w.saturating_sub(7)).step_by(4) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0f64, 0f64, 0f64, 0f64, 0f64);
            for row in y..y + 8 {
                for i in row * w + x..row * w + x + 8 {
                    let (p, q) = (f64::from(la[i]), f64::from(lb[i]));
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let n = 64.0;
            let (ma, mb) = (sa / n, sb / n);
            let (va, vb, cov) = (saa / n - ma * ma, sbb / n - mb * mb, sab / n - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            windows += 1;
        }
    }
    if windows == 0 {
        1.0
    } else {
        total / windows as f64
    }
}

/// `image` resized to `width`×`height` with the Lanczos3 filter `fit`
/// uses, so a downscaled output can be compared with its source at the
/// source's size.
#[must_use]
pub fn resize(image: &Image, width: u32, height: u32) -> Image {
    let p = crate::pixels::Pixels {
        width: image.width,
        height: image.height,
        channels: 3,
        data: image.rgb.clone(),
    };
    let p = crate::pixels::downscale(&p, crate::Dims::new(width, height)).expect("valid sizes");
    Image {
        width: p.width,
        height: p.height,
        rgb: p.data,
    }
}

/// The Huffman re-coding `fit` applies to its JPEGs, exposed for tuning.
#[must_use]
pub fn optimize_huffman(jpeg: &[u8]) -> Vec<u8> {
    crate::huffman::optimize(jpeg).expect("a baseline jpeg-encoder JPEG")
}

/// A PNG chunk: length, type, data and CRC, written as the crate's own
/// strip writes them (for tests and tools that build hostile PNGs).
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    crate::png::chunk_bytes(kind, data)
}

// A test's peak memory, measured in a child process of its own.
mod memory;
pub use memory::{measure_in_child, measured, print_peak};

// Decompression bombs that claim `side`×`side` pixels from a few bytes
// (hardening round 4, item 2), for the tests and the `bombs` example.
pub mod bombs;

// HEIC files coded by `heif-enc`, and containers of our own around its
// pictures (grids, rotations), for the HEIC tests and benches.
pub mod heif;
