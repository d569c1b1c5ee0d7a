//! Decompression bombs of hardening round 4, item 2 (claiming `side`×`side` pixels from a few bytes), and the deflate stream of zeros they are made of: for the tests and the `bombs` example, which measures them under `/usr/bin/time -v`.

/// Writes bits least significant first, as WebP lossless and deflate do.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    count: u32,
}

impl Bits {
    fn new() -> Bits {
        Bits {
            out: Vec::new(),
            acc: 0,
            count: 0,
        }
    }

    fn put(&mut self, value: u64, len: u32) {
        self.acc |= value << self.count;
        self.count += len;
        while self.count >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.count -= 8;
        }
    }

    /// A Huffman code, sent most significant bit first (deflate).
    fn code(&mut self, code: u64, len: u32) {
        let rev = (0..len).fold(0, |r, i| r | ((code >> i) & 1) << (len - 1 - i));
        self.put(rev, len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

fn riff(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = kind.to_vec();
    chunk.extend((data.len() as u32).to_le_bytes());
    chunk.extend_from_slice(data);
    if data.len() % 2 == 1 {
        chunk.push(0);
    }
    let mut v = b"RIFF".to_vec();
    v.extend(((chunk.len() + 4) as u32).to_le_bytes());
    v.extend(b"WEBP");
    v.extend(chunk);
    v
}

/// A lossless WebP whose five prefix codes each hold a single symbol:
/// every pixel then costs zero bits, so any size fits in 28 bytes.
#[must_use]
pub fn webp_lossless(width: u32, height: u32) -> Vec<u8> {
    let mut b = Bits::new();
    b.put(u64::from(width - 1), 14);
    b.put(u64::from(height - 1), 14);
    b.put(0, 1); // no alpha
    b.put(0, 3); // version 0
    b.put(0, 1); // no transform
    b.put(0, 1); // no colour cache
    b.put(0, 1); // no meta prefix codes
    for _ in 0..5 {
        // A simple code of one 1-bit symbol, 0.
        b.put(1, 1);
        b.put(0, 1);
        b.put(0, 1);
        b.put(0, 1);
    }
    riff(b"VP8L", &[&[0x2F][..], &b.finish()].concat())
}

/// A whole, valid baseline 4:2:0 JPEG of `width`×`height` flat grey:
/// every 16×16 MCU is the same 4 bytes of Huffman codes (DC
/// difference 0 and end-of-block, six times), about 1.9 MB at 10954²,
/// with an EXIF orientation (6 turns it, so the fit needs a second
/// buffer).
#[must_use]
pub fn jpeg(width: u16, height: u16, orientation: u16) -> Vec<u8> {
    let grey = super::Image {
        width: 16,
        height: 16,
        rgb: vec![128; 16 * 16 * 3],
    };
    let small = super::phone_jpeg(&grey, 80);
    let sos = small
        .windows(2)
        .rposition(|w| w == [0xFF, 0xDA])
        .unwrap_or(2);
    let sos_len = usize::from(u16::from_be_bytes([small[sos + 2], small[sos + 3]]));
    let mut jpeg = small[..sos + 2 + sos_len].to_vec();
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap_or(2);
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    // Luma: DC `00`, EOB `1010`, four blocks; chroma: DC `00`, EOB `00`, two.
    let mcus = usize::from(width).div_ceil(16) * usize::from(height).div_ceil(16);
    for _ in 0..mcus {
        jpeg.extend_from_slice(&[0x28, 0xA2, 0x8A, 0x00]);
    }
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    super::with_exif(&jpeg, orientation, false)
}

/// A raw deflate stream of `n` (at least 1) zero bytes (fixed codes: a
/// literal, then 258-byte copies at distance 1, 13 bits each): the body
/// of a zlib or `iCCP` bomb.
#[must_use]
pub fn deflate_zeros(n: u64) -> Vec<u8> {
    let mut b = Bits::new();
    b.put(1, 1);
    b.put(1, 2);
    b.code(0x30, 8);
    let mut left = n - 1;
    while left >= 258 {
        b.code(0xC5, 8);
        b.code(0, 5);
        left -= 258;
    }
    for _ in 0..left {
        b.code(0x30, 8);
    }
    b.code(0, 7);
    b.finish()
}

/// A valid 16-bit RGBA PNG, all zeros (transparent black), of
/// `width`×`height`: 8 bytes a pixel decoded, about 6 MB at 10954².
#[must_use]
pub fn png16_rgba(width: u32, height: u32) -> Vec<u8> {
    let raw = u64::from(height) * (1 + u64::from(width) * 8);
    // Adler-32 of zeros: a stays 1, b grows by 1 a byte.
    let adler = ((raw % 65521) as u32) << 16 | 1;
    let zlib = [&[0x78, 0x01][..], &deflate_zeros(raw), &adler.to_be_bytes()].concat();
    let ihdr = [
        &width.to_be_bytes()[..],
        &height.to_be_bytes(),
        &[16, 6, 0, 0, 0],
    ]
    .concat();
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend(super::png_chunk(b"IHDR", &ihdr));
    v.extend(super::png_chunk(b"IDAT", &zlib));
    v.extend(super::png_chunk(b"IEND", b""));
    v
}

/// An RLE8 BMP that jumps over its pixels with delta codes: about
/// 1 KB (mostly the palette) for any size.
#[must_use]
pub fn bmp_rle8(width: u32, height: u32) -> Vec<u8> {
    let mut rle = Vec::new();
    let mut rows = height;
    while rows > 0 {
        let dy = rows.min(255);
        rle.extend([0, 2, 0, dy as u8]);
        rows -= dy;
    }
    rle.extend([0, 1]);
    let data_at = 14 + 40 + 256 * 4;
    let mut v = b"BM".to_vec();
    v.extend(((data_at + rle.len()) as u32).to_le_bytes());
    v.extend([0; 4]);
    v.extend((data_at as u32).to_le_bytes());
    v.extend(40u32.to_le_bytes());
    v.extend(width.to_le_bytes());
    v.extend(height.to_le_bytes());
    v.extend(1u16.to_le_bytes());
    v.extend(8u16.to_le_bytes());
    v.extend(1u32.to_le_bytes()); // BI_RLE8
    v.extend((rle.len() as u32).to_le_bytes());
    v.extend([0; 8]);
    v.extend(256u32.to_le_bytes());
    v.extend(0u32.to_le_bytes());
    for i in 0..=255u8 {
        v.extend([i, i, i, 0]);
    }
    v.extend(rle);
    v
}
