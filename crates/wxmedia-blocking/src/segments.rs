//! The request body as a blocking reader over the core's segments.

use std::collections::VecDeque;
use std::io::Read;

use bytes::{Buf, Bytes};

/// The request body as a reader over the core's segments, in order, so
/// that the media is streamed from the caller's buffer, not copied into one.
pub(crate) struct Segments {
    segments: VecDeque<Bytes>,
}

impl Segments {
    pub(crate) fn new(segments: Vec<Bytes>) -> Segments {
        Segments {
            segments: segments.into(),
        }
    }
}

impl Read for Segments {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(front) = self.segments.front_mut() {
            if front.is_empty() {
                self.segments.pop_front();
                continue;
            }
            let n = front.len().min(buf.len());
            buf[..n].copy_from_slice(&front[..n]);
            front.advance(n);
            return Ok(n);
        }
        Ok(0)
    }
}
