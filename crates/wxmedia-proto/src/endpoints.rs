//! The hosts of both API generations (mainland and Hong Kong), the twin rule, and the official failover rule (PROTOCOL.md 1.5, 2.6) as a pure state machine, with time passed in.

use std::time::{Duration, Instant};

/// The primary host.
pub const PRIMARY_BASE_URL: &str = "https://api.mch.weixin.qq.com";

/// The disaster-recovery twin of the primary host.
pub const TWIN_BASE_URL: &str = "https://api2.mch.weixin.qq.com";

/// The host of cross-border (境外) merchants, for v2's
/// `/secapi/mch/uploadmedia` and v3's uploads alike. It has no published
/// twin: see [`Region::HongKong`].
pub const HONG_KONG_BASE_URL: &str = "https://apihk.mch.weixin.qq.com";

/// Which WeChat Pay host a merchant's account lives on.
///
/// ```
/// use wxmedia_proto::endpoints::{Region, choose};
/// assert_eq!(
///     choose(Some(Region::HongKong.base_url()), None),
///     ("https://apihk.mch.weixin.qq.com".to_owned(), None),
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Region {
    /// `api.mch.weixin.qq.com`, failing over to its twin
    /// `api2.mch.weixin.qq.com` by the official rule.
    #[default]
    Mainland,
    /// `apihk.mch.weixin.qq.com`, for cross-border merchants. WeChat Pay
    /// publishes no disaster-recovery twin for it, and the mainland hosts
    /// do not serve cross-border accounts, so it has no automatic
    /// failover: a backup endpoint the caller gives is used by the same
    /// rule as the twin.
    HongKong,
}

impl Region {
    /// The base URL of the region's primary host.
    pub fn base_url(self) -> &'static str {
        match self {
            Region::Mainland => PRIMARY_BASE_URL,
            Region::HongKong => HONG_KONG_BASE_URL,
        }
    }
}

/// The primary and the failover host for a configured `endpoint` (the
/// official primary when `None`) and `backup` (`Some(None)`: no failover;
/// `None`: the [`default_twin`] rule). The clients' builders call this, so
/// the rule is one function.
pub fn choose(endpoint: Option<&str>, backup: Option<Option<&str>>) -> (String, Option<String>) {
    let primary = endpoint.unwrap_or(PRIMARY_BASE_URL);
    let twin = match backup {
        Some(backup) => backup,
        None => default_twin(primary),
    };
    (primary.to_owned(), twin.map(str::to_owned))
}

/// The `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("wxmedia/", env!("CARGO_PKG_VERSION"));

/// The twin of a base URL: the official twin for the official primary
/// (with or without a trailing `/`), none for any other host, whose twin
/// (if it has one) only its operator knows. The twin rule is the mainland
/// hosts': [`HONG_KONG_BASE_URL`] has none.
///
/// ```
/// use wxmedia_proto::endpoints::{default_twin, TWIN_BASE_URL};
/// assert_eq!(default_twin("https://api.mch.weixin.qq.com/"), Some(TWIN_BASE_URL));
/// assert_eq!(default_twin("https://127.0.0.1:8443"), None);
/// ```
pub fn default_twin(primary: &str) -> Option<&'static str> {
    (primary.trim_end_matches('/') == PRIMARY_BASE_URL).then_some(TWIN_BASE_URL)
}

/// More than this many connect failures of one kind on the primary host
/// switch to the twin.
pub const FAILOVER_THRESHOLD: u32 = 2;

/// How long requests stay on the twin before trying the primary again.
pub const FAILOVER_DURATION: Duration = Duration::from_secs(180);

/// How an attempt went, as far as reaching the host is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Connectivity {
    /// The host answered (whatever it answered: an API error is a success here).
    Reached,
    /// The TCP or TLS connect timed out, or the connection was refused.
    ConnectTimeout,
    /// The host name did not resolve.
    DnsFailure,
}

/// Which host to use: the primary, or its twin after connectivity failures.
///
/// Like the official v2 Java SDK: more than 2 connect timeouts or more than
/// 2 DNS failures on the primary switch to the twin for at most 3 minutes;
/// then the primary is used again with fresh counts. Two successes in a row
/// clear the counts. HTTP and API errors never cause a switch. One
/// deliberate addition: a refused connection counts as a connect timeout,
/// since it is the same "host unreachable" fact sooner.
#[derive(Debug, Clone)]
pub struct Endpoints {
    primary: String,
    twin: Option<String>,
    timeouts: u32,
    dns_failures: u32,
    reached_in_a_row: u32,
    on_twin_since: Option<Instant>,
}

impl Default for Endpoints {
    /// api.mch.weixin.qq.com with api2.mch.weixin.qq.com as its twin.
    fn default() -> Self {
        Endpoints::new(PRIMARY_BASE_URL, Some(TWIN_BASE_URL.to_owned()))
    }
}

impl Endpoints {
    /// A primary base URL and an optional twin.
    pub fn new(primary: impl Into<String>, twin: Option<String>) -> Endpoints {
        Endpoints {
            primary: primary.into(),
            twin,
            timeouts: 0,
            dns_failures: 0,
            reached_in_a_row: 0,
            on_twin_since: None,
        }
    }

    /// The base URL to use for an attempt starting at `now`; a failover
    /// whose time is up ends here (the counts start afresh).
    pub fn current(&mut self, now: Instant) -> &str {
        if self.failover_over(now) {
            self.on_twin_since = None;
            self.reset();
        }
        self.peek(now)
    }

    /// The base URL an attempt starting at `now` would use, changing
    /// nothing: what a monitor reads ([`Endpoints::current`] is what an
    /// attempt calls).
    pub fn peek(&self, now: Instant) -> &str {
        match (&self.on_twin_since, &self.twin) {
            (Some(_), Some(twin)) if !self.failover_over(now) => twin,
            _ => &self.primary,
        }
    }

    /// Whether the failover to the twin has run its time at `now`.
    fn failover_over(&self, now: Instant) -> bool {
        self.on_twin_since
            .is_some_and(|since| now.saturating_duration_since(since) >= FAILOVER_DURATION)
    }

    /// Whether requests currently go to the twin.
    pub fn on_twin(&self) -> bool {
        self.on_twin_since.is_some()
    }

    /// Record how an attempt to `base_url` went at `now`. Only attempts to
    /// the primary count.
    pub fn record(&mut self, base_url: &str, outcome: Connectivity, now: Instant) {
        if base_url != self.primary || self.on_twin_since.is_some() {
            return;
        }
        match outcome {
            Connectivity::Reached => {
                self.reached_in_a_row += 1;
                if self.reached_in_a_row >= 2 {
                    self.reset();
                }
                return;
            }
            Connectivity::ConnectTimeout => self.timeouts += 1,
            Connectivity::DnsFailure => self.dns_failures += 1,
        }
        self.reached_in_a_row = 0;
        if self.twin.is_some()
            && (self.timeouts > FAILOVER_THRESHOLD || self.dns_failures > FAILOVER_THRESHOLD)
        {
            self.on_twin_since = Some(now);
        }
    }

    fn reset(&mut self) {
        self.timeouts = 0;
        self.dns_failures = 0;
        self.reached_in_a_row = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = PRIMARY_BASE_URL;

    #[test]
    fn switches_after_more_than_two_timeouts_and_comes_back_after_three_minutes() {
        let t0 = Instant::now();
        let mut e = Endpoints::default();
        for i in 0..3 {
            assert_eq!(e.current(t0), P, "attempt {i}");
            e.record(P, Connectivity::ConnectTimeout, t0);
        }
        assert_eq!(e.current(t0), TWIN_BASE_URL);
        assert_eq!(e.current(t0 + Duration::from_secs(179)), TWIN_BASE_URL);
        assert_eq!(e.current(t0 + Duration::from_secs(180)), P);
        // Counts were reset: two more timeouts do not switch.
        e.record(P, Connectivity::ConnectTimeout, t0);
        e.record(P, Connectivity::ConnectTimeout, t0);
        assert_eq!(e.current(t0 + Duration::from_secs(181)), P);
    }

    /// Reading where the next attempt goes changes nothing: the failover
    /// state is the same after any number of peeks, at any time.
    #[test]
    fn peeking_does_not_end_a_failover() {
        let t0 = Instant::now();
        let mut e = Endpoints::default();
        for _ in 0..3 {
            e.record(P, Connectivity::ConnectTimeout, t0);
        }
        let later = t0 + Duration::from_secs(181);
        assert_eq!(e.peek(t0), TWIN_BASE_URL);
        assert_eq!(e.peek(later), P, "the failover's time is up");
        // Still failed over: only an attempt (`current`) ends it.
        assert!(e.on_twin());
        assert_eq!(e.peek(t0 + Duration::from_secs(10)), TWIN_BASE_URL);
        assert_eq!(e.current(later), P);
        assert!(!e.on_twin());
    }

    #[test]
    fn dns_failures_and_timeouts_are_counted_separately() {
        let t0 = Instant::now();
        let mut e = Endpoints::default();
        for o in [
            Connectivity::ConnectTimeout,
            Connectivity::DnsFailure,
            Connectivity::ConnectTimeout,
            Connectivity::DnsFailure,
        ] {
            e.record(P, o, t0);
        }
        assert!(!e.on_twin());
        e.record(P, Connectivity::DnsFailure, t0);
        assert!(e.on_twin());
    }

    #[test]
    fn two_successes_in_a_row_clear_the_counts() {
        let t0 = Instant::now();
        let mut e = Endpoints::default();
        e.record(P, Connectivity::ConnectTimeout, t0);
        e.record(P, Connectivity::ConnectTimeout, t0);
        e.record(P, Connectivity::Reached, t0);
        e.record(P, Connectivity::Reached, t0);
        e.record(P, Connectivity::ConnectTimeout, t0);
        assert!(!e.on_twin());
        // One success between failures does not clear them.
        e.record(P, Connectivity::ConnectTimeout, t0);
        e.record(P, Connectivity::Reached, t0);
        e.record(P, Connectivity::ConnectTimeout, t0);
        assert!(e.on_twin());
    }

    /// Every outcome a run of attempts can see, enough to fail over.
    fn fail_three_times(e: &mut Endpoints, t0: Instant) {
        for _ in 0..3 {
            let host = e.current(t0).to_owned();
            e.record(&host, Connectivity::ConnectTimeout, t0);
        }
    }

    #[test]
    fn hosts_are_chosen_by_region_and_backup_as_documented() {
        let hk = HONG_KONG_BASE_URL;
        // (endpoint, backup) configured → (primary, twin) chosen.
        type Case<'a> = (
            Option<&'a str>,
            Option<Option<&'a str>>,
            &'a str,
            Option<&'a str>,
        );
        let cases: [Case<'_>; 7] = [
            // Nothing configured: the mainland primary and its twin.
            (None, None, P, Some(TWIN_BASE_URL)),
            (
                Some(Region::Mainland.base_url()),
                None,
                P,
                Some(TWIN_BASE_URL),
            ),
            // Hong Kong: no twin of its own, never a mainland host.
            (Some(Region::HongKong.base_url()), None, hk, None),
            // A backup given is used, for either region.
            (
                Some(hk),
                Some(Some("https://b.example")),
                hk,
                Some("https://b.example"),
            ),
            (
                None,
                Some(Some("https://b.example")),
                P,
                Some("https://b.example"),
            ),
            // No failover at all when asked.
            (None, Some(None), P, None),
            // Another host (the simulator) has no twin.
            (
                Some("https://127.0.0.1:8443"),
                None,
                "https://127.0.0.1:8443",
                None,
            ),
        ];
        for (endpoint, backup, primary, twin) in cases {
            let (p, t) = choose(endpoint, backup);
            assert_eq!(
                (p.as_str(), t.as_deref()),
                (primary, twin),
                "{endpoint:?} {backup:?}"
            );
        }
    }

    #[test]
    fn hong_kong_stays_on_its_host_without_a_backup_and_fails_over_with_one() {
        let t0 = Instant::now();
        let (p, t) = choose(Some(HONG_KONG_BASE_URL), None);
        let mut alone = Endpoints::new(p, t);
        fail_three_times(&mut alone, t0);
        assert_eq!(alone.current(t0), HONG_KONG_BASE_URL);
        assert!(!alone.on_twin());

        let (p, t) = choose(
            Some(HONG_KONG_BASE_URL),
            Some(Some("https://hk-backup.example")),
        );
        let mut backed = Endpoints::new(p, t);
        fail_three_times(&mut backed, t0);
        assert_eq!(backed.current(t0), "https://hk-backup.example");
        assert_eq!(
            backed.current(t0 + FAILOVER_DURATION),
            HONG_KONG_BASE_URL,
            "back to the primary after the failover period"
        );

        let (p, t) = choose(None, None);
        let mut mainland = Endpoints::new(p, t);
        fail_three_times(&mut mainland, t0);
        assert_eq!(mainland.current(t0), TWIN_BASE_URL);
    }

    #[test]
    fn no_twin_means_no_switch() {
        let t0 = Instant::now();
        let mut e = Endpoints::new("https://127.0.0.1:1", None);
        for _ in 0..5 {
            e.record("https://127.0.0.1:1", Connectivity::ConnectTimeout, t0);
        }
        assert_eq!(e.current(t0), "https://127.0.0.1:1");
    }
}
