//! A connection lent to one exchange: what it wrote, whether the reply started, the cap on the reply head, and whether the body ended cleanly so that it can go back to the pool.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use async_std::io::{BufRead, Read, Write};
use async_std::net::TcpStream;
use futures_rustls::client::TlsStream;
use http_types::Body;

use crate::pool::Pool;

/// The most a reply head (status line and headers) may take. async-h1
/// checks its own 8 KiB limit only at the end of each line, so a header
/// line that never ends would be buffered whole; hyper stops at its head
/// limit and ureq at 64 KiB.
const MAX_HEAD: usize = 64 * 1024;

/// What a connection in use shares with the response body reading from it.
#[derive(Debug)]
pub(crate) struct ConnState {
    pool: Arc<Pool>,
    key: String,
    /// Request bytes the stream accepted. Any at all and the server may
    /// have the whole request (and act on it): a failure after that is
    /// never resent here, only reported.
    written: AtomicUsize,
    /// Set by the first byte read: the server answered something.
    response_started: AtomicBool,
    /// Set when the response body was read to its end and the server did
    /// not ask to close: the connection then goes back to the pool.
    reusable: AtomicBool,
}

/// A TLS connection lent to one exchange. Goes back to the pool when
/// dropped, if the exchange ended cleanly.
pub(crate) struct Conn {
    /// Always `Some` until `drop` moves it to the pool.
    stream: Option<TlsStream<TcpStream>>,
    state: Arc<ConnState>,
    head: HeadLimit,
}

/// Counts the reply's bytes as they are read, up to the end of its head,
/// and fails once the head passes [`MAX_HEAD`]: async-h1 reads the head
/// itself and cannot be told a limit, so the cap sits under it.
#[derive(Debug, Default)]
pub(crate) struct HeadLimit {
    /// Head bytes read so far.
    read: usize,
    /// The last bytes seen, to find the end across reads.
    tail: [u8; 4],
    /// Past the head: the body is not counted.
    done: bool,
}

impl HeadLimit {
    /// Account for `bytes`, just read. The head ends where async-h1 ends
    /// it: at `\r\n\r\n`, or at `\n\n`.
    pub(crate) fn check(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.done {
            return Ok(());
        }
        let mut taken = bytes.len();
        for (i, &b) in bytes.iter().enumerate() {
            self.tail = [self.tail[1], self.tail[2], self.tail[3], b];
            if self.tail == *b"\r\n\r\n" || self.tail[2..] == *b"\n\n" {
                self.done = true;
                taken = i + 1;
                break;
            }
        }
        self.read = self.read.saturating_add(taken);
        if self.read > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the reply head is over {MAX_HEAD} bytes"),
            ));
        }
        Ok(())
    }
}

impl ConnState {
    /// The state of a fresh exchange on a connection to `key`.
    pub(crate) fn new(pool: Arc<Pool>, key: &str) -> ConnState {
        ConnState {
            pool,
            key: key.to_owned(),
            written: AtomicUsize::new(0),
            response_started: AtomicBool::new(false),
            reusable: AtomicBool::new(false),
        }
    }

    /// Request bytes the stream accepted so far.
    pub(crate) fn written(&self) -> usize {
        self.written.load(Ordering::Acquire)
    }

    /// Whether the server sent a byte of its reply.
    pub(crate) fn replied(&self) -> bool {
        self.response_started.load(Ordering::Acquire)
    }
}

impl Conn {
    /// Lend `stream` to the exchange `state` tracks.
    pub(crate) fn new(stream: TlsStream<TcpStream>, state: Arc<ConnState>) -> Conn {
        Conn {
            stream: Some(stream),
            state,
            head: HeadLimit::default(),
        }
    }

    fn stream(&mut self) -> io::Result<Pin<&mut TlsStream<TcpStream>>> {
        self.stream
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "connection returned"))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.state.reusable.load(Ordering::Acquire)
            && let Some(stream) = self.stream.take()
        {
            self.state.pool.put(&self.state.key, stream);
        }
    }
}

impl Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(self.stream()?.poll_read(cx, buf))?;
        if n > 0 {
            self.state.response_started.store(true, Ordering::Release);
        }
        self.head.check(&buf[..n])?;
        Poll::Ready(Ok(n))
    }
}

impl Write for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(self.stream()?.poll_write(cx, buf))?;
        // Counted when the TLS stream takes the bytes, which may be before
        // they leave: this errs toward "maybe delivered", never the other way.
        self.state.written.fetch_add(n, Ordering::AcqRel);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream()?.poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream()?.poll_close(cx)
    }
}

/// The response body as async-h1 decoded it, watched for its clean end so
/// that the connection can be reused.
pub(crate) struct Tracked {
    inner: Body,
    state: Arc<ConnState>,
    /// Bytes still due by `Content-Length`; `None` for a chunked body,
    /// whose decoder reports its end as end of file.
    remaining: Option<usize>,
    /// Whether the server allows another request on this connection.
    keep_alive: bool,
}

impl Tracked {
    pub(crate) fn new(inner: Body, state: Arc<ConnState>, keep_alive: bool) -> Tracked {
        let tracked = Tracked {
            remaining: inner.len(),
            inner,
            state,
            keep_alive,
        };
        if tracked.remaining == Some(0) {
            tracked.finished();
        }
        tracked
    }

    /// Account for `n` bytes read; `n == 0` with room to read is the end.
    fn advance(&mut self, n: usize, eof: bool) {
        match &mut self.remaining {
            Some(left) => {
                *left = left.saturating_sub(n);
                if *left == 0 && n > 0 {
                    self.finished();
                }
            }
            // A chunked body's end of file is its terminating chunk: the
            // decoder reports a connection closed early as an error.
            None if eof => self.finished(),
            None => {}
        }
    }

    fn finished(&self) {
        if self.keep_alive {
            self.state.reusable.store(true, Ordering::Release);
        }
    }
}

impl Read for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let eof = n == 0 && !buf.is_empty();
        self.advance(n, eof);
        Poll::Ready(Ok(n))
    }
}

impl BufRead for Tracked {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        let available = ready!(Pin::new(&mut this.inner).poll_fill_buf(cx))?;
        if available.is_empty() && this.remaining.is_none() && this.keep_alive {
            this.state.reusable.store(true, Ordering::Release);
        }
        Poll::Ready(Ok(available))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.inner).consume(amt);
        self.advance(amt, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_limit_counts_the_head_only() {
        let mut head = HeadLimit::default();
        head.check(b"HTTP/1.1 200 OK\r\nContent-Length: 70000\r")
            .unwrap();
        // The end split across reads, the body after it not counted.
        head.check(b"\n\r\nbody").unwrap();
        assert!(head.done);
        assert_eq!(head.read, 42);
        head.check(&vec![b'x'; 2 * MAX_HEAD]).unwrap();
        assert_eq!(head.read, 42);

        let mut bare = HeadLimit::default();
        bare.check(b"HTTP/1.1 200 OK\nA: b\n\nbody").unwrap();
        assert!(bare.done);
    }

    #[test]
    fn a_head_past_the_limit_fails_even_within_one_line() {
        let mut head = HeadLimit::default();
        head.check(b"HTTP/1.1 200 OK\r\nX-Endless: ").unwrap();
        let line = vec![b'a'; 8 * 1024];
        let mut checks = 0;
        while head.check(&line).is_ok() {
            checks += 1;
            assert!(checks <= MAX_HEAD / line.len(), "no error past the limit");
        }
        assert!(head.read > MAX_HEAD);

        // A head that ends past the limit in the very read that ends it.
        let mut late = HeadLimit::default();
        let mut big = vec![b'a'; MAX_HEAD];
        big.extend_from_slice(b"\r\n\r\n");
        assert!(late.check(&big).is_err());
    }
}
