//! `GET /v3/certificates`: the platform certificate sealed with AES-256-GCM under the APIv3 key, with its validity in Beijing time.

use base64::Engine;
use bytes::Bytes;
use serde::Serialize;

use wxmedia_proto::v3::certificates::{beijing_time, civil_from_days};

use super::reply::json;
use super::{V3Config, hex_lower};
use crate::inputs::{AEAD_NONCE_BYTES, Inputs};

/// `{"data":[…]}` with the platform certificate encrypted under the APIv3
/// key; members in the real reply's order.
pub(super) fn certificates_body(v3: &V3Config, inputs: &Inputs) -> Bytes {
    #[derive(Serialize)]
    struct List<'a> {
        data: [Entry<'a>; 1],
    }
    #[derive(Serialize)]
    struct Entry<'a> {
        serial_no: &'a str,
        effective_time: String,
        expire_time: String,
        encrypt_certificate: Encrypted,
    }
    #[derive(Serialize)]
    struct Encrypted {
        algorithm: &'static str,
        nonce: String,
        associated_data: &'static str,
        ciphertext: String,
    }
    const ASSOCIATED_DATA: &str = "certificate";
    let keys = &v3.keys;
    let nonce = hex_lower(&inputs.random[AEAD_NONCE_BYTES]);
    let (not_before, not_after) = keys.platform_validity();
    let body = List {
        data: [Entry {
            serial_no: keys.platform_serial_no(),
            effective_time: beijing_time(not_before),
            expire_time: beijing_time(not_after),
            encrypt_certificate: Encrypted {
                algorithm: "AEAD_AES_256_GCM",
                ciphertext: seal(
                    keys.api_v3_key(),
                    &nonce,
                    ASSOCIATED_DATA,
                    keys.platform_cert_pem(),
                ),
                nonce,
                associated_data: ASSOCIATED_DATA,
            },
        }],
    };
    json(&body)
}

/// base64 of AES-256-GCM ciphertext followed by its 16-byte tag.
fn seal(key: &str, nonce: &str, associated_data: &str, plaintext: &str) -> String {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key.as_bytes()).expect("APIv3 keys are 32 bytes"),
    );
    let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes()).expect("12-byte nonce");
    let mut in_out = plaintext.as_bytes().to_vec();
    key.seal_in_place_append_tag(nonce, Aad::from(associated_data.as_bytes()), &mut in_out)
        .expect("a certificate is far below AES-GCM's limit");
    base64::engine::general_purpose::STANDARD.encode(in_out)
}

/// Year, month, day, hour, minute, second (UTC) of a Unix time, for the
/// certificates' validity; the date step is the core's.
pub(crate) fn civil(unix: i64) -> (i64, u32, u32, u32, u32, u32) {
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    // The core's month and day are 1..=12 and 1..=31.
    let small = |n: i64| u32::try_from(n).unwrap_or_default();
    (
        year,
        small(month),
        small(day),
        small(secs / 3600),
        small(secs % 3600 / 60),
        small(secs % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_ones() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(beijing_time(1_619_512_832), "2021-04-27T16:40:32+08:00");
    }
}
