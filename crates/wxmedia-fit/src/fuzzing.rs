//! The `fit_decode` fuzz target's checks, here so that the committed corpus and regressions replay as a test: `fit` on arbitrary bytes under tight limits never panics, and what it returns fits and decodes.

use crate::{DecodeLimits, FitError, Format, Target, fit, probe};

/// Fit `data` under tight limits and check what comes back. Panics on a
/// broken invariant, as the fuzzer wants.
pub fn fit_decode(data: &[u8]) {
    // Tight limits keep each run fast and small: 2 MP, 64 MiB of decoder
    // memory, a 64 KiB output, downscaling allowed down to 64 pixels.
    let target = Target::with_limit(64 * 1024)
        .with_min_long_side(64)
        .with_decode_limits(DecodeLimits::new(2_000_000, 64 * 1024 * 1024));
    // `probe` must agree with `fit` about what is an image at all.
    let probed = probe(data);
    match fit(data, &target) {
        Ok(fitted) => {
            assert!(fitted.bytes.len() <= target.max_bytes, "over the limit");
            assert!(probed.is_ok(), "fit accepted what probe refused");
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
