//! Fuzz invariants past the AES-GCM of certificate listings, and of the key and serial parsers: `v3_certificates_plain` and `v3_keys`.

use bytes::Bytes;

use super::v3_merchant;

/// The APIv3 key of the certificate targets, the vectors' one.
const V3_API_KEY: &str = "wxmediaV3TestKey0123456789abcdef";

/// The vectors' private key as a ring key pair, parsed once: the
/// plaintext target signs replies with it so that listings reach the end
/// of `decode`.
fn v3_vector_key() -> &'static ring::rsa::KeyPair {
    static KEY: std::sync::OnceLock<ring::rsa::KeyPair> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        crate::v3::keys::rsa_key_pair_from_pem(include_bytes!("../../tests/data/v3_key.pem"))
            .expect("the vector key")
    })
}

/// The vectors' certificate, PEM, and its serial.
const V3_CERT_PEM: &str = include_str!("../../tests/data/v3_cert.pem");
const V3_CERT_SERIAL: &str = "F5765756002FDD77";

/// AES-256-GCM as WeChat Pay seals a certificate (what
/// `certificates::decrypt` opens): base64 of ciphertext and tag.
fn v3_seal(nonce: &str, associated_data: &str, plaintext: &[u8]) -> String {
    use base64::Engine;
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, V3_API_KEY.as_bytes()).expect("32-byte key"),
    );
    let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes()).expect("12-byte nonce");
    let mut sealed = plaintext.to_vec();
    key.seal_in_place_append_tag(nonce, Aad::from(associated_data.as_bytes()), &mut sealed)
        .expect("fuzz inputs are far below AES-GCM's limit");
    base64::engine::general_purpose::STANDARD.encode(sealed)
}

/// The date offsets (seconds) the plaintext target puts on listed dates
/// taken from the certificate: inside, at and beyond the tolerance.
const DATE_DELTAS: [i64; 4] = [0, crate::v3::certificates::DATE_TOLERANCE_SECS, -61, 3600];

/// `v3_certificates` never gets past AES-GCM with fuzzed ciphertext; this
/// one takes the fuzz input as the *decrypted* certificate, seals it with
/// the fixed APIv3 key and builds the listing around it, so that
/// certificate parsing, the serial and date checks and (with a signed
/// reply) the verification are reached.
///
/// Input: a flags byte, then tokens split at `0xFF`: plaintext, listed
/// serial, listed `effective_time`, listed `expire_time`. Flags: bit 0
/// signs the reply with the vectors' key (`Wechatpay-Serial` its
/// certificate); bit 1 lists the certificate's own serial and bit 2 its
/// own dates (moved by `DATE_DELTAS[bits 3-4]`) instead of the tokens;
/// bit 5 appends the vectors' certificate as a second entry; bit 6 judges
/// the reply after the vectors' certificate expired; bit 7 drops the
/// associated data.
///
/// Invariants: returned certificates parse, are the plaintext, and agree
/// with the listing (serial, dates within the tolerance, validity at the
/// reply time); nothing is returned from an unsigned reply; errors keep
/// the body; a listing that is right in every respect is accepted.
pub fn v3_certificates_plain(data: &[u8]) {
    use crate::Operation;
    use crate::v3::certificates::{DATE_TOLERANCE_SECS, Validity, beijing_time, parse_rfc3339};
    use crate::v3::keys;
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut toks = rest.splitn(4, |b| *b == 0xFF);
    let plaintext = toks.next().unwrap_or_default();
    let mut token = || String::from_utf8_lossy(toks.next().unwrap_or_default()).into_owned();
    let (mut serial, mut effective, mut expire) = (token(), token(), token());
    let signed = flags & 1 != 0;
    let second = flags & 0x20 != 0;
    let now: u64 = if flags & 0x40 == 0 {
        1_700_000_000
    } else {
        2_000_000_000
    };
    let associated_data = if flags & 0x80 == 0 { "certificate" } else { "" };
    // What the core will find in the plaintext, if anything.
    let info = keys::certificate_from_pem("fuzz", plaintext).ok();
    if let Some(info) = &info {
        if flags & 2 != 0 {
            serial.clone_from(&info.serial);
        }
        if flags & 4 != 0 {
            let delta = DATE_DELTAS[usize::from(flags >> 3) & 3];
            effective = beijing_time(info.not_before.saturating_add(delta));
            expire = beijing_time(info.not_after.saturating_add(delta));
        }
    }
    let entry = |serial: &str, effective: &str, expire: &str, plain: &[u8]| {
        let nonce = "fuzzNonce012";
        let mut encrypted = serde_json::json!({
            "algorithm": "AEAD_AES_256_GCM",
            "nonce": nonce,
            "ciphertext": v3_seal(nonce, associated_data, plain),
        });
        if !associated_data.is_empty() {
            encrypted["associated_data"] = associated_data.into();
        }
        serde_json::json!({
            "serial_no": serial,
            "effective_time": effective,
            "expire_time": expire,
            "encrypt_certificate": encrypted,
        })
    };
    let mut entries = vec![entry(&serial, &effective, &expire, plaintext)];
    if second {
        let vector = keys::certificate_from_pem("vector", V3_CERT_PEM.as_bytes())
            .expect("the vector certificate");
        entries.push(entry(
            V3_CERT_SERIAL,
            &beijing_time(vector.not_before),
            &beijing_time(vector.not_after),
            V3_CERT_PEM.as_bytes(),
        ));
    }
    let body = Bytes::from(
        serde_json::to_vec(&serde_json::json!({ "data": entries })).expect("JSON serializes"),
    );
    let mut reply = http::Response::new(body.clone());
    if signed {
        let nonce = "fuzzReplyNonce";
        let mut message = format!("{now}\n{nonce}\n").into_bytes();
        message.extend_from_slice(&body);
        message.push(b'\n');
        let key = v3_vector_key();
        let mut signature = vec![0; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            &message,
            &mut signature,
        )
        .expect("the vector key signs");
        use base64::Engine;
        let signature = base64::engine::general_purpose::STANDARD.encode(signature);
        let headers = reply.headers_mut();
        for (name, value) in [
            ("wechatpay-timestamp", now.to_string()),
            ("wechatpay-nonce", nonce.to_owned()),
            ("wechatpay-serial", V3_CERT_SERIAL.to_owned()),
            ("wechatpay-signature", signature),
        ] {
            headers.insert(name, value.parse().expect("a valid header value"));
        }
    }
    let op = crate::v3::DownloadCertificates::new(
        v3_merchant(),
        crate::v3::ApiV3Key::new(V3_API_KEY).expect("32 bytes"),
    );
    let env = crate::Env::new("https://h", crate::Boundary::new("B").expect("boundary"))
        .expect("env")
        .received_at(now);
    let now = i64::try_from(now).expect("small");
    let listed = [(serial.as_str(), effective.as_str(), expire.as_str())];
    match op.decode(&env, reply) {
        Ok(certs) => {
            assert!(signed, "certificates from an unsigned reply");
            assert_eq!(certs.len(), 1 + usize::from(second));
            assert!(
                certs.iter().any(|c| c.is_valid()),
                "none valid, yet accepted"
            );
            let vector_listed = [(
                V3_CERT_SERIAL,
                certs.last().map_or("", |c| c.effective_time.as_str()),
                certs.last().map_or("", |c| c.expire_time.as_str()),
            )];
            let all_listed = listed
                .iter()
                .chain(if second { &vector_listed[..] } else { &[] });
            for (c, (serial, effective, expire)) in certs.iter().zip(all_listed) {
                let info = keys::certificate_from_pem("fuzz", c.pem.as_bytes())
                    .expect("returned certificates parse");
                assert_eq!(info.serial, c.serial_no);
                assert_eq!(
                    keys::normalize_serial(serial).as_deref(),
                    Some(&*c.serial_no)
                );
                assert_eq!(
                    (info.not_before, info.not_after),
                    (c.not_before, c.not_after)
                );
                for (listed, own) in [(effective, c.not_before), (expire, c.not_after)] {
                    let t = parse_rfc3339(listed).expect("an accepted date parses");
                    assert!(t.abs_diff(own) <= DATE_TOLERANCE_SECS.unsigned_abs());
                }
                assert_eq!(c.effective_time, beijing_time(c.not_before));
                assert_eq!(c.expire_time, beijing_time(c.not_after));
                assert_eq!(c.validity, Validity::at(now, c.not_before, c.not_after));
            }
            assert_eq!(certs[0].pem.as_bytes(), plaintext);
        }
        Err(e) => {
            if let Some(kept) = e.raw_body() {
                assert_eq!(kept, &body);
            }
            assert!(!e.to_string().is_empty());
            // A listing right in every respect must be accepted: the
            // certificate parses with a serial the listing can carry and
            // dates that survive Beijing time, the listed serial and
            // dates are its own (within the tolerance), its serial does not
            // displace the key the reply is signed with, a certificate is
            // valid now, and the reply is signed.
            let vector = v3_vector_key().public().as_ref();
            let right = info.is_some_and(|i| {
                signed
                    && flags & 6 == 6
                    && DATE_DELTAS[usize::from(flags >> 3) & 3].abs() <= DATE_TOLERANCE_SECS
                    && std::str::from_utf8(plaintext).is_ok()
                    && i.serial.len() <= 64
                    && [i.not_before, i.not_after].iter().all(|&t| {
                        let t = t.saturating_add(DATE_DELTAS[usize::from(flags >> 3) & 3]);
                        parse_rfc3339(&beijing_time(t)) == Some(t)
                    })
                    && (i.serial != V3_CERT_SERIAL || i.rsa_public_key == vector)
                    && (Validity::at(now, i.not_before, i.not_after) == Validity::Valid
                        || (second && now < 1_900_000_000))
                    && body.len() <= crate::v3::reply::DEFAULT_REPLY_LIMIT
            });
            assert!(!right, "a right listing was refused: {e}");
        }
    }
}

/// The key parsers of v3 on arbitrary PEM, and `normalize_serial`. The
/// first byte picks what the rest is (as lossy text for the serial):
/// 0 a public key (SPKI), 1 a private key, 2 a certificate, 3 serials.
///
/// Invariants: no panic; the public API and the inner parser agree; a
/// private key that parses signs a message its public half verifies;
/// a certificate's serial is already normalized (`decode` compares the
/// listing's serial to it after normalizing); `normalize_serial` gives
/// `None` or 1 to 64 uppercase hex digits without leading zeros (bar
/// "0"), is idempotent, and ignores case and leading zeros.
pub fn v3_keys(data: &[u8]) {
    use crate::v3::keys;
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    match head % 4 {
        0 => {
            let inner = keys::public_key_from_pem("fuzz", rest);
            let mut verifier = crate::v3::Verifier::new();
            let public = verifier.add_public_key_pem("PUB_KEY_ID_0114232", rest);
            assert_eq!(inner.is_ok(), public.is_ok());
            if public.is_ok() {
                assert_eq!(verifier.preferred_serial(), Some("PUB_KEY_ID_0114232"));
            }
        }
        1 => {
            let inner = keys::rsa_key_pair_from_pem(rest);
            let signer = crate::v3::RsaSigner::from_pem_and_serial(rest, "0f5765756002fdd77");
            assert_eq!(inner.is_ok(), signer.is_ok());
            let paired = crate::v3::RsaSigner::from_pem(rest, V3_CERT_PEM.as_bytes());
            if let (Ok(key), Ok(signer)) = (inner, signer) {
                use crate::v3::Signer;
                assert_eq!(signer.serial_no(), V3_CERT_SERIAL);
                assert_eq!(
                    paired.is_ok(),
                    key.public().as_ref() == v3_vector_key().public().as_ref()
                );
                // ring accepts some keys it then cannot sign with: a changed
                // CRT parameter (regressions/v3_keys/private-key-that-cannot-sign)
                // passes `from_pkcs8` and fails ring's check of its own
                // signature. Loading does not catch that (yet); signing
                // must then fail cleanly, never panic nor sign wrongly.
                match signer.sign(b"fuzz\n") {
                    Ok(signature) => ring::signature::UnparsedPublicKey::new(
                        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                        key.public().as_ref(),
                    )
                    .verify(b"fuzz\n", &signature)
                    .expect("a signature its own public key verifies"),
                    Err(e) => assert!(e.is_input_error(), "{e}"),
                }
            } else {
                assert!(paired.is_err());
            }
        }
        2 => {
            let inner = keys::certificate_from_pem("fuzz", rest);
            let mut verifier = crate::v3::Verifier::new();
            let added = verifier.add_platform_certificate_pem(rest);
            assert_eq!(inner.as_ref().ok().map(|i| &i.serial), added.as_ref().ok());
            if let Ok(info) = inner {
                if info.serial.len() <= 64 {
                    assert_eq!(
                        keys::normalize_serial(&info.serial),
                        Some(info.serial.clone())
                    );
                }
                let now = 1_700_000_000_u64;
                let at = crate::v3::Verifier::new().add_platform_certificate_pem_at(rest, now);
                assert_eq!(at.is_ok(), info.not_after >= 1_700_000_000);
                assert_eq!(
                    verifier.can_verify_at(now),
                    (info.not_before..=info.not_after).contains(&1_700_000_000)
                );
            }
        }
        _ => {
            let text = String::from_utf8_lossy(rest);
            normalize_serial_invariants(&text);
        }
    }
}

/// `normalize_serial`'s contract on one input and its variants.
fn normalize_serial_invariants(serial: &str) {
    use crate::v3::keys::normalize_serial;
    let out = normalize_serial(serial);
    let well_formed =
        !serial.is_empty() && serial.len() <= 64 && serial.bytes().all(|b| b.is_ascii_hexdigit());
    assert_eq!(out.is_some(), well_formed, "{serial:?}");
    let Some(out) = out else {
        return;
    };
    assert!((1..=64).contains(&out.len()));
    assert!(
        out.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    );
    assert!(out == "0" || !out.starts_with('0'), "{out:?}");
    assert_eq!(normalize_serial(&out).as_deref(), Some(out.as_str()));
    assert_eq!(
        normalize_serial(&serial.to_ascii_lowercase()).as_ref(),
        Some(&out)
    );
    assert_eq!(
        normalize_serial(&serial.to_ascii_uppercase()).as_ref(),
        Some(&out)
    );
    if serial.len() < 64 {
        assert_eq!(normalize_serial(&format!("0{serial}")).as_ref(), Some(&out));
    }
    let unpadded = serial.trim_start_matches('0');
    if !unpadded.is_empty() {
        assert_eq!(normalize_serial(unpadded).as_ref(), Some(&out));
    }
}
