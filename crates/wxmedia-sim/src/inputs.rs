//! The clock readings and random bytes one request may use: inputs of the handler, never read by it.

use std::ops::Range;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Everything time- or chance-dependent that answering one request may
/// need, handed to [`Simulator::handle_with`](crate::Simulator::handle_with).
///
/// The handler reads no clock and draws no randomness of its own, so a test
/// (or a fuzz replay) that fixes the inputs gets the same reply for the same
/// request and simulator state, media id included.
/// [`Simulator::handle`](crate::Simulator::handle) fills them from the
/// system with [`Inputs::from_system`].
///
/// How the random bytes are spent is fixed per endpoint, so that different
/// bytes give different results and each use has bytes of its own:
///
/// | bytes | v2 upload | v3 upload | v3 certificates |
/// |---|---|---|---|
/// | `0..33` | media id | media id (or the media URL's id) | `0..6`: the AES-GCM nonce (12 hex characters) |
/// | `33..41` | `system_error_probability` draw | the same draw | the same draw |
/// | `41..57` | — | `Wechatpay-Nonce` (32 hex characters) | the same |
/// | `57..64` | — | `Request-ID` (with `unix_time`) | the same |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Inputs {
    /// Monotonic time of arrival: the rate limit's one-second window.
    pub now: Instant,
    /// Wall-clock time of arrival in Unix seconds: v3 checks the request's
    /// timestamp against it and puts it in `Wechatpay-Timestamp`; unused by
    /// v2.
    pub unix_time: u64,
    /// Random bytes for this request only.
    pub random: [u8; 64],
}

/// The bytes of [`Inputs::random`] that become a v2 media id: 33 bytes are
/// 44 base64url characters without padding.
pub(crate) const MEDIA_ID_BYTES: Range<usize> = 0..33;
/// The bytes of [`Inputs::random`] that decide a probabilistic fault.
pub(crate) const DRAW_BYTES: Range<usize> = 33..41;
/// The bytes of [`Inputs::random`] that become a v3 reply's
/// `Wechatpay-Nonce`: 16 bytes, 32 lowercase hex characters.
pub(crate) const NONCE_BYTES: Range<usize> = 41..57;
/// The bytes of [`Inputs::random`] in a v3 reply's `Request-ID`.
pub(crate) const REQUEST_ID_BYTES: Range<usize> = 57..64;
/// The bytes of [`Inputs::random`] that become the AES-GCM nonce of
/// `/v3/certificates`: 6 bytes, 12 hex characters (the 96-bit nonce
/// WeChat Pay sends as text). No media id is made there, so they are free.
pub(crate) const AEAD_NONCE_BYTES: Range<usize> = 0..6;

impl Inputs {
    /// Inputs with these readings and bytes (for tests and replays).
    pub fn new(now: Instant, unix_time: u64, random: [u8; 64]) -> Inputs {
        Inputs {
            now,
            unix_time,
            random,
        }
    }

    /// Read the monotonic clock, the system clock and the OS's randomness.
    pub fn from_system() -> Inputs {
        let mut random = [0u8; 64];
        getrandom::fill(&mut random).expect("the OS has randomness");
        // A system clock before 1970 is a broken machine, not a reason to
        // fail a request: v2 does not even look at this value.
        let unix_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Inputs {
            now: Instant::now(),
            unix_time,
            random,
        }
    }

    /// A number in `[0, 1)` from the draw bytes: the top 53 bits of a
    /// `u64`, so every value is exactly representable.
    pub(crate) fn draw(&self) -> f64 {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&self.random[DRAW_BYTES]);
        (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
    }
}
