//! Where a client's requests go: straight, or through an HTTP CONNECT proxy; one rule for every transport and every request (uploads, certificate downloads, `doctor`'s probes).
//!
//! The proxy is the builder's (`.proxy(url)`), or the environment's as
//! curl reads it (`HTTPS_PROXY`, `https_proxy`, `ALL_PROXY`, `all_proxy`;
//! hosts in `NO_PROXY` / `no_proxy` go straight), or none
//! (`.no_proxy()`). Only HTTP CONNECT: TLS to WeChat Pay, and v2's client
//! certificate, stay end to end; the proxy sees a host name and bytes it
//! cannot read. Credentials in the proxy URL are sent as
//! `Proxy-Authorization: Basic` and never shown: every place that names
//! the proxy (errors, `doctor`, logs) masks the password.

use std::fmt;
use std::sync::Arc;

use http::{HeaderValue, Uri};
use hyper_util::client::proxy::matcher::Matcher;
use zeroize::Zeroizing;

use crate::{BoxError, BuildError};

/// The variables a proxy is read from, in curl's order (all uploads are
/// HTTPS, so `HTTP_PROXY` never applies).
const PROXY_VARS: &[&str] = &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

/// The variables of hosts that go straight.
const NO_PROXY_VARS: &[&str] = &["NO_PROXY", "no_proxy"];

/// How the builder was told to choose the proxy.
#[derive(Clone, Debug, Default)]
pub(crate) enum ProxyChoice {
    /// The environment's, as curl reads it (the default).
    #[default]
    Environment,
    /// This URL (the environment's `NO_PROXY` still applies).
    Given(Zeroizing<String>),
    /// None: every request goes straight, whatever the environment says.
    Off,
}

/// An HTTP proxy, validated: host and port, and the credentials if any.
#[derive(Clone)]
struct ProxyUrl {
    host: String,
    port: u16,
    user: Option<Zeroizing<String>>,
    password: Option<Zeroizing<String>>,
    /// `http://host:port`, or `http://user:***@host:port`.
    shown: String,
}

impl ProxyUrl {
    /// `[http://][user[:password]@]host:port`; percent-encoded credentials
    /// are decoded. `what` names the setting in errors; the value itself is
    /// never quoted, since it may hold a password.
    fn parse(text: &str, what: &'static str) -> Result<ProxyUrl, BuildError> {
        let invalid = |reason| BuildError::Invalid { what, reason };
        let text = text.trim();
        let rest = match text.split_once("://") {
            None => text,
            Some(("http" | "HTTP", rest)) => rest,
            Some(("https" | "HTTPS", _)) => {
                return Err(invalid(
                    "an https:// proxy (TLS to the proxy itself) is not supported: give its http:// address; the tunnel to WeChat Pay is TLS end to end either way",
                ));
            }
            Some((scheme, _)) if scheme.to_ascii_lowercase().starts_with("socks") => {
                return Err(invalid(
                    "a SOCKS proxy is not supported: give an HTTP proxy (HTTP CONNECT), http://host:port",
                ));
            }
            Some(_) => return Err(invalid("not an http:// proxy URL")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (credentials, authority) = match rest.rsplit_once('@') {
            Some((c, a)) => (Some(c), a),
            None => (None, rest),
        };
        if authority.is_empty() || authority.contains(['/', '?', '#', ' ']) {
            return Err(invalid(
                "a proxy URL is http://[user:password@]host:port, without a path",
            ));
        }
        let (host, port) = authority.rsplit_once(':').ok_or(invalid(
            "the proxy URL needs a port (http://proxy.example:3128)",
        ))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|&p| p != 0)
            .ok_or(invalid("the proxy's port is not a number from 1 to 65535"))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if bare.is_empty() || bare.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid("the proxy URL has no host"));
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|d| Zeroizing::new(d.into_owned()))
                .map_err(|_| invalid("the proxy's credentials are not UTF-8 once decoded"))
        };
        let (user, password) = match credentials {
            None => (None, None),
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (Some(decode(u)?), Some(decode(p)?)),
                None => (Some(decode(c)?), None),
            },
        };
        // The user name is shown (it tells which account), without control
        // characters; the password never.
        let visible = |u: &str| u.chars().filter(|c| !c.is_control()).collect::<String>();
        let shown = match (&user, &password) {
            (None, _) => format!("http://{host}:{port}"),
            (Some(u), None) => format!("http://{}@{host}:{port}", visible(u)),
            (Some(u), Some(_)) => format!("http://{}:***@{host}:{port}", visible(u)),
        };
        Ok(ProxyUrl {
            host: host.to_owned(),
            port,
            user,
            password,
            shown,
        })
    }

    /// The URL the matcher takes, credentials percent-encoded again.
    fn for_matcher(&self) -> Zeroizing<String> {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let credentials = match (&self.user, &self.password) {
            (None, _) => String::new(),
            (Some(u), None) => format!("{}@", enc(u)),
            (Some(u), Some(p)) => format!("{}:{}@", enc(u), enc(p)),
        };
        Zeroizing::new(format!("http://{credentials}{}:{}", self.host, self.port))
    }
}

/// Where a proxy came from, for `doctor` and errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxySource {
    /// The builder's `.proxy(url)` (the CLI's `--proxy`).
    Builder,
    /// This environment variable.
    Environment(&'static str),
}

/// The proxy rules in force: no proxy, or one proxy for every host that
/// `NO_PROXY` does not exempt. Built by the client builder; every
/// transport asks [`ProxyRules::route`] for each connection.
#[derive(Clone, Default)]
pub struct ProxyRules {
    proxy: Option<Arc<Proxied>>,
}

/// A proxy with its exemptions.
struct Proxied {
    url: ProxyUrl,
    source: ProxySource,
    /// The `NO_PROXY` list as read, for `doctor`.
    no_proxy: String,
    matcher: Matcher,
}

impl fmt::Debug for ProxyRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.proxy {
            None => f.write_str("ProxyRules(none)"),
            Some(p) => write!(f, "ProxyRules({}, no_proxy: {:?})", p.url.shown, p.no_proxy),
        }
    }
}

/// The way one connection goes through the proxy.
#[derive(Clone, Debug)]
pub struct Route {
    /// `http://host:port` of the proxy, without credentials.
    pub proxy: Uri,
    /// `Basic …` for `Proxy-Authorization`, when the URL has credentials
    /// (marked sensitive).
    pub authorization: Option<HeaderValue>,
    /// The proxy as it may be shown: the password masked.
    pub shown: String,
}

impl ProxyRules {
    /// No proxy: every request goes straight.
    pub fn none() -> ProxyRules {
        ProxyRules::default()
    }

    /// The rules of a builder's choice, reading the environment where it
    /// says so. An unusable proxy URL is refused here, naming where it
    /// came from, so that a typo never sends uploads around the proxy.
    pub(crate) fn from_choice(choice: &ProxyChoice) -> Result<ProxyRules, BuildError> {
        let (url, source) = match choice {
            ProxyChoice::Off => return Ok(ProxyRules::none()),
            ProxyChoice::Given(url) => {
                (ProxyUrl::parse(url, "the proxy URL")?, ProxySource::Builder)
            }
            ProxyChoice::Environment => {
                let found = PROXY_VARS.iter().find_map(|&var| {
                    let value = std::env::var(var).ok()?;
                    (!value.trim().is_empty()).then(|| (var, Zeroizing::new(value)))
                });
                let Some((var, value)) = found else {
                    return Ok(ProxyRules::none());
                };
                (ProxyUrl::parse(&value, var)?, ProxySource::Environment(var))
            }
        };
        let no_proxy = NO_PROXY_VARS
            .iter()
            .find_map(|var| std::env::var(var).ok())
            .unwrap_or_default();
        Ok(ProxyRules::with(url, source, no_proxy))
    }

    /// One proxy for every host but those of `no_proxy` (curl's syntax:
    /// comma-separated names, each matching itself and its subdomains,
    /// IP addresses and CIDR blocks, `*` for all).
    fn with(url: ProxyUrl, source: ProxySource, no_proxy: String) -> ProxyRules {
        let matcher = Matcher::builder()
            .https(url.for_matcher().as_str())
            .no(no_proxy.as_str())
            .build();
        ProxyRules {
            proxy: Some(Arc::new(Proxied {
                url,
                source,
                no_proxy,
                matcher,
            })),
        }
    }

    /// How a connection to `uri` goes: through the proxy, or straight
    /// (`None`: no proxy, or `NO_PROXY` names the host).
    pub fn route(&self, uri: &Uri) -> Option<Route> {
        let p = self.proxy.as_ref()?;
        let intercept = p.matcher.intercept(uri)?;
        let mut authorization = intercept.basic_auth().cloned();
        if let Some(a) = &mut authorization {
            a.set_sensitive(true);
        }
        Some(Route {
            proxy: intercept.uri().clone(),
            authorization,
            shown: p.url.shown.clone(),
        })
    }

    /// The proxy as it may be shown (password masked), if there is one.
    pub fn shown(&self) -> Option<&str> {
        self.proxy.as_ref().map(|p| p.url.shown.as_str())
    }

    /// Where the proxy came from, if there is one.
    pub fn source(&self) -> Option<ProxySource> {
        self.proxy.as_ref().map(|p| p.source)
    }

    /// The `NO_PROXY` list in force, as read (empty when none).
    pub fn no_proxy(&self) -> &str {
        self.proxy.as_ref().map_or("", |p| p.no_proxy.as_str())
    }

    /// The proxy's host, port and credentials, for a transport that
    /// configures its own CONNECT (ureq): `(host, port, user, password)`.
    /// The credentials are secrets: give them only to the HTTP stack.
    pub fn endpoint(&self) -> Option<(&str, u16, Option<&str>, Option<&str>)> {
        let p = &self.proxy.as_ref()?.url;
        Some((
            p.host.as_str(),
            p.port,
            p.user.as_deref().map(String::as_str),
            p.password.as_deref().map(String::as_str),
        ))
    }
}

/// A connection through the proxy failed: which proxy (password masked),
/// what happened, and whether the proxy refused (not worth asking again)
/// or could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("through the proxy {proxy}: {what}")]
pub struct ProxyError {
    /// The proxy, password masked.
    pub proxy: String,
    /// Whether the proxy answered and refused (407, 403, closed before
    /// answering): [`TransportErrorKind::Proxy`](crate::TransportErrorKind::Proxy),
    /// not retried. Otherwise the cause in `source` decides (a proxy that
    /// refuses connections is a connect failure).
    pub refused: bool,
    what: String,
    #[source]
    source: Option<BoxError>,
}

impl ProxyError {
    /// The proxy `route` refused the tunnel; `what` says how.
    pub fn refused(route: &Route, what: impl Into<String>) -> ProxyError {
        ProxyError {
            proxy: route.shown.clone(),
            refused: true,
            what: what.into(),
            source: None,
        }
    }

    /// The tunnel through `route` failed with `source` (the proxy could not
    /// be reached, or the connection to it broke).
    pub fn failed(
        route: &Route,
        what: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> ProxyError {
        ProxyError {
            proxy: route.shown.clone(),
            refused: false,
            what: what.into(),
            source: Some(source.into()),
        }
    }
}

#[cfg(test)]
mod tests;
