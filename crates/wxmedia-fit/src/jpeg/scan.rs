//! The JPEG scan check: every scan's Huffman codes read, without decoding a pixel, so that a file cut mid-scan with an end marker appended is refused as cut short.

use super::{SOS, walk};
use crate::Format;
use crate::error::FitError;

/// Checks that every scan of a JPEG holds all its blocks: the Huffman
/// codes are read, without decoding any pixel, and a scan whose data runs
/// into the next marker before its last block is `Truncated`. That is a
/// file cut mid-scan with an EOI appended: it walks like a whole file, and
/// zune-jpeg (strict or not) paints the missing rows grey without an
/// error. Sequential and progressive scans are read, refinement passes
/// too (how many correction bits an AC refinement holds depends on every
/// earlier pass, so a map of the nonzero coefficients is kept: an eighth
/// of a byte a pixel and component). At most 100 scans (zune-jpeg's own
/// cap), and a Huffman table with more codes than its lengths allow, is
/// `Corrupt`; codes that are merely invalid are left to the decoder.
pub(crate) fn check_scans(bytes: &[u8]) -> Result<(), FitError> {
    use crate::huffman::{Decoder, Table};

    let truncated = || FitError::Truncated {
        format: Format::Jpeg,
    };
    let mut tables: [Option<Decoder>; 8] = Default::default();
    let mut frame = Frame::default();
    let mut restart = 0usize;
    let mut scans = 0usize;
    walk(bytes, |seg| {
        let payload = &bytes[seg.payload.clone()];
        if seg.marker == SOS {
            scans += 1;
            // Each scan may cover every block: cap them, as the decoder
            // does (zune-jpeg refuses a 101st).
            if scans > MAX_SCANS {
                return Err(FitError::corrupt(Format::Jpeg, "more than 100 scans"));
            }
        }
        match seg.marker {
            0xC0..=0xC2 if frame.components.is_empty() && payload.len() >= 6 => {
                frame.progressive = seg.marker == 0xC2;
                frame.height = usize::from(u16::from_be_bytes([payload[1], payload[2]]));
                frame.width = usize::from(u16::from_be_bytes([payload[3], payload[4]]));
                for c in payload[6..].chunks_exact(3) {
                    let (h, v) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
                    frame.components.push((c[0], h.clamp(1, 4), v.clamp(1, 4)));
                }
            }
            0xC4 => {
                let mut p = payload;
                while let Some((&tc_th, rest)) = p.split_first() {
                    let Some(bits) = rest.get(..16) else { break };
                    let n: usize = bits.iter().map(|&b| usize::from(b)).sum();
                    let Some(values) = rest.get(16..16 + n) else {
                        break;
                    };
                    let table = Table {
                        bits: bits.try_into().unwrap_or([0; 16]),
                        values: values.to_vec(),
                    };
                    // A table with more codes of a length than the length
                    // has is no table: decoders refuse it ("bogus Huffman
                    // table"), so the file cannot pass as whole.
                    let decoder = Decoder::new(&table).ok_or_else(|| {
                        FitError::corrupt(Format::Jpeg, "an invalid Huffman table")
                    })?;
                    tables[usize::from((tc_th >> 4) & 1) * 4 + usize::from(tc_th & 3)] =
                        Some(decoder);
                    p = &rest[16 + n..];
                }
            }
            0xDD if payload.len() >= 2 => {
                restart = usize::from(u16::from_be_bytes([payload[0], payload[1]]));
            }
            SOS if frame.width > 0
                && frame.height > 0
                && !scan_is_whole(
                    &bytes[seg.payload.end..seg.end],
                    payload,
                    &mut frame,
                    restart,
                    &tables,
                ) =>
            {
                return Err(truncated());
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(())
}

/// The most scans a JPEG may have, as zune-jpeg allows.
const MAX_SCANS: usize = 100;

/// The frame header, as far as counting blocks needs it.
#[derive(Default)]
struct Frame {
    width: usize,
    height: usize,
    /// (id, h, v) of each component.
    components: Vec<(u8, usize, usize)>,
    progressive: bool,
    /// Progressive only: for each component, a bit per AC coefficient of
    /// each block (bit k: coefficient k is nonzero so far), which says how
    /// many bits a refinement pass holds. 8 bytes a block: an eighth of a
    /// byte a pixel and component.
    nonzero: Vec<Vec<u64>>,
}

impl Frame {
    /// The block grid of component `c` (its own, not padded to MCUs).
    fn blocks(&self, c: usize) -> usize {
        let hmax = self.components.iter().map(|c| c.1).max().unwrap_or(1);
        let vmax = self.components.iter().map(|c| c.2).max().unwrap_or(1);
        let (_, h, v) = self.components[c];
        let w = (self.width * h).div_ceil(hmax);
        let hgt = (self.height * v).div_ceil(vmax);
        w.div_ceil(8) * hgt.div_ceil(8)
    }
}

/// What one block of a scan holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// DC and AC codes, 0..=63.
    Sequential,
    /// A progressive DC first pass: one DC code.
    DcFirst,
    /// A progressive DC refinement: one raw bit.
    DcRefine,
    /// A progressive AC first pass over `start..=end`, with end-of-band runs.
    AcFirst { start: usize, end: usize },
    /// A progressive AC refinement pass: new coefficients, and a
    /// correction bit for each one already nonzero.
    AcRefine { start: usize, end: usize },
}

/// Reads one scan's blocks from its entropy-coded `data`; `false` when
/// the data ends first. Scans it cannot read count as whole.
fn scan_is_whole(
    data: &[u8],
    sos: &[u8],
    frame: &mut Frame,
    restart: usize,
    tables: &[Option<crate::huffman::Decoder>; 8],
) -> bool {
    use crate::huffman::BitReader;

    let n = usize::from(sos.first().copied().unwrap_or(0));
    let (Some(&ss), Some(&se), Some(&ah_al)) =
        (sos.get(1 + 2 * n), sos.get(2 + 2 * n), sos.get(3 + 2 * n))
    else {
        return true;
    };
    let (ss, se) = (usize::from(ss), usize::from(se).min(63));
    let pass = match (frame.progressive, ss, ah_al >> 4) {
        (false, _, _) => Pass::Sequential,
        (true, 0, 0) => Pass::DcFirst,
        (true, 0, _) => Pass::DcRefine,
        (true, _, 0) if ss <= se && n == 1 => Pass::AcFirst { start: ss, end: se },
        (true, _, _) if ss <= se && n == 1 => Pass::AcRefine { start: ss, end: se },
        _ => return true,
    };
    // An AC pass codes one component: its nonzero map, made on first use.
    let mut nonzero: &mut [u64] = &mut [];
    if matches!(pass, Pass::AcFirst { .. } | Pass::AcRefine { .. }) {
        let Some(c) = sos
            .get(1)
            .and_then(|id| frame.components.iter().position(|c| c.0 == *id))
        else {
            return true;
        };
        let blocks = frame.blocks(c);
        if frame.nonzero.len() < frame.components.len() {
            frame.nonzero.resize(frame.components.len(), Vec::new());
        }
        if frame.nonzero[c].len() != blocks {
            frame.nonzero[c] = vec![0; blocks];
        }
        nonzero = &mut frame.nonzero[c];
    }
    let mut block = 0usize;
    let hmax = frame.components.iter().map(|c| c.1).max().unwrap_or(1);
    let vmax = frame.components.iter().map(|c| c.2).max().unwrap_or(1);
    // (blocks per MCU, DC table, AC table, h, v) of each scan component.
    let mut scan = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(&id), Some(&sel)) = (sos.get(1 + 2 * i), sos.get(2 + 2 * i)) else {
            return true;
        };
        let Some(&(_, h, v)) = frame.components.iter().find(|c| c.0 == id) else {
            return true;
        };
        let dc = tables[usize::from((sel >> 4) & 3)].as_ref();
        let ac = tables[4 + usize::from(sel & 3)].as_ref();
        let needed = match pass {
            Pass::Sequential => dc.is_some() && ac.is_some(),
            Pass::DcFirst => dc.is_some(),
            Pass::DcRefine => true,
            Pass::AcFirst { .. } | Pass::AcRefine { .. } => ac.is_some(),
        };
        if !needed {
            return true;
        }
        scan.push((if n == 1 { 1 } else { h * v }, dc, ac, h, v));
    }
    let mcus = match scan.as_slice() {
        // A single-component scan codes the component's own blocks.
        [(_, _, _, h, v)] => {
            let w = (frame.width * h).div_ceil(hmax);
            let hgt = (frame.height * v).div_ceil(vmax);
            w.div_ceil(8) * hgt.div_ceil(8)
        }
        [] => return true,
        _ => frame.width.div_ceil(8 * hmax) * frame.height.div_ceil(8 * vmax),
    };
    let interval = if restart == 0 { mcus } else { restart };
    let mut at = 0;
    let mut left = mcus;
    let mut reader = BitReader::new(data);
    while left > 0 {
        // An end-of-band run never crosses a restart marker.
        let mut eob_run = 0u32;
        for _ in 0..interval.min(left) {
            for &(blocks, dc, ac, _, _) in &scan {
                for _ in 0..blocks {
                    let read = match (pass, dc, ac) {
                        (Pass::Sequential, Some(dc), Some(ac)) => read_dc(&mut reader, dc)
                            .and_then(|()| read_ac_first(&mut reader, ac, (1, 63), &mut 0, None)),
                        (Pass::DcFirst, Some(dc), _) => read_dc(&mut reader, dc),
                        (Pass::DcRefine, _, _) => {
                            reader.bits(1);
                            Some(())
                        }
                        (Pass::AcFirst { start, end }, _, Some(ac)) => {
                            let map = nonzero.get_mut(block);
                            block += 1;
                            read_ac_first(&mut reader, ac, (start, end), &mut eob_run, map)
                        }
                        (Pass::AcRefine { start, end }, _, Some(ac)) => {
                            let mut none = 0;
                            let map = nonzero.get_mut(block).unwrap_or(&mut none);
                            block += 1;
                            read_ac_refine(&mut reader, ac, (start, end), &mut eob_run, map)
                        }
                        _ => Some(()),
                    };
                    if read.is_none() {
                        return !reader.overran();
                    }
                }
            }
            if reader.overran() {
                return false;
            }
        }
        left -= interval.min(left);
        // Each restart interval's data runs to its marker (RSTn): the next
        // one starts just after it. Without the marker (a writer that
        // left them out), the data is read on as one stream.
        if left > 0
            && let Some(i) = data[at.min(data.len())..]
                .windows(2)
                .position(|w| w[0] == 0xFF && (0xD0..=0xD7).contains(&w[1]))
        {
            at += i + 2;
            reader = BitReader::new(&data[at.min(data.len())..]);
        }
    }
    true
}

/// One DC code and its extra bits; `None` on an invalid code.
fn read_dc(reader: &mut crate::huffman::BitReader<'_>, dc: &crate::huffman::Decoder) -> Option<()> {
    let s = reader.symbol(dc)?;
    reader.bits(u32::from(s & 15));
    Some(())
}

/// The AC codes of one block over `start..=end`, or one block of a
/// pending end-of-band run (progressive first passes code runs of empty
/// blocks; a sequential scan never does, its EOB ending one block).
/// Coefficients found nonzero are marked in `map`.
fn read_ac_first(
    reader: &mut crate::huffman::BitReader<'_>,
    ac: &crate::huffman::Decoder,
    (start, end): (usize, usize),
    eob_run: &mut u32,
    mut map: Option<&mut u64>,
) -> Option<()> {
    if *eob_run > 0 {
        *eob_run -= 1;
        return Some(());
    }
    let mut k = start;
    while k <= end {
        let rs = reader.symbol(ac)?;
        let (run, size) = (usize::from(rs >> 4), rs & 15);
        if size == 0 {
            if run < 15 {
                // EOBn: this block and 2^n - 1 + (n extra bits) more end
                // here; for n = 0 (a plain EOB) just this one.
                *eob_run = (1u32 << run) - 1 + reader.bits(run as u32);
                return Some(());
            }
            k += 16;
        } else {
            reader.bits(u32::from(size));
            k += run;
            if let Some(m) = map.as_deref_mut()
                && k < 64
            {
                *m |= 1 << k;
            }
            k += 1;
        }
    }
    Some(())
}

/// One block of a progressive AC refinement pass (T.81 G.1.2.3, as
/// libjpeg's `decode_mcu_AC_refine` reads it): each code places a new
/// coefficient after `run` zero ones, and every coefficient already
/// nonzero that it passes (or that an end-of-band run covers) carries one
/// correction bit. `map` holds the nonzero coefficients and is updated.
fn read_ac_refine(
    reader: &mut crate::huffman::BitReader<'_>,
    ac: &crate::huffman::Decoder,
    (start, end): (usize, usize),
    eob_run: &mut u32,
    map: &mut u64,
) -> Option<()> {
    let nonzero = |map: &u64, k: usize| k < 64 && *map & (1 << k) != 0;
    let mut k = start;
    if *eob_run == 0 {
        while k <= end {
            let rs = reader.symbol(ac)?;
            let (mut run, size) = (i32::from(rs >> 4), rs & 15);
            if size != 0 {
                // The new coefficient's sign.
                reader.bits(1);
            } else if run != 15 {
                *eob_run = (1u32 << run) + reader.bits(run as u32);
                break;
            }
            while k <= end {
                if nonzero(map, k) {
                    reader.bits(1);
                } else {
                    run -= 1;
                    if run < 0 {
                        break;
                    }
                }
                k += 1;
            }
            if size != 0 && k < 64 {
                *map |= 1 << k;
            }
            k += 1;
        }
    }
    if *eob_run > 0 {
        // A correction bit for each nonzero coefficient left in the band,
        // counted at once: a run may cover every block of the image.
        if k <= end && k < 64 {
            let band = (u64::MAX >> (63 - end.min(63))) & (u64::MAX << k);
            let mut corrections = (*map & band).count_ones();
            while corrections > 0 {
                let n = corrections.min(16);
                reader.bits(n);
                corrections -= n;
            }
        }
        *eob_run -= 1;
    }
    Some(())
}
