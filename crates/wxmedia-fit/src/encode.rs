//! JPEG encoding, and the search for the highest quality that fits.
//!
//! A full encode of 12 MP costs about as much as decoding it, so the search
//! does not bisect with full encodes. It encodes a sample of the image
//! (1/16 of its area in 32×32 tiles spread evenly, so the statistics match)
//! to predict the size at each quality, then verifies the prediction with
//! full encodes, two at a time on two threads (the prediction and its
//! neighbour), correcting the prediction by what it measured.

use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};

use crate::error::FitError;
use crate::pixels::Pixels;

/// What goes into every JPEG besides the pixels.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extras {
    /// APPn segments (number, payload) written after JFIF: kept EXIF and XMP.
    pub(crate) segments: Vec<(u8, Vec<u8>)>,
    /// The colour profile.
    pub(crate) icc: Option<Vec<u8>>,
}

impl Extras {
    fn len(&self) -> usize {
        self.segments
            .iter()
            .map(|(_, d)| d.len() + 4)
            .sum::<usize>()
            + self
                .icc
                .as_ref()
                .map_or(0, |icc| icc.len() + icc.len().div_ceil(65519) * 18)
    }
}

/// Encodes at `quality`: baseline, interleaved, Annex K tables scaled as
/// IJG does (so "q=85" means what it means elsewhere), 4:2:0 with averaged
/// chroma below 90 and 4:4:4 from 90 up, as libjpeg-based tools do.
///
/// The Huffman tables are then optimised for the image by re-coding the
/// entropy data ([`huffman`](crate::huffman)), not by `jpeg-encoder`'s own
/// option: that writes one scan per component, which zune-jpeg 0.5 (the
/// `image` crate's decoder) decodes as garbage for 4:2:0 images.
pub(crate) fn encode(p: &Pixels, quality: u8, extras: &Extras) -> Result<Vec<u8>, FitError> {
    crate::huffman::optimize(&encode_standard(p, quality, extras)?)
}

/// [`encode`] without the Huffman optimisation: what the size estimates
/// use (their correction factor absorbs the constant few per cent).
pub(crate) fn encode_standard(
    p: &Pixels,
    quality: u8,
    extras: &Extras,
) -> Result<Vec<u8>, FitError> {
    let fail = |e: jpeg_encoder::EncodingError| FitError::Encode {
        source: Box::new(e),
    };
    let (w, h) = (
        u16::try_from(p.width).map_err(|_| too_wide())?,
        u16::try_from(p.height).map_err(|_| too_wide())?,
    );
    let mut out = Vec::with_capacity(p.data.len() / 8);
    let mut enc = Encoder::new(&mut out, quality);
    enc.set_sampling_factor(if quality >= 90 {
        SamplingFactor::F_1_1
    } else {
        SamplingFactor::F_2_2
    });
    enc.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    if let Some(icc) = &extras.icc {
        enc.add_icc_profile(icc).map_err(fail)?;
    }
    for (n, data) in &extras.segments {
        enc.add_app_segment(*n, data.clone()).map_err(fail)?;
    }
    let color = if p.channels == 1 {
        ColorType::Luma
    } else {
        ColorType::Rgb
    };
    enc.encode(&p.data, w, h, color).map_err(fail)?;
    Ok(out)
}

fn too_wide() -> FitError {
    FitError::Encode {
        source: Box::new(std::io::Error::other(
            "JPEG cannot store a side over 65,535 pixels",
        )),
    }
}

/// The sample tile's side: a multiple of the 16-pixel 4:2:0 macroblock, so
/// tiles encode as they would in place.
const TILE: u32 = 32;
/// One tile in this many goes into the sample.
const SAMPLE_EVERY: u32 = 16;

/// Predicts full-size JPEG sizes from a sample of the image.
pub(crate) struct Estimator<'a> {
    full: &'a Pixels,
    extras: &'a Extras,
    /// `None` when the image is small enough to encode whole each time.
    sample: Option<Pixels>,
    /// Full area over sample area.
    scale: f64,
    /// Sample sizes already measured, by quality.
    cache: [Option<f64>; 101],
    /// Measured full size over predicted size, from verified encodes.
    pub(crate) correction: f64,
}

impl<'a> Estimator<'a> {
    pub(crate) fn new(full: &'a Pixels, extras: &'a Extras) -> Estimator<'a> {
        let sample = sample(full);
        let scale = sample.as_ref().map_or(1.0, |s| {
            full.dims().pixels() as f64 / s.dims().pixels() as f64
        });
        Estimator {
            full,
            extras,
            sample,
            scale,
            cache: [None; 101],
            correction: 1.0,
        }
    }

    /// The predicted full size at `quality`, in bytes.
    pub(crate) fn predict(&mut self, quality: u8) -> Result<f64, FitError> {
        let q = usize::from(quality);
        if let Some(v) = self.cache[q] {
            return Ok(v * self.correction);
        }
        let v = match &self.sample {
            Some(s) => {
                // Sample without extras: they are counted once, not scaled.
                let body = encode_standard(s, quality, &Extras::default())?.len() as f64;
                body * self.scale + self.extras.len() as f64
            }
            None => encode(self.full, quality, self.extras)?.len() as f64,
        };
        self.cache[q] = Some(v);
        Ok(v * self.correction)
    }

    /// The highest quality in `lo..=hi` predicted to fit `budget`, or `None`
    /// when even `lo` is predicted not to (a bisection on the sample).
    pub(crate) fn highest_fitting(
        &mut self,
        lo: u8,
        hi: u8,
        budget: f64,
    ) -> Result<Option<u8>, FitError> {
        if lo > hi || self.predict(lo)? > budget {
            return Ok(None);
        }
        let (mut good, mut bad) = (lo, u16::from(hi) + 1);
        while u16::from(good) + 1 < bad {
            let mid = ((u16::from(good) + bad) / 2) as u8;
            if self.predict(mid)? <= budget {
                good = mid;
            } else {
                bad = u16::from(mid);
            }
        }
        Ok(Some(good))
    }

    /// Records a verified full encode, so later predictions are corrected.
    fn learn(&mut self, quality: u8, actual: usize) {
        if let Some(v) = self.cache[usize::from(quality)]
            && v > 0.0
        {
            self.correction = actual as f64 / v;
        }
    }
}

/// Every `SAMPLE_EVERY`th 32×32 tile, on a diagonal pattern so rows and
/// columns are both covered, packed into a roughly square image. `None`
/// when the image has too few tiles for a sample to save time.
fn sample(p: &Pixels) -> Option<Pixels> {
    let (tw, th) = (p.width / TILE, p.height / TILE);
    let picked: Vec<(u32, u32)> = (0..th)
        .flat_map(|ty| (0..tw).map(move |tx| (tx, ty)))
        .filter(|(tx, ty)| (tx + ty * 7) % SAMPLE_EVERY == 0)
        .collect();
    if picked.len() < 64 {
        return None;
    }
    let cols = (picked.len() as f64).sqrt().ceil() as u32;
    let rows = picked.len() as u32 / cols;
    let c = usize::from(p.channels);
    let (sw, sh) = (cols * TILE, rows * TILE);
    let mut data = vec![0u8; sw as usize * sh as usize * c];
    for (i, (tx, ty)) in picked.into_iter().take((cols * rows) as usize).enumerate() {
        let (dx, dy) = (i as u32 % cols * TILE, i as u32 / cols * TILE);
        for row in 0..TILE {
            let src = ((ty * TILE + row) as usize * p.width as usize + (tx * TILE) as usize) * c;
            let dst = ((dy + row) as usize * sw as usize + dx as usize) * c;
            let n = TILE as usize * c;
            data[dst..dst + n].copy_from_slice(&p.data[src..src + n]);
        }
    }
    Some(Pixels {
        width: sw,
        height: sh,
        channels: p.channels,
        data,
    })
}

/// The outcome of a search at one size.
pub(crate) enum Search {
    /// The highest quality that fits, and its JPEG.
    Fits { quality: u8, jpeg: Vec<u8> },
    /// Even the floor does not fit: the floor's size.
    TooBig { floor_bytes: usize },
}

/// Finds the highest quality in `floor..=ceiling` whose full encode is at
/// most `budget` bytes, verifying every answer with a real encode.
pub(crate) fn search(
    est: &mut Estimator<'_>,
    floor: u8,
    ceiling: u8,
    budget: usize,
) -> Result<Search, FitError> {
    // Known facts: `best` fits; everything at `bad` or above does not.
    let mut best: Option<(u8, Vec<u8>)> = None;
    let mut bad: u16 = u16::from(ceiling) + 1;
    let mut floor_bytes = None;
    loop {
        let lo = best.as_ref().map_or(floor, |(q, _)| q + 1);
        if u16::from(lo) >= bad {
            break;
        }
        let hi = (bad - 1) as u8;
        // The prediction, or (when it says nothing more fits) the next
        // quality up, which must be tried before we can say so.
        let guess = est.highest_fitting(lo, hi, budget as f64)?.unwrap_or(lo);
        if best.is_some() && guess == lo && est.predict(lo)? > budget as f64 * 1.03 {
            // Predicted clearly over even after correction: stop here
            // rather than spend a full encode confirming it.
            break;
        }
        // Try the neighbour too: above the guess when it may fit, below it
        // otherwise, so one round usually settles the answer.
        let neighbour = if u16::from(guess) + 1 < bad {
            Some(guess + 1)
        } else if guess > lo {
            Some(guess - 1)
        } else {
            None
        };
        let (a, b) = encode_pair(est.full, est.extras, guess, neighbour)?;
        for (q, jpeg) in std::iter::once((guess, a)).chain(neighbour.zip(b)) {
            est.learn(q, jpeg.len());
            if q == floor {
                floor_bytes = Some(jpeg.len());
            }
            if jpeg.len() <= budget {
                if best.as_ref().is_none_or(|(bq, _)| q > *bq) {
                    best = Some((q, jpeg));
                }
            } else {
                bad = bad.min(u16::from(q));
            }
        }
        if best.is_none() && bad <= u16::from(floor) {
            break;
        }
    }
    Ok(match best {
        Some((quality, jpeg)) => Search::Fits { quality, jpeg },
        None => Search::TooBig {
            floor_bytes: floor_bytes.unwrap_or(usize::MAX),
        },
    })
}

/// Encodes at one or two qualities, the second on its own thread.
fn encode_pair(
    p: &Pixels,
    extras: &Extras,
    a: u8,
    b: Option<u8>,
) -> Result<(Vec<u8>, Option<Vec<u8>>), FitError> {
    match b {
        None => Ok((encode(p, a, extras)?, None)),
        Some(b) => std::thread::scope(|s| {
            let other = s.spawn(|| encode(p, b, extras));
            let first = encode(p, a, extras)?;
            let second = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            Ok((first, Some(second)))
        }),
    }
}
