//! What the completeness walks of JPEG, PNG and BMP share: their result, why a walk stops, and integer reads that say `None` past the end instead of panicking.

/// Why a walk of an image's structure stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WalkError {
    /// The data ran out before the end marker (`EOI`, `IEND`, the
    /// declared size): the file was cut short.
    Truncated,
    /// The structure is broken in a way that is not a cut: a second
    /// start-of-image, a segment length under 2, a chunk length over
    /// 2^31. Decoders refuse these, so nothing is sent.
    Malformed(&'static str),
}

/// The walk ran out of bytes: converts into [`WalkError::Truncated`], so
/// that `get(..).ok_or(Truncated)?` reads as what it means.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Truncated;

impl From<Truncated> for WalkError {
    fn from(_: Truncated) -> WalkError {
        WalkError::Truncated
    }
}

/// One step of a walk as an iterator yields it: nothing once `done`, an
/// error (then nothing more) for a file without its signature, else the
/// step, after whose error nothing more either.
pub(super) fn next_step<T>(
    done: &mut bool,
    signed: bool,
    step: impl FnOnce() -> Result<T, WalkError>,
) -> Option<Result<T, WalkError>> {
    if *done {
        return None;
    }
    let result = if signed {
        step()
    } else {
        Err(WalkError::Truncated)
    };
    if result.is_err() {
        *done = true;
    }
    Some(result)
}

/// What a completeness check finds: the dimensions when the header gives
/// them, or why the walk stopped.
pub(super) type Walk = Result<Option<(u32, u32)>, WalkError>;

pub(super) fn be16(c: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(c.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn be32(c: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(c.get(at..at + 4)?.try_into().ok()?))
}

pub(super) fn le16(c: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(c.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn le32(c: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(c.get(at..at + 4)?.try_into().ok()?))
}
