//! async-std's part of the engine: name lookup and TCP connect within the connect timeout, the socket as hyper reads and writes it, and the executor of the connection tasks.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_std::net::{TcpStream, ToSocketAddrs};
use futures_util::io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;
use hyper_util::client::legacy::connect::{Connected, Connection};
use wxmedia_client::DnsError;

/// The most copied per read from the socket into hyper's buffer: hyper's
/// buffer is uninitialised memory, which only `unsafe` code could hand to
/// a `futures-io` reader, and this crate has none.
const READ_CHUNK: usize = 16 * 1024;

/// Connects to the endpoint's host over async-std: the name looked up
/// (a failure is a [`DnsError`]), each address tried in turn, all within
/// the connect timeout; Nagle off, as the uploads are written in a few
/// large writes and the reply is awaited at once.
#[derive(Debug, Clone)]
pub(crate) struct AsyncStdTcp {
    pub(crate) connect_timeout: Duration,
}

type Connecting = Pin<Box<dyn Future<Output = io::Result<Socket>> + Send>>;

impl tower_service::Service<http::Uri> for AsyncStdTcp {
    type Response = Socket;
    type Error = io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Connecting {
        let limit = self.connect_timeout;
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the URL has no host"))?
                // An IPv6 literal comes in brackets.
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(443);
            async_std::io::timeout(limit, connect(host, port)).await
        })
    }
}

/// Look `host` up and connect to the first address that answers; the
/// last address's error if none does.
async fn connect(host: String, port: u16) -> io::Result<Socket> {
    let addrs: Vec<_> = match (host.as_str(), port).to_socket_addrs().await {
        Ok(addrs) => addrs.collect(),
        Err(source) => return Err(io::Error::other(DnsError { host, source })),
    };
    let mut last = io::Error::new(io::ErrorKind::AddrNotAvailable, "the host has no address");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                tcp.set_nodelay(true)?;
                return Ok(Socket {
                    tcp,
                    chunk: vec![0; READ_CHUNK].into_boxed_slice(),
                });
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// An async-std socket as hyper's I/O traits take it, with the buffer its
/// reads go through (allocated and zeroed once per connection, not per
/// read).
#[derive(Debug)]
pub(crate) struct Socket {
    tcp: TcpStream,
    chunk: Box<[u8]>,
}

impl Connection for Socket {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let room = buf.remaining().min(this.chunk.len());
        match Pin::new(&mut this.tcp).poll_read(cx, &mut this.chunk[..room]) {
            Poll::Ready(Ok(n)) => {
                buf.put_slice(&this.chunk[..n]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl hyper::rt::Write for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_close(cx)
    }
}

/// Runs hyper's connection tasks on async-std.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AsyncStdExecutor;

impl<F> hyper::rt::Executor<F> for AsyncStdExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        async_std::task::spawn(future);
    }
}
