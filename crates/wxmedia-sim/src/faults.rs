//! Fault switches: rate limits, injected errors, slow, broken and forged replies.

use std::time::Duration;

/// How often a fault fires.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Times {
    /// Never (the default).
    #[default]
    Never,
    /// For the next `n` requests it applies to, then never.
    Next(u32),
    /// Every time.
    Always,
}

impl Times {
    /// Whether the fault fires now; counts down `Next`.
    pub fn take(&mut self) -> bool {
        match self {
            Times::Never => false,
            Times::Always => true,
            Times::Next(0) => {
                *self = Times::Never;
                false
            }
            Times::Next(n) => {
                *n -= 1;
                if *n == 0 {
                    *self = Times::Never;
                }
                true
            }
        }
    }
}

/// The fault switches of a simulator. All off by default.
///
/// Faults that produce a WeChat Pay answer (`FREQUENCY_LIMITED`,
/// `SYSTEMERROR`, v3's 429 and 500) apply only to requests that passed
/// authentication, like the real service; transport faults apply to every
/// request.
///
/// The reply-signature faults differ by API, because the APIs sign
/// different replies: v2 signs only replies to authenticated requests
/// (`wrong_sign` there, `omit_sign` on successes only), v3 signs every
/// reply, so `wrong_sign`, `omit_sign`, `stale_reply_timestamp`,
/// `unknown_reply_serial` and `unsigned_reply` count down on every v3
/// reply, refusals included.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Faults {
    /// Answer FREQUENCY_LIMITED (v3: 429 `RATE_LIMITED`) beyond this many
    /// authenticated requests per second.
    pub rate_limit_per_sec: Option<u32>,
    /// Answer SYSTEMERROR (v3: 500 `SYSTEM_ERROR`).
    pub system_error: Times,
    /// Answer SYSTEMERROR with this probability (0.0 to 1.0).
    pub system_error_probability: f64,
    /// Wait this long before answering.
    pub reply_delay: Duration,
    /// Close the connection after reading the request, without a reply.
    pub drop_connection: Times,
    /// Send the headers and half the body, then close the connection.
    pub truncate_reply: Times,
    /// Sign replies wrongly (v3: a `Wechatpay-Signature` that does not verify).
    pub wrong_sign: Times,
    /// Answer HTTP 502 with an HTML page, as a gateway would.
    pub bad_gateway: Times,
    /// Answer authenticated requests with this error code (signed, result
    /// layer), e.g. `FREQUENCY_LIMITED`, `SYSTEMERROR`, `INVALID_REQUEST`.
    pub forced_error: Option<(String, Times)>,
    /// The message sent with a forced error instead of 模拟错误: tests
    /// send hostile text with it (terminal escapes, line breaks), which
    /// clients must never print raw.
    pub forced_error_message: Option<String>,
    /// Send successful v2 replies without a `sign`, v3 replies without
    /// `Wechatpay-Signature` (clients must refuse them).
    pub omit_sign: Times,
    /// v3: sign replies with a `Wechatpay-Timestamp` ten minutes old (the
    /// signature verifies; clients must refuse the age, 300 s at most).
    pub stale_reply_timestamp: Times,
    /// v3: name a key the client does not have in `Wechatpay-Serial` (the
    /// signature is still made with the real key).
    pub unknown_reply_serial: Times,
    /// v3: send replies with none of the `Wechatpay-*` headers, as a proxy
    /// in between might.
    pub unsigned_reply: Times,
    /// Answer with a body of this many bytes (streamed, never held in
    /// memory) instead of the real reply: clients must stop at their cap.
    pub huge_reply: Option<u64>,
    /// Answer with headers and then a body that never ends (a few bytes
    /// every 100 ms): clients must stop at their deadline.
    pub endless_reply: bool,
    /// Do not listen at all: the address refuses connections.
    pub unreachable: bool,
    /// Serve replies without a `Date` header (it is only a SHOULD in
    /// HTTP/1.1): clients must accept them on the first request.
    pub omit_date: bool,
    /// Run the simulator's clock this many seconds ahead of the system's
    /// (behind when negative): its `Date` header, v3's ±300 s request
    /// window and `Wechatpay-Timestamp` all read it, as a server with a
    /// wrong clock would. Clients see a skewed clock (`wxmedia doctor`
    /// reports it); 0, the default, is the system's clock.
    pub clock_skew_secs: i64,
    /// Add a header whose value is Latin-1, not UTF-8 (`X-Sim-Note: café`
    /// in ISO-8859-1), which HTTP allows as obs-text: clients must accept
    /// the reply on the first request.
    pub latin1_header: bool,
    /// Answer the uploads whose result is a URL (the marketing image)
    /// with a `media_id` instead, as merchants report the real host doing
    /// on the marketing-image upload: clients must take it and say so.
    pub url_as_media_id: bool,
}
