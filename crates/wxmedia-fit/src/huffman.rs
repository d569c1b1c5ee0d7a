//! Lossless Huffman re-coding of a baseline JPEG: the entropy data is
//! decoded to symbols and written again with tables built for this image.
//!
//! `jpeg-encoder` writes the standard (Annex K) tables unless asked to
//! optimise, and its optimising mode writes one scan per component, which
//! zune-jpeg misdecodes for 4:2:0. Re-coding its interleaved output keeps
//! the single interleaved scan every decoder reads and saves the 3-5 % that
//! image-specific tables are worth (what libjpeg's `optimize_coding` and
//! `jpegtran -optimize` do). Coefficients, and so pixels, are unchanged.

use crate::Format;
use crate::error::FitError;

/// A Huffman table as stored in DHT: code counts by length, then symbols.
#[derive(Clone)]
pub(crate) struct Table {
    pub(crate) bits: [u8; 16],
    pub(crate) values: Vec<u8>,
}

/// Canonical decoding tables (ITU-T T.81 F.2.2.3): for each length, the
/// largest code, and where its symbols start.
pub(crate) struct Decoder {
    maxcode: [i32; 17],
    valptr: [i32; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
    /// For the next `FAST_BITS` bits: (code length, symbol) of codes that
    /// short (length 0 when longer), so most symbols take one lookup.
    fast: Vec<(u8, u8)>,
}

const FAST_BITS: u32 = 9;

impl Decoder {
    /// The decoding tables of `t`, or `None` when its counts ask for more
    /// codes of some length than that length has (a DHT from the input,
    /// not from our encoder, can: the tables would index out of range).
    pub(crate) fn new(t: &Table) -> Option<Decoder> {
        let (mut maxcode, mut valptr, mut mincode) = ([-1i32; 17], [0i32; 17], [0i32; 17]);
        let (mut code, mut k) = (0i32, 0i32);
        for len in 1..=16 {
            let n = i32::from(t.bits[len - 1]);
            if n > 0 {
                valptr[len] = k;
                mincode[len] = code;
                code += n;
                k += n;
                maxcode[len] = code - 1;
            }
            if code > 1 << len {
                return None;
            }
            code <<= 1;
        }
        let mut fast = vec![(0u8, 0u8); 1 << FAST_BITS];
        let (mut code, mut k) = (0usize, 0usize);
        for len in 1..=FAST_BITS as usize {
            for _ in 0..t.bits[len - 1] {
                let shift = FAST_BITS as usize - len;
                for entry in &mut fast[code << shift..(code + 1) << shift] {
                    *entry = (len as u8, t.values.get(k).copied().unwrap_or(0));
                }
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        Some(Decoder {
            maxcode,
            valptr,
            mincode,
            values: t.values.clone(),
            fast,
        })
    }
}

/// Reads the entropy-coded bits, unstuffing 0xFF 0x00.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    count: u32,
    /// Zero bytes fed after the data ended (at a marker or the end).
    padded: u32,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> BitReader<'a> {
        BitReader {
            data,
            pos: 0,
            acc: 0,
            count: 0,
            padded: 0,
        }
    }

    /// Whether more bits were read than the data holds: the decoder ran
    /// into the marker (or the end) before its last block.
    pub(crate) fn overran(&self) -> bool {
        u64::from(self.padded) * 8 > u64::from(self.count)
    }

    fn fill(&mut self) {
        while self.count <= 56 {
            let byte = match self.data.get(self.pos) {
                // A stuffed zero follows a data 0xFF; anything else after
                // 0xFF is a marker: the data has ended, feed zeros.
                Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0x00) => {
                    self.pos += 2;
                    0xFF
                }
                Some(&b) if b != 0xFF => {
                    self.pos += 1;
                    b
                }
                _ => {
                    self.padded = self.padded.saturating_add(1);
                    0
                }
            };
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    pub(crate) fn bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        if self.count < n {
            self.fill();
        }
        let v = (self.acc >> (64 - n)) as u32;
        self.acc <<= n;
        self.count -= n;
        v
    }

    pub(crate) fn symbol(&mut self, d: &Decoder) -> Option<u8> {
        if self.count < 16 {
            self.fill();
        }
        let (len, symbol) = d.fast[(self.acc >> (64 - FAST_BITS)) as usize];
        if len > 0 {
            self.acc <<= len;
            self.count -= u32::from(len);
            return Some(symbol);
        }
        let mut code = 0i32;
        for len in 1..=16 {
            code = (code << 1) | ((self.acc >> 63) as i32);
            self.acc <<= 1;
            self.count -= 1;
            if code <= d.maxcode[len] {
                return d
                    .values
                    .get((d.valptr[len] + code - d.mincode[len]) as usize)
                    .copied();
            }
        }
        None
    }
}

/// Writes bits MSB first, stuffing a zero after every 0xFF.
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    count: u32,
}

impl BitWriter {
    fn put(&mut self, code: u32, len: u32) {
        if len == 0 {
            return;
        }
        self.acc = (self.acc << len) | (u64::from(code) & ((1u64 << len) - 1));
        self.count += len;
        while self.count >= 8 {
            self.count -= 8;
            let byte = (self.acc >> self.count) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        // Pad the last byte with one bits, as T.81 asks.
        let pad = (8 - self.count % 8) % 8;
        self.put((1 << pad) - 1, pad);
        self.out
    }
}

/// One decoded symbol packed in 32 bits: the table (bits 29-30; 0-3 for
/// DC0, DC1, AC0, AC1), the symbol (21-28), the number of extra bits
/// (16-20) and the extra bits (0-15). Packing keeps the symbol list of a
/// 12 MP image near 10 MB.
fn pack(table: usize, symbol: u8, extra_len: u8, extra: u32) -> u32 {
    (table as u32) << 29 | u32::from(symbol) << 21 | u32::from(extra_len) << 16 | (extra & 0xFFFF)
}

struct Component {
    h: usize,
    v: usize,
    dc: usize,
    ac: usize,
}

fn corrupt(why: &'static str) -> FitError {
    FitError::corrupt(Format::Jpeg, why)
}

/// Re-codes a baseline, interleaved, restart-free JPEG (what `encode`
/// writes) with optimal Huffman tables. Anything else is an internal error.
pub(crate) fn optimize(jpeg: &[u8]) -> Result<Vec<u8>, FitError> {
    let mut tables: [Option<Table>; 4] = [None, None, None, None];
    let mut components: Vec<(u8, usize, usize)> = Vec::new();
    let (mut width, mut height) = (0usize, 0usize);
    let mut head = Vec::with_capacity(4096);
    head.extend_from_slice(&jpeg[..2]);
    let mut pos = 2;
    // Header segments up to SOS: DHTs are read and left out, the rest copied.
    let (sos, data_start) = loop {
        let seg = jpeg
            .get(pos..pos + 4)
            .ok_or_else(|| corrupt("the JPEG ends in its header"))?;
        let (marker, len) = (seg[1], usize::from(u16::from_be_bytes([seg[2], seg[3]])));
        let payload = jpeg
            .get(pos + 4..pos + 2 + len)
            .ok_or_else(|| corrupt("a segment runs past the end"))?;
        match marker {
            0xC4 => {
                let mut p = payload;
                while let Some((&tc_th, rest)) = p.split_first() {
                    let bits: [u8; 16] = rest
                        .get(..16)
                        .ok_or_else(|| corrupt("a short DHT"))?
                        .try_into()
                        .unwrap_or([0; 16]);
                    let n: usize = bits.iter().map(|&b| usize::from(b)).sum();
                    let values = rest
                        .get(16..16 + n)
                        .ok_or_else(|| corrupt("a short DHT"))?
                        .to_vec();
                    let slot = usize::from(tc_th >> 4) * 2 + usize::from(tc_th & 1);
                    tables[slot] = Some(Table { bits, values });
                    p = &rest[16 + n..];
                }
            }
            0xC0 => {
                height = usize::from(u16::from_be_bytes([payload[1], payload[2]]));
                width = usize::from(u16::from_be_bytes([payload[3], payload[4]]));
                for c in payload[6..].chunks_exact(3) {
                    components.push((c[0], usize::from(c[1] >> 4), usize::from(c[1] & 15)));
                }
                head.extend_from_slice(&jpeg[pos..pos + 2 + len]);
            }
            0xDA => break (payload.to_vec(), pos + 2 + len),
            0xDD => return Err(corrupt("restart intervals are not re-coded")),
            _ => head.extend_from_slice(&jpeg[pos..pos + 2 + len]),
        }
        pos += 2 + len;
    };
    let decoders: Vec<Option<Decoder>> = tables
        .iter()
        .map(|t| t.as_ref().and_then(Decoder::new))
        .collect();
    let n = usize::from(sos[0]);
    if n != components.len() || width == 0 || height == 0 {
        return Err(corrupt(
            "a scan that is not interleaved over all components",
        ));
    }
    let scan: Vec<Component> = (0..n)
        .map(|i| {
            let (id, sel) = (sos[1 + 2 * i], sos[2 + 2 * i]);
            let &(_, h, v) = components.iter().find(|c| c.0 == id).unwrap_or(&(0, 1, 1));
            // A single-component scan codes one block per MCU.
            let (h, v) = if n == 1 { (1, 1) } else { (h, v) };
            Component {
                h,
                v,
                dc: usize::from(sel >> 4),
                ac: 2 + usize::from(sel & 15),
            }
        })
        .collect();
    let hmax = scan.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = scan.iter().map(|c| c.v).max().unwrap_or(1);
    let mcus = width.div_ceil(8 * hmax) * height.div_ceil(8 * vmax);

    // Pass 1: decode every symbol and count them per table.
    let mut reader = BitReader::new(&jpeg[data_start..]);
    let mut coded = Vec::with_capacity(jpeg.len());
    let mut freq = [[0u32; 257]; 4];
    let decoder = |slot: usize| {
        decoders
            .get(slot)
            .and_then(Option::as_ref)
            .ok_or_else(|| corrupt("a scan uses a missing table"))
    };
    for _ in 0..mcus {
        for c in &scan {
            let (dc, ac) = (decoder(c.dc)?, decoder(c.ac)?);
            for _ in 0..c.h * c.v {
                let s = reader
                    .symbol(dc)
                    .ok_or_else(|| corrupt("an invalid DC code"))?;
                let extra = reader.bits(u32::from(s & 15));
                coded.push(pack(c.dc, s, s & 15, extra));
                freq[c.dc][usize::from(s)] += 1;
                let mut k = 1;
                while k < 64 {
                    let rs = reader
                        .symbol(ac)
                        .ok_or_else(|| corrupt("an invalid AC code"))?;
                    let size = rs & 15;
                    let extra = reader.bits(u32::from(size));
                    coded.push(pack(c.ac, rs, size, extra));
                    freq[c.ac][usize::from(rs)] += 1;
                    match (rs >> 4, size) {
                        (0, 0) => break,
                        (15, 0) => k += 16,
                        (run, _) => k += usize::from(run) + 1,
                    }
                }
            }
        }
    }

    // New tables for the tables used; codes by symbol for writing.
    let mut dht = Vec::new();
    let mut codes = [[(0u32, 0u32); 256]; 4];
    for slot in 0..4 {
        if freq[slot].iter().all(|&f| f == 0) {
            continue;
        }
        let table = build(&freq[slot]);
        dht.push(((slot / 2) << 4 | (slot % 2)) as u8);
        dht.extend_from_slice(&table.bits);
        dht.extend_from_slice(&table.values);
        let (mut code, mut k) = (0u32, 0usize);
        for len in 1..=16u32 {
            for _ in 0..table.bits[len as usize - 1] {
                codes[slot][usize::from(table.values[k])] = (code, len);
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
    }

    // Pass 2: write the symbols with the new codes.
    let mut writer = BitWriter {
        out: Vec::with_capacity(jpeg.len()),
        acc: 0,
        count: 0,
    };
    for &c in &coded {
        let (table, symbol) = ((c >> 29) as usize, (c >> 21 & 0xFF) as usize);
        let (code, len) = codes[table][symbol];
        let extra_len = c >> 16 & 31;
        // One put for code and extra bits: at most 16 + 16 bits.
        writer.put(code << extra_len | (c & 0xFFFF), len + extra_len);
    }
    let data = writer.finish();

    let mut out = head;
    out.extend_from_slice(&[0xFF, 0xC4]);
    out.extend_from_slice(&((dht.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&dht);
    out.extend_from_slice(&[0xFF, 0xDA]);
    out.extend_from_slice(&((sos.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&sos);
    out.extend_from_slice(&data);
    out.extend_from_slice(&[0xFF, 0xD9]);
    Ok(out)
}

/// Optimal code lengths limited to 16 bits, as T.81 Annex K.2 builds them:
/// a reserved symbol (256) with frequency 1 keeps any code from being all
/// ones; lengths over 16 are then folded back (K.3's Adjust_BITS).
fn build(freq: &[u32; 257]) -> Table {
    let mut f: Vec<u64> = freq.iter().map(|&v| u64::from(v)).collect();
    f[256] = 1;
    let mut codesize = [0usize; 257];
    let mut others = [usize::MAX; 257];
    loop {
        // The two least frequent live symbols (ties to the larger index, as K.2 does).
        let (mut v1, mut v2) = (usize::MAX, usize::MAX);
        for i in 0..257 {
            if f[i] == 0 {
                continue;
            }
            if v1 == usize::MAX || f[i] <= f[v1] {
                v2 = v1;
                v1 = i;
            } else if v2 == usize::MAX || f[i] <= f[v2] {
                v2 = i;
            }
        }
        if v2 == usize::MAX {
            break;
        }
        f[v1] += f[v2];
        f[v2] = 0;
        let mut i = v1;
        codesize[i] += 1;
        while others[i] != usize::MAX {
            i = others[i];
            codesize[i] += 1;
        }
        others[i] = v2;
        let mut i = v2;
        codesize[i] += 1;
        while others[i] != usize::MAX {
            i = others[i];
            codesize[i] += 1;
        }
    }
    let mut bits = [0u32; 33];
    for &size in &codesize {
        if size > 0 {
            bits[size.min(32)] += 1;
        }
    }
    // Fold lengths over 16 back, keeping the code prefix-free.
    let mut i = 32;
    while i > 16 {
        while bits[i] > 0 {
            let mut j = i - 2;
            while bits[j] == 0 {
                j -= 1;
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
        i -= 1;
    }
    // Remove the reserved symbol's code (the longest).
    let mut i = 16;
    while bits[i] == 0 {
        i -= 1;
    }
    bits[i] -= 1;
    let mut values = Vec::new();
    for size in 1..=32 {
        for (symbol, &s) in codesize.iter().enumerate().take(256) {
            if s == size {
                values.push(symbol as u8);
            }
        }
    }
    let mut out_bits = [0u8; 16];
    for (len, b) in out_bits.iter_mut().enumerate() {
        *b = bits[len + 1] as u8;
    }
    // Symbols whose length was folded keep their order of original length:
    // T.81 assigns codes to the sorted list by the folded counts.
    values.truncate(out_bits.iter().map(|&b| usize::from(b)).sum());
    Table {
        bits: out_bits,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lengths_never_exceed_16_bits_and_are_complete_minus_one() {
        // Fibonacci frequencies make the deepest possible tree.
        let mut freq = [0u32; 257];
        let (mut a, mut b) = (1u32, 1u32);
        for f in freq.iter_mut().take(40) {
            *f = a;
            (a, b) = (b, a.saturating_add(b));
        }
        let t = build(&freq);
        assert_eq!(t.values.len(), 40);
        // Kraft sum: strictly below 1 (the all-ones code stays free).
        let kraft: f64 = t
            .bits
            .iter()
            .enumerate()
            .map(|(l, &n)| f64::from(n) / 2f64.powi(l as i32 + 1))
            .sum();
        assert!(kraft < 1.0 && kraft > 0.99, "{kraft}");
    }
}
