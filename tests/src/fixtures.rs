//! Fixtures for the suite: a simulator per case, client builders, and identities in every format merchants have.

use std::time::Duration;

use base64::Engine;
use tempfile::TempDir;
use wxmedia_client::{Identity, V2Builder};
use wxmedia_proto::{Media, RetryPolicy};
use wxmedia_sim::{SimConfig, SimServer};

/// The project's sample images.
pub const JPEG: &[u8] = include_bytes!("../../crates/wxmedia-sim/samples/sample.jpg");
/// PNG sample.
pub const PNG: &[u8] = include_bytes!("../../crates/wxmedia-sim/samples/sample.png");
/// BMP sample.
pub const BMP: &[u8] = include_bytes!("../../crates/wxmedia-sim/samples/sample.bmp");

/// A running simulator and its state directory.
pub struct Sim {
    /// The server.
    pub server: SimServer,
    /// Keeps the state directory alive.
    pub dir: TempDir,
}

/// Start a simulator of its own for one case.
pub async fn sim() -> Sim {
    let dir = TempDir::new().expect("a temp dir");
    let server = SimServer::start(SimConfig::new(dir.path().join("state")))
        .await
        .expect("the simulator starts");
    Sim { server, dir }
}

/// A quick retry policy so that tests do not sleep for seconds.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        total_budget: Duration::from_secs(20),
        rate_limited_delay: Duration::from_millis(150),
    }
}

/// The simulator's merchant identity, from its PEM files.
pub fn identity(sim: &Sim) -> Identity {
    let pki = sim.server.pki();
    Identity::from_pem_files(pki.client_cert_path(), pki.client_key_path())
        .expect("the sim's identity loads")
}

/// A builder pointed at the simulator, trusting its CA only, with fast retries.
pub fn builder<C>(sim: &Sim) -> V2Builder<C> {
    V2Builder::new()
        .mch_id(sim.server.sim().mch_id())
        .api_key(sim.server.sim().api_key().expose_secret())
        .identity(identity(sim))
        .endpoint(sim.server.endpoint())
        .webpki_roots(false)
        .add_root_ca_file(sim.server.pki().ca_cert_path())
        .retry_policy(fast_retries(3))
}

/// A JPEG sample as media.
pub fn jpeg(name: &str) -> Media {
    Media::new(name, JPEG).expect("the sample is a valid JPEG")
}

fn der_tlv(buf: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = buf[0];
    let (len, head) = match buf[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(buf[2]), 3),
        0x82 => ((usize::from(buf[2]) << 8) | usize::from(buf[3]), 4),
        other => panic!("unsupported DER length form {other:#x}"),
    };
    (tag, &buf[head..head + len], &buf[head + len..])
}

/// Turn an RSA PKCS#8 PEM key into the older PKCS#1 `RSA PRIVATE KEY` PEM
/// that some merchants still hold. PKCS#8 wraps the PKCS#1 structure in an
/// OCTET STRING after the version and the algorithm identifier.
pub fn pkcs8_rsa_to_pkcs1_pem(pkcs8_pem: &str) -> String {
    let b64: String = pkcs8_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    let (tag, seq, _) = der_tlv(&der);
    assert_eq!(tag, 0x30, "PKCS#8 is a SEQUENCE");
    let (version, _, rest) = der_tlv(seq);
    assert_eq!(version, 0x02);
    let (alg, _, rest) = der_tlv(rest);
    assert_eq!(alg, 0x30);
    let (octets, pkcs1, _) = der_tlv(rest);
    assert_eq!(octets, 0x04);
    pem("RSA PRIVATE KEY", pkcs1)
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The simulator's merchant identity as a legacy PKCS#12 archive (RC2-40
/// and SHA-1 MAC, like WeChat Pay's `apiclient_cert.p12`), with `password`.
pub fn legacy_p12(sim: &Sim, password: &str) -> Vec<u8> {
    use p12_keystore::{
        Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
        PrivateKeyChain,
    };
    let pki = sim.server.pki();
    let cert_pem = std::fs::read_to_string(pki.client_cert_path()).expect("cert");
    let key_pem = std::fs::read_to_string(pki.client_key_path()).expect("key");
    let decode = |pem: &str| {
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64")
    };
    let cert = Certificate::from_der(&decode(&cert_pem)).expect("cert DER");
    let key = PrivateKey::from_der(&decode(&key_pem)).expect("key DER");
    let mut store = KeyStore::new();
    store.add_entry(
        "apiclient",
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(vec![1u8], key, vec![cert])),
    );
    store
        .writer(password)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd40BitRc4Cbc)
        .mac_algorithm(MacAlgorithm::HmacSha1)
        .write()
        .expect("the archive is written")
}

/// A self-signed identity with the merchant's CN but not from the sim's CA.
pub fn foreign_identity(cn: &str) -> Identity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let cert = params.self_signed(&key).expect("cert");
    Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).expect("identity")
}
