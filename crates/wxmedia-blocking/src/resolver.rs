//! A name resolver that remembers answers for a short while, so that a pooled request does not start a thread.
//!
//! ureq resolves the host before it looks in its pool, on every request,
//! and with a timeout set its default resolver does each lookup on a new
//! thread (that is how it can give up on a slow resolver). At 16 threads
//! uploading 10 KiB files that was a thread created and joined per upload,
//! most of them for a connection that was then taken from the pool. hyper
//! and our surf pool resolve only when they open a connection; remembering
//! an answer for [`TTL`] gets ureq close to that.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long an answer is used. Short, because the std resolver reports no
/// record TTL: a host that moves is found again within this time, and a
/// host that stops answering is left through failover to the twin host.
const TTL: Duration = Duration::from_secs(30);

/// ureq's default resolver (its timeout included) behind a small cache.
#[derive(Default)]
pub(crate) struct CachingResolver {
    inner: DefaultResolver,
    cache: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl fmt::Debug for CachingResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingResolver").finish_non_exhaustive()
    }
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = uri.authority().map(|a| a.as_str().to_owned());
        let now = Instant::now();
        if let Some(key) = &key {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, addrs)) = cache.get(key)
                && now.saturating_duration_since(*at) < TTL
            {
                return Ok(addrs.clone());
            }
        }
        // A miss (or an expired answer) is looked up outside the lock:
        // a slow resolver must not hold up requests to other hosts.
        let addrs = self
            .inner
            .resolve(uri, config, timeout)
            .map_err(|e| match e {
                // The system resolver's failure, typed so that it is told
                // from a refused connection by type, not by its text.
                ureq::Error::Io(source) => ureq::Error::Io(std::io::Error::new(
                    source.kind(),
                    wxmedia_client::DnsError {
                        host: uri.host().unwrap_or_default().to_owned(),
                        source,
                    },
                )),
                other => other,
            })?;
        if let Some(key) = key {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            // Failures are not kept: the next request asks again.
            cache.retain(|_, (at, _)| now.saturating_duration_since(*at) < TTL);
            cache.insert(key, (now, addrs.clone()));
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lookup_within_the_ttl_is_answered_from_the_cache() {
        let resolver = CachingResolver::default();
        let config = Config::default();
        let timeout = || NextTimeout {
            after: Duration::from_secs(5).into(),
            reason: ureq::Timeout::Resolve,
            per_read: None,
            per_write: None,
        };
        let uri: Uri = "https://127.0.0.1:4433/v3/merchant/media/upload"
            .parse()
            .unwrap();
        let first = resolver.resolve(&uri, &config, timeout()).unwrap();
        assert_eq!(first[0], "127.0.0.1:4433".parse().unwrap());
        // Poison the entry's address: a cached answer comes back as stored.
        {
            let mut cache = resolver.cache.lock().unwrap();
            let entry = cache.get_mut("127.0.0.1:4433").unwrap();
            entry.1[0] = "127.0.0.2:4433".parse().unwrap();
        }
        let second = resolver.resolve(&uri, &config, timeout()).unwrap();
        assert_eq!(
            second[0],
            "127.0.0.2:4433".parse().unwrap(),
            "served from the cache"
        );
        // Once expired, the name is looked up again.
        resolver
            .cache
            .lock()
            .unwrap()
            .get_mut("127.0.0.1:4433")
            .unwrap()
            .0 -= TTL;
        let third = resolver.resolve(&uri, &config, timeout()).unwrap();
        assert_eq!(third[0], "127.0.0.1:4433".parse().unwrap());
    }
}
