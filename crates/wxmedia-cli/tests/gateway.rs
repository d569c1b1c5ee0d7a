//! Behind a gateway (前置机): a real reverse proxy (Debian's nginx, started on loopback by each test) at a path prefix it strips; v3 signed for the path WeChat Pay receives, v2 with the gateway presenting the client certificate.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

mod common;

use common::{Fx, JPEG, Verify, free_port, fx, run, stderr, stdout, wait_listening};

/// An nginx in one process (no daemon, no workers: it runs as the test's
/// user), serving TLS on 127.0.0.1 with the simulator's server
/// certificate and passing `/wxpay/…` to the simulator as `/…`, verifying
/// the simulator's certificate against the dev CA (as `localhost`: nginx
/// checks names, not IP addresses, and the dev CA vouches for both).
struct Nginx {
    child: Child,
    port: u16,
    access_log: PathBuf,
    error_log: PathBuf,
    _dir: TempDir,
}

/// Where Debian installs it (`/usr/sbin`, not on every user's PATH).
fn nginx_binary() -> PathBuf {
    let sbin = Path::new("/usr/sbin/nginx");
    if sbin.exists() {
        sbin.to_owned()
    } else {
        PathBuf::from("nginx")
    }
}

impl Nginx {
    /// Start one in front of `fx`'s simulator. With `client_certificate`,
    /// the gateway presents the merchant's certificate to the simulator
    /// (`proxy_ssl_certificate`), as a v2 gateway holds it.
    fn start(fx: &Fx, client_certificate: bool) -> Nginx {
        let dir = TempDir::new().unwrap();
        let port = free_port();
        let pki = fx.server.pki();
        let state = pki.dir();
        let upstream = fx.server.endpoint();
        let d = dir.path().display();
        let certificate = if client_certificate {
            format!(
                "proxy_ssl_certificate {};\n      proxy_ssl_certificate_key {};",
                pki.client_cert_path().display(),
                pki.client_key_path().display()
            )
        } else {
            String::new()
        };
        let access_log = dir.path().join("access.log");
        let conf = format!(
            r#"
master_process off;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log {access};
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  client_max_body_size 16m;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {state}/server.pem;
    ssl_certificate_key {state}/server.key;
    location /wxpay/ {{
      proxy_pass {upstream}/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate {ca};
      proxy_ssl_name localhost;
      {certificate}
    }}
  }}
}}
"#,
            access = access_log.display(),
            state = state.display(),
            ca = pki.ca_cert_path().display(),
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(nginx_binary())
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nginx ({e}): .ci/run installs it"));
        wait_listening(port, "nginx", || {
            std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        });
        Nginx {
            child,
            port,
            access_log,
            error_log: dir.path().join("error.log"),
            _dir: dir,
        }
    }

    /// The gateway's base URL, prefix included.
    fn base_url(&self) -> String {
        format!("https://127.0.0.1:{}/wxpay", self.port)
    }

    /// What the gateway logged as errors, for failure messages.
    fn errors(&self) -> String {
        std::fs::read_to_string(&self.error_log).unwrap_or_default()
    }

    /// The request lines the gateway logged.
    fn requests(&self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(100));
        std::fs::read_to_string(&self.access_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fixture's command with its `--endpoint` (the simulator) replaced
/// by the gateway's base URL.
fn through(c: &Command, gateway: &Nginx, fx: &Fx) -> Command {
    let endpoint = fx.server.endpoint();
    let mut again = Command::new(c.get_program());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => again.env(k, v),
            None => again.env_remove(k),
        };
    }
    for a in c.get_args() {
        if a == endpoint.as_str() {
            again.arg(gateway.base_url());
        } else {
            again.arg(a);
        }
    }
    again
}

const TRANSPORTS: [&str; 3] = ["hyper", "surf", "blocking"];

/// `wxmedia <sub>` for v2 through `gateway`, which holds the client
/// certificate: the API key, no certificate (`--cert-at-gateway`), the
/// dev CA (nginx serves the simulator's certificate) and the gateway's URL.
fn v2_at_gateway(fx: &Fx, sub: &str, gateway: &Nginx) -> Command {
    let mut c = fx.bare();
    c.args([sub, "--mch-id", fx.server.sim().mch_id()])
        .arg("--api-key-file")
        .arg(fx.key_file())
        .arg("--cert-at-gateway")
        .arg("--ca")
        .arg(fx.server.pki().ca_cert_path())
        .args(["--endpoint", &gateway.base_url()]);
    c
}

/// v3 through a gateway at `/wxpay`: the client sends to
/// `/wxpay/v3/merchant/media/upload` and signs `/v3/merchant/media/upload`,
/// the path the simulator (WeChat Pay) receives once nginx strips the
/// prefix, which is why it verifies; the certificate download too.
#[test]
fn v3_through_a_gateway_is_signed_for_the_path_wechat_pay_receives() {
    let fx = fx();
    fx.platform_mode();
    let gateway = Nginx::start(&fx, false);
    let photo = fx.file("a.jpg", JPEG);
    for transport in TRANSPORTS {
        let mut c = fx.v3_cmd("upload", Verify::ApiV3Key);
        c.args(["--transport", transport]).arg(&photo);
        let out = run(&mut through(&c, &gateway, &fx));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{transport}: {}{}",
            stderr(&out),
            gateway.errors()
        );
        assert!(!stdout(&out).trim().is_empty());
    }
    let counts = fx.server.sim().counts();
    assert_eq!(counts.uploads, 3, "{counts:?}");
    assert_eq!(counts.certificates, 3, "{counts:?}");
    let logged = gateway.requests();
    assert!(
        logged
            .iter()
            .filter(|l| l.contains("POST /wxpay/v3/merchant/media/upload "))
            .count()
            == 3,
        "{logged:#?}"
    );
    assert!(
        logged
            .iter()
            .any(|l| l.contains("GET /wxpay/v3/certificates ")),
        "{logged:#?}"
    );
    // The simulator got the stripped paths, and checked the signatures
    // over them: a signature over the prefixed path would be SIGN_ERROR.
    let received = fx.server.sim().received();
    assert!(
        received.iter().all(|r| !r.path.starts_with("/wxpay")),
        "{received:#?}"
    );
}

/// v2 through a gateway that holds the client certificate: the client has
/// none (`--cert-at-gateway`), nginx presents the merchant's to the
/// simulator (`proxy_ssl_certificate`), and the upload is accepted; without
/// the gateway's certificate the simulator refuses it, as WeChat Pay does.
#[test]
fn v2_through_a_gateway_that_presents_the_client_certificate() {
    let fx = fx();
    let gateway = Nginx::start(&fx, true);
    let photo = fx.file("a.jpg", JPEG);
    let v2 = |transport: &str, gateway: &Nginx| {
        let mut c = v2_at_gateway(&fx, "upload", gateway);
        c.args(["--transport", transport]).arg(&photo);
        run(&mut c)
    };
    for transport in TRANSPORTS {
        let out = v2(transport, &gateway);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{transport}: {}{}",
            stderr(&out),
            gateway.errors()
        );
    }
    assert_eq!(fx.server.sim().counts().uploads, 3);
    assert!(
        gateway
            .requests()
            .iter()
            .all(|l| l.contains("POST /wxpay/secapi/mch/uploadmedia ")),
        "{:#?}",
        gateway.requests()
    );

    // A gateway without the certificate: WeChat Pay's refusal comes back.
    drop(gateway);
    let bare = Nginx::start(&fx, false);
    let out = v2("hyper", &bare);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fx.server.sim().counts().uploads, 3);

    // --cert-at-gateway with a certificate given is a usage error.
    let mut c = fx.cmd("upload");
    c.arg("--cert-at-gateway").arg(&photo);
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// `doctor` through the v2 gateway: the client certificate is the
/// gateway's, and the online probe passes through it.
#[test]
fn doctor_through_a_v2_gateway_says_the_gateway_holds_the_certificate() {
    let fx = fx();
    let gateway = Nginx::start(&fx, true);
    let mut c = v2_at_gateway(&fx, "doctor", &gateway);
    c.arg("--json");
    let out = run(&mut c);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let checks: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let message = |name: &str| {
        checks
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("{name}: {checks:#?}"))["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        message("client-certificate").contains("the gateway"),
        "{checks:#?}"
    );
    assert!(
        message("mutual-tls").contains("the gateway presents it"),
        "{checks:#?}"
    );
}
