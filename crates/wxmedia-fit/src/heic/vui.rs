//! The colour description in an HEVC sequence parameter set's VUI (H.265 7.3.2.2 and E.2.1): what a HEIC without a `colr` box says about its colours.
//!
//! HEIF puts colour in a `colr` box, and without one the coded stream's
//! own description applies. Writers such as libheif up to 1.15 write no
//! box and let x265 say "BT.601, full range" in the VUI; heic-rs reads
//! only the box and falls back to BT.709 limited range, which turns such
//! a photo's colours garish. So the VUI is read here.

/// The VUI's video signal type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Signal {
    pub(crate) full_range: bool,
    /// `(primaries, transfer, matrix)`, when the VUI describes them.
    pub(crate) description: Option<(u8, u8, u8)>,
}

/// RBSP bits, most significant first, emulation prevention removed.
struct Bits {
    data: Vec<u8>,
    at: usize,
}

impl Bits {
    fn new(nal: &[u8]) -> Bits {
        let mut data = Vec::with_capacity(nal.len());
        let mut zeros = 0;
        for &b in nal {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            data.push(b);
        }
        Bits { data, at: 0 }
    }

    fn u(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.data.get(self.at / 8)?;
            v = (v << 1) | u32::from((byte >> (7 - self.at % 8)) & 1);
            self.at += 1;
        }
        Some(v)
    }

    fn flag(&mut self) -> Option<bool> {
        self.u(1).map(|v| v == 1)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.at += n;
        (self.at <= self.data.len() * 8).then_some(())
    }

    /// Exp-Golomb `ue(v)`, up to 32 leading zeros.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while !self.flag()? {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u32 << zeros) - 1 + self.u(zeros)?)
    }
}

/// The signal type of the SPS NAL unit `nal` (header included), `None`
/// when it has no VUI signal type or cannot be read.
pub(crate) fn signal(nal: &[u8]) -> Option<Signal> {
    // nal_unit_type 33 is an SPS.
    if (nal.first()? >> 1) & 0x3F != 33 {
        return None;
    }
    let mut r = Bits::new(nal.get(2..)?);
    r.skip(4)?; // sps_video_parameter_set_id
    let sub_layers = r.u(3)? as usize;
    r.skip(1)?; // sps_temporal_id_nesting_flag
    // profile_tier_level: the general part, then the sub-layers'.
    r.skip(96)?;
    let mut present = Vec::with_capacity(sub_layers);
    for _ in 0..sub_layers {
        present.push((r.flag()?, r.flag()?));
    }
    if sub_layers > 0 {
        r.skip(2 * (8 - sub_layers))?;
    }
    for (profile, level) in present {
        r.skip(if profile { 88 } else { 0 } + if level { 8 } else { 0 })?;
    }
    r.ue()?; // sps_seq_parameter_set_id
    if r.ue()? == 3 {
        r.skip(1)?; // separate_colour_plane_flag
    }
    r.ue()?;
    r.ue()?; // the picture's size
    if r.flag()? {
        for _ in 0..4 {
            r.ue()?; // the conformance window
        }
    }
    r.ue()?;
    r.ue()?; // bit depths
    let poc_lsb_bits = r.ue()? + 4;
    let ordering_all = r.flag()?;
    let from = if ordering_all { 0 } else { sub_layers };
    for _ in from..=sub_layers {
        for _ in 0..3 {
            r.ue()?;
        }
    }
    for _ in 0..6 {
        r.ue()?; // block sizes and transform depths
    }
    if r.flag()? && r.flag()? {
        scaling_list_data(&mut r)?;
    }
    r.skip(2)?; // amp, sample adaptive offset
    if r.flag()? {
        // PCM: two depths, two sizes, the loop filter flag.
        r.skip(8)?;
        r.ue()?;
        r.ue()?;
        r.skip(1)?;
    }
    short_term_ref_pic_sets(&mut r)?;
    if r.flag()? {
        for _ in 0..r.ue()? {
            r.skip(poc_lsb_bits as usize + 1)?;
        }
    }
    r.skip(2)?; // temporal MVP, strong intra smoothing
    if !r.flag()? {
        return None; // no VUI
    }
    if r.flag()? && r.u(8)? == 255 {
        r.skip(32)?; // an explicit sample aspect ratio
    }
    if r.flag()? {
        r.skip(1)?; // overscan_appropriate_flag
    }
    if !r.flag()? {
        return None; // no video signal type
    }
    r.skip(3)?; // video_format
    let full_range = r.flag()?;
    let description = if r.flag()? {
        Some((r.u(8)? as u8, r.u(8)? as u8, r.u(8)? as u8))
    } else {
        None
    };
    Some(Signal {
        full_range,
        description,
    })
}

/// `scaling_list_data()` (7.3.4), read past.
fn scaling_list_data(r: &mut Bits) -> Option<()> {
    for size in 0..4u32 {
        let step = if size == 3 { 3 } else { 1 };
        for _ in (0..6).step_by(step) {
            if !r.flag()? {
                r.ue()?; // scaling_list_pred_matrix_id_delta
            } else {
                let coefficients = 64.min(1 << (4 + (size << 1)));
                if size > 1 {
                    r.ue()?; // the DC coefficient (se(v): same length)
                }
                for _ in 0..coefficients {
                    r.ue()?;
                }
            }
        }
    }
    Some(())
}

/// Every `st_ref_pic_set()` (7.3.7), read past: a set predicted from the
/// one before it has as many entries as that one's pictures, plus one.
fn short_term_ref_pic_sets(r: &mut Bits) -> Option<()> {
    let count = r.ue()?;
    if count > 64 {
        return None;
    }
    let mut pictures: Vec<u32> = Vec::with_capacity(count as usize);
    for i in 0..count {
        let predicted = i != 0 && r.flag()?;
        if predicted {
            r.skip(1)?; // delta_rps_sign
            r.ue()?; // abs_delta_rps_minus1
            let reference = *pictures.last()?;
            let mut kept = 0;
            for _ in 0..=reference {
                let used = r.flag()?;
                if used || r.flag()? {
                    kept += 1;
                }
            }
            pictures.push(kept);
        } else {
            let (negative, positive) = (r.ue()?, r.ue()?);
            if negative > 16 || positive > 16 {
                return None;
            }
            for _ in 0..negative + positive {
                r.ue()?;
                r.skip(1)?;
            }
            pictures.push(negative + positive);
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_and_emulation_prevention() {
        // 1 → 0, 010 → 1, 011 → 2, 00100 → 3: 1010 0110 0100 ...
        let mut r = Bits::new(&[0b1010_0110, 0b0100_0000]);
        assert_eq!(
            [r.ue(), r.ue(), r.ue(), r.ue()],
            [Some(0), Some(1), Some(2), Some(3)]
        );
        // 00 00 03 01 reads as 00 00 01.
        let r = Bits::new(&[0, 0, 3, 1]);
        assert_eq!(r.data, [0, 0, 1]);
    }

    #[test]
    fn what_is_not_an_sps_or_is_cut_gives_nothing() {
        assert_eq!(signal(&[0x40, 0x01, 0xFF]), None); // a VPS
        assert_eq!(signal(&[0x42, 0x01, 0x01]), None); // an SPS cut short
        assert_eq!(signal(&[]), None);
    }
}
