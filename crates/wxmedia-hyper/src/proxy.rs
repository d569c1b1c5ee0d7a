//! The engine's way through an HTTP proxy: hyper-util's CONNECT tunnel under TLS, for the connections the client's proxy rules send there.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::proxy::Tunnel;
use wxmedia_client::{BoxError, ProxyError, ProxyRules, Route};

use crate::engine::TcpConnector;

/// A TCP connector that opens a CONNECT tunnel through the proxy for
/// every destination [`ProxyRules::route`] sends there, and connects
/// straight otherwise. TLS runs over either, end to end with WeChat Pay.
#[derive(Clone)]
pub(crate) struct Proxied<C> {
    pub(crate) inner: C,
    pub(crate) rules: ProxyRules,
}

type Connecting<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl<C: TcpConnector> tower_service::Service<http::Uri> for Proxied<C> {
    type Response = C::Response;
    type Error = BoxError;
    type Future = Connecting<C::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let Some(route) = self.rules.route(&dst) else {
            let connecting = self.inner.call(dst);
            return Box::pin(async move { connecting.await.map_err(Into::into) });
        };
        let mut tunnel = Tunnel::new(route.proxy.clone(), self.inner.clone());
        if let Some(auth) = route.authorization.clone() {
            tunnel = tunnel.with_auth(auth);
        }
        let tunnelling = tower_service::Service::call(&mut tunnel, dst);
        Box::pin(async move {
            tunnelling
                .await
                .map_err(|e| Box::new(proxy_error(&route, e)) as BoxError)
        })
    }
}

/// A failed tunnel, naming the proxy: one that could not be reached or
/// broke keeps its cause (sorted by type: a refused connection is a
/// connect failure); one that answered without a tunnel (407, 403, closed
/// before answering) refused it, and is not asked again.
fn proxy_error(route: &Route, e: impl std::error::Error + Send + Sync + 'static) -> ProxyError {
    if std::error::Error::source(&e).is_some() {
        return ProxyError::failed(route, "no tunnel", e);
    }
    let sent = if route.authorization.is_some() {
        "the credentials of the proxy URL were sent"
    } else {
        "no credentials were sent: give them as http://user:password@host:port if it needs them"
    };
    ProxyError::refused(route, format!("{e} ({sent})"))
}
