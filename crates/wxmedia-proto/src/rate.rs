//! Request rates as values, the pacing arithmetic every limiter of uploads shares (GCRA), and the server's `Retry-After`.
//!
//! WeChat Pay limits uploads per merchant and endpoint (10 image uploads
//! a second, 100 marketing images a minute, ...) and answers past the
//! limit with `FREQUENCY_LIMITED`. A client that keeps the limit instead
//! of discovering it spaces its uploads: each takes the next free slot of
//! its merchant and endpoint, one [`Rate::interval`] after the previous
//! one. That is the generic cell rate algorithm with no burst: the state
//! is one instant (the next free slot, [`Pace`]), taking a slot is one
//! comparison and one addition, and a shared store (Redis) can do the
//! same in one atomic step. No burst, because WeChat Pay does not say how
//! it counts: evenly spaced uploads stay within a per-second window, a
//! sliding window and a token bucket alike.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use http::HeaderMap;

/// So many requests per period: `10/s`, `100/min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    count: u32,
    per: Duration,
}

impl Rate {
    /// The rate of endpoints whose limit WeChat Pay does not document:
    /// 5 a second, half the documented image rate.
    pub const DEFAULT: Rate = Rate::per_second(5);

    /// `count` a second. A count of 0 is taken as 1.
    pub const fn per_second(count: u32) -> Rate {
        Rate::const_new(count, Duration::from_secs(1))
    }

    /// `count` a minute. A count of 0 is taken as 1.
    pub const fn per_minute(count: u32) -> Rate {
        Rate::const_new(count, Duration::from_secs(60))
    }

    const fn const_new(count: u32, per: Duration) -> Rate {
        Rate {
            count: if count == 0 { 1 } else { count },
            per,
        }
    }

    /// `count` per `per`; `None` unless both are above zero.
    pub fn new(count: u32, per: Duration) -> Option<Rate> {
        (count > 0 && !per.is_zero()).then_some(Rate { count, per })
    }

    /// How many requests a period.
    pub fn count(self) -> u32 {
        self.count
    }

    /// The period.
    pub fn per(self) -> Duration {
        self.per
    }

    /// The time between two requests kept at this rate.
    pub fn interval(self) -> Duration {
        self.per / self.count
    }

    /// Requests a second, for sizing concurrency and for reports.
    pub fn per_second_f64(self) -> f64 {
        f64::from(self.count) / self.per.as_secs_f64()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.per.as_secs();
        if self.per.subsec_nanos() != 0 {
            return write!(f, "{}/{}ms", self.count, self.per.as_millis());
        }
        match secs {
            1 => write!(f, "{}/s", self.count),
            60 => write!(f, "{}/min", self.count),
            3600 => write!(f, "{}/h", self.count),
            _ => write!(f, "{}/{}s", self.count, secs),
        }
    }
}

/// Why a rate did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: a rate is COUNT/UNIT, e.g. 10/s, 100/min, 2/h (COUNT from 1 to 1000000)")]
pub struct RateParseError(&'static str);

impl FromStr for Rate {
    type Err = RateParseError;

    /// `COUNT/UNIT` with UNIT one of `s`, `sec`, `second`, `min`,
    /// `minute`, `h`, `hour`.
    fn from_str(s: &str) -> Result<Rate, RateParseError> {
        let (count, unit) = s.trim().split_once('/').ok_or(RateParseError("no '/'"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| RateParseError("the count is not a whole number"))?;
        // A million a unit is far past any host's limit; a larger count is
        // a typing error, and an interval of 0 would be "no limit".
        if !(1..=1_000_000).contains(&count) {
            return Err(RateParseError("the count is out of range"));
        }
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(RateParseError("unknown unit")),
        };
        Ok(Rate { count, per })
    }
}

/// What an operation's requests are limited by: the endpoint's path
/// (with the merchant, the limit's key) and its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing<'a> {
    /// The path the limit applies to, as WeChat Pay receives it.
    pub path: &'a str,
    /// The endpoint's documented rate (or a caller's).
    pub rate: Rate,
}

/// The next free slot of one merchant and endpoint: the whole state of a
/// limiter without burst.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pace {
    next: Option<Instant>,
}

impl Pace {
    /// Take the next free slot at `rate`, `now`: how long to wait before
    /// sending (zero when the slot is now). The slot after it is one
    /// interval later. Taking is final: a caller that then gives up leaves
    /// a gap, never two requests in one slot.
    pub fn reserve(&mut self, rate: Rate, now: Instant) -> Duration {
        let slot = self.next.map_or(now, |next| next.max(now));
        self.next = Some(slot + rate.interval());
        slot - now
    }

    /// The server said to slow down: no slot before `until`.
    pub fn hold_until(&mut self, until: Instant) {
        self.next = Some(self.next.map_or(until, |next| next.max(until)));
    }
}

/// The most a `Retry-After` is believed: a day. A server that asks for
/// longer is told no by the deadline anyway.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The server's `Retry-After` (RFC 9110 10.2.3): delay-seconds, or an
/// HTTP-date judged against `unix_time` (a date already past is zero).
/// `None` when absent or unreadable; capped at a day.
pub fn retry_after(headers: &HeaderMap, unix_time: u64) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let delay = if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
        // Digits only, so a parse failure is an overflow: as long as it gets.
        Duration::from_secs(value.parse().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        let at = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        Duration::from_secs(at.saturating_sub(unix_time))
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print_in_the_units_people_write() {
        let r: Rate = "10/s".parse().unwrap();
        assert_eq!((r.count(), r.per()), (10, Duration::from_secs(1)));
        assert_eq!(r.interval(), Duration::from_millis(100));
        assert_eq!(r.to_string(), "10/s");
        let m: Rate = " 100 / min ".parse().unwrap();
        assert_eq!(m, Rate::per_minute(100));
        assert_eq!(m.to_string(), "100/min");
        assert_eq!(m.interval(), Duration::from_millis(600));
        assert_eq!("2/hour".parse::<Rate>().unwrap().to_string(), "2/h");
        for bad in [
            "",
            "10",
            "0/s",
            "-1/s",
            "10/fortnight",
            "1.5/s",
            "99999999/s",
            "/s",
        ] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?}");
        }
        assert_eq!(Rate::new(0, Duration::from_secs(1)), None);
        assert_eq!(Rate::new(1, Duration::ZERO), None);
        assert_eq!(Rate::per_second(0), Rate::per_second(1));
    }

    #[test]
    fn slots_are_one_interval_apart_and_idle_time_is_not_saved_up() {
        let rate = Rate::per_second(10);
        let t0 = Instant::now();
        let mut pace = Pace::default();
        let waits: Vec<Duration> = (0..4).map(|_| pace.reserve(rate, t0)).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(waits, [ms(0), ms(100), ms(200), ms(300)]);
        // A second later the next slot (t0+400 ms) is past: the caller
        // goes now, and the one after waits one interval.
        let later = t0 + ms(1000);
        assert_eq!(pace.reserve(rate, later), ms(0));
        assert_eq!(pace.reserve(rate, later), ms(100));
        // A long idle time does not let a burst through.
        let idle = t0 + ms(60_000);
        assert_eq!(pace.reserve(rate, idle), ms(0));
        assert_eq!(pace.reserve(rate, idle), ms(100));
    }

    #[test]
    fn a_hold_moves_the_next_slot_but_never_back() {
        let rate = Rate::per_second(10);
        let t0 = Instant::now();
        let mut pace = Pace::default();
        pace.hold_until(t0 + Duration::from_secs(2));
        assert_eq!(pace.reserve(rate, t0), Duration::from_secs(2));
        pace.hold_until(t0);
        assert_eq!(pace.reserve(rate, t0), Duration::from_millis(2100));
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, 0), None);
        h.insert(http::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h, 0), Some(Duration::from_secs(3)));
        h.insert(
            http::header::RETRY_AFTER,
            "99999999999999999999999".parse().unwrap(),
        );
        assert_eq!(retry_after(&h, 0), Some(MAX_RETRY_AFTER));
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
        h.insert(
            http::header::RETRY_AFTER,
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h, 784_111_770), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&h, 784_111_800), Some(Duration::ZERO));
        for bad in ["soon", "-1", "1.5", ""] {
            h.insert(http::header::RETRY_AFTER, bad.parse().unwrap());
            assert_eq!(retry_after(&h, 0), None, "{bad:?}");
        }
    }
}
