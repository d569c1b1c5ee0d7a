//! The `proxy` check: which proxy the client's requests take to the endpoint, where it came from, and whether `NO_PROXY` sends them straight.

use super::Check;
use crate::{ProxySource, Settings};

/// Which way requests to `endpoint` go. Never a failure by itself (the
/// probes that follow say whether the way works); the password of the
/// proxy URL is masked.
pub(super) fn check(settings: &Settings, endpoint: &str) -> Check {
    let rules = &settings.proxy;
    let (Some(shown), Some(source)) = (rules.shown(), rules.source()) else {
        return Check::ok(
            "proxy",
            format!(
                "no proxy (neither --proxy nor HTTPS_PROXY / ALL_PROXY): requests go straight to {endpoint}"
            ),
        )
        .with_value("proxy", "none");
    };
    let from = match source {
        ProxySource::Builder => "given (--proxy)".to_owned(),
        ProxySource::Environment(var) => format!("from {var}"),
    };
    let routed = endpoint
        .parse::<http::Uri>()
        .ok()
        .and_then(|uri| rules.route(&uri))
        .is_some();
    let check = if routed {
        Check::ok(
            "proxy",
            format!(
                "requests to {endpoint} go through the proxy {shown} ({from}) by HTTP CONNECT; TLS stays end to end"
            ),
        )
    } else {
        Check::ok(
            "proxy",
            format!(
                "NO_PROXY ({}) names the host of {endpoint}: requests go straight, not through the proxy {shown} ({from})",
                rules.no_proxy()
            ),
        )
    };
    check
        .with_value("proxy", shown)
        .with_value("no_proxy_matched", (!routed).to_string())
}
