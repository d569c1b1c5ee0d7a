//! The request body as a reader over its segments, for HTTP stacks that take a body as `std::io::Read`: written once for every transport.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read};

use bytes::{Buf, Bytes};

use crate::Body;

/// Reads a [`Body`]'s segments one after the other, so that the media is
/// streamed from the caller's buffer, never concatenated. `Bytes` are
/// reference counted: making one of these (or a second one, to resend a
/// request) copies no media. Async stacks wrap it in an adapter such as
/// `futures_util::io::AllowStdIo`: every read completes at once.
#[derive(Debug, Clone, Default)]
pub struct SegmentReader {
    segments: VecDeque<Bytes>,
}

impl SegmentReader {
    /// A reader over `segments`, in order.
    pub fn new(segments: Vec<Bytes>) -> SegmentReader {
        SegmentReader {
            // Empty segments are dropped here, so that an empty buffer
            // from `fill_buf` means the end.
            segments: segments.into_iter().filter(|s| !s.is_empty()).collect(),
        }
    }

    /// Bytes left to read: the `Content-Length` of a fresh reader.
    pub fn remaining(&self) -> usize {
        self.segments.iter().map(Bytes::len).sum()
    }
}

impl From<Body> for SegmentReader {
    fn from(body: Body) -> SegmentReader {
        SegmentReader::new(body.into_segments())
    }
}

impl Read for SegmentReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.segments.front() {
            Some(front) => {
                let n = front.len().min(buf.len());
                buf[..n].copy_from_slice(&front[..n]);
                n
            }
            None => 0,
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for SegmentReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(self.segments.front().map_or(&[][..], |s| &s[..]))
    }

    fn consume(&mut self, mut amt: usize) {
        while amt > 0 {
            let Some(front) = self.segments.front_mut() else {
                return;
            };
            let step = amt.min(front.len());
            front.advance(step);
            amt -= step;
            if front.is_empty() {
                self.segments.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> SegmentReader {
        SegmentReader::new(vec![
            Bytes::from_static(b"head|"),
            Bytes::new(),
            Bytes::from_static(b"media bytes"),
            Bytes::from_static(b"|tail"),
        ])
    }

    #[test]
    fn reads_the_segments_in_order_in_small_pieces() {
        let mut r = reader();
        assert_eq!(r.remaining(), 21);
        let mut out = Vec::new();
        let mut piece = [0u8; 3];
        loop {
            let n = r.read(&mut piece).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&piece[..n]);
        }
        assert_eq!(out, b"head|media bytes|tail");
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn buffered_reads_see_the_same_bytes() {
        let mut r = reader();
        let mut out = Vec::new();
        r.read_until(b'|', &mut out).unwrap();
        assert_eq!(out, b"head|");
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"head|media bytes|tail");
    }

    #[test]
    fn a_clone_reads_the_body_again() {
        let r = reader();
        let mut again = r.clone();
        let mut out = Vec::new();
        again.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), r.remaining());
    }
}
