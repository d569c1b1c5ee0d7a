//! The idle connections of the surf backend: kept per `host:port`, checked before reuse, closed when old.

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use async_std::io::Read;
use async_std::net::TcpStream;
use futures_rustls::client::TlsStream;
use http_types::url::Url;

/// Idle connections kept per host; more are closed. A client shared by
/// many tasks needs one per task in flight, or each upload beyond the pool
/// pays a new TLS handshake (with an RSA client certificate): at 64, 256
/// concurrent uploads handshook on three of four. Idle ones are closed
/// after the idle timeout all the same.
pub(crate) const MAX_IDLE_PER_HOST: usize = 256;

/// Idle connections older than this are closed rather than reused, as
/// hyper's pool does: servers drop idle connections sooner or later.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// An idle connection and since when it has been idle.
type Idle = (Instant, TlsStream<TcpStream>);

/// Idle TLS connections by `host:port`, and how many were ever opened.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<HashMap<String, Vec<Idle>>>,
    pub(crate) opened: AtomicUsize,
}

impl Pool {
    /// Connections opened so far (TCP connected and TLS handshake done).
    pub(crate) fn opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    /// The most recently used idle connection to `key` that is still young
    /// enough and still open; the others are closed on the way.
    pub(crate) fn take(&self, key: &str) -> Option<TlsStream<TcpStream>> {
        loop {
            let mut stream = self.take_young(key)?;
            if is_open(&mut stream) {
                return Some(stream);
            }
            tracing::debug!("an idle connection was closed by the server; dropping it");
        }
    }

    /// The most recently used idle connection to `key` still young enough;
    /// older ones are closed on the way.
    fn take_young(&self, key: &str) -> Option<TlsStream<TcpStream>> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle.get_mut(key)?;
        let now = Instant::now();
        list.retain(|(since, _)| now.saturating_duration_since(*since) < IDLE_TIMEOUT);
        let found = list.pop();
        if list.is_empty() {
            idle.remove(key);
        }
        found.map(|(_, stream)| stream)
    }

    pub(crate) fn put(&self, key: &str, stream: TlsStream<TcpStream>) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle.entry(key.to_owned()).or_default();
        if list.len() < MAX_IDLE_PER_HOST {
            list.push((Instant::now(), stream));
        }
    }
}

/// Whether an idle connection can still carry a request: it has nothing to
/// read. A server that closed it (close_notify or a bare FIN), a reset, or
/// stray bytes all make it unusable. Found here, before a byte of the
/// request is written, such a connection is replaced with no doubt about
/// what the server got; found later, it could not be.
fn is_open(stream: &mut TlsStream<TcpStream>) -> bool {
    // One poll that must not wait: the real reads later register their own
    // waker, which replaces this one.
    let mut cx = Context::from_waker(Waker::noop());
    let mut probe = [0u8; 1];
    Pin::new(stream).poll_read(&mut cx, &mut probe).is_pending()
}

#[cfg(test)]
impl Pool {
    /// Idle connections that still look open, probed as `take` would.
    pub(crate) fn idle_open(&self) -> usize {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.values_mut()
            .flat_map(|list| list.iter_mut())
            .map(|(_, stream)| is_open(stream))
            .filter(|open| *open)
            .count()
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Pool")
            .field(
                "idle",
                &idle.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>(),
            )
            .field("opened", &self.opened())
            .finish()
    }
}

/// `host:port` of a URL: the pool key.
pub(crate) fn pool_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(443)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keys_carry_the_port() {
        let url = Url::parse("https://127.0.0.1:8443/secapi/mch/uploadmedia").unwrap();
        assert_eq!(pool_key(&url), "127.0.0.1:8443");
        let url = Url::parse("https://api.mch.weixin.qq.com/x").unwrap();
        assert_eq!(pool_key(&url), "api.mch.weixin.qq.com:443");
    }
}
