//! What the command-line tests share: an in-process simulator with key files beside it, and `wxmedia` commands that take no credential from the environment.

#![allow(dead_code, reason = "each test file uses a part")]

use std::path::PathBuf;
use std::process::Command;

use tempfile::TempDir;
use wxmedia_sim::{SimConfig, SimServer};

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

    /// `wxmedia` with no credential from the environment.
    pub(crate) fn bare(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wxmedia"));
        for var in [
            "WXMEDIA_MCH_ID",
            "WXMEDIA_API_KEY",
            "WXMEDIA_CERT",
            "WXMEDIA_CERT_KEY",
            "WXMEDIA_PRIVATE_KEY",
            "WXMEDIA_API_V3_KEY",
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
}
