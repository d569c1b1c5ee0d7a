//! Uploads over surf to the simulator, which runs on a tokio runtime of its own while the client runs on async-std.

use std::time::{Duration, Instant};

use tempfile::TempDir;
use wxmedia_client::TransportErrorKind;
use wxmedia_proto::RetryPolicy;
use wxmedia_sim::{Outcome, SimConfig, SimServer, Times};

use super::*;

const JPEG: &[u8] = include_bytes!("../../wxmedia-sim/samples/sample.jpg");

/// A simulator with its state directory and runtime. Fields drop in order:
/// the server stops before its runtime goes.
struct Sim {
    server: SimServer,
    _dir: TempDir,
    _runtime: tokio::runtime::Runtime,
}

fn sim() -> Sim {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = TempDir::new().expect("a temp dir");
    let server = runtime
        .block_on(SimServer::start(SimConfig::new(dir.path().join("state"))))
        .expect("the simulator starts");
    Sim {
        server,
        _dir: dir,
        _runtime: runtime,
    }
}

/// A builder pointed at the simulator, trusting its CA only, with retries
/// quick enough for tests.
fn builder(sim: &Sim) -> V2Builder<V2Client> {
    let pki = sim.server.pki();
    V2Client::builder()
        .mch_id(sim.server.sim().mch_id())
        .api_key(sim.server.sim().api_key().expose_secret())
        .identity(
            Identity::from_pem_files(pki.client_cert_path(), pki.client_key_path())
                .expect("the simulator's identity loads"),
        )
        .endpoint(sim.server.endpoint())
        .webpki_roots(false)
        .add_root_ca_file(pki.ca_cert_path())
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            total_budget: Duration::from_secs(20),
            rate_limited_delay: Duration::from_millis(150),
        })
}

fn media() -> Media {
    Media::new("sample.jpg", JPEG).expect("the sample is a valid image")
}

fn upload(client: &V2Client) -> Result<crate::v2::Uploaded, Error> {
    async_std::task::block_on(client.upload(media()))
}

fn assert_uploaded(sim: &Sim, uploaded: &crate::v2::Uploaded) {
    let received = sim.server.sim().received();
    let last = received.last().expect("the simulator saw the request");
    assert_eq!(
        last.outcome,
        Outcome::Uploaded {
            media_id: uploaded.media_id.clone()
        }
    );
    assert_eq!(last.media_len, JPEG.len());
}

#[test]
fn uploads_with_md5() {
    let sim = sim();
    let client = builder(&sim).sign_type(SignType::Md5).build().unwrap();
    let uploaded = upload(&client).unwrap();
    assert!(!uploaded.media_id.is_empty());
    assert_eq!(uploaded.sign_type, SignType::Md5);
    assert_uploaded(&sim, &uploaded);
}

#[test]
fn uploads_with_hmac_sha256() {
    let sim = sim();
    let client = builder(&sim)
        .sign_type(SignType::HmacSha256)
        .build()
        .unwrap();
    let uploaded = upload(&client).unwrap();
    assert_eq!(uploaded.sign_type, SignType::HmacSha256);
    assert_uploaded(&sim, &uploaded);
    let received = sim.server.sim().received();
    assert_eq!(received[0].sign_type(), Some("HMAC-SHA256"));
}

#[test]
fn sequential_uploads_reuse_one_connection() {
    let sim = sim();
    let client = builder(&sim).build().unwrap();
    let first = upload(&client).unwrap();
    let second = upload(&client.clone()).unwrap();
    assert_ne!(first.media_id, second.media_id);
    assert_eq!(sim.server.sim().upload_count(), 2);
    assert_eq!(client.transport().connections_opened(), 1);
}

/// Item 5 of issue 14. The pooled connection takes the whole request and
/// closes without a reply byte: the server may have acted on it, so sending
/// it again would be a duplicate upload. That is the retry policy's call,
/// and this one allows a single attempt.
#[test]
fn a_fully_delivered_request_is_not_resent_on_its_own() {
    let sim = sim();
    let client = builder(&sim)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    upload(&client).unwrap();
    sim.server
        .sim()
        .update_faults(|f| f.drop_connection = Times::Next(1));
    let err = upload(&client).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportErrorKind::Broken,
                ..
            }
        ),
        "{err:?}"
    );
    // The first upload and the one delivered attempt: no silent resend.
    // The simulator stored the media of the dropped one, as a server that
    // lost only its reply would: a resend would have stored it twice.
    assert_eq!(sim.server.sim().request_count(), 2);
    assert_eq!(sim.server.sim().upload_count(), 2);
    assert_eq!(client.transport().connections_opened(), 1);
}

/// The same failure under a policy that allows a second attempt: the
/// driver makes it (after its backoff), on a new connection.
#[test]
fn a_delivered_request_on_a_pooled_connection_is_retried_by_the_policy() {
    let sim = sim();
    let client = builder(&sim).build().unwrap();
    upload(&client).unwrap();
    sim.server
        .sim()
        .update_faults(|f| f.drop_connection = Times::Next(1));
    let uploaded = upload(&client).unwrap();
    assert_uploaded(&sim, &uploaded);
    assert_eq!(sim.server.sim().request_count(), 3);
    assert_eq!(client.transport().connections_opened(), 2);
}

/// A pooled connection the server closed while it was idle is found dead
/// before anything is written on it: nothing was delivered, so it is
/// replaced silently, within the only attempt.
#[test]
fn a_pooled_connection_closed_while_idle_is_replaced_silently() {
    let sim = sim();
    let proxy = Proxy::start(sim.server.addr());
    let client = builder(&sim)
        .endpoint(proxy.endpoint())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    upload(&client).unwrap();
    proxy.close_all();
    // Give the pooled connection's task time to see the FIN (loopback: at
    // once, but not within the same instant), so that the test is about a
    // connection known dead before reuse: hyper then drops it from the
    // pool, and the request goes on a new one.
    std::thread::sleep(Duration::from_millis(200));
    let uploaded = upload(&client).unwrap();
    assert_uploaded(&sim, &uploaded);
    assert_eq!(sim.server.sim().request_count(), 2);
    assert_eq!(client.transport().connections_opened(), 2);
}

#[test]
fn a_truncated_reply_is_an_error_and_its_connection_is_not_reused() {
    let sim = sim();
    sim.server
        .sim()
        .update_faults(|f| f.truncate_reply = Times::Always);
    let client = builder(&sim).build().unwrap();
    let err = upload(&client).unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.api_code(), None);
    // Three attempts, each on a connection of its own.
    assert_eq!(sim.server.sim().request_count(), 3);
    assert_eq!(client.transport().connections_opened(), 3);
}

#[test]
fn a_reply_over_the_cap_is_refused_without_retry() {
    let sim = sim();
    sim.server
        .sim()
        .update_faults(|f| f.huge_reply = Some(1 << 20));
    let client = builder(&sim).build().unwrap();
    let err = upload(&client).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Proto(wxmedia_proto::Error::ReplyTooLarge { .. })
        ),
        "{err:?}"
    );
    assert_eq!(sim.server.sim().request_count(), 1);
}

#[test]
fn an_untrusted_server_fails_the_handshake_without_retry() {
    let sim = sim();
    let pki = sim.server.pki();
    let client = V2Client::builder()
        .mch_id(sim.server.sim().mch_id())
        .api_key(sim.server.sim().api_key().expose_secret())
        .identity(Identity::from_pem_files(pki.client_cert_path(), pki.client_key_path()).unwrap())
        .endpoint(sim.server.endpoint())
        .build()
        .unwrap();
    let err = upload(&client).unwrap_err();
    assert_eq!(
        err.transport_kind(),
        Some(TransportErrorKind::Tls),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(sim.server.sim().request_count(), 0);
    assert_eq!(client.transport().connections_opened(), 0);
}

#[test]
fn a_closed_port_is_a_connect_failure() {
    let sim = sim();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = builder(&sim)
        .endpoint(format!("https://127.0.0.1:{port}"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = upload(&client).unwrap_err();
    assert_eq!(
        err.transport_kind(),
        Some(TransportErrorKind::Connect),
        "{err:?}"
    );
}

#[test]
fn a_slow_reply_times_the_attempt_out() {
    let sim = sim();
    sim.server
        .sim()
        .update_faults(|f| f.reply_delay = Duration::from_secs(2));
    let client = builder(&sim)
        .attempt_timeout(Duration::from_millis(300))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = upload(&client).unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn clones_upload_from_many_tasks_at_once() {
    let sim = sim();
    let client = builder(&sim).build().unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            async_std::task::spawn(async move { client.upload(media()).await })
        })
        .collect();
    for task in tasks {
        async_std::task::block_on(task).unwrap();
    }
    assert_eq!(sim.server.sim().upload_count(), 4);
    assert!(client.transport().connections_opened() <= 4);
}

#[test]
fn the_client_and_its_upload_future_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}
    let sim = sim();
    let client = builder(&sim).build().unwrap();
    assert_send_sync(&client);
    let future = client.upload(media());
    assert_send(&future);
}

/// `Surf::surf_client` sends through the transport's engine: the same
/// TLS (trusting the simulator's CA, presenting the merchant certificate)
/// and the same pool as the uploads.
#[test]
fn the_surf_client_sends_through_the_engine_and_its_pool() {
    let sim = sim();
    let client = builder(&sim).build().unwrap();
    upload(&client).unwrap();
    // hyper hands the connection back to the pool from its connection
    // task, just after the reply is read: give it that moment.
    std::thread::sleep(Duration::from_millis(100));
    let surf = client.transport().surf_client();
    let url = format!("{}/", sim.server.endpoint());
    let (status, body) = async_std::task::block_on(async {
        let mut reply = surf.get(&url).await.expect("the simulator answers");
        let body = reply.body_bytes().await.expect("the body is read");
        (reply.status(), body)
    });
    // The simulator serves uploads only: GET / is refused, with a body.
    assert!(!status.is_success(), "{status}");
    assert!(!body.is_empty());
    // One connection for the upload and the GET: the pool is shared.
    assert_eq!(client.transport().connections_opened(), 1);
}

/// Item 6 of issue 14. A server whose reply head never ends (one endless
/// header line): the upload fails at the head cap, long before the attempt
/// timeout, instead of buffering the line until then.
#[test]
fn the_reply_head_is_bounded() {
    let sim = sim();
    let endpoint = endless_head_server(&sim);
    let client = builder(&sim)
        .endpoint(endpoint)
        .attempt_timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = upload(&client).unwrap_err();
    let took = started.elapsed();
    // hyper refuses the head at its cap (a parse error: Malformed, not
    // resent); when the server's flood meets the request still being
    // written, the write fails first (Broken). Either way the attempt
    // ends at the cap, long before its timeout.
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportErrorKind::Malformed | TransportErrorKind::Broken,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

/// A raw TLS server on loopback with the simulator's dev PKI that answers
/// one connection with a status line and a header line that does not end.
/// It stops after 16 MiB (so that a client without a cap fails its test by
/// timing out rather than by running out of memory), then drains the
/// connection until the client goes.
fn endless_head_server(sim: &Sim) -> String {
    use async_std::io::{ReadExt, WriteExt};

    let config = sim.server.pki().server_config().expect("the server config");
    let acceptor = futures_rustls::TlsAcceptor::from(config);
    let listener = async_std::task::block_on(async_std::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind on loopback");
    let port = listener.local_addr().expect("a local address").port();
    async_std::task::spawn(async move {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let Ok(mut tls) = acceptor.accept(tcp).await else {
            return;
        };
        let line = vec![b'a'; 64 * 1024];
        if tls
            .write_all(b"HTTP/1.1 200 OK\r\nX-Endless: ")
            .await
            .is_err()
        {
            return;
        }
        for _ in 0..256 {
            if tls.write_all(&line).await.is_err() {
                return;
            }
        }
        let _ = tls.flush().await;
        let mut sink = vec![0u8; 16 * 1024];
        while tls.read(&mut sink).await.is_ok_and(|n| n > 0) {}
    });
    format!("https://127.0.0.1:{port}")
}

/// A TCP proxy on loopback in front of the simulator (TLS passes through
/// it end to end) that can close every connection at once, as a server
/// dropping its idle connections would.
struct Proxy {
    addr: std::net::SocketAddr,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    fn start(upstream: std::net::SocketAddr) -> Proxy {
        use std::sync::atomic::Ordering;

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
        let addr = listener.local_addr().expect("a local address");
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (list, stopped) = (open.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::Acquire) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = std::net::TcpStream::connect(upstream) else {
                    continue;
                };
                let pipe = |mut from: std::net::TcpStream, mut to: std::net::TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                };
                let clones = (client.try_clone(), server.try_clone());
                let (Ok(c), Ok(s)) = clones else { continue };
                list.lock().unwrap().extend([c, s]);
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Proxy { addr, open, stop }
    }

    fn endpoint(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Close both sides of every connection made so far.
    fn close_all(&self) {
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.close_all();
        // Wake the accept loop so that its thread ends.
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        let _ = std::net::TcpStream::connect(self.addr);
    }
}
