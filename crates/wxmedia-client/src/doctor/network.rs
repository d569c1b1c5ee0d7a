//! The checks of the way to the server: `proxy` (which proxy the client's requests take, from where, whether `NO_PROXY` sends them straight) and `server-root` (the root the server's certificate chain ends at, and the TLS version).

use super::Check;
use crate::{ProxySource, Settings};

/// The root WeChat Pay's API hosts chain to since 2024 (it warned against
/// pinning the one before).
const WECHAT_PAY_ROOT: &str = "DigiCert Global Root G2";

/// The root its hosts chained to before.
const OLD_ROOT: &str = "DigiCert Global Root CA";

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

/// What the probe's TLS handshake showed of the server: the root its chain
/// ends at (ok for WeChat Pay's, a warning for any other: a simulator, a
/// gateway, a proxy that intercepts TLS) and the TLS version. `None` when
/// no full handshake happened (the probe failed before, or reused a
/// connection).
pub(super) fn server_root(settings: &Settings, endpoint: &str) -> Option<Check> {
    let seen = settings.handshakes.last()?;
    Some(judge_root(&seen.root, seen.version, endpoint))
}

/// The `server-root` check of a chain ending at `root` over `version`.
fn judge_root(root: &str, version: &str, endpoint: &str) -> Check {
    const NAME: &str = "server-root";
    let check = if root == WECHAT_PAY_ROOT {
        Check::ok(
            NAME,
            format!("{endpoint} chains to {root}, the root WeChat Pay uses, over {version}"),
        )
    } else if root == OLD_ROOT {
        Check::warn(
            NAME,
            format!(
                "{endpoint} chains to {root}, the root WeChat Pay used before it moved to {WECHAT_PAY_ROOT} in 2024, over {version}: is something in between? Trust the system's roots; do not pin one"
            ),
        )
    } else {
        Check::warn(
            NAME,
            format!(
                "{endpoint} chains to {root:?}, not to {WECHAT_PAY_ROOT} (WeChat Pay's hosts), over {version}: right for a simulator or a gateway, wrong for WeChat Pay (a proxy that intercepts TLS?)"
            ),
        )
    };
    check
        .with_value("root", root)
        .with_value("tls_version", version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn only_wechat_pays_root_is_ok() {
        let e = "https://api.mch.weixin.qq.com";
        assert_eq!(judge_root(WECHAT_PAY_ROOT, "TLS 1.2", e).status, Status::Ok);
        let old = judge_root(OLD_ROOT, "TLS 1.2", e);
        assert_eq!(old.status, Status::Warn);
        assert!(old.message.contains("2024"), "{}", old.message);
        let other = judge_root("Corp Intercepting CA", "TLS 1.3", e);
        assert_eq!(other.status, Status::Warn);
        assert!(other.message.contains("intercepts"), "{}", other.message);
        assert!(
            other
                .values
                .contains(&("tls_version", "TLS 1.3".to_owned()))
        );
    }
}
