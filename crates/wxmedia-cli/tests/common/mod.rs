//! What the command-line tests share: an in-process simulator with key files beside it, and `wxmedia` commands that take no credential from the environment.

#![allow(dead_code, reason = "each test file uses a part")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use tempfile::TempDir;
use wxmedia_sim::{SimConfig, SimServer, V3Signer};

/// The sample photos every simulator accepts.
pub(crate) const JPEG: &[u8] = include_bytes!("../../../wxmedia-sim/samples/sample.jpg");
pub(crate) const PNG: &[u8] = include_bytes!("../../../wxmedia-sim/samples/sample.png");

/// Run a command to its end, whatever its exit status.
pub(crate) fn run(c: &mut Command) -> Output {
    c.output().unwrap()
}

/// Bytes a command printed, as text (lossy: the tests look for ASCII).
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

pub(crate) fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// Standard output read as one JSON value a line.
pub(crate) fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `wxmedia sim --state <dir> <extra>` as a process, and the JSON line it
/// prints when it is ready. `stderr` is where its log goes.
pub(crate) fn spawn_sim(dir: &Path, extra: &[&str], stderr: Stdio) -> (Child, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wxmedia"))
        .args(["sim", "--state"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, ready)
}

/// How a v3 command is told to verify replies.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Verify {
    PublicKey,
    PlatformCert,
    ApiV3Key,
}

/// A simulator on its own runtime, and a directory for the test's files,
/// holding `apiv2.key` and `apiv3.key` (each with a trailing newline, as an
/// editor would leave it: the CLI ignores one).
pub(crate) struct Fx {
    pub(crate) server: SimServer,
    pub(crate) dir: TempDir,
    _rt: tokio::runtime::Runtime,
}

pub(crate) fn fx() -> Fx {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = TempDir::new().unwrap();
    let server = rt
        .block_on(SimServer::start(SimConfig::new(dir.path().join("state"))))
        .unwrap();
    let v2 = format!("{}\n", server.sim().api_key().expose_secret());
    std::fs::write(dir.path().join("apiv2.key"), v2).unwrap();
    let v3 = format!("{}\n", server.v3().keys().api_v3_key());
    std::fs::write(dir.path().join("apiv3.key"), v3).unwrap();
    Fx {
        server,
        dir,
        _rt: rt,
    }
}

impl Fx {
    /// Write `bytes` to `name` in the test's directory.
    pub(crate) fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub(crate) fn key_file(&self) -> PathBuf {
        self.dir.path().join("apiv2.key")
    }

    pub(crate) fn v3_key_file(&self) -> PathBuf {
        self.dir.path().join("apiv3.key")
    }

    /// `wxmedia` with no credential, and no proxy, from the environment
    /// (a machine's HTTPS_PROXY must not carry the tests' loopback traffic).
    pub(crate) fn bare(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wxmedia"));
        for var in [
            "WXMEDIA_MCH_ID",
            "WXMEDIA_API_KEY",
            "WXMEDIA_CERT",
            "WXMEDIA_CERT_KEY",
            "WXMEDIA_PRIVATE_KEY",
            "WXMEDIA_API_V3_KEY",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            c.env_remove(var);
        }
        c
    }

    /// `wxmedia <sub>` (v2) with every credential passed as a flag.
    pub(crate) fn cmd(&self, sub: &str) -> Command {
        let pki = self.server.pki();
        let mut c = self.bare();
        c.arg(sub)
            .arg("--mch-id")
            .arg(self.server.sim().mch_id())
            .arg("--api-key-file")
            .arg(self.key_file())
            .arg("--cert")
            .arg(pki.client_cert_path())
            .arg("--cert-key")
            .arg(pki.client_key_path());
        self.server_flags(&mut c);
        c
    }

    /// `--ca` and `--endpoint`: where the simulator is and whom to trust.
    pub(crate) fn server_flags(&self, c: &mut Command) {
        c.arg("--ca")
            .arg(self.server.pki().ca_cert_path())
            .arg("--endpoint")
            .arg(self.server.endpoint());
    }

    /// The merchant's certificate and key as `apiclient_cert.p12`, with the
    /// merchant id as password, as WeChat Pay issues it.
    pub(crate) fn p12_file(&self) -> PathBuf {
        use p12_keystore::{
            Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
            PrivateKeyChain,
        };
        let pki = self.server.pki();
        let der = |p: &Path| {
            let pem = std::fs::read(p).unwrap();
            rustls_pki_types::pem::PemObject::pem_slice_iter(&pem)
                .map(|r: Result<(rustls_pki_types::pem::SectionKind, Vec<u8>), _>| r.unwrap().1)
                .next()
                .unwrap()
        };
        let cert = Certificate::from_der(&der(&pki.client_cert_path())).unwrap();
        let key = PrivateKey::from_der(&der(&pki.client_key_path())).unwrap();
        let mut store = KeyStore::new();
        store.add_entry(
            "k",
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(vec![1u8], key, vec![cert])),
        );
        let bytes = store
            .writer(self.server.sim().mch_id())
            .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
            .mac_algorithm(MacAlgorithm::HmacSha1)
            .write()
            .unwrap();
        self.file("apiclient_cert.p12", &bytes)
    }

    /// Sign v3 replies with the platform certificate (the simulator serves
    /// `GET /v3/certificates` only then).
    pub(crate) fn platform_mode(&self) {
        self.server
            .sim()
            .set_v3(self.server.v3().with_signer(V3Signer::PlatformCert));
    }

    /// `wxmedia <sub> --api v3` with the merchant's key and certificate,
    /// the endpoint, and no way to verify replies yet.
    pub(crate) fn v3_merchant(&self, sub: &str) -> Command {
        let pki = self.server.pki();
        let mut c = self.bare();
        c.arg(sub);
        if sub != "certificates" {
            c.args(["--api", "v3"]);
        }
        c.arg("--mch-id")
            .arg(self.server.sim().mch_id())
            .arg("--private-key")
            .arg(pki.client_key_path())
            .arg("--cert")
            .arg(pki.client_cert_path());
        self.server_flags(&mut c);
        c
    }

    /// `wxmedia <sub> --api v3` verifying replies as `verify` says.
    pub(crate) fn v3_cmd(&self, sub: &str, verify: Verify) -> Command {
        let pki = self.server.pki();
        let mut c = self.v3_merchant(sub);
        match verify {
            Verify::PublicKey => c
                .arg("--wechatpay-public-key")
                .arg(pki.wechatpay_public_key_path())
                .arg("--wechatpay-public-key-id")
                .arg(self.server.v3().keys().wechatpay_public_key_id()),
            Verify::PlatformCert => c.arg("--platform-cert").arg(pki.platform_cert_path()),
            Verify::ApiV3Key => c.arg("--api-v3-key-file").arg(self.v3_key_file()),
        };
        c
    }
}

/// `n` JPEGs of distinct content (the sample with a different tail) in
/// `dir/images`, beside a text file a batch must skip.
pub(crate) fn distinct_jpegs(dir: &Path, n: usize) -> PathBuf {
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..n {
        let mut bytes = JPEG.to_vec();
        bytes.extend_from_slice(format!("distinct-{i}").as_bytes());
        std::fs::write(images.join(format!("img{i:03}.jpg")), bytes).unwrap();
    }
    std::fs::write(images.join("notes.txt"), "not an image").unwrap();
    images
}

/// A free TCP port on 127.0.0.1: bound, read and released, for a program
/// a test starts (tinyproxy, nginx, redis-server) to bind next.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until something listens on 127.0.0.1:`port`, at most 10 s;
/// `what` names it, and `log` says why, in the failure.
pub(crate) fn wait_listening(port: u16, what: &str, log: impl Fn() -> String) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{what} did not listen on {port}: {}",
            log()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
