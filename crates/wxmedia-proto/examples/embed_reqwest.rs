//! The core in an existing reqwest application: v2 and v3 uploads, the core's `Driver` loop on reqwest and tokio's timer.
//!
//! `cargo run -p wxmedia-proto --example embed_reqwest`; docs/EMBEDDING.md states the contract.
mod support;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use support::Result;
use wxmedia_proto::{AttemptEnd, Body, Driver, Endpoints};
use wxmedia_proto::{Operation, RetryPolicy, Step, TransportErrorKind};

const ATTEMPT: Duration = Duration::from_secs(10); // one attempt, connect to last reply byte
const DEADLINE: Duration = Duration::from_secs(30); // the whole operation, retries included

/// One operation to its end: the core decides everything; this loop owns the
/// clock, the randomness and the sleeping, and reqwest moves the bytes.
async fn drive<O: Operation>(
    client: &reqwest::Client,
    eps: &mut Endpoints,
    op: O,
) -> Result<O::Output> {
    let (limit, started) = (op.reply_limit(), Instant::now());
    let mut driver = Driver::new(op, RetryPolicy::default(), started);
    loop {
        let (inputs, jitter) = support::fresh_inputs()?; // time and randomness: ours to supply
        let request = driver.prepare(eps, Instant::now(), inputs)?;
        let end = exchange(client, request, limit)
            .await
            .unwrap_or_else(failed);
        match driver.finish(eps, end, Instant::now(), support::unix_now(), jitter) {
            Step::Done(output) => return Ok(output),
            Step::Retry { after, .. } if started.elapsed() + after < DEADLINE => {
                tokio::time::sleep(after).await
            }
            Step::Retry { cause, .. } | Step::GiveUp(cause) => return Err(cause.into()),
        }
    }
}

/// One attempt: the core's request as reqwest's, the reply read chunk by
/// chunk and abandoned past `limit`.
async fn exchange(
    client: &reqwest::Client,
    req: Request<Body>,
    limit: usize,
) -> reqwest::Result<AttemptEnd<reqwest::Error>> {
    // reqwest (without its `stream` feature) takes the body as one buffer, so
    // this copies the segments once per attempt; the headers, Content-Length
    // included, are the core's as they are.
    let mut reply = client
        .execute(reqwest::Request::try_from(req.map(|body| body.to_bytes()))?)
        .await?;
    if reply.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(AttemptEnd::ReplyTooLarge); // stop at the cap: never read what will be refused
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = reply.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(AttemptEnd::ReplyTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = reply.status();
    *response.headers_mut() = reply.headers().clone(); // v3 replies are verified from their headers
    Ok(AttemptEnd::Reply(response))
}

/// What a reqwest error means to the core, by its types: a refused
/// certificate ends the upload, a connect failure counts toward failover,
/// the rest is retried. The error itself travels on to the caller.
fn failed(e: reqwest::Error) -> AttemptEnd<reqwest::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut tls = false;
    while let Some(s) = source {
        tls |= s.is::<rustls::Error>();
        source = s.source();
    }
    let kind = match () {
        _ if tls => TransportErrorKind::Tls,
        _ if e.is_timeout() => return AttemptEnd::TimedOut,
        _ if e.is_connect() => TransportErrorKind::Connect,
        _ => TransportErrorKind::Broken,
    };
    AttemptEnd::failed(kind, e)
}

/// A v2 and a v3 upload of the same image. One reqwest client and one
/// `Endpoints` per merchant identity, shared by all its uploads: failover is
/// learned per client.
async fn upload_both(server: &wxmedia_sim::SimServer) -> Result<(String, String)> {
    let (pki, media) = (server.pki(), support::sample());
    let ca = reqwest::Certificate::from_pem(&std::fs::read(pki.ca_cert_path())?)?;
    // Trust only the simulator's CA; each attempt has its own time limit; no
    // redirects, so that a reply is always the one the request was made for.
    let builder = || {
        reqwest::Client::builder()
            .tls_certs_only([ca.clone()])
            .timeout(ATTEMPT)
            .redirect(reqwest::redirect::Policy::none())
    };
    // v2 presents the merchant's certificate (mutual TLS)...
    let identity = [
        std::fs::read(pki.client_cert_path())?,
        std::fs::read(pki.client_key_path())?,
    ]
    .concat();
    let v2_client = builder()
        .identity(reqwest::Identity::from_pem(&identity)?)
        .build()?;
    let mut v2_endpoints = Endpoints::new(server.endpoint(), None);
    let v2 = drive(
        &v2_client,
        &mut v2_endpoints,
        support::upload_v2(server, media.clone())?,
    )
    .await?;
    // ...v3 none: its requests are signed instead.
    let v3_client = builder().build()?;
    let mut v3_endpoints = Endpoints::new(server.endpoint(), None);
    let v3 = drive(
        &v3_client,
        &mut v3_endpoints,
        support::upload_v3(server, media)?,
    )
    .await?;
    Ok((v2.media_id, v3.id))
}

fn main() -> Result<()> {
    let sim = support::start()?; // the application's tokio runtime, here shared with the simulator
    let (v2, v3) = sim.runtime.block_on(upload_both(&sim.server))?;
    println!("v2 media_id: {v2}\nv3 media_id: {v3}");
    Ok(())
}

#[test]
fn uploads_to_the_simulator_and_retries() {
    let sim = support::start().unwrap();
    support::check(&sim, || sim.runtime.block_on(upload_both(&sim.server)));
}
