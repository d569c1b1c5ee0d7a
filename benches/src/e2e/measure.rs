//! One timed end-to-end run: `n` uploads by `concurrency` workers of one client, as uploads per second and client CPU per upload.

use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;
use wxmedia_bench::v3_image;
use wxmedia_proto::{Media, v3};

use super::baselines::{BaselineV3, CurlForm, curl_upload, reqwest_upload, reqwest_v3_upload};
use super::clients::{Client, Entry, Ours};
use super::sim::field;
use crate::cpu_seconds;

/// What every upload needs besides its client: the simulator's files and
/// the v3 baseline's key.
pub(super) struct Ctx {
    ready: Value,
    pub(super) endpoint: String,
    dir: tempfile::TempDir,
    baseline_v3: BaselineV3,
}

pub(super) fn ctx(ready: &Value) -> Ctx {
    let baseline_v3 = BaselineV3::load(ready);
    Ctx {
        ready: ready.clone(),
        endpoint: field(ready, "endpoint"),
        dir: tempfile::TempDir::new().expect("temp dir"),
        baseline_v3,
    }
}

/// The media of one upload: v3 images may be up to 5 MiB, v2 up to 2 MiB.
fn media(v3: bool, data: &Bytes) -> Media {
    if v3 {
        v3_image(data)
    } else {
        Media::new("a.jpg", Bytes::clone(data)).expect("media")
    }
}

/// `n` uploads of `data` by `concurrency` workers: uploads per second and
/// client CPU milliseconds per upload. Any failed upload panics: a number
/// that counted failures would mean nothing.
pub(super) fn run_e2e(
    rt: &tokio::runtime::Runtime,
    c: &Ctx,
    e: &Entry,
    data: &Bytes,
    concurrency: usize,
    n: usize,
) -> (f64, f64) {
    let form = CurlForm::new(c.dir.path(), data, matches!(e.client, Client::Curl));
    let (cpu0, child0) = cpu_seconds();
    let started = Instant::now();
    let started = match &e.client {
        Client::Surf(_) => {
            on_async_std(e, data, concurrency, n);
            started
        }
        Client::Hyper(_) | Client::Reqwest(_) => {
            on_tokio(rt, c, e, data, concurrency, n);
            started
        }
        Client::Blocking(_) | Client::Curl => on_threads(c, e, data, &form, concurrency, n),
    };
    let wall = started.elapsed().as_secs_f64();
    let (cpu1, child1) = cpu_seconds();
    let cpu = (cpu1 - cpu0) + (child1 - child0);
    (n as f64 / wall, cpu * 1000.0 / n as f64)
}

/// surf on async-std, as its users run it: its I/O is async-std's
/// reactor, and awaiting it from tokio would add a wake-up across runtimes
/// to every read and write.
fn on_async_std(e: &Entry, data: &Bytes, concurrency: usize, n: usize) {
    async_std::task::block_on(async {
        let mut s = futures_util::stream::iter(0..n)
            .map(|_| async {
                match &e.client {
                    Client::Surf(Ours::V3(s)) => {
                        s.upload(&v3::Image, media(true, data))
                            .await
                            .expect("upload");
                    }
                    Client::Surf(Ours::V2(s)) => {
                        s.upload(media(false, data)).await.expect("upload");
                    }
                    _ => unreachable!("surf only"),
                }
            })
            .buffer_unordered(concurrency);
        while s.next().await.is_some() {}
    });
}

/// hyper and the reqwest baselines on the tokio runtime their users run.
fn on_tokio(
    rt: &tokio::runtime::Runtime,
    c: &Ctx,
    e: &Entry,
    data: &Bytes,
    concurrency: usize,
    n: usize,
) {
    rt.block_on(async {
        let mut s = futures_util::stream::iter(0..n)
            .map(|_| async {
                match &e.client {
                    Client::Hyper(Ours::V3(h)) => {
                        h.upload(&v3::Image, media(true, data))
                            .await
                            .expect("upload");
                    }
                    Client::Hyper(Ours::V2(h)) => {
                        h.upload(media(false, data)).await.expect("upload");
                    }
                    Client::Reqwest(r) if e.v3 => {
                        reqwest_v3_upload(r, &c.endpoint, &c.baseline_v3, data).await;
                    }
                    Client::Reqwest(r) => reqwest_upload(r, &c.endpoint, data).await,
                    Client::Surf(_) | Client::Blocking(_) | Client::Curl => {
                        unreachable!("run on async-std and on threads")
                    }
                }
            })
            .buffer_unordered(concurrency);
        while s.next().await.is_some() {}
    });
}

/// Threads as a user's worker pool would run them: started before the
/// clock (a barrier), each taking the next upload from a shared counter
/// until n are done. A fixed share per thread made the run as long as its
/// unluckiest thread: at c=64 each had 8 uploads, and 64 threads on 2 cores
/// do not get equal turns. Returns when the clock started: when the first
/// worker left the barrier, as that worker read it; read by the calling
/// thread, it started late whenever that thread waited for a core behind
/// the workers (up to 2x too fast at c=256).
fn on_threads(
    c: &Ctx,
    e: &Entry,
    data: &Bytes,
    form: &CurlForm,
    concurrency: usize,
    n: usize,
) -> Instant {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let ready = std::sync::Barrier::new(concurrency);
    let first = std::sync::Mutex::new(None::<Instant>);
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            let (next, ready, first) = (&next, &ready, &first);
            scope.spawn(move || {
                ready.wait();
                let now = Instant::now();
                let mut first = first.lock().expect("no panic while held");
                if first.is_none_or(|t| now < t) {
                    *first = Some(now);
                }
                drop(first);
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                    match &e.client {
                        Client::Blocking(Ours::V3(b)) => {
                            b.upload(&v3::Image, media(true, data)).expect("upload");
                        }
                        Client::Blocking(Ours::V2(b)) => {
                            b.upload(media(false, data)).expect("upload");
                        }
                        _ => curl_upload(&c.ready, form),
                    }
                }
            });
        }
    });
    first
        .into_inner()
        .expect("no panic while held")
        .expect("a worker ran")
}
