//! An async reader over the core's body segments, so that the media is streamed as it is, never concatenated.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_std::io::{BufRead, Read};
use bytes::{Buf, Bytes};

/// Reads the segments one after the other. `Bytes` are reference counted,
/// so building one of these (or a second one to resend the request) copies
/// no media.
#[derive(Debug, Clone)]
pub(crate) struct SegmentReader {
    segments: VecDeque<Bytes>,
}

impl SegmentReader {
    /// A reader over `segments`, in order.
    pub(crate) fn new(segments: Vec<Bytes>) -> SegmentReader {
        SegmentReader {
            segments: segments.into_iter().filter(|s| !s.is_empty()).collect(),
        }
    }

    /// Bytes left to read: the `Content-Length` of a fresh reader.
    pub(crate) fn remaining(&self) -> usize {
        self.segments.iter().map(Bytes::len).sum()
    }

    fn advance(&mut self, mut amt: usize) {
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

impl Read for SegmentReader {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = match this.segments.front() {
            Some(front) => {
                let n = front.len().min(buf.len());
                buf[..n].copy_from_slice(&front[..n]);
                n
            }
            None => 0,
        };
        this.advance(n);
        Poll::Ready(Ok(n))
    }
}

impl BufRead for SegmentReader {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        // Empty segments were dropped in `new`, so an empty slice means the end.
        Poll::Ready(Ok(self
            .get_mut()
            .segments
            .front()
            .map_or(&[][..], |s| &s[..])))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().advance(amt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_std::io::{BufReadExt, ReadExt};

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
        async_std::task::block_on(async {
            loop {
                let n = r.read(&mut piece).await.unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&piece[..n]);
            }
        });
        assert_eq!(out, b"head|media bytes|tail");
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn buffered_reads_see_the_same_bytes() {
        let mut r = reader();
        let mut out = Vec::new();
        async_std::task::block_on(async {
            r.read_until(b'|', &mut out).await.unwrap();
            assert_eq!(out, b"head|");
            r.read_to_end(&mut out).await.unwrap();
        });
        assert_eq!(out, b"head|media bytes|tail");
    }
}
