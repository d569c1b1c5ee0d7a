//! The PNG chunk walk, one for every crate (rules on [`Media`](super::Media)): by the chunks' own lengths ([`PngChunks`]), up to a whole `IEND`.

use super::walk::{Truncated, Walk, WalkError, be32, next_step};

/// The eight bytes every PNG starts with.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// One chunk of a PNG, as [`PngChunks`] finds it. Its CRC is not checked
/// here (decoders do that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PngChunk<'a> {
    /// The chunk type (`IHDR`, `iCCP`, `IEND`, ...).
    pub kind: [u8; 4],
    /// The chunk's data.
    pub data: &'a [u8],
    /// The whole chunk: length, type, data and CRC.
    pub raw: &'a [u8],
    /// Where the chunk ends in the file.
    pub end: usize,
}

/// The chunks of a PNG after its signature, up to and including `IEND`.
///
/// The rules, the same for the upload's completeness check and for
/// `wxmedia-fit`: a chunk longer than the data that is left is
/// [`WalkError::Truncated`], and so is a file without the signature or
/// that ends before `IEND`; a length over 2^31 (which the PNG
/// specification forbids) is [`WalkError::Malformed`]. After the first
/// error the iterator ends.
#[derive(Debug, Clone)]
pub struct PngChunks<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> PngChunks<'a> {
    /// The chunks of `bytes`.
    pub fn new(bytes: &'a [u8]) -> PngChunks<'a> {
        PngChunks {
            bytes,
            pos: PNG_SIGNATURE.len(),
            done: false,
        }
    }

    fn step(&mut self) -> Result<PngChunk<'a>, WalkError> {
        let c = self.bytes;
        let at = self.pos;
        let len = be32(c, at).ok_or(Truncated)?;
        if len > 0x7FFF_FFFF {
            return Err(WalkError::Malformed("a chunk length over 2^31"));
        }
        let kind: [u8; 4] = c
            .get(at + 4..at + 8)
            .and_then(|k| k.try_into().ok())
            .ok_or(Truncated)?;
        // Length, type, data, CRC.
        let end = (at + 12)
            .checked_add(len as usize)
            .filter(|&e| e <= c.len())
            .ok_or(Truncated)?;
        let raw = &c[at..end];
        self.pos = end;
        if &kind == b"IEND" {
            self.done = true;
        }
        Ok(PngChunk {
            kind,
            data: &raw[8..raw.len() - 4],
            raw,
            end,
        })
    }
}

impl<'a> Iterator for PngChunks<'a> {
    type Item = Result<PngChunk<'a>, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        let signed = self.bytes.starts_with(&PNG_SIGNATURE);
        let mut done = self.done;
        let next = next_step(&mut done, signed, || self.step());
        self.done |= done;
        next
    }
}

/// Walk the chunks after the signature up to a whole `IEND`; `c`
/// starts with the signature.
pub(super) fn check(c: &[u8]) -> Walk {
    let mut dims = None;
    for (i, chunk) in PngChunks::new(c).enumerate() {
        let chunk = chunk?;
        if i == 0 && &chunk.kind == b"IHDR" && chunk.data.len() >= 8 {
            let (w, h) = (be32(chunk.data, 0), be32(chunk.data, 4));
            if let (Some(w), Some(h)) = (w, h) {
                dims = (w > 0 && h > 0).then_some((w, h));
            }
        }
        if &chunk.kind == b"IEND" {
            return Ok(dims);
        }
    }
    Err(WalkError::Truncated)
}
