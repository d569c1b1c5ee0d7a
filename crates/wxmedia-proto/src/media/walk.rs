//! What the completeness walks of JPEG, PNG and BMP share: their result, and integer reads that say `None` past the end instead of panicking.

/// The walk of an image ran out of bytes before its end marker.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Truncated;

/// What a completeness check finds: the dimensions when the header gives
/// them, or that the end is missing.
pub(super) type Walk = Result<Option<(u32, u32)>, Truncated>;

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
