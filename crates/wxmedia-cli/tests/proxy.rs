//! Behind a proxy, at the command line, against a real forward proxy (Debian's tinyproxy, started on loopback by each test): every transport, the environment, `NO_PROXY`, credentials, refusals, and the certificate download through the tunnel.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

mod common;

use common::{Fx, JPEG, Verify, free_port, fx, run, stderr, wait_listening};

/// A tinyproxy on 127.0.0.1, logging every CONNECT, stopped on drop.
struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: TempDir,
}

impl Tinyproxy {
    /// Start one with `extra` configuration lines (`BasicAuth`,
    /// `ConnectPort`), waiting until it accepts connections.
    fn start(extra: &str) -> Tinyproxy {
        let dir = TempDir::new().unwrap();
        let log = dir.path().join("tinyproxy.log");
        let port = free_port();
        let conf = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Connect\nMaxClients 100\nAllow 127.0.0.1\n{extra}\n",
                log.display()
            ),
        )
        .unwrap();
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start tinyproxy ({e}): .ci/run installs it (apt-get install tinyproxy)"
                )
            });
        let proxy = Tinyproxy {
            child,
            port,
            log,
            _dir: dir,
        };
        wait_listening(port, "tinyproxy", || {
            std::fs::read_to_string(&proxy.log).unwrap_or_default()
        });
        proxy
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many CONNECTs to `port` the proxy logged.
    fn connects_to(&self, port: u16) -> usize {
        // tinyproxy writes each line as it happens; a moment lets the last
        // one land.
        std::thread::sleep(Duration::from_millis(100));
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let needle = format!("CONNECT 127.0.0.1:{port} ");
        log.lines().filter(|l| l.contains(&needle)).count()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sim_port(fx: &Fx) -> u16 {
    fx.server
        .endpoint()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

const TRANSPORTS: [&str; 3] = ["hyper", "surf", "blocking"];

/// `--proxy` on every transport: the upload succeeds and the proxy logged
/// the tunnel to the simulator; `HTTPS_PROXY` does the same, `NO_PROXY`
/// naming the host and `--no-proxy` go straight.
#[test]
fn every_transport_tunnels_through_the_proxy_given_or_from_the_environment() {
    let fx = fx();
    let proxy = Tinyproxy::start("");
    let port = sim_port(&fx);
    let photo = fx.file("a.jpg", JPEG);
    let mut expected = 0;
    for transport in TRANSPORTS {
        let out = run(fx
            .cmd("upload")
            .args(["--transport", transport, "--proxy", &proxy.url()])
            .arg(&photo));
        assert_eq!(out.status.code(), Some(0), "{transport}: {}", stderr(&out));
        expected += 1;
        assert_eq!(proxy.connects_to(port), expected, "{transport}: --proxy");

        let out = run(fx
            .cmd("upload")
            .args(["--transport", transport])
            .env("HTTPS_PROXY", proxy.url())
            .arg(&photo));
        assert_eq!(out.status.code(), Some(0), "{transport}: {}", stderr(&out));
        expected += 1;
        assert_eq!(
            proxy.connects_to(port),
            expected,
            "{transport}: HTTPS_PROXY"
        );

        for straight in [
            vec![
                ("HTTPS_PROXY", proxy.url()),
                ("NO_PROXY", "localhost,127.0.0.1".into()),
            ],
            vec![
                ("ALL_PROXY", proxy.url()),
                ("no_proxy", "127.0.0.0/8".into()),
            ],
        ] {
            let out = run(fx
                .cmd("upload")
                .args(["--transport", transport])
                .envs(straight.iter().map(|(k, v)| (k, v)))
                .arg(&photo));
            assert_eq!(out.status.code(), Some(0), "{transport}: {}", stderr(&out));
            assert_eq!(
                proxy.connects_to(port),
                expected,
                "{transport}: {straight:?}"
            );
        }
        let out = run(fx
            .cmd("upload")
            .args(["--transport", transport, "--no-proxy"])
            .env("HTTPS_PROXY", proxy.url())
            .arg(&photo));
        assert_eq!(out.status.code(), Some(0), "{transport}: {}", stderr(&out));
        assert_eq!(proxy.connects_to(port), expected, "{transport}: --no-proxy");
    }
}

/// A proxy that wants credentials: without them every transport fails at
/// once (one CONNECT, no retry), naming the proxy; with them in the URL
/// the upload goes through, and the password is printed nowhere.
#[test]
fn proxy_credentials_are_sent_and_never_shown() {
    let fx = fx();
    // (tinyproxy takes letters, digits and dashes; percent-encoded
    // credentials are the client's unit tests'.)
    let proxy = Tinyproxy::start("BasicAuth wxuser s3cret-pw");
    let port = sim_port(&fx);
    let photo = fx.file("a.jpg", JPEG);
    let with_auth = format!("http://wxuser:s3cret-pw@127.0.0.1:{}", proxy.port);
    let wrong = format!("http://wxuser:not-it@127.0.0.1:{}", proxy.port);
    let requests = || fx.server.sim().counts().requests;
    for transport in TRANSPORTS {
        let before = requests();
        let out = run(fx
            .cmd("upload")
            .args(["--transport", transport, "--proxy", &proxy.url()])
            .arg(&photo));
        assert_eq!(out.status.code(), Some(1), "{transport}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&proxy.url()),
            "{transport}: names the proxy: {err}"
        );
        assert!(
            err.contains("407") || err.contains("authorization"),
            "{transport}: {err}"
        );
        assert_eq!(
            requests(),
            before,
            "{transport}: nothing reached the server"
        );

        let out = run(fx
            .cmd("upload")
            .args(["--transport", transport, "--proxy", &wrong])
            .arg(&photo));
        assert_eq!(out.status.code(), Some(1), "{transport}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("not-it"),
            "{transport}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("wxuser:***@"),
            "{transport}: {}",
            stderr(&out)
        );

        let out = run(fx
            .cmd("upload")
            .args(["--transport", transport, "--proxy", &with_auth, "--json"])
            .arg(&photo));
        assert_eq!(out.status.code(), Some(0), "{transport}: {}", stderr(&out));
        let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
        assert!(
            !all.contains("s3cr"),
            "{transport}: the password shows: {all}"
        );
        assert_eq!(requests(), before + 1, "{transport}");
    }
    // Refused: one CONNECT per try and transport, not a retry storm.
    let log = std::fs::read_to_string(&proxy.log).unwrap_or_default();
    assert!(proxy.connects_to(port) <= 3 * 3, "{log}");
}

/// A proxy whose access list forbids the port (tinyproxy's `ConnectPort`):
/// a clear refusal naming the proxy, exit 1, not retried.
#[test]
fn a_proxy_that_refuses_the_tunnel_is_named_and_not_retried() {
    let fx = fx();
    let proxy = Tinyproxy::start("ConnectPort 443");
    let port = sim_port(&fx);
    let photo = fx.file("a.jpg", JPEG);
    for (n, transport) in TRANSPORTS.into_iter().enumerate() {
        let out = run(fx
            .cmd("upload")
            .args(["--transport", transport, "--proxy", &proxy.url()])
            .arg(&photo));
        assert_eq!(out.status.code(), Some(1), "{transport}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&proxy.url()),
            "{transport}: {}",
            stderr(&out)
        );
        assert_eq!(proxy.connects_to(port), n + 1, "{transport}: asked once");
    }
    assert_eq!(fx.server.sim().counts().requests, 0);

    // A proxy that is not there: a connect failure that names it.
    drop(proxy);
    let gone = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for transport in TRANSPORTS {
        let out = run(fx
            .cmd("upload")
            .args(["--transport", transport, "--timeout", "5"])
            .args(["--proxy", &format!("http://{gone}")])
            .arg(&photo));
        assert_ne!(out.status.code(), Some(0), "{transport}");
        assert!(
            stderr(&out).contains(&format!("http://{gone}")),
            "{transport}: {}",
            stderr(&out)
        );
    }
}

/// v3: the platform certificate download (`wxmedia certificates`, and the
/// one an upload with the APIv3 key starts) takes the tunnel too.
#[test]
fn the_certificate_download_takes_the_tunnel_too() {
    let fx = fx();
    fx.platform_mode();
    let proxy = Tinyproxy::start("");
    let port = sim_port(&fx);
    let out_dir = fx.dir.path().join("certs");
    let out = run(fx
        .v3_cmd("certificates", Verify::ApiV3Key)
        .args(["--proxy", &proxy.url(), "--out"])
        .arg(&out_dir));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        proxy.connects_to(port),
        1,
        "the download went through the proxy"
    );
    assert_eq!(fx.server.sim().counts().certificates, 1);

    let photo = fx.file("a.jpg", JPEG);
    for transport in TRANSPORTS {
        let before = fx.server.sim().counts();
        let out = run(fx
            .v3_cmd("upload", Verify::ApiV3Key)
            .args(["--transport", transport])
            .env("HTTPS_PROXY", proxy.url())
            .arg(&photo));
        assert_eq!(out.status.code(), Some(0), "{transport}: {}", stderr(&out));
        let after = fx.server.sim().counts();
        assert_eq!(after.certificates, before.certificates + 1, "{transport}");
        assert_eq!(after.uploads, before.uploads + 1, "{transport}");
    }
    // Each run tunnelled at least once (its download and upload may share
    // one pooled connection); the `certificates` run above shows the
    // download alone.
    let tunnels = proxy.connects_to(port);
    assert!(tunnels >= 4, "1 download and 3 runs: {tunnels}");
}

/// `doctor` says which way its probes went: through the proxy (masked,
/// with where it came from), or straight because `NO_PROXY` named the
/// host; the probes themselves take that way.
#[test]
fn doctor_shows_the_proxy_in_effect_and_whether_no_proxy_matched() {
    let fx = fx();
    let proxy = Tinyproxy::start("");
    let port = sim_port(&fx);
    let doctor = |env: &[(&str, String)]| {
        let out = run(fx
            .cmd("doctor")
            .arg("--json")
            .envs(env.iter().map(|(k, v)| (k, v))));
        let checks: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let proxy = checks
            .iter()
            .find(|c| c["check"] == "proxy")
            .unwrap_or_else(|| panic!("a proxy check: {checks:#?}"))
            .clone();
        (out.status.code(), proxy, checks)
    };
    let with_creds = format!("http://ops:hunter2@127.0.0.1:{}", proxy.port);
    let (code, check, all) = doctor(&[("HTTPS_PROXY", with_creds)]);
    assert_eq!(code, Some(0), "{all:#?}");
    let message = check["message"].as_str().unwrap();
    assert!(message.contains("go through the proxy"), "{message}");
    assert!(message.contains("from HTTPS_PROXY"), "{message}");
    assert!(message.contains("ops:***@127.0.0.1"), "{message}");
    assert!(
        !format!("{all:?}").contains("hunter2"),
        "the password shows"
    );
    assert_eq!(
        proxy.connects_to(port),
        1,
        "the mutual-TLS probe took the tunnel"
    );

    let (code, check, _) = doctor(&[
        ("HTTPS_PROXY", proxy.url()),
        ("NO_PROXY", "127.0.0.1".to_owned()),
    ]);
    assert_eq!(code, Some(0));
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("NO_PROXY (127.0.0.1) names the host"),
        "{message}"
    );
    assert_eq!(proxy.connects_to(port), 1, "straight, as it says");

    let (_, check, _) = doctor(&[]);
    assert!(check["message"].as_str().unwrap().starts_with("no proxy"));
}
