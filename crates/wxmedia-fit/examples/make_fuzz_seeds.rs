//! Writes the `fit_decode` fuzz seed corpus into the directory given: tiny images of each input kind, and structure-aware seeds for every container's length fields.
//!
//! Random mutation rarely moves a length field to the values that break a
//! hand-written walker (a RIFF size below 4 needs two bytes changed at
//! once, and no comparison in the code guides the fuzzer there), so the
//! seeds put them there: RIFF and chunk sizes, PNG chunk lengths, JPEG
//! segment lengths, BMP header sizes and fields, each at 0-4, one off,
//! and the type's maximum; plus each format's variants and hidden
//! metadata carriers, and the issue-33 bombs at a size the fuzz limits
//! take.

use wxmedia_fit::synth::{self, bombs, png_chunk};

fn seg(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF, marker];
    v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn icc_profile() -> Vec<u8> {
    let mut p = vec![0u8; 132];
    p[..4].copy_from_slice(&132u32.to_be_bytes());
    p[36..40].copy_from_slice(b"acsp");
    p
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u16;
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    [
        &[0x78, 0x01, 1][..],
        &len.to_le_bytes(),
        &(!len).to_le_bytes(),
        data,
        &(b << 16 | a).to_be_bytes(),
    ]
    .concat()
}

fn bmp(photo: &synth::Image) -> Vec<u8> {
    let mut v = Vec::new();
    image::codecs::bmp::BmpEncoder::new(&mut v)
        .encode(
            &photo.rgb,
            photo.width,
            photo.height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    v
}

fn main() {
    let dir =
        std::path::PathBuf::from(std::env::args().nth(1).expect("usage: make_fuzz_seeds DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = synth::photo(48, 32, 1);
    let jpeg = synth::jpeg(&photo, 80);
    let png = synth::png(&photo);
    let bmp = bmp(&photo);
    let webp = synth::webp(&photo);
    let mut seeds: Vec<(String, Vec<u8>)> = vec![
        (
            "jpeg-exif-6-gps.jpg".into(),
            synth::with_exif(&jpeg, 6, true),
        ),
        ("jpeg-plain.jpg".into(), jpeg.clone()),
        ("jpeg-truncated.jpg".into(), jpeg[..jpeg.len() / 2].to_vec()),
        ("png.png".into(), png.clone()),
        ("webp-lossless.webp".into(), webp.clone()),
        ("bmp.bmp".into(), bmp.clone()),
        (
            "heic-header.heic".into(),
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
        ),
    ];
    let mut add = |name: String, bytes: Vec<u8>| seeds.push((name, bytes));

    // WebP: the RIFF size at 0..=4 (the 22-byte panic of issue 33), one
    // off either way, and the maximum; the first chunk's size likewise.
    for size in [0u32, 1, 2, 3, 4, 5, u32::MAX] {
        let mut v = b"RIFF".to_vec();
        v.extend(size.to_le_bytes());
        v.extend(b"WEBPVP8L");
        v.extend(5u32.to_le_bytes());
        v.extend([0x2F, 0]);
        add(format!("webp-riff-size-{size}.webp"), v);
    }
    let riff = u32::from_le_bytes(webp[4..8].try_into().unwrap());
    for size in [riff - 1, riff + 1] {
        let mut v = webp.clone();
        v[4..8].copy_from_slice(&size.to_le_bytes());
        add(format!("webp-riff-size-{size}.webp"), v);
    }
    let chunk = u32::from_le_bytes(webp[16..20].try_into().unwrap());
    for size in [0, 1, 4, chunk - 1, chunk + 1, u32::MAX] {
        let mut v = webp.clone();
        v[16..20].copy_from_slice(&size.to_le_bytes());
        add(format!("webp-chunk-size-{size}.webp"), v);
    }
    add(
        "webp-lossless-bomb-512.webp".into(),
        bombs::webp_lossless(512, 512),
    );
    // VP8X with a profile and EXIF after the image chunk.
    {
        let mut body = b"VP8X".to_vec();
        body.extend(10u32.to_le_bytes());
        body.extend([0x2C, 0, 0, 0, 47, 0, 0, 31, 0, 0]);
        body.extend(b"ICCP");
        body.extend((icc_profile().len() as u32).to_le_bytes());
        body.extend(icc_profile());
        body.extend_from_slice(&webp[12..]);
        let exif = synth::exif(6, true);
        body.extend(b"EXIF");
        body.extend((exif.len() as u32).to_le_bytes());
        body.extend(&exif);
        if exif.len() % 2 == 1 {
            body.push(0);
        }
        let mut v = b"RIFF".to_vec();
        v.extend(((body.len() + 4) as u32).to_le_bytes());
        v.extend(b"WEBP");
        v.extend(body);
        add("webp-vp8x-icc-exif.webp".into(), v);
    }

    // PNG: each chunk's length at 0..=4, one off, 2^31 and the maximum.
    let mut at = 8;
    while at + 8 <= png.len() {
        let real = u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        let kind = String::from_utf8_lossy(&png[at + 4..at + 8]).into_owned();
        for len in [0, 1, 4, real.wrapping_sub(1), real + 1, 1 << 31, u32::MAX] {
            let mut v = png.clone();
            v[at..at + 4].copy_from_slice(&len.to_be_bytes());
            add(format!("png-{kind}-length-{len}.png"), v);
        }
        at += 12 + real as usize;
    }
    let after_ihdr = |chunk: Vec<u8>| [&png[..33], &chunk, &png[33..]].concat();
    add(
        "png-iccp-profile.png".into(),
        after_ihdr(png_chunk(
            b"iCCP",
            &[&b"p\0\0"[..], &zlib_stored(&icc_profile())].concat(),
        )),
    );
    add(
        "png-iccp-not-a-profile.png".into(),
        after_ihdr(png_chunk(
            b"iCCP",
            &[&b"p\0\0"[..], &zlib_stored(b"GPS")].concat(),
        )),
    );
    add(
        "png-unknown-critical-chunk.png".into(),
        after_ihdr(png_chunk(b"GPSx", b"22.5N 114.0E")),
    );
    add(
        "png-exif.png".into(),
        after_ihdr(png_chunk(b"eXIf", &synth::exif(6, true))),
    );
    add("png-16-bit-rgba.png".into(), bombs::png16_rgba(40, 30));
    {
        let mut v = Vec::new();
        let grey: Vec<u8> = photo.rgb.chunks_exact(3).map(|p| p[0]).collect();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut v),
            &grey,
            48,
            32,
            image::ExtendedColorType::L8,
        )
        .unwrap();
        add("png-grey.png".into(), v);
    }

    // JPEG: each header segment's length at 0..=4, one off and the maximum.
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at + 1] != 0xDA {
        let real = u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]);
        let marker = jpeg[at + 1];
        for len in [0, 1, 2, 3, 4, real - 1, real + 1, u16::MAX] {
            let mut v = jpeg.clone();
            v[at + 2..at + 4].copy_from_slice(&len.to_be_bytes());
            add(format!("jpeg-{marker:02x}-length-{len}.jpg"), v);
        }
        at += 2 + usize::from(real);
    }
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    for (name, at, value) in [
        ("12-bit", sof + 4, 12),
        ("sof3-lossless", sof + 1, 0xC3),
        ("sof9-arithmetic", sof + 1, 0xC9),
        ("sof2-progressive-header", sof + 1, 0xC2),
    ] {
        let mut v = jpeg.clone();
        v[at] = value;
        add(format!("jpeg-{name}.jpg"), v);
    }
    {
        let sos = jpeg.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap();
        let mut v = jpeg[..sos + (jpeg.len() - sos) / 2].to_vec();
        while v.last() == Some(&0xFF) {
            v.pop();
        }
        v.extend([0xFF, 0xD9]);
        add("jpeg-cut-mid-scan-with-eoi.jpg".into(), v);
    }
    {
        let mut v = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut v, 80);
        enc.set_restart_interval(2);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
        enc.encode(&photo.rgb, 48, 32, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        add("jpeg-restarts-420.jpg".into(), v);
        let mut v = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut v, 80);
        enc.set_progressive(true);
        enc.encode(&photo.rgb, 48, 32, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        add("jpeg-progressive.jpg".into(), v);
    }
    {
        let carriers = [
            seg(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\x01\x01\x09\x09\x09GPS"),
            seg(0xEE, b"Adobe\0\x64\0\0\0\0\x01GPS"),
            seg(0xE2, b"ICC_PROFILE\0\x01\x01GPS"),
            seg(0xF0, b"GPS"),
            seg(
                0xE2,
                &[&b"ICC_PROFILE\0\x01\x01"[..], &icc_profile()].concat(),
            ),
        ];
        add(
            "jpeg-hidden-carriers.jpg".into(),
            [&jpeg[..2], &carriers.concat(), &jpeg[2..]].concat(),
        );
    }
    add("jpeg-flat-bomb-256.jpg".into(), bombs::jpeg(256, 256, 6));

    // BMP: the pixel offset, DIB size, sides, bpp and compression at the
    // values that break header walkers; the RLE bomb; trailing data.
    for (field, at, width) in [
        ("offset", 10, 4),
        ("dib", 14, 4),
        ("width", 18, 4),
        ("height", 22, 4),
        ("bpp", 28, 2),
        ("compression", 30, 4),
    ] {
        let real = {
            let mut f = [0u8; 4];
            f[..width].copy_from_slice(&bmp[at..at + width]);
            u32::from_le_bytes(f)
        };
        let max = if width == 2 { 0xFFFF } else { u32::MAX };
        for value in [
            0,
            1,
            2,
            3,
            4,
            5,
            12,
            39,
            40,
            124,
            real.wrapping_sub(1),
            real + 1,
            max,
        ] {
            let mut v = bmp.clone();
            v[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
            add(format!("bmp-{field}-{value}.bmp"), v);
        }
    }
    add("bmp-rle8-bomb-512.bmp".into(), bombs::bmp_rle8(512, 512));
    add(
        "bmp-trailing-data.bmp".into(),
        [&bmp[..], b"GPS 22.5N 114.0E"].concat(),
    );

    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
