//! The `fit_decode` fuzz target's checks, here so that the committed corpus and regressions replay as a test: `fit` on arbitrary bytes under tight limits never panics, and what it returns fits and decodes.

use crate::{DecodeLimits, FitError, Format, Target, fit, peak_bytes, probe};

/// Fit `data` under tight limits and check what comes back; then, for a
/// PNG, the same with every chunk's CRC made right. Panics on a broken
/// invariant, as the fuzzer wants.
///
/// The second pass is there because the PNG decoder refuses a chunk
/// whose CRC is wrong, and nearly every mutation of a chunk breaks it:
/// without the repair the fuzzer would never get a mutated `iCCP`,
/// `IHDR` or `IDAT` past the CRC check into the decoder.
///
/// A JPEG is also fitted to an eighth of its own size, which sends it
/// through the decoder at reduced size (jpeg-decoder) rather than zune-jpeg.
pub fn fit_decode(data: &[u8]) {
    check(data, 64 * 1024);
    if Format::sniff(data) == Some(Format::Jpeg) {
        check(data, (data.len() / 8).max(64));
    }
    if let Some(repaired) = with_png_crcs_repaired(data)
        && repaired != data
    {
        check(&repaired, 64 * 1024);
    }
}

fn check(data: &[u8], budget: usize) {
    // Tight limits keep each run fast and small: 2 MP, 64 MiB of decoder
    // memory, a small output, downscaling allowed down to 64 pixels.
    let target = Target::with_limit(budget)
        .with_min_long_side(64)
        .with_decode_limits(DecodeLimits::new(2_000_000, 64 * 1024 * 1024));
    // `probe` must agree with `fit` about what is an image at all.
    let probed = probe(data);
    let estimate = peak_bytes(data, &target);
    match fit(data, &target) {
        Ok(fitted) => {
            assert!(fitted.bytes.len() <= target.max_bytes, "over the limit");
            assert!(probed.is_ok(), "fit accepted what probe refused");
            // What `fit` does, the budget API must have allowed, within
            // the memory limit.
            let estimate = estimate.expect("peak_bytes refused what fit accepted");
            assert!(
                estimate <= target.limits.max_alloc,
                "estimate over the limit"
            );
            if fitted.is_unchanged() {
                assert_eq!(fitted.bytes.as_ref(), data);
            } else {
                // Whatever was produced is a clean image of an accepted format.
                let out = probe(&fitted.bytes).expect("the output probes");
                assert!(target.accepts(out.format));
                assert_eq!(out.dims, fitted.report.dims_after);
                if fitted.report.quality.is_some() {
                    assert_eq!(out.format, Format::Jpeg);
                    assert!(out.metadata.is_empty(), "metadata left: {:?}", out.metadata);
                    assert!(
                        crate::synth::decode(&fitted.bytes).is_some(),
                        "the output does not decode"
                    );
                }
            }
        }
        Err(FitError::Empty | FitError::UnknownFormat | FitError::Unsupported { .. }) => {
            assert!(probed.is_err())
        }
        Err(e) => {
            // Every error is one printable sentence.
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'));
        }
    }
}

/// `data` with the CRC of every whole PNG chunk recomputed, or `None`
/// when it is not a PNG.
fn with_png_crcs_repaired(data: &[u8]) -> Option<Vec<u8>> {
    if !data.starts_with(b"\x89PNG\r\n\x1a\n") {
        return None;
    }
    let mut out = data.to_vec();
    let mut pos = 8;
    while let Some(head) = data.get(pos..pos + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let Some(end) = (pos + 8).checked_add(len) else {
            break;
        };
        let Some(body) = data.get(pos + 4..end) else {
            break;
        };
        let Some(slot) = out.get_mut(end..end + 4) else {
            break;
        };
        slot.copy_from_slice(&crc32fast::hash(body).to_be_bytes());
        pos = end + 4;
    }
    Some(out)
}
