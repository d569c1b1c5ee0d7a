//! `--rate`: how fast `upload` and `batch` send, kept by the client's pacing, and the concurrency a batch derives from it.

use clap::Args;
use wxmedia_proto::Rate;

use crate::client::Configured;
use crate::conn::Destination;
use crate::destination::V3Target;

/// `--rate`'s value: a rate to keep, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateArg {
    Keep(Rate),
    Off,
}

fn parse(s: &str) -> Result<RateArg, String> {
    if s.trim() == "off" {
        return Ok(RateArg::Off);
    }
    s.parse().map(RateArg::Keep).map_err(|e| e.to_string())
}

/// The pacing options of `upload` and `batch`.
#[derive(Debug, Args)]
pub(crate) struct RateArgs {
    /// Uploads per second (or minute, hour) kept for this merchant and endpoint: COUNT/s, COUNT/min, COUNT/h. Default: the endpoint's documented limit (images 10/s, marketing images 100/min, product-coupon images 20/s, video 5/s). `off` sends unpaced and meets the limit only as FREQUENCY_LIMITED replies: for simulators without limits.
    #[arg(long, value_name = "RATE", value_parser = parse)]
    pub(crate) rate: Option<RateArg>,
    /// Keep the rate in this Redis, shared with every other process and machine given the same store (several workers of one merchant): redis://[:password@]host[:port][/db]. When it cannot be reached nothing is sent.
    #[arg(long, value_name = "URL")]
    pub(crate) rate_store: Option<String>,
    /// How many attempts the server answered FREQUENCY_LIMITED (retried
    /// or not), counted by the client's observer.
    #[arg(skip)]
    pub(crate) rate_limited: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl RateArgs {
    /// The rate kept for `target`, or `None` when pacing is off.
    pub(crate) fn kept(&self, target: Destination) -> Option<Rate> {
        match self.rate {
            Some(RateArg::Off) => None,
            Some(RateArg::Keep(rate)) => Some(rate),
            None => Some(target.rate()),
        }
    }

    /// The builder with this pacing, and the shared store if one is
    /// given (connected now, so that an unreachable one is said before
    /// any file is read).
    pub(crate) fn apply(&self, configured: Configured) -> anyhow::Result<Configured> {
        let configured = match (&self.rate_store, self.rate) {
            (None, _) => configured,
            (Some(_), Some(RateArg::Off)) => {
                anyhow::bail!("--rate-store keeps a rate: it cannot go with --rate off")
            }
            (Some(url), _) => {
                let store = wxmedia_client::RedisLimiter::connect(url)
                    .map_err(|e| anyhow::anyhow!("{}", wxmedia_client::Chain(&e)))?;
                let store: std::sync::Arc<dyn wxmedia_client::Limiter> = std::sync::Arc::new(store);
                match configured {
                    Configured::V2(b) => Configured::V2(b.limiter(store)),
                    Configured::V3(b, api) => Configured::V3(b.limiter(store), api),
                }
            }
        };
        let counter = std::sync::Arc::clone(&self.rate_limited);
        let count = move |a: &wxmedia_client::observe::Attempt| {
            if a.rate_limited {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        };
        let configured = match configured {
            Configured::V2(b) => Configured::V2(b.observer(count)),
            Configured::V3(b, api) => Configured::V3(b.observer(count), api),
        };
        Ok(self.paced(configured))
    }

    /// How many attempts were answered FREQUENCY_LIMITED so far.
    pub(crate) fn rate_limited(&self) -> u64 {
        self.rate_limited.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn paced(&self, configured: Configured) -> Configured {
        match (self.rate, configured) {
            (None, c) => c,
            (Some(RateArg::Off), Configured::V2(b)) => Configured::V2(b.no_rate_limit()),
            (Some(RateArg::Off), Configured::V3(b, api)) => Configured::V3(b.no_rate_limit(), api),
            (Some(RateArg::Keep(r)), Configured::V2(b)) => Configured::V2(b.rate_limit(r)),
            (Some(RateArg::Keep(r)), Configured::V3(b, target)) => {
                let b = match target {
                    V3Target::Api(api) => b.rate_limit(&api, r),
                    V3Target::Custom(api) => b.rate_limit(api, r),
                };
                Configured::V3(b, target)
            }
        }
    }

    /// Uploads in flight that keep `target`'s rate busy: one per slot a
    /// second (each upload then has a second to finish before it holds
    /// the next one up), at least 2 and at most 16; 16 when unpaced.
    pub(crate) fn concurrency(&self, target: Destination) -> u16 {
        match self.kept(target) {
            None => 16,
            Some(rate) => rate.per_second_f64().ceil().clamp(2.0, 16.0) as u16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wxmedia_proto::v3::Api;

    fn args(rate: Option<&str>) -> RateArgs {
        RateArgs {
            rate: rate.map(|r| parse(r).unwrap()),
            rate_store: None,
            rate_limited: Default::default(),
        }
    }

    #[test]
    fn concurrency_follows_the_rate_kept() {
        let image = Destination::V3(Api::Image);
        let marketing = Destination::V3(Api::MarketingImage);
        assert_eq!(args(None).concurrency(image), 10);
        assert_eq!(args(None).concurrency(Destination::V2), 10);
        assert_eq!(args(None).concurrency(marketing), 2);
        assert_eq!(
            args(None).concurrency(Destination::V3(Api::ProductCouponImage)),
            16
        );
        assert_eq!(args(Some("3/s")).concurrency(image), 3);
        assert_eq!(args(Some("1/h")).concurrency(image), 2);
        assert_eq!(args(Some("off")).concurrency(image), 16);
        assert_eq!(args(Some("off")).kept(image), None);
        assert_eq!(args(Some("1/min")).kept(image), Some(Rate::per_minute(1)));
        assert!(parse("fast").is_err());
        assert!(parse("0/s").is_err());
    }
}
